"""The time-to-quality probe: how well a generator under training follows unseen captions.

``CurveProbe(text_encoder)(generator)`` draws fixed (z, caption) pairs for captions of the test
classes (never seen in training), reads them with the attribute judge and returns the same
figures as ``evaluate``'s ``text_match`` (per attribute, all correct, by attribute), plus the
two style checks of the recipe's targets: the facing-left share per caption and the background
spread within a caption (median pairwise CIEDE2000); and crispness as a Fréchet distance in the
judge's penultimate features between ``fid_images`` generated and as many real renders of the test
classes, with its floor (the same distance between two disjoint real sets of that size). Inputs
are fixed at construction, so two
points of one curve, or two recipes with the same φ, are scored on the same draws.

``train --eval-every N`` calls it on a copy of the exported G (EMA weights, standing BN
statistics) and logs ``{"event": "eval", ...}`` with the step and the training CPU time.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import UserError
from . import metrics as M
from .judge import load_judge, uint8_to_tensor
from .sources import EvalSource

BATCH = 128


class CurveProbe:
    """Text match on unseen classes for any ``G(z, emb)``; see the module docstring."""

    def __init__(self, text_encoder, *, data=None, dataset_info: dict | None = None,
                 n_captions: int = 100, per_caption: int = 2, style_captions: int = 4,
                 style_z: int = 16, fid_images: int = 1000, seed: int = 0, judge=None):
        if n_captions < 1 or per_caption < 1:
            raise UserError("the curve probe needs at least one caption and one image per caption")
        rng = np.random.default_rng([int(seed), 7])
        source = EvalSource(data, dataset_info=dataset_info)
        self.description = source.description
        self.captions = source.captions(n_captions, rng)
        style_caps = source.captions(style_captions, rng)
        self.want = [source.mentioned(c) for c in self.captions for _ in range(per_caption)]
        self.domain = source.domain
        if not any(self.want):
            raise UserError("no probe caption mentions an attribute the judge can check")
        text_encoder.eval()
        with torch.no_grad():
            emb = text_encoder.embed_texts(self.captions + style_caps).float()
        self.emb = emb[:n_captions].repeat_interleave(per_caption, 0)
        self.style_emb = emb[n_captions:].repeat_interleave(style_z, 0)
        self.style_z, self.n_style = style_z, style_captions
        self.judge = judge if judge is not None else load_judge(domain=source.domain.name)
        self.seed = seed
        self.fid_emb = None
        if fid_images >= 2:
            real = source.real(2 * fid_images, rng)
            if real is not None and len(real.images) >= 4:
                half = len(real.images) // 2
                feats = self.judge.features(uint8_to_tensor(real.images))
                self.real_features, self.fid_floor = M.frechet_reference(feats)
                with torch.no_grad():
                    fid_caps = source.captions(half, rng)
                    self.fid_emb = text_encoder.embed_texts(fid_caps).float()

    def _z(self, n: int, z_dim: int, offset: int) -> torch.Tensor:
        return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(self.seed * 1000 + offset))

    @torch.no_grad()
    def _draw(self, generator, emb: torch.Tensor, offset: int) -> torch.Tensor:
        dev = next(generator.parameters()).device
        z = self._z(len(emb), generator.cfg.z_dim, offset)
        kw = lambda n: ({"cond_noise": torch.zeros(n, generator.cfg.proj_dim, device=dev)}  # noqa: E731
                        if generator.cfg.cond_aug else {})
        out = [generator(z[s:s + BATCH].to(dev), emb[s:s + BATCH].to(dev), **kw(len(z[s:s + BATCH])))
               .float().cpu() for s in range(0, len(z), BATCH)]
        return torch.cat(out)

    def __call__(self, generator) -> dict:
        """Figures for ``generator`` (put in eval mode by the caller, or left as it is)."""
        images = self._draw(generator, self.emb, 1)
        preds = self.judge.predict_tensor(images)
        keep = [i for i, w in enumerate(self.want) if w]
        acc = M.attribute_accuracy([preds[i] for i in keep], [self.want[i] for i in keep])
        style = self.judge.predict_tensor(self._draw(generator, self.style_emb, 2))
        shares, spreads = [], []
        key, first = self.domain.style_key, self.domain.style_values[0]
        for c in range(self.n_style):
            rows = style[c * self.style_z:(c + 1) * self.style_z]
            shares.append(np.mean([p[key] == first for p in rows]))
            spreads.append(M.median_pairwise_delta_e([p["background_rgb"] for p in rows]))
        fid = {}
        if self.fid_emb is not None:
            feats = self.judge.features(self._draw(generator, self.fid_emb, 3))
            fid = {"frechet_judge": round(M.frechet_distance(feats, self.real_features), 3),
                   "frechet_judge_floor": round(self.fid_floor, 3)}
        return {**fid, "per_attribute": round(float(acc["per_attribute"]), 4),
                "all_correct": round(float(acc["all_correct"]), 4),
                "by_attribute": {a: round(float(v), 4) for a, v in acc["by_attribute"].items()},
                f"{key}_{first}_share": round(float(np.mean(shares)), 4),
                f"{key}_minority_share": round(float(np.mean([min(s, 1 - s) for s in shares])), 4),
                "background_spread_delta_e": round(float(np.median(spreads)), 3)}
