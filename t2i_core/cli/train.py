"""``python -m t2i_core train``: GAN / GAN-CLS / GAN-INT / GAN-INT-CLS (Reed et al. 2016 §4–5).

Single process:  python -m t2i_core train --data DIR --text-encoder TE --out RUN
Several GPUs / CPU processes:  torchrun --nproc_per_node N -m t2i_core train ... (DDP)
"""

from __future__ import annotations

HELP = ("Train the text-conditional GAN (GAN, GAN-CLS, GAN-INT, GAN-INT-CLS) on cached caption "
        "embeddings; writes RUN/config.json, checkpoints/, samples/, log.jsonl and RUN/weights/. "
        "Runs under torchrun for several processes (DDP).")

# Help text of each GANTrainConfig field that is a flag (``config_flags``: the defaults come
# from GANTrainConfig, or, with --resume, from the run's config.json)
_HELPS = {
    "recipe": "named bundle of settings, applied before the other flags: paper (Reed et al.'s exact "
              "GAN-INT-CLS) or fast (the levers the time-to-quality curve rewarded; reports/quality/)",
    "variant": "gan, gan-cls (matching-aware D, §4.2), gan-int (§4.3), gan-int-cls; --recipe fast "
               "picks gan-cls, but gan-int-cls on SynthFlowers data (what was measured there)",
    "preset": "network sizes: tiny (tests), small (CPU DCGAN), reed (ngf 128, residual)",
    "ngf": "G's base width (0 = the preset's; small: 32)",
    "ndf": "D's base width (0 = the preset's; small: 16)",
    "steps": "total training steps (a resumed run continues up to this)",
    "batch_size": "images per step per process (§5: 64)",
    "lr_g": "G's Adam learning rate (§5: 2e-4)",
    "lr_d": "D's Adam learning rate (§5: 2e-4)",
    "lr_halve_every": "halve both learning rates every N epochs (0 = never)",
    "lr_decay": "let both learning rates fall linearly to 0 over this final share of --steps, e.g. "
                "0.33 (0 = off, the paper; on SynthBirds it lost 0.02 of text match, round 8); a "
                "resumed run with more --steps stretches the schedule",
    "captions_per_image": "captions averaged into an image's embedding (§5: 4)",
    "load_size": "resize training images to N x N before the random 64 crop and flip (§5: Reed's 76 "
                 "for CUB photos); 64 = flip only, the renders' own scale: far better on SynthBirds, "
                 "far worse on SynthFlowers at 5,000 steps (reports/quality/README.md, round 7), so "
                 "--recipe fast keeps 76 for SynthFlowers data",
    "split": "training split: train, trainval or all",
    "max_images": "MS-COCO: only the first N images of each split (0 = all)",
    "seed": "random seed (same seed, same run)",
    "sample_every": "write a fixed-(z, caption) sample grid every N steps (0 = off)",
    "ckpt_every": "write a checkpoint every N steps (0 = only at the end)",
    "keep": "checkpoints to keep",
    "log_every": "append averaged losses to log.jsonl every N steps",
    "cond_aug": "StackGAN conditioning augmentation: text code ~ N(mu, sigma) + KL term. Caution: on "
                "SynthBirds G took its variety from this noise and ignored z, and sampling uses the "
                "mean code, so samples barely vary with the seed",
    "kl_weight": "weight of the KL term of --cond-aug (StackGAN: 2)",
    "mode_seeking": "weight of the mode-seeking term (Mao et al. 2019); 0 = off",
    "mode_seeking_on": "the mode-seeking term's image distance: pixels (Mao et al.), edges (finite "
                       "differences: a flat backdrop's colour does not count, pose and shape do; on "
                       "SynthBirds it drew hatched backdrop texture, reports/quality round 11) or "
                       "layout (each image less its mean colour, in 4x4-pixel cells: nearly blind "
                       "to the backdrop's colour, blind to fine texture; on SynthBirds the backdrop then "
                       "followed the caption, reports/quality round 12); several joined by '+' "
                       "(e.g. pixels+layout: z moved pose and backdrop both, and S's §5.2 code read "
                       "less pose, round 13) add one term per space",
    "minibatch_std": "minibatch standard-deviation channel in D",
    "spectral_norm": "spectral normalisation of D's weights",
    "ema_decay": "EMA decay of G's weights for the exported G, e.g. 0.999; 0 = off",
    "d_int_fakes": "D also learns that interpolated-text fakes are fake (own batch)",
    "int_weight": "weight of the interpolated-text term in G's loss (§4.3: 1)",
    "upsample": "G's x2 stages: deconv (paper), resize (nearest + 3x3 conv, no checkerboard; Odena et "
                "al. 2016) or resize-last (only the 64x64 output stage)",
    "cond_bn": "conditional BatchNorm of the text code at every G stage (de Vries et al. 2017)",
    "projection": "projection term in D (Miyato & Koyama 2018)",
    "match_head": "D maps images into phi-space, contrastive on real pairs; G gets --match-weight x "
                  "the same loss on its fakes (Xu et al. 2018)",
    "match_weight": "weight of G's matching loss through D's match head",
    "theta_weight": "weight of G's matching loss through the frozen DS-SJE image encoder of "
                    "--text-encoder (0 = off)",
    "match_tau": "temperature of the matching losses",
    "match_negatives": "what the matching losses contrast an image against: batch (the batch's other "
                       "captions) or classes (every training class's mean caption, as DS-SJE does)",
    "latent_regression": "weight of InfoGAN's latent regression (Chen et al. 2016): D reads z's first "
                         "--latent-dims dims back from the fakes and G must let it, so z draws "
                         "visible style that S can read; 0 = off",
    "latent_dims": "how many of z's dims --latent-regression asks D to read back",
    "hard_wrong": "share of GAN-CLS wrong texts taken from the 10 classes nearest in phi-space "
                  "instead of any other class (0 = paper)",
    "eval_every": "time-to-quality curve: text match on unseen classes every N steps, logged with the "
                  "training CPU time (0 = off)",
    "eval_captions": "test captions per curve point (2 images each)",
    "diverge_patience": "stop when D wins outright this many steps (0 = never)",
    "standing_stats_batches": "G batches for the final BN statistics",
    "device": "auto, cpu or cuda",
    "amp": "auto (bf16 autocast on CUDA, fp32 on CPU), bf16 or off; bf16 is fast on GPUs and CPUs "
           "with AVX-512 BF16/AMX, much slower on AVX2-only CPUs",
}


