"""Small building blocks shared by G, D and S: DCGAN init, Reed's residual bottleneck, helpers.

Reed's Torch code (``icml2016/main_cls_int.lua``, ``net_gen``/``net_disc``) adds residual blocks
to the DCGAN trunk: identity + (1×1 conv to C/4 → BN → act → 3×3 → BN → act → 3×3 back to C
→ BN), summed, then the stage's activation. ``ResidualBottleneck`` is that branch plus the sum.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from ..errors import UserError

SUPPORTED_SIZE = 64  # 4 → 8 → 16 → 32 → 64: four stride-2 stages after the 4×4 start


def check_image_size(name: str, image_size: int) -> None:
    if image_size != SUPPORTED_SIZE:
        raise UserError(f"{name}: image_size {image_size} is not supported (only {SUPPORTED_SIZE}, "
                        "as in the paper)")


def dcgan_init(module: nn.Module) -> None:
    """DCGAN / Reed init: conv and linear weights ~ N(0, 0.02), BN gamma ~ N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class ResidualBottleneck(nn.Module):
    """x + BN(conv3(act(BN(conv3(act(BN(conv1(x)))))))) — Reed's residual block (no final act)."""

    def __init__(self, channels: int, act: nn.Module):
        super().__init__()
        hidden = max(channels // 4, 1)
        self.branch = nn.Sequential(
            nn.Conv2d(channels, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), act,
            nn.Conv2d(hidden, hidden, 3, 1, 1, bias=False), nn.BatchNorm2d(hidden), act,
            nn.Conv2d(hidden, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.branch(x)


def stage(conv: nn.Module, channels: int, act_fn, *, bn: bool = True,
          residual: bool = False) -> nn.Sequential:
    """conv → [BN] → [residual block] → activation, as one named stage (one spatial size)."""
    layers = OrderedDict(conv=conv)
    if bn:
        layers["bn"] = nn.BatchNorm2d(channels)
    if residual:
        layers["res"] = ResidualBottleneck(channels, act_fn())
    layers["act"] = act_fn()
    return nn.Sequential(layers)


def lrelu() -> nn.Module:
    return nn.LeakyReLU(0.2)


def relu() -> nn.Module:
    return nn.ReLU()


def down_trunk(ndf: int, residual: bool = False) -> nn.Sequential:
    """D's / S's image trunk: 64×64 RGB → (ndf*8) × 4 × 4 (strided convs, BN, LeakyReLU 0.2)."""
    def down(cin, cout):
        return nn.Conv2d(cin, cout, 4, 2, 1, bias=False)

    return nn.Sequential(OrderedDict(
        s32=stage(nn.Conv2d(3, ndf, 4, 2, 1), ndf, lrelu, bn=False),  # state size: ndf x 32 x 32
        s16=stage(down(ndf, ndf * 2), ndf * 2, lrelu),                 # state size: (ndf*2) x 16 x 16
        s8=stage(down(ndf * 2, ndf * 4), ndf * 4, lrelu),              # state size: (ndf*4) x 8 x 8
        s4=stage(down(ndf * 4, ndf * 8), ndf * 8, lrelu, residual=residual),  # (ndf*8) x 4 x 4
    ))
