"""End of GAN training: standing BN statistics for G, then ``RUN/weights/`` (a pipeline weights folder).

The exported generator is the EMA copy when ``ema_decay > 0``, else G itself, always with its BN
running statistics recomputed (``standing_stats.py``) so eval-mode output — what the pipeline
draws, deterministic per seed — matches train-mode output. The gap mean |G_eval − G_train| on a
probe batch is measured before and after and recorded in the log and in ``config.json``.
"""

from __future__ import annotations

import copy

from ..checkpoint import save_weights
from ..config import to_dict
from .gan_data import embedding_sampler
from .run_log import plot_losses, save_grid
from .standing_stats import eval_train_gap, generator_batches, recompute_bn_stats


def standing_generator(trainer):
    """A copy of the exported G with standing statistics, and the before/after gap figures."""
    cfg = trainer.cfg
    g = copy.deepcopy(trainer.export_generator()).eval().requires_grad_(False)
    sample = embedding_sampler(trainer.data, cfg.captions_per_image)
    probe_args, probe_kwargs = generator_batches(g, sample, batch_size=cfg.batch_size, seed=cfg.seed + 999)(1)
    before = eval_train_gap(g, *probe_args, **probe_kwargs)
    make_batch = generator_batches(g, sample, batch_size=cfg.batch_size, seed=cfg.seed + 777)
    recompute_bn_stats(g, make_batch, cfg.standing_stats_batches)
    after = eval_train_gap(g, *probe_args, **probe_kwargs)
    report = {"batches": cfg.standing_stats_batches, "batch_size": cfg.batch_size,
              "eval_train_gap_before": round(before, 6), "eval_train_gap_after": round(after, 6)}
    return g, report


def export_weights(trainer) -> dict:
    """Write ``RUN/weights/`` (rank 0 only) and return ``{"weights": path, "standing_stats": {...}}``."""
    g, report = standing_generator(trainer)
    trainer.log.write({"event": "standing_stats", "step": trainer.step, **report})
    run_cfg = trainer.run_config()
    state_dicts = {"generator": g.state_dict(), "discriminator": trainer.D.state_dict()}
    components = dict(run_cfg["components"])
    if trainer.text_encoder is not None:
        te_config, te_state = trainer.text_encoder
        state_dicts = {"text_encoder": te_state, **state_dicts}
        components = {"text_encoder": te_config, **components}
    training = {**run_cfg["training"], "final_step": trainer.step, "world_size": trainer.dist.world_size,
                "generator_weights": "ema" if trainer.G_ema is not None else "raw",
                "standing_stats": report}
    extra = {k: v for k, v in run_cfg.items() if k not in ("training", "components", "world_size")}
    folder = save_weights(trainer.run_dir / "weights", state_dicts,
                          {**extra, "components": components, "training": training})
    if trainer.data.grid_emb is not None:
        args, kwargs = trainer.grid_inputs()
        save_grid(g(*args, **kwargs), trainer.run_dir / "samples" / "final_eval.png", 8)
    plot_losses(trainer.log.read(), trainer.run_dir / "loss_curve.png")
    return {"weights": str(folder), "standing_stats": report, "components": sorted(state_dicts)}