def add_arguments(p) -> None:
    p.add_argument("--data", help="dataset folder (SynthBirds, SynthFlowers, Reed's CUB/Oxford "
                                  "layouts or an MS-COCO root); "
                                  "with --resume, defaults to the run's dataset")
    p.add_argument("--text-encoder", help="text encoder: a train-text run or weights folder (its "
                                          "embeddings are cached); omit for datasets that ship "
                                          "embeddings (Reed's icml .t7 files)")
    p.add_argument("--out", required=True, help="run folder")
    p.add_argument("--cache-dir", help="caption-embedding cache (default: DATA/.t2i_cache, or "
                                       "~/.cache/t2i_core when DATA is read-only)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--threads", type=int, help="torch CPU threads per process")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from ..train.gan_config import RECIPES, GANTrainConfig  # torch-free
    from .config_flags import add_config_flags

    fast = {k: ("on" if v is True else v) for k, v in RECIPES["fast"].items()
            if v != getattr(GANTrainConfig, k)}
    add_config_flags(p, GANTrainConfig, _HELPS, rename={"ema_decay": "--ema"},
                     notes={k: f"--recipe fast: {v}" for k, v in fast.items()})


def resolve_config(args):
    """GANTrainConfig from defaults ← the run's stored config (``--resume``) ← ``--recipe`` (with
    its adjustments for the domain of ``--data``, ``RECIPE_DOMAINS``) ← explicit flags; and the
    stored run config ({} for a new run)."""
    from ..data.reed import synthetic_domain
    from ..train.gan_config import GANTrainConfig, recipe_settings
    from ..train.run_folder import RunFolder, resolve_settings
    from .config_flags import config_overrides

    flags = config_overrides(args, GANTrainConfig)
    recipe = {}
    if flags.get("recipe") is not None:
        if args.data:
            domain = synthetic_domain(args.data)
        else:  # --resume without --data: the run's own dataset
            stored = RunFolder(args.out).read_config() if args.resume else None
            domain = ((stored or {}).get("dataset") or {}).get("domain")
        recipe = recipe_settings(flags["recipe"], domain)
    return resolve_settings(GANTrainConfig, args.out, args.resume, recipe, flags)


