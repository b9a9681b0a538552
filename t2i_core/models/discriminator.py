"""Matching-aware discriminator D (Reed et al. 2016 §4.1–4.2).

    image 3 x 64 x 64 → strided convs + BN + LeakyReLU   state size: (ndf*8) x 4 x 4 (+ residual, reed)
    φ(t) → Linear → BN → LeakyReLU → [B, 128] → replicated   state size: 128 x 4 x 4
    depth concat [+ minibatch-stddev channel]            state size: (ndf*8 + 128 [+1]) x 4 x 4
    → 1×1 conv → BN → LeakyReLU                          state size: (ndf*8) x 4 x 4
    → 4×4 conv                                           state size: 1 x 1 x 1 → logits [B]

Returns pre-sigmoid scores; the losses use BCE-with-logits. Options (off = the paper):
``projection`` adds ⟨ψ(φ(t)), Σ_xy trunk(x)⟩ to the logit (projection discriminator, Miyato &
Koyama 2018 Eq. 3); ``match_head`` adds ``embed_image(x)``, a linear map of the pooled trunk into
φ-space, trained contrastively on real (image, caption) pairs (``losses.matching_loss``; the
sentence-level matching of Xu et al. 2018) and used as a text-reconstruction signal for G;
``latent_dims`` adds ``with_latent``: a linear map of the pooled trunk onto the first N dims of
z, trained on fakes (InfoGAN's Q network, Chen et al. 2016). Options against mode collapse
(off = the paper): ``minibatch_std`` (ProGAN, Karras et al. 2018 §3) and ``spectral_norm``
(Miyato et al. 2018) on every conv / linear weight.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from ..config import DiscriminatorConfig
from ..errors import UserError
from .blocks import check_image_size, dcgan_init, down_trunk


class MinibatchStd(nn.Module):
    """Append one channel: the mean over features of the std over a group of samples (ProGAN).

    In train mode the statistic comes from the batch and a running mean is kept; in eval mode
    the running mean is used, so a single image (``match_scores``) is scored per sample."""

    def __init__(self, group: int = 4, momentum: float = 0.1):
        super().__init__()
        self.group, self.momentum = group, momentum
        self.register_buffer("running_std", torch.ones(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, _, h, w = x.shape
        if not self.training:
            stat = self.running_std.expand(b, 1, h, w)
            return torch.cat([x, stat.to(x.dtype)], dim=1)
        g = min(self.group, b)
        if b % g:
            g = b
        y = x.reshape(g, b // g, *x.shape[1:])
        std = torch.sqrt(y.var(dim=0, unbiased=False) + 1e-8)   # [b/g, C, H, W]
        stat = std.mean(dim=(1, 2, 3))                          # [b/g]
        with torch.no_grad():
            self.running_std.lerp_(stat.mean().detach(), self.momentum)
        stat = stat.repeat(g).view(b, 1, 1, 1).expand(b, 1, h, w)
        return torch.cat([x, stat], dim=1)


class Discriminator(nn.Module):
    """D(x, φ(t)) → logit that x is a real image matching the text (§4.2)."""

    def __init__(self, cfg: DiscriminatorConfig):
        super().__init__()
        check_image_size("DiscriminatorConfig", cfg.image_size)
        self.cfg = cfg
        ndf, p = cfg.ndf, cfg.proj_dim
        self.trunk = down_trunk(ndf, residual=cfg.residual)  # state size: (ndf*8) x 4 x 4
        # §4.1: φ(t) → fully connected → BN → leaky ReLU, replicated spatially at 4×4
        self.text_proj = nn.Sequential(nn.Linear(cfg.embed_dim, p, bias=False), nn.BatchNorm1d(p),
                                       nn.LeakyReLU(0.2))
        self.mbstd = MinibatchStd() if cfg.minibatch_std else None
        joint_in = ndf * 8 + p + (1 if cfg.minibatch_std else 0)
        self.head = nn.Sequential(OrderedDict(
            conv=nn.Conv2d(joint_in, ndf * 8, 1, 1, 0, bias=False),   # 1×1 conv on the depth concat
            bn=nn.BatchNorm2d(ndf * 8), act=nn.LeakyReLU(0.2),        # state size: (ndf*8) x 4 x 4
            out=nn.Conv2d(ndf * 8, 1, 4, 1, 0),                       # state size: 1 x 1 x 1
        ))
        feat = ndf * 8
        # Miyato & Koyama 2018: logit += ⟨ψ(φ(t)), Σ_xy trunk(x)⟩
        self.text_proj_embed = nn.Linear(cfg.embed_dim, feat, bias=False) if cfg.projection else None
        # image → φ-space (text reconstruction head); pooled trunk = mean + max over 4×4
        self.match = nn.Linear(2 * feat, cfg.embed_dim) if cfg.match_head else None
        # image → z[:, :latent_dims] (InfoGAN's Q sharing D's trunk, Chen et al. 2016)
        self.latent = nn.Linear(2 * feat, cfg.latent_dims) if cfg.latent_dims else None
        dcgan_init(self)
        if cfg.spectral_norm:
            apply_spectral_norm(self)

    def forward(self, images: torch.Tensor, emb: torch.Tensor, *, wrong_emb: torch.Tensor | None = None,
                with_match: bool = False, with_latent: bool = False):
        """Logits [B] for (images, emb). With ``wrong_emb`` also scores the same images against a
        second batch of texts and returns ``(s_right, s_wrong)``: the image trunk runs once (in
        train mode its BatchNorm sees the same batch either way); the text projection and the
        joint head still see each text batch on its own, exactly as two separate calls would.
        ``with_match`` / ``with_latent`` append the match head's φ-space vector and the latent
        head's reading of z to the result, in that order."""
        if images.dim() != 4 or images.shape[1:] != (3, self.cfg.image_size, self.cfg.image_size):
            raise UserError(f"images must be [batch, 3, {self.cfg.image_size}, {self.cfg.image_size}], "
                            f"got {tuple(images.shape)}")
        if with_match and self.match is None:
            raise UserError("this discriminator has no match head (DiscriminatorConfig.match_head)")
        if with_latent and self.latent is None:
            raise UserError("this discriminator has no latent head (DiscriminatorConfig.latent_dims)")
        x = self.trunk(images)                                    # state size: (ndf*8) x 4 x 4
        pooled = x.sum(dim=(2, 3)) if self.text_proj_embed is not None else None
        extras = ()
        if with_match or with_latent:
            summary = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
            if with_match:
                extras += (self.match(summary),)
            if with_latent:
                extras += (self.latent(summary),)
        if self.mbstd is not None:
            x = self.mbstd(x)                                     # state size: (ndf*8 + 1) x 4 x 4
        out = self._head(x, emb, pooled)
        if wrong_emb is not None:
            out = (out, self._head(x, wrong_emb, pooled))
        return (out, *extras) if extras else out

    def _head(self, x: torch.Tensor, emb: torch.Tensor, pooled: torch.Tensor | None) -> torch.Tensor:
        if emb.dim() != 2 or emb.shape != (x.shape[0], self.cfg.embed_dim):
            raise UserError(f"emb must be [{x.shape[0]}, {self.cfg.embed_dim}], got {tuple(emb.shape)}")
        # §4.1: φ(t) → 128-d, replicated spatially and depth-concatenated at 4×4
        t = self.text_proj(emb)[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
        out = self.head(torch.cat([x, t], dim=1)).view(-1)        # state size: (ndf*8 + 128) x 4 x 4 → [B]
        if pooled is not None:                                    # projection term (Miyato & Koyama 2018)
            out = out + (self.text_proj_embed(emb) * pooled).sum(dim=1)
        return out                                                # logits [B]


def apply_spectral_norm(module: nn.Module) -> None:
    """Wrap the weight of every conv / linear layer in a spectral-norm parametrization."""
    targets = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for m in targets:
        spectral_norm(m)
