"""Training and checking the attribute judge on renders drawn on the fly (SynthBirds or
SynthFlowers, ``data/domains.py``).

Every batch is fresh: content uniform over all combinations, style from the dataset's
``sample_style``. Unlimited data means the judge cannot overfit; held-out accuracy
is measured on renders from a separate seed stream. Light blur and noise augmentation make it
read the softer, noisier images a GAN draws without learning to tolerate wrong colours.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import replace

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from ..data.domains import get_domain
from ..errors import UserError
from .judge import Judge, JudgeConfig, build_model, class_values, load_judge, uint8_to_tensor
from .metrics import delta_e_rgb

HELDOUT_SEED_OFFSET = 1_000_003  # held-out renders never share a seed stream with training


def sample_renders(rng: np.random.Generator, n: int, size: int = 64, domain: str = "birds"):
    """``n`` random renders of ``domain``: (uint8 [n, size, size, 3], list of truth dicts)."""
    d = get_domain(domain)
    data = d.data
    images = np.zeros((n, size, size, 3), np.uint8)
    truths = []
    for i in range(n):
        content = d.random_content(rng)
        style = data.sample_style(rng)
        images[i] = data.render(content, style, size=size)
        truths.append({**content, d.style_key: d.style_label(style),
                       "background_rgb": [int(v) for v in style["background_rgb"]]})
    return images, truths


def render_fingerprint(n: int = 8, domain: str = "birds") -> str:
    """SHA-256 of ``n`` fixed renders: changes whenever ``render`` or ``sample_style`` does, so a
    judge trained on an older renderer can be detected (``evaluate`` warns, tests fail)."""
    images, _ = sample_renders(np.random.default_rng(20160517), n, domain=domain)
    return hashlib.sha256(images.tobytes()).hexdigest()[:16]


def targets(truths: list[dict], values: dict):
    """Class indices per categorical head and background colour in [0, 1]."""
    out = {k: torch.tensor([values[k].index(t[k]) for t in truths]) for k in values}
    out["background"] = torch.tensor([t["background_rgb"] for t in truths], dtype=torch.float32) / 255
    return out


def augment(x, gen):
    """Random Gaussian blur (σ ≤ 1, half the batch) and pixel noise (σ ≤ 0.06) on [−1, 1] images."""
    n = x.shape[0]
    sigma = torch.rand(n, generator=gen) * 1.0
    blur = torch.rand(n, generator=gen) < 0.5
    r = torch.arange(-2, 3, dtype=torch.float32)
    k1 = torch.exp(-(r[None] ** 2) / (2 * sigma[:, None].clamp_min(1e-3) ** 2))
    k1 = k1 / k1.sum(1, keepdim=True)
    k1 = torch.where(blur[:, None], k1, (r == 0).float()[None])
    kernel = (k1[:, :, None] * k1[:, None, :])  # [n, 5, 5]
    xb = F.conv2d(F.pad(x.reshape(1, n * 3, *x.shape[-2:]), (2, 2, 2, 2), mode="replicate"),
                  kernel.repeat_interleave(3, 0)[:, None], groups=n * 3).reshape_as(x)
    noise = torch.randn(x.shape, generator=gen) * (torch.rand(n, 1, 1, 1, generator=gen) * 0.06)
    return (xb + noise).clamp(-1, 1)


def loss_fn(out, tgt):
    ce = sum(F.cross_entropy(out[k], tgt[k]) for k in tgt if k != "background")
    return ce + 20.0 * F.mse_loss(out["background"], tgt["background"])


def heldout_accuracy(judge: Judge, *, n: int = 2000, seed: int = 0) -> dict:
    """Accuracy per categorical attribute on fresh renders (a seed stream training never uses),
    their mean (``accuracy_on_real``) and the background colour error (median CIEDE2000)."""
    if n < 1:
        raise UserError("held-out evaluation needs at least one image")
    images, truths = sample_renders(np.random.default_rng(seed + HELDOUT_SEED_OFFSET), n,
                                    domain=judge.cfg.domain)
    preds = judge.predict_tensor(uint8_to_tensor(images))
    per = {k: float(np.mean([p[k] == t[k] for p, t in zip(preds, truths)])) for k in judge.values}
    de = delta_e_rgb([p["background_rgb"] for p in preds], [t["background_rgb"] for t in truths])
    return {"accuracy_on_real": float(np.mean(list(per.values()))), "per_attribute": per,
            "min_attribute": float(min(per.values())), "background_delta_e_median": float(np.median(de)),
            "n_images": n, "seed": seed}


def _lr_at(step, steps, lr):
    """Linear warm-up over 100 steps, then cosine decay to 5% of ``lr``."""
    if step < 100:
        return lr * (step + 1) / 100
    t = (step - 100) / max(1, steps - 100)
    return lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * t)))


def train_judge(*, steps: int = 3000, batch_size: int = 64, lr: float = 2e-3, seed: int = 0,
                cfg: JudgeConfig | None = None, eval_images: int = 2000, progress: bool = True,
                log=None, init=None, domain: str = "birds") -> tuple[Judge, dict]:
    """Train a judge (from scratch, or on from the judge in folder ``init``); returns
    ``(judge, held-out accuracy dict)``. ``log(step, loss)`` is called every 50 steps."""
    if steps < 1 or batch_size < 2:
        raise UserError("train_judge needs steps >= 1 and batch_size >= 2")
    torch.manual_seed(seed)
    if init is not None:
        start_judge = load_judge(init)
        cfg, values, model = start_judge.cfg, start_judge.values, start_judge.model
    else:
        cfg = replace(cfg or JudgeConfig(), domain=domain)
        values = class_values(domain)
        model = build_model(cfg, values)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    rng, gen = np.random.default_rng(seed), torch.Generator().manual_seed(seed)
    start, model = time.time(), model.train()
    bar = tqdm(range(steps), desc="train-judge", disable=not progress, dynamic_ncols=True)
    for step in bar:
        images, truths = sample_renders(rng, batch_size, cfg.image_size, domain=cfg.domain)
        x = augment(uint8_to_tensor(images), gen)
        loss = loss_fn(model(x), targets(truths, values))
        for group in opt.param_groups:
            group["lr"] = _lr_at(step, steps, lr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
        if log is not None and step % 50 == 0:
            log(step, float(loss))
    judge = Judge(model.eval(), cfg, values)
    result = heldout_accuracy(judge, n=eval_images, seed=seed)
    judge.evaluation = {**result, "train_seconds": round(time.time() - start, 1),
                        "train_steps": steps, "batch_size": batch_size,
                        "render_fingerprint": render_fingerprint(domain=cfg.domain)}
    return judge, judge.evaluation
