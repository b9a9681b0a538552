"""Photo-like degradations of renders: what separates a user's bird photo from a clean render.

Two uses, one set of operations (blur, JPEG artefacts, sensor noise, crop/shift, colour jitter):

* ``degrade_for_eval(images, rng)``: the fixed protocol of ``evaluate``'s
  ``style_transfer_degraded`` section, on uint8 ``[N, H, W, 3]`` renders: Gaussian blur
  (σ 1 px), JPEG at quality 30, Gaussian sensor noise (σ 8/255) and a random crop keeping
  85–95% of the side, resized back.
* ``augment_for_style(x, generator)``: random degradations of G's samples (tensors in [-1, 1])
  while the style encoder S learns to read z from them (§4.4), so that S transfers the pose and
  backdrop of photos, not only of clean renders. Colour jitter changes brightness, contrast and
  saturation, never hue; no flips (the facing is part of the style S must read).
"""

from __future__ import annotations

import io

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

EVAL_BLUR_SIGMA = 1.0
EVAL_JPEG_QUALITY = 30
EVAL_NOISE_SIGMA = 8.0 / 255.0
EVAL_CROP_KEEP = (0.85, 0.95)


def _gaussian_kernel(sigma: torch.Tensor, radius: int = 3) -> torch.Tensor:
    """[B, 1, 2r+1] normalised 1-D Gaussians, one per σ (σ = 0 gives the identity)."""
    t = torch.arange(-radius, radius + 1, dtype=torch.float32)
    s = sigma.float().clamp_min(1e-3)[:, None]
    k = torch.exp(-0.5 * (t[None] / s) ** 2)
    return (k / k.sum(1, keepdim=True))[:, None]


def blur(x: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian blur of ``x`` [B, C, H, W], σ per image (in pixels)."""
    b, c, h, w = x.shape
    k = _gaussian_kernel(sigma).to(x)                               # [B, 1, K]
    r = k.shape[-1] // 2
    y = x.reshape(1, b * c, h, w)
    kx = k.repeat_interleave(c, 0)[:, :, None, :]                   # [B*C, 1, 1, K]
    y = F.conv2d(F.pad(y, (r, r, 0, 0), mode="replicate"), kx, groups=b * c)
    y = F.conv2d(F.pad(y, (0, 0, r, r), mode="replicate"), kx.transpose(2, 3), groups=b * c)
    return y.reshape(b, c, h, w)


def jpeg(x: torch.Tensor, quality) -> torch.Tensor:
    """JPEG round trip (Pillow) of images in [-1, 1] at ``quality`` (int or one per image)."""
    qualities = [int(quality)] * len(x) if np.isscalar(quality) else [int(q) for q in quality]
    arr = ((x.detach().clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).cpu().numpy()
    out = []
    for img, q in zip(arr, qualities):
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=q)
        out.append(np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB")))
    back = torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
    return back.to(x)


def crop_resize(x: torch.Tensor, keep: torch.Tensor, cx: torch.Tensor, cy: torch.Tensor) -> torch.Tensor:
    """Crop a square of side ``keep`` × side (per image) whose centre sits at (cx, cy) in [-1, 1]
    units of the free range, resized back to the full size (bilinear)."""
    b = x.shape[0]
    theta = torch.zeros(b, 2, 3, dtype=x.dtype, device=x.device)
    keep = keep.to(x)
    theta[:, 0, 0] = theta[:, 1, 1] = keep
    theta[:, 0, 2] = cx.to(x) * (1 - keep)
    theta[:, 1, 2] = cy.to(x) * (1 - keep)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def colour_jitter(x: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor,
                  saturation: torch.Tensor) -> torch.Tensor:
    """Multiplicative brightness, contrast and saturation per image; hue is left alone."""
    rgb = (x + 1) / 2
    rgb = rgb * brightness.to(x)[:, None, None, None]
    mean = rgb.mean(dim=(1, 2, 3), keepdim=True)
    rgb = (rgb - mean) * contrast.to(x)[:, None, None, None] + mean
    grey = (0.299 * rgb[:, 0:1] + 0.587 * rgb[:, 1:2] + 0.114 * rgb[:, 2:3])
    rgb = (rgb - grey) * saturation.to(x)[:, None, None, None] + grey
    return (rgb.clamp(0, 1) * 2 - 1)


def augment_for_style(x: torch.Tensor, generator: torch.Generator | None = None, p: float = 0.8) -> torch.Tensor:
    """Random photo-like degradations of a batch in [-1, 1]; a share ``1 − p`` stays exactly as
    it was. Each degraded image gets a crop/shift and colour jitter, and each of blur, noise and
    JPEG with probability ½."""
    b = x.shape[0]

    def u(lo, hi):
        return lo + (hi - lo) * torch.rand(b, generator=generator)

    def coin():
        return torch.rand(b, generator=generator) < 0.5

    on = torch.rand(b, generator=generator) < p
    keep, cx, cy = u(0.8, 1.0), u(-1, 1), u(-1, 1)
    bright, contrast, sat = u(0.8, 1.2), u(0.75, 1.25), u(0.7, 1.3)
    sigma, noise = u(0.0, 1.5) * coin(), u(0.0, 0.06) * coin()
    quality, use_jpeg = u(20, 90).round(), coin()
    rows = torch.nonzero(on).flatten()
    if len(rows) == 0:
        return x
    y = crop_resize(x[rows.to(x.device)], keep[rows], cx[rows], cy[rows])
    y = colour_jitter(y, bright[rows], contrast[rows], sat[rows])
    y = blur(y, sigma[rows])
    grain = torch.randn(y.shape, generator=generator).to(y)
    y = (y + noise[rows].to(y)[:, None, None, None] * grain).clamp(-1, 1)
    lossy = torch.nonzero(use_jpeg[rows]).flatten()
    if len(lossy):
        y[lossy.to(y.device)] = jpeg(y[lossy.to(y.device)], quality[rows][lossy].tolist())
    out = x.clone()
    out[rows.to(x.device)] = y
    return out


def degrade_for_eval(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The evaluation protocol on uint8 renders [N, H, W, 3]: blur σ 1, JPEG q 30 after noise
    σ 8/255, random crop keeping 85–95% of the side (resized back). Deterministic for ``rng``."""
    if len(images) == 0:
        return images.copy()
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float().div(127.5).sub(1.0)
    n = x.shape[0]
    keep = torch.from_numpy(rng.uniform(*EVAL_CROP_KEEP, n)).float()
    cx, cy = (torch.from_numpy(rng.uniform(-1, 1, n)).float() for _ in range(2))
    x = crop_resize(x, keep, cx, cy)
    x = blur(x, torch.full((n,), EVAL_BLUR_SIGMA))
    x = (x + EVAL_NOISE_SIGMA * 2 * torch.from_numpy(rng.standard_normal(x.shape)).float()).clamp(-1, 1)
    x = jpeg(x, EVAL_JPEG_QUALITY)
    return ((x + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
