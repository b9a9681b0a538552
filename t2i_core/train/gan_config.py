"""Settings of a GAN training run (torch-free, so ``--help`` stays instant).

Stored as ``training`` in ``RUN/config.json`` and in the weights folder. The lever defaults are
the paper's configuration (Reed et al. 2016 §5), the faithful baseline for the ablation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class GANTrainConfig:
    variant: str = "gan-int-cls"
    preset: str = "small"
    steps: int = 10000
    batch_size: int = 64            # per process (torchrun: global batch = batch_size × processes)
    lr_g: float = 2e-4              # §5: Adam, lr 2e-4, β₁ 0.5
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    lr_halve_every: float = 100.0   # epochs (§5: Reed halves lr every 100 epochs); 0 = never
    captions_per_image: int = 4     # §5: an image's embedding averages 4 of its captions
    load_size: int = 76             # resize to 76, random 64 crop + flip
    split: str = "trainval"
    seed: int = 0
    sample_every: int = 500
    ckpt_every: int = 1000
    keep: int = 3
    log_every: int = 10
    # levers against conditional mode collapse (DESIGN §7); the defaults are the paper
    cond_aug: bool = False          # StackGAN conditioning augmentation (G) + KL term
    kl_weight: float = 2.0
    mode_seeking: float = 0.0       # Mao et al. 2019 weight; 0 = off
    minibatch_std: bool = False     # D
    spectral_norm: bool = False     # D
    ema_decay: float = 0.0          # EMA of G's weights; 0 = off (e.g. 0.999)
    d_int_fakes: bool = False       # D also trains on interpolated fakes, in their own call
    int_weight: float = 1.0
    # health and export
    diverge_patience: int = 500     # stop when D wins outright for this many steps; 0 = never
    standing_stats_batches: int = 100
    device: str = "auto"
    # bf16 autocast of the training step ("off" or "bf16"). Opt-in: fast only where the hardware
    # has bf16 units (CUDA, CPUs with AVX-512 BF16 / AMX); much slower on AVX2-only CPUs, and a
    # bf16-trained model has not yet been shown to evaluate as well as fp32 (benchmarks/README.md)
    amp: str = "off"


# settings that may change when a run is resumed; everything else must match the checkpoint
RESUMABLE_CHANGES = {"steps", "sample_every", "ckpt_every", "keep", "log_every", "diverge_patience",
                     "standing_stats_batches", "device", "amp"}
