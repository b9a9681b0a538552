"""Settings of a ``train-style`` run (torch-free, so ``--help`` stays instant)."""

from __future__ import annotations

from dataclasses import dataclass

# settings a resumed run may change; everything else must match the run's config.json
RESUMABLE_CHANGES = {"steps", "eval_every", "ckpt_every", "keep", "amp", "device"}


@dataclass
class StyleTrainConfig:
    steps: int = 3000
    batch_size: int = 64
    lr: float = 2e-4                # Adam, as for the GAN (§5)
    beta1: float = 0.5
    beta2: float = 0.999
    captions_per_image: int = 4     # the GAN's training embeddings (§5)
    single_caption_share: float = 0.5  # share of batch rows using one caption (what users type)
    eval_every: int = 250
    eval_size: int = 512            # held-out z
    ckpt_every: int = 250           # checkpoints/step_*.pt every N steps (0: at the end and on Ctrl-C)
    keep: int = 2                   # checkpoints to keep
    standing_stats_batches: int = 50
    seed: int = 0
    device: str = "auto"            # auto, cpu or cuda
    amp: str = "auto"               # bf16 autocast: auto (on for CUDA), bf16 or off (train/amp.py)
    # photo-like degradations of G's samples (data/degrade.py: crop/shift, colour jitter without
    # hue, blur, noise, JPEG) so S reads photos too; off = the paper (clean samples)
    augment: bool = False
    # weight of a contrastive term on S's code (InfoNCE, Oord et al. 2018): each sample's code must
    # be nearer, by cosine, to its own z than to the batch's other z; 0 = the paper (L_style only)
    contrastive: float = 0.0
    contrastive_tau: float = 0.1    # its temperature
