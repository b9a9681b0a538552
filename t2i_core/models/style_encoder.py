"""Style encoder S: image → z (Reed et al. 2016 §4.4).

    image 3 x 64 x 64 → D's conv trunk (strided convs + BN + LeakyReLU, no text)
                                            state size: (ndf*8) x 4 x 4
    → 4×4 conv                              state size: z_dim x 1 x 1 → [B, z_dim]

Trained after G with L_style = E_{t, z~N(0,I)} ‖z − S(G(z, φ(t)))‖² (``train/style_trainer.py``);
style transfer is x̂ = G(S(x_query), φ(t_new)).
"""

from __future__ import annotations

import torch
from torch import nn

from ..config import StyleEncoderConfig
from ..errors import UserError
from .blocks import check_image_size, dcgan_init, down_trunk


class StyleEncoder(nn.Module):
    """S(x) → predicted noise vector ŝ (§4.4)."""

    def __init__(self, cfg: StyleEncoderConfig):
        super().__init__()
        check_image_size("StyleEncoderConfig", cfg.image_size)
        self.cfg = cfg
        self.trunk = down_trunk(cfg.ndf)                       # state size: (ndf*8) x 4 x 4
        self.out = nn.Conv2d(cfg.ndf * 8, cfg.z_dim, 4, 1, 0)  # state size: z_dim x 1 x 1
        dcgan_init(self)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.dim() != 4 or images.shape[1:] != (3, self.cfg.image_size, self.cfg.image_size):
            raise UserError(f"images must be [batch, 3, {self.cfg.image_size}, {self.cfg.image_size}], "
                            f"got {tuple(images.shape)}")
        return self.out(self.trunk(images)).flatten(1)         # [B, z_dim]
