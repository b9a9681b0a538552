"""End of GAN training: standing BN statistics for G, then ``RUN/weights/`` (a pipeline weights folder).

The exported generator is the EMA copy when ``ema_decay > 0``, else G itself, always with its BN
running statistics recomputed (``standing_stats.py``) so eval-mode output — what the pipeline
draws, deterministic per seed — matches train-mode output. The gap mean |G_eval − G_train| on a
probe batch is measured before and after and recorded in the log and in ``config.json``.
D's statistics are recomputed the same way on real images (what ``match_scores`` scores).
"""

from __future__ import annotations

import copy

import torch

from ..checkpoint import save_weights
from .gan_data import center_crop, embedding_sampler, mean_caption_embedding
from ..viz import save_grid
from .run_plots import plot_losses
from .standing_stats import eval_train_gap, generator_batches, recompute_bn_stats


def standing_generator(trainer, batches: int | None = None):
    """A copy of the exported G with standing statistics (``batches`` G batches, default the
    config's), and the before/after gap figures."""
    cfg = trainer.cfg
    batches = cfg.standing_stats_batches if batches is None else batches
    g = copy.deepcopy(trainer.export_generator()).eval().requires_grad_(False)
    sample = embedding_sampler(trainer.data, cfg.captions_per_image)
    probe_args, probe_kwargs = generator_batches(g, sample, batch_size=cfg.batch_size, seed=cfg.seed + 999,
                                                  captions_per_image=cfg.captions_per_image)(1)
    before = eval_train_gap(g, *probe_args, **probe_kwargs)
    make_batch = generator_batches(g, sample, batch_size=cfg.batch_size, seed=cfg.seed + 777,
                                   captions_per_image=cfg.captions_per_image)
    recompute_bn_stats(g, make_batch, batches)
    after = eval_train_gap(g, *probe_args, **probe_kwargs)
    report = {"batches": batches, "batch_size": cfg.batch_size,
              "eval_train_gap_before": round(before, 6), "eval_train_gap_after": round(after, 6)}
    return g, report


def standing_discriminator(trainer, batches: int):
    """A copy of D whose BN statistics come from real training images only, scored against
    their own captions and (every other batch) other images' captions — the inputs of
    ``match_scores`` — rather than the training mix dominated by fakes."""
    d = copy.deepcopy(trainer.D).eval().requires_grad_(False)
    data, bs = trainer.data, min(trainer.cfg.batch_size, len(trainer.data))
    gen = torch.Generator().manual_seed(trainer.cfg.seed + 555)
    dev = next(d.parameters()).device

    def make_batch(i: int):
        idx = torch.randint(0, len(data), (bs,), generator=gen)
        texts = idx if i % 2 == 0 else idx[torch.randperm(bs, generator=gen)]
        emb = mean_caption_embedding(data, texts.to(data.offsets.device), trainer.cfg.captions_per_image, gen)
        return (center_crop(data.images[idx.to(data.images.device)]).to(dev), emb.to(dev)), {}

    recompute_bn_stats(d, make_batch, batches)
    return d


def export_weights(trainer) -> dict:
    """Write ``RUN/weights/`` (rank 0 only) and return ``{"weights": path, "standing_stats": {...}}``."""
    g, report = standing_generator(trainer)
    trainer.log.write({"event": "standing_stats", "step": trainer.step, **report})
    run_cfg = trainer.run_config()
    d = standing_discriminator(trainer, trainer.cfg.standing_stats_batches)
    state_dicts = {"generator": g.state_dict(), "discriminator": d.state_dict()}
    components = dict(run_cfg["components"])
    if trainer.text_encoder is not None:
        te_config, te_state = trainer.text_encoder
        state_dicts = {"text_encoder": te_state, **state_dicts}
        components = {"text_encoder": te_config, **components}
    training = {**run_cfg["training"], "final_step": trainer.step, "world_size": trainer.dist.world_size,
                "generator_weights": "ema" if trainer.G_ema is not None else "raw",
                "standing_stats": report}
    extra = {k: v for k, v in run_cfg.items() if k not in ("training", "components", "world_size")}
    folder = save_weights(trainer.folder.weights_dir, state_dicts,
                          {**extra, "components": components, "training": training})
    if trainer.data.grid_emb is not None:
        args, kwargs = trainer.grid_inputs()
        save_grid(g(*args, **kwargs), trainer.run_dir / "samples" / "final_eval.png", 8)
    plot_losses(trainer.log.read(), trainer.run_dir / "loss_curve.png")
    return {"weights": str(folder), "standing_stats": report, "components": sorted(state_dicts)}
