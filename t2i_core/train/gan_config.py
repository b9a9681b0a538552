"""Settings of a GAN training run (torch-free, so ``--help`` stays instant).

Stored as ``training`` in ``RUN/config.json`` and in the weights folder. The lever defaults are
the paper's configuration (Reed et al. 2016 §5), the faithful baseline for the ablation.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError


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
    lr_decay: float = 0.0           # final share of the steps over which both lrs fall linearly to 0
    captions_per_image: int = 4     # §5: an image's embedding averages 4 of its captions
    load_size: int = 76             # resize to 76, random 64 crop + flip
    split: str = "trainval"
    max_images: int = 0             # MS-COCO: only the first N images of each split (0 = all)
    seed: int = 0
    sample_every: int = 500
    ckpt_every: int = 1000
    keep: int = 3
    log_every: int = 10
    # levers against conditional mode collapse (DESIGN §7); the defaults are the paper
    cond_aug: bool = False          # StackGAN conditioning augmentation (G) + KL term
    kl_weight: float = 2.0
    mode_seeking: float = 0.0       # Mao et al. 2019 weight; 0 = off
    mode_seeking_on: str = "pixels"  # its image distance: pixels (Mao et al.), edges, layout, or a "+" sum (see losses)
    minibatch_std: bool = False     # D
    spectral_norm: bool = False     # D
    ema_decay: float = 0.0          # EMA of G's weights; 0 = off (e.g. 0.999)
    d_int_fakes: bool = False       # D also trains on interpolated fakes, in their own call
    int_weight: float = 1.0
    # levers for text fidelity and crispness (off = the paper; see RECIPES["fast"])
    upsample: str = "deconv"        # G: "deconv" (paper), "resize" or "resize-last" (Odena et al. 2016)
    cond_bn: bool = False           # G: conditional BN of the text code (de Vries et al. 2017)
    projection: bool = False        # D: projection term (Miyato & Koyama 2018)
    match_head: bool = False        # D: image → φ-space head, contrastive on real pairs (Xu et al. 2018)
    match_weight: float = 1.0       # G's matching loss through D's head (with match_head)
    theta_weight: float = 0.0       # G's matching loss through the frozen DS-SJE θ; 0 = off
    match_tau: float = 0.1          # temperature of both matching losses
    # negatives of both matching losses: "batch" (the batch's other captions, DAMSM) or "classes"
    # (every training class's mean caption embedding, DS-SJE's classification; Reed et al. 2016a)
    match_negatives: str = "batch"
    # InfoGAN's latent regression (Chen et al. 2016): D reads z's first latent_dims dims back
    # from the fakes and G is asked to make that possible (style S can read); 0 = off
    latent_regression: float = 0.0
    latent_dims: int = 8
    hard_wrong: float = 0.0         # share of GAN-CLS wrong texts drawn from the nearest classes in φ
    ngf: int = 0                    # G's base width; 0 = the preset's
    ndf: int = 0                    # D's base width; 0 = the preset's (small: 16)
    recipe: str = "paper"           # the named bundle these settings started from (RECIPES)
    # time-to-quality curve: text match on unseen classes every N steps (0 = off)
    eval_every: int = 0
    eval_captions: int = 100        # test captions per curve point (2 images each)
    # health and export
    diverge_patience: int = 500     # stop when D wins outright for this many steps; 0 = never
    standing_stats_batches: int = 100
    device: str = "auto"
    # bf16 autocast of the training step (train/amp.py): "auto" = on for CUDA, off on CPU; "bf16"
    # forces it (fast only where the hardware has bf16 units; much slower on AVX2-only CPUs)
    amp: str = "auto"


# settings that may change when a run is resumed; everything else must match the checkpoint
RESUMABLE_CHANGES = {"steps", "sample_every", "ckpt_every", "keep", "log_every", "diverge_patience",
                     "standing_stats_batches", "device", "amp", "eval_every", "eval_captions"}

# Named recipes: overrides of the defaults above, applied before explicit flags (``--recipe``).
# "paper" is Reed et al.'s GAN-INT-CLS exactly (the ablation's baseline). "fast" bundles the
# levers the time-to-quality curve rewarded (reports/quality/); its contents may change, the
# name stays.
RECIPES = {
    "paper": {},
    # GAN-CLS: GAN-INT's second G pass (§4.3) costs 37% of a step and did not pay for it on the
    # curve (round 8); ``--variant gan-int-cls`` puts it back
    "fast": dict(variant="gan-cls", spectral_norm=True, ema_decay=0.999, mode_seeking=1.0, upsample="resize",
                 cond_bn=True, projection=True, match_head=True, match_weight=1.0, theta_weight=2.0,
                 lr_g=4e-4, lr_d=4e-4,
                 # no 76-pixel zoom before the 64 crop: on 64-pixel renders it caps what the judge
                 # reads in the training images themselves (beak 0.84-0.86; benchmarks/bench_augment_ceiling.py)
                 load_size=64),
}


# Per-domain adjustments of a recipe, applied on top of it when the data is of that domain.
# SynthFlowers keep Reed's zoom-and-crop under "fast": at the renders' own scale (load size 64)
# the flowers model fell from 0.897 to 0.74 per attribute at 5,000 steps (reports/quality, round 7).
# They were measured with GAN-INT-CLS, which the flowers model keeps until it is measured again.
RECIPE_DOMAINS = {"fast": {"flowers": {"load_size": 76, "variant": "gan-int-cls"}}}


def recipe_settings(name: str, domain: str | None = None) -> dict:
    """The overrides of recipe ``name`` for data of ``domain`` ("birds", "flowers" or None for
    any other data); a clear error for an unknown name."""
    if name not in RECIPES:
        raise UserError(f"unknown recipe {name!r}: choose one of {', '.join(RECIPES)}")
    return {"recipe": name, **RECIPES[name], **RECIPE_DOMAINS.get(name, {}).get(domain, {})}