def _procedural_seed(index) -> dict:
    """``{"synthbirds_seed": S}`` / ``{"synthflowers_seed": S}`` for a folder written by
    make-dataset (its split seed, for ``evaluate``), else ``{}``."""
    import json

    from ..eval.sources import seed_key

    if index.domain is None:
        return {}
    try:
        meta = json.loads((index.root / f"synth{index.domain}.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    seed = meta.get("seed") if isinstance(meta, dict) else None
    return {seed_key(index.domain): seed} if isinstance(seed, int) and not isinstance(seed, bool) else {}


def _image_encoder(args, cfg):
    """The frozen DS-SJE θ of --text-encoder, when the recipe uses it (``theta_weight > 0``)."""
    if cfg.theta_weight <= 0:
        return None
    from ..errors import UserError
    from ..text.loading import load_image_encoder

    if not args.text_encoder:
        raise UserError("--theta-weight needs --text-encoder: a train-text run or weights folder "
                        "that holds the image encoder θ")
    try:
        return load_image_encoder(args.text_encoder)
    except UserError as exc:
        raise UserError(f"--theta-weight {cfg.theta_weight}: {exc} (set --theta-weight 0 to train "
                        "without it)") from None


def _probe(cfg, encoder, index, dataset_info, dist):
    """The time-to-quality probe for ``--eval-every`` (rank 0, SynthBirds-style data only)."""
    if not cfg.eval_every or not dist.is_main:
        return None
    from ..errors import UserError
    from ..eval.curve import CurveProbe

    if encoder is None:
        raise UserError("--eval-every needs --text-encoder (the probe embeds unseen test captions)")
    from ..eval.sources import seed_key

    data = None if seed_key(dataset_info.get("domain") or "birds") in dataset_info else index
    return CurveProbe(encoder, data=data, dataset_info=dataset_info, n_captions=cfg.eval_captions,
                      seed=cfg.seed)


def _quiet_openmp_waits() -> None:
    """OpenMP threads sleep instead of spinning between parallel regions, unless the user chose.

    Must run before torch is imported (libgomp reads it when it loads). Results are bitwise the
    same; on the shared, oversubscribed 2-core machine a step was ~2.4× faster (benchmarks/README.md).
    On a dedicated machine, OMP_WAIT_POLICY=ACTIVE may be a little faster."""
    import os

    if not any(k in os.environ for k in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")):
        os.environ["OMP_WAIT_POLICY"] = "PASSIVE"


def _warn_slow_bf16(cfg, dist) -> None:
    from pathlib import Path

    if cfg.amp != "bf16" or dist.device.type != "cpu":
        return
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return
    if "avx512_bf16" not in flags and "amx_bf16" not in flags:
        print("note: --amp bf16 on a CPU without AVX-512 BF16 / AMX runs slow bf16 kernels: "
              "a step was ~13x slower than fp32 here (benchmarks/README.md)", flush=True)


def run(args) -> int:
    _quiet_openmp_waits()
    import torch

    from ..config import preset
    from ..data.dataset import open_dataset
    from ..errors import UserError
    from ..train import distributed as du
    from ..train.gan_data import load_split
    from ..train.gan_trainer import Trainer
    from ..train.losses import check_variant, mode_seeking_space
    from ..text.cache import load_embeddings

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg, run_cfg = resolve_config(args)
    check_variant(cfg.variant)           # fail fast, before the data is loaded
    mode_seeking_space(cfg.mode_seeking_on)
    size = preset(cfg.preset, "generator").image_size
    if cfg.load_size < size:
        raise UserError(f"--load-size {cfg.load_size} is smaller than the {size}-pixel images G "
                        f"draws (use {size} for flip only)")
    data_root = args.data or run_cfg.get("dataset", {}).get("root")
    if not data_root:
        raise UserError("--data is required (the dataset folder to train on)")
    if args.text_encoder is None and run_cfg.get("text_encoder_source"):
        args.text_encoder = run_cfg["text_encoder_source"]
    dist = du.init_from_env(cfg.device)
    progress = dist.is_main and not args.no_progress
    if dist.is_main:
        _warn_slow_bf16(cfg, dist)
    try:
        index = open_dataset(data_root, progress=progress, max_images=cfg.max_images or None)
        emb, offsets, te, info, encoder = load_embeddings(args.text_encoder, index, dist, progress,
                                                          cache_dir=args.cache_dir)
        data = load_split(index, cfg.split, emb, offsets, rank=dist.rank, world=dist.world_size,
                          load_size=cfg.load_size, progress=progress)
        del emb
        info["dataset"] = {"root": str(index.root), "format": index.format, "domain": index.domain}
        info["dataset"].update(_procedural_seed(index))
        theta = _image_encoder(args, cfg)
        probe = _probe(cfg, encoder, index, info["dataset"], dist)
        trainer = Trainer(cfg, data, args.out, dist=dist, resume=args.resume, text_encoder=te,
                          run_info=info, progress=progress, image_encoder=theta, probe=probe)
        result = trainer.train()
    finally:
        du.shutdown(dist)
    if dist.is_main:
        s = result.get("standing_stats", {})
        print(f"trained {cfg.variant} to step {result['step']}; weights: {result.get('weights')}")
        if s:
            print(f"eval-mode vs train-mode mean |diff|: {s['eval_train_gap_before']:.4f} before, "
                  f"{s['eval_train_gap_after']:.4f} after standing statistics")
    return 0
