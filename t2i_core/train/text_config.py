"""Settings of a ``train-text`` run (torch-free, so ``--help`` stays instant): the optimisation
config, its named presets, and which settings a resumed run may change."""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import UserError

# settings a resumed run may change; everything else must match the run's config.json
RESUMABLE = {"steps", "threads", "val_every", "ckpt_every", "keep", "log_every", "device", "amp"}


@dataclass
class TextTrainConfig:
    """Optimisation settings of ``train-text`` (components have their own configs)."""
    steps: int = 2400
    classes_per_batch: int = 32
    images_per_class: int = 4
    captions_per_class: int = 0    # 0: one caption per image; else drawn from the class's captions
    neighbour_group: int = 1       # >1: batches hold groups of classes the model confuses
    neighbour_pool: int = 10       # ... drawn from each anchor's nearest classes
    neighbour_source: str = "mined"  # "mined" (current prototypes) or "words" (caption TF-IDF)
    mine_every: int = 25           # refresh the mined neighbours every N steps
    lr: float = 1e-3               # Adam; warm-up then cosine decay to lr * lr_min_ratio
    lr_min_ratio: float = 0.05
    decay_fraction: float = 1.0    # the cosine decay spans this last share of the steps after
                                   # warm-up; before it the lr stays at its peak (1.0: all of them)
    warmup_steps: int = 100
    betas: tuple = (0.9, 0.999)
    weight_decay: float = 0.0
    grad_clip: float = 5.0
    margin: float = 1.0            # Δ(y, y') = margin for y' ≠ y
    reduction: str = "mean"        # DS-SJE hinge over wrong classes: "mean" (Reed's code) or "max"
    cosine_scale: float = 0.0      # 0: F = θ(v)ᵀφ(t) (paper); > 0: F = scale · cos(θ(v), φ(t))
    augment: bool = True
    val_every: int = 300
    val_captions_per_class: int = 20
    ckpt_every: int = 300
    keep: int = 2                  # checkpoints/step_*.pt to keep
    log_every: int = 20
    seed: int = 0
    threads: int = 2
    device: str = "cpu"            # cpu, cuda or auto
    amp: str = "auto"              # bf16 autocast: "auto" (on for CUDA), "bf16" or "off"
    # DS-SJE's classes: "class" (the dataset's classes, CUB-like data) or "instance" (each image
    # its own class, one caption per image in a batch: the paper's §5.4 on MS-COCO)
    matching: str = "class"
    max_images: int = 0            # MS-COCO: only the first N images of each split (0 = all)


TRAIN_PRESETS = {
    "tiny": dict(steps=6, classes_per_batch=6, images_per_class=2, warmup_steps=1, val_every=3,
                 ckpt_every=3, log_every=1, val_captions_per_class=4, threads=1,
                 neighbour_group=2, mine_every=2),
    # SynthBirds, 1 thread: groups of 8 mined neighbours (so that classes differing only in the
    # beak meet more often) and the peak lr held for half the run: test zero-shot 0.971 / 0.965 /
    # 0.991 (seeds 0 / 1 / 2) in 13.2-13.5 CPU-min (reports/text_encoder/)
    "small": dict(steps=2400, lr=2e-3, warmup_steps=50, decay_fraction=0.5, neighbour_group=8,
                  neighbour_pool=7, val_every=300, ckpt_every=300),
    "reed": dict(steps=20000, classes_per_batch=64, images_per_class=4, lr=2e-4, val_every=1000,
                 ckpt_every=1000),
}


def train_preset(name: str, **overrides) -> TextTrainConfig:
    if name not in TRAIN_PRESETS:
        raise UserError(f"unknown preset {name!r}: choose one of {', '.join(TRAIN_PRESETS)}")
    cfg = TextTrainConfig(**TRAIN_PRESETS[name])
    return _override(cfg, overrides)


def _override(cfg: TextTrainConfig, overrides: dict) -> TextTrainConfig:
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    unknown = sorted(set(overrides) - set(TextTrainConfig.__dataclass_fields__))
    if unknown:
        raise UserError(f"unknown training settings: {unknown}")
    cfg = replace(cfg, **overrides)
    for name in ("steps", "classes_per_batch", "images_per_class", "val_every", "ckpt_every",
                 "log_every", "threads", "keep", "val_captions_per_class", "neighbour_group", "neighbour_pool"):
        if int(getattr(cfg, name)) < 1:
            raise UserError(f"{name.replace('_', '-')} must be at least 1, got {getattr(cfg, name)}")
    if cfg.neighbour_group > 1 and cfg.neighbour_pool < cfg.neighbour_group - 1:
        raise UserError(f"neighbour-pool ({cfg.neighbour_pool}) must hold at least neighbour-group - 1 "
                        f"({cfg.neighbour_group - 1}) classes")
    if cfg.matching not in ("class", "instance"):
        raise UserError(f"matching must be 'class' or 'instance', got {cfg.matching!r}")
    if cfg.matching == "instance" and (cfg.images_per_class != 1 or cfg.captions_per_class):
        cfg = replace(cfg, images_per_class=1, captions_per_class=0)  # one image, one caption each
    if cfg.neighbour_source not in ("mined", "words"):
        raise UserError(f"neighbour_source must be 'mined' or 'words', got {cfg.neighbour_source!r}")
    if cfg.captions_per_class < 0:
        raise UserError(f"captions-per-class must be 0 (one per image) or more, got {cfg.captions_per_class}")
    if cfg.classes_per_batch < 2:
        raise UserError("a DS-SJE batch needs at least 2 classes (batch size ≥ 2 × images per class)")
    if not cfg.lr > 0:
        raise UserError(f"lr must be positive, got {cfg.lr}")
    if not 0 < cfg.decay_fraction <= 1:
        raise UserError(f"decay-fraction must be in (0, 1], got {cfg.decay_fraction}")
    return cfg
