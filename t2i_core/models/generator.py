"""Generator G: ℝ^Z × ℝ^T → ℝ^D (Reed et al. 2016 §4.1).

    φ(t) [B, 1024] → Linear → LeakyReLU(0.2) → text code [B, 128]
    concat(z [B, 100], code) → [B, 228, 1, 1]
    → ConvT 4×4 → BN → ReLU                  state size: (ngf*8) x 4 x 4   (+ residual block, reed)
    → ConvT ↑2 → BN → ReLU                    state size: (ngf*4) x 8 x 8   (+ residual block, reed)
    → ConvT ↑2 → BN → ReLU                    state size: (ngf*2) x 16 x 16
    → ConvT ↑2 → BN → ReLU                    state size: ngf x 32 x 32
    → ConvT ↑2 → Tanh                         state size: 3 x 64 x 64

Options (off = the paper): ``upsample="resize"`` replaces each stride-2 transposed conv with
nearest-neighbour ×2 + 3×3 conv (no checkerboard, Odena et al. 2016; computed as the equal
stride-2 transposed conv, ``ResizeConv2d``), ``"resize-last"`` only the output stage (where the checkerboard shows, at little cost); ``cond_bn`` makes every BN
of G conditional on the text code (γ, β = linear maps of the code; de Vries et al. 2017), so the
caption reaches every stage instead of only the 1×1 input.

Conditioning augmentation (``cfg.cond_aug``, StackGAN, Zhang et al. 2017 §3.1) replaces the
deterministic text code with c = μ(φ) + σ(φ)·ε, ε ~ N(0, I), and returns the KL term
KL(N(μ, σ²) ‖ N(0, I)) for the trainer. ε is drawn in train mode; in eval mode the code is μ
(deterministic per seed) unless ``cond_noise`` is passed.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..config import GeneratorConfig
from ..errors import UserError
from .blocks import check_image_size, dcgan_init, relu, stage


def kl_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²), averaged over batch and dims
    (StackGAN's ``KL_loss``)."""
    return -0.5 * torch.mean(1.0 + logvar - mu.pow(2) - logvar.exp())


class Project4x4(nn.ConvTranspose2d):
    """G's first layer, ConvTranspose2d(k=4, stride 1, pad 0) on a 1×1 input, computed as one
    matmul: out[b, o, i, j] = Σ_c x[b, c] · W[c, o, i, j]. Same weight tensor (state dicts are
    unchanged) and the same result to float rounding; at the ``small`` shape oneDNN's transposed
    conv takes ~4× as long on CPU (benchmarks/README.md §1). Keeps the weight's memory format:
    a channels_last weight gives a channels_last output without copying the weight."""

    def __init__(self, cin: int, cout: int):
        super().__init__(cin, cout, 4, 1, 0, bias=False)

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        if output_size is not None or x.dim() != 4 or x.shape[-2:] != (1, 1):
            return super().forward(x, output_size)
        w, b = self.weight, x.shape[0]
        if w.is_contiguous(memory_format=torch.channels_last):  # memory order (cin, 4, 4, cout)
            flat = w.permute(0, 2, 3, 1).reshape(w.shape[0], -1)
            return (x.flatten(1) @ flat).view(b, 4, 4, w.shape[1]).permute(0, 3, 1, 2)
        return (x.flatten(1) @ w.flatten(1)).view(b, w.shape[1], 4, 4)

    def as_conv_transpose(self) -> nn.ConvTranspose2d:
        """The plain ``ConvTranspose2d`` this layer computes, sharing its weight."""
        plain = nn.utils.skip_init(nn.ConvTranspose2d, self.in_channels, self.out_channels, 4, 1, 0,
                                   bias=False)
        plain.weight = self.weight
        return plain


class CondBatchNorm2d(nn.BatchNorm2d):
    """BN without its own affine, then γ(c)·x̂ + β(c) from the text code c (de Vries et al. 2017).
    γ starts at 1 and β at 0 (the linear maps start at zero), so training starts as plain BN."""

    def __init__(self, channels: int, code_dim: int):
        super().__init__(channels, affine=False)
        self.gamma, self.beta = nn.Linear(code_dim, channels), nn.Linear(code_dim, channels)

    def reset_film(self) -> None:
        for lin in (self.gamma, self.beta):
            nn.init.zeros_(lin.weight)
            nn.init.zeros_(lin.bias)

    def forward(self, x: torch.Tensor, code: torch.Tensor | None = None) -> torch.Tensor:
        x = super().forward(x)
        if code is None:
            raise ValueError("CondBatchNorm2d needs the text code")
        return x * (1.0 + self.gamma(code))[:, :, None, None] + self.beta(code)[:, :, None, None]


def _fold_taps(w: torch.Tensor, dim: int) -> torch.Tensor:
    """One axis of a 3×3 kernel (taps w₀ w₁ w₂) read on the nearest-×2 grid, as the 4 taps of a
    stride-2 transposed convolution: [w₂, w₁+w₂, w₀+w₁, w₀]. Even outputs 2m see inputs m−1, m
    through (w₀, w₁+w₂); odd outputs 2m+1 see m, m+1 through (w₀+w₁, w₂)."""
    w0, w1, w2 = w.unbind(dim)
    return torch.stack([w2, w1 + w2, w0 + w1, w0], dim)


