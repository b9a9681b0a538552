"""The paper's ablation on our data: GAN, GAN-CLS, GAN-INT, GAN-INT-CLS with one budget.

    run_ablation(data="data/synthbirds", steps=1500, text_encoder="runs/text", out="runs/ablation")

The dataset, the caption embeddings (one text encoder φ for all) and the training split are
loaded once; each variant is trained in-process with ``train.gan_trainer.Trainer`` from the same
seed (same initial weights, batches and noise stream up to what the variant itself changes),
gets its style encoder S (``train-style``, same steps and seed), and is evaluated with
``evaluate`` on the test split of the same dataset. The table, the verdicts on the paper's
claims and a sample grid per variant go to ``OUT/ablation.md`` (and ``OUT/ablation.json``).
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..data.dataset import DataIndex, open_dataset
from ..errors import UserError
from ..files import atomic_write
from ..pipeline import T2IPipeline
from ..text.cache import load_embeddings
from ..text.loading import load_image_encoder
from ..train import distributed as du
from ..train import gan_trainer
from ..train.gan_config import recipe_settings
from ..train.gan_data import load_split
from ..train.style_trainer import StyleTrainConfig, train_style
from .ablation_report import VARIANTS, claims, write_markdown
from .evaluate import _resolve_judge, evaluate
from ..viz import save_grid
from .sources import EvalSource


def load_training_data(data, text_encoder, *, split: str = "trainval", load_size: int = 76,
                       cache_dir=None, progress: bool = True):
    """(index, GANData, text encoder (config, state) | None, run info) — shared by all variants."""
    index = data if isinstance(data, DataIndex) else open_dataset(data, progress=progress)
    dist = du.init_from_env("cpu")
    emb, offsets, te, info, _ = load_embeddings(str(text_encoder) if text_encoder else None, index, dist,
                                                progress, cache_dir=cache_dir)
    gan_data = load_split(index, split, emb, offsets, load_size=load_size, progress=progress)
    info["dataset"] = {"root": str(index.root), "format": index.format}
    return index, gan_data, te, info


def variant_settings(recipe: str = "paper", overrides: dict | None = None, domain: str | None = "birds") -> dict:
    """The training settings every variant shares: recipe ``recipe`` ("paper": Reed et al.
    2016 §5 exactly; "fast": the time-to-quality curve's levers, reports/quality/) for data of
    ``domain``, without its own choice of variant, then the caller's overrides."""
    settings = {**recipe_settings(recipe, domain), **(overrides or {})}
    settings.pop("variant", None)  # the ablation sets the variant
    return settings


def train_variant(variant: str, gan_data, te, info, run_dir, *, steps: int, seed: int,
                  preset: str, batch_size: int, progress: bool, settings: dict | None = None,
                  image_encoder=None) -> Path:
    """Train one variant with ``Trainer`` and return its exported weights folder. ``settings``:
    what every variant shares (``variant_settings``; None: the paper's recipe);
    ``image_encoder``: the frozen DS-SJE θ, which recipes with ``theta_weight > 0`` need."""
    settings = variant_settings() if settings is None else settings
    cfg = gan_trainer.GANTrainConfig(variant=variant, preset=preset, steps=steps, seed=seed,
                         batch_size=batch_size, sample_every=0, ckpt_every=0, keep=1,
                         device="cpu", **settings)
    trainer = gan_trainer.Trainer(cfg, gan_data, run_dir, text_encoder=te, run_info=info, progress=progress,
                                  image_encoder=image_encoder)
    result = trainer.train()
    if "weights" not in result:
        raise UserError(f"training {variant} wrote no weights folder")
    return Path(result["weights"])


def train_style_encoder(weights: Path, out: Path, *, steps: int, seed: int, progress: bool,
                        batch_size: int | None = None) -> Path:
    """S on the G of ``weights`` with the ``train-style`` workflow in run folder ``out``; returns
    the weights folder with S (``batch_size``: G samples per step and per standing-statistics
    batch; None = its default)."""
    cfg = StyleTrainConfig(steps=steps, seed=seed)
    if batch_size is not None:
        cfg.batch_size = batch_size
    return Path(train_style(weights, out, cfg, progress=progress)["weights"])


def run_ablation(*, data, steps: int, out, text_encoder=None, style_steps: int | None = None,
                 preset: str = "small", batch_size: int = 64, seed: int = 0, quick_eval: bool = False,
                 variants=VARIANTS, judge=None, progress: bool = True, log=print,
                 overrides: dict | None = None, recipe: str = "paper") -> dict:
    """Train, style-train and evaluate every variant under ``recipe`` (default: the paper's);
    write the report. Returns ``{"results": {variant: evaluate dict}, "claims": [...], "report": path}``."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise UserError(f"unknown variants {unknown}: choose from {', '.join(VARIANTS)}")
    if steps < 1:
        raise UserError(f"--steps must be >= 1, got {steps}")
    out = Path(out)
    if any((out / v / "checkpoints").exists() for v in variants):
        raise UserError(f"{out} already holds an ablation: choose a new --out folder")
    judge = _resolve_judge(judge)
    style_steps = style_steps if style_steps is not None else max(1, steps // 2)
    log(f"loading {data} and caption embeddings once for all variants")
    index = data if isinstance(data, DataIndex) else open_dataset(data, progress=progress)
    shared = variant_settings(recipe, overrides, index.domain)
    load_size = shared.get("load_size", 76)
    theta = None
    if shared.get("theta_weight", 0) > 0:  # the recipe's matching loss through the frozen θ
        try:
            theta = load_image_encoder(text_encoder)
        except UserError as exc:
            raise UserError(f"--recipe {recipe} needs the image encoder θ of a train-text run: {exc}") from None
    index, gan_data, te, info = load_training_data(index, text_encoder, load_size=load_size,
                                                   progress=progress)
    results, grids, timing = {}, {}, {}
    for variant in variants:
        t0 = time.time()
        log(f"[{variant}] training {steps} steps")
        weights = train_variant(variant, gan_data, te, info, out / variant, steps=steps, seed=seed,
                                preset=preset, batch_size=batch_size, progress=progress,
                                settings=shared, image_encoder=theta)
        log(f"[{variant}] style encoder {style_steps} steps")
        weights = train_style_encoder(weights, out / variant / "style", steps=style_steps, seed=seed,
                                      progress=progress, batch_size=batch_size)
        pipe = T2IPipeline.from_pretrained(weights)
        log(f"[{variant}] evaluating")
        results[variant] = evaluate(pipe, data=index, judge=judge, quick=quick_eval,
                                    out_dir=out / variant / "eval", seed=seed)
        grid = out / f"{variant}_samples.png"
        save_grid(_sample_images(pipe, results[variant]), grid, ncol=8)
        grids[variant] = grid.name
        timing[variant] = round(time.time() - t0, 1)
    settings = {"recipe": recipe, "data": str(index.root), "steps": steps, "style_steps": style_steps, "preset": preset,
                "batch_size": batch_size, "seed": seed, "text_encoder": str(text_encoder),
                "evaluation": "quick" if quick_eval else "full"}
    report = write_markdown(results, out, settings=settings, grids=grids, timing=timing)
    summary = {"settings": settings, "seconds_per_variant": timing, "results": results,
               "claims": claims(results), "report": str(report)}
    text = json.dumps(summary, indent=2, default=str)
    atomic_write(out / "ablation.json", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return summary


def _sample_images(pipe, result) -> list:
    """Four test-class captions × 8 seeds (the same captions and seeds for every variant)."""
    captions = EvalSource(None).captions(4, np.random.default_rng(2016))
    images = []
    for caption in captions:
        images += pipe.generate(caption, n=8, seed=0)
    return images
