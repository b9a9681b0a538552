"""Image encoder θ for the DS-SJE joint embedding (Reed et al. 2016 §3.2; CVPR 2016 §3).

Deviation from the paper, documented on purpose: Reed et al. used *frozen* GoogLeNet features
(1024-d, pretrained on ImageNet) for θ. Those weights cannot be downloaded here, so θ is a small
CNN trained jointly with φ from scratch. Only φ is used downstream (by the GAN); θ is kept in
the weights folder for zero-shot evaluation and for ``match_scores``-style image–text checks.

    images [B, 3, 64, 64] in [-1, 1]
    → conv s2 (c) → conv s2 (2c) → conv (2c) → conv s2 (4c) → conv (4c) → conv s2 (8c)
    → [B, 8c, 4, 4] → global mean + max pooling → Linear → embed_dim
Each conv is 3×3 + BatchNorm + ReLU. Mean + max pooling keeps "which colour is present" while
the receptive field (≈ the whole 64×64 image at 4×4) lets a feature tie a colour to a body part
wherever the bird stands.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ImageEncoderConfig
from ..errors import UserError


def _conv(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                         nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class ImageEncoder(nn.Module):
    """θ(v): a 64×64 RGB image in [-1, 1] → a ``cfg.embed_dim`` vector."""

    def __init__(self, cfg: ImageEncoderConfig):
        super().__init__()
        if cfg.image_size < 16:
            raise UserError(f"ImageEncoderConfig.image_size must be at least 16, got {cfg.image_size}")
        self.cfg = cfg
        c = cfg.channels
        self.features = nn.Sequential(
            _conv(3, c, 2),            # state size: c x 32 x 32
            _conv(c, 2 * c, 2),        # state size: 2c x 16 x 16
            _conv(2 * c, 2 * c, 1),
            _conv(2 * c, 4 * c, 2),    # state size: 4c x 8 x 8
            _conv(4 * c, 4 * c, 1),
            _conv(4 * c, 8 * c, 2),    # state size: 8c x 4 x 4
        )
        self.proj = nn.Linear(16 * c, cfg.embed_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1] != 3:
            raise UserError(f"images must be [batch, 3, H, W], got shape {tuple(images.shape)}")
        size = self.cfg.image_size
        if images.shape[-2:] != (size, size):
            images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
        if not self.features[0][0].weight.is_contiguous():  # the model was moved to channels_last
            images = images.contiguous(memory_format=torch.channels_last)
        h = self.features(images)
        pooled = torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1)  # [B, 16c]
        return self.proj(pooled)


def images_to_tensor(array) -> torch.Tensor:
    """uint8 images [N, H, W, 3] (numpy or torch) → float [N, 3, H, W] in [-1, 1]."""
    t = torch.as_tensor(array)
    if t.dim() != 4 or t.shape[-1] != 3:
        raise UserError(f"expected uint8 images [N, H, W, 3], got shape {tuple(t.shape)}")
    return t.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)