class ResizeConv2d(nn.Sequential):
    """Nearest-neighbour ×2 then a 3×3 convolution, padding 1 (Odena et al. 2016), computed as the
    one stride-2 transposed convolution (k 4, padding 1) it equals, whose 4×4 kernel is built from
    the 3×3 one by ``_fold_taps``: the ×2 image is never built and the arithmetic falls from 9·4
    to 16 taps per input pixel. The same function (to float rounding, zero borders included),
    the same parameters and state-dict keys as ``nn.Sequential(nn.Upsample(2), nn.Conv2d(cin,
    cout, 3, 1, 1))``, so it has no checkerboard; forward + backward of a ``small`` G's four ×2
    stages take 0.4 of the time on CPU (benchmarks/README.md, lever 6)."""

    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(cin, cout, 3, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = self[1].weight                                   # [O, I, 3, 3]
        k = _fold_taps(_fold_taps(w, 2), 3).transpose(0, 1)  # [I, O, 4, 4], ConvT's layout
        return nn.functional.conv_transpose2d(x, k, stride=2, padding=1)


def upsample2x(cin: int, cout: int, mode: str) -> nn.Module:
    """One ×2 stage: the paper's ConvT(4, stride 2) or resize-convolution (Odena et al. 2016)."""
    if mode == "deconv":
        return nn.ConvTranspose2d(cin, cout, 4, 2, 1, bias=False)
    if mode == "resize":
        return ResizeConv2d(cin, cout)
    raise UserError(f"GeneratorConfig.upsample must be 'deconv' or 'resize', got {mode!r}")


class Generator(nn.Module):
    """G(z, φ(t)) → image in [−1, 1] (§4.1)."""

    def __init__(self, cfg: GeneratorConfig):
        super().__init__()
        check_image_size("GeneratorConfig", cfg.image_size)
        self.cfg = cfg
        ngf, p = cfg.ngf, cfg.proj_dim
        if cfg.cond_aug:
            self.text_proj = nn.Linear(cfg.embed_dim, 2 * p)  # → (μ, log σ²)
        else:
            # §4.1: φ(t) → fully connected → leaky ReLU → 128-d code
            self.text_proj = nn.Sequential(nn.Linear(cfg.embed_dim, p), nn.LeakyReLU(0.2))

        if cfg.upsample not in ("deconv", "resize", "resize-last"):
            raise UserError("GeneratorConfig.upsample must be 'deconv', 'resize' or 'resize-last', "
                            f"got {cfg.upsample!r}")

        def up(cin, cout):  # "resize-last": only the 64×64 output stage is a resize-convolution
            last = cfg.upsample == "resize-last" and cout == 3
            return upsample2x(cin, cout, "resize" if cfg.upsample == "resize" or last else "deconv")

        self.blocks = nn.Sequential(OrderedDict(
            s4=stage(Project4x4(cfg.z_dim + p, ngf * 8), ngf * 8, relu,
                     residual=cfg.residual),                           # state size: (ngf*8) x 4 x 4
            s8=stage(up(ngf * 8, ngf * 4), ngf * 4, relu, residual=cfg.residual),  # (ngf*4) x 8 x 8
            s16=stage(up(ngf * 4, ngf * 2), ngf * 2, relu),            # state size: (ngf*2) x 16 x 16
            s32=stage(up(ngf * 2, ngf), ngf, relu),                    # state size: ngf x 32 x 32
            s64=nn.Sequential(OrderedDict(conv=up(ngf, 3), act=nn.Tanh())),  # state size: 3 x 64 x 64
        ))
        dcgan_init(self)
        if cfg.cond_bn:  # swap each stage's BN for a conditional one (same running statistics)
            for name in ("s4", "s8", "s16", "s32"):
                st = getattr(self.blocks, name)
                st.bn = CondBatchNorm2d(st.bn.num_features, p)
                st.bn.reset_film()

    def text_code(self, emb: torch.Tensor, cond_noise: torch.Tensor | None = None):
        """φ(t) → (code [B, proj_dim], KL term or None)."""
        if not self.cfg.cond_aug:
            return self.text_proj(emb), None
        mu, logvar = self.text_proj(emb).chunk(2, dim=1)
        logvar = logvar.clamp(-10.0, 10.0)
        if cond_noise is None:
            cond_noise = torch.randn_like(mu) if self.training else torch.zeros_like(mu)
        code = mu + cond_noise * torch.exp(0.5 * logvar)  # StackGAN §3.1: c ~ N(μ(φ), Σ(φ))
        return code, kl_normal(mu, logvar)

    def forward(self, z: torch.Tensor, emb: torch.Tensor, *, cond_noise: torch.Tensor | None = None,
                return_kl: bool = False):
        if z.dim() != 2 or z.shape[1] != self.cfg.z_dim:
            raise UserError(f"z must be [batch, {self.cfg.z_dim}], got {tuple(z.shape)}")
        if emb.dim() != 2 or emb.shape[1] != self.cfg.embed_dim or emb.shape[0] != z.shape[0]:
            raise UserError(f"emb must be [{z.shape[0]}, {self.cfg.embed_dim}], got {tuple(emb.shape)}")
        code, kl = self.text_code(emb, cond_noise)
        h = torch.cat([z, code], dim=1)[:, :, None, None]  # state size: (z_dim + proj_dim) x 1 x 1
        if self.cfg.cond_bn:
            images = self._run_cond(h, code)
        else:
            images = self.blocks(h)
        if return_kl:
            return images, (kl if kl is not None else images.new_zeros(()))
        return images

    def _run_cond(self, h: torch.Tensor, code: torch.Tensor) -> torch.Tensor:
        """The stages in order, handing the text code to every conditional BN."""
        for stage_ in self.blocks:
            for layer in stage_:
                h = layer(h, code) if isinstance(layer, CondBatchNorm2d) else layer(h)
        return h
