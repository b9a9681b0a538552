"""``python -m t2i_core train-style``: the style encoder S on a trained, frozen G (§4.4)."""

from __future__ import annotations

HELP = ("Train the style encoder S (image -> z) on the frozen generator of a weights folder with "
        "L_style = ||z - S(G(z, phi(t)))||^2, report the loss on held-out z, and write a run folder "
        "whose weights/ is the source folder with style_encoder added.")

# Help text of each StyleTrainConfig field that is a flag (``config_flags``: defaults from the config)
_HELPS = {
    "steps": "training steps",
    "batch_size": "G samples per step",
    "lr": "Adam learning rate",
    "eval_every": "held-out loss every N steps",
    "ckpt_every": "write OUT/checkpoints/step_*.pt every N steps (0 = only at the end and on Ctrl-C)",
    "keep": "checkpoints to keep",
    "seed": "random seed",
    "augment": "train S on photo-like degradations of G's samples (crop/shift, colour jitter without "
               "hue, blur, noise, JPEG) so it also reads photographs; off = the paper",
    "contrastive": "weight of an InfoNCE term (Oord et al. 2018) added to L_style: by cosine, each "
                   "code must be nearer its own z than the batch's other z; 0 = the paper. On SynthBirds "
                   "W 10 raised S's §5.2 pose reading by 0.03-0.05 of the oracle and style transfer's "
                   "backdrop error by 1.4-2 dE00 (reports/quality round 13)",
    "contrastive_tau": "temperature of the --contrastive term",
    "device": "auto, cpu or cuda",
    "amp": "auto (bf16 autocast on CUDA, fp32 on CPU), bf16 or off",
}


def add_arguments(p) -> None:
    p.add_argument("--weights", help="weights folder from `train` (RUN/weights); optional with --resume")
    p.add_argument("--out", required=True,
                   help="run folder (config.json, log.jsonl, checkpoints/, and weights/: the complete "
                        "weights folder with style_encoder, what generate, evaluate and the app load)")
    p.add_argument("--data", help="dataset folder for the training captions (default: the one "
                                  "recorded in the weights folder)")
    p.add_argument("--cache-dir", help="caption-embedding cache (default: the one used by `train`)")
    p.add_argument("--preset", choices=("tiny", "small", "reed"),
                   help="S's size (default: the preset G was trained with)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out exactly from its last checkpoint")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from ..train.style_config import StyleTrainConfig  # torch-free
    from .config_flags import add_config_flags

    add_config_flags(p, StyleTrainConfig, _HELPS)


def run(args) -> int:
    import torch

    from ..train.run_folder import resolve_settings
    from ..train.style_trainer import StyleTrainConfig, train_style
    from .config_flags import config_overrides

    if args.threads:
        torch.set_num_threads(args.threads)
    cfg, _ = resolve_settings(StyleTrainConfig, args.out, args.resume, config_overrides(args, StyleTrainConfig))
    final = train_style(args.weights, args.out, cfg, data=args.data, cache_dir=args.cache_dir,
                        preset=args.preset, resume=args.resume, progress=not args.no_progress)
    print(f"style encoder: held-out L_style {final['heldout_loss']:.3f} vs {final['baseline_loss']:.3f} "
          f"for predicting 0 ({final['relative']:.1%}); weights: {final['weights']}")
    return 0
