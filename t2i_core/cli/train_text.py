"""``python -m t2i_core train-text``: train the char-CNN-RNN text encoder with DS-SJE (§3.2)."""

HELP = ("Train the text encoder φ (Reed's char-CNN-RNN) jointly with an image encoder using the "
        "DS-SJE loss; reports zero-shot top-1 on unseen classes and writes RUN/weights/.")


# Help text of each TextTrainConfig field that is a flag (``config_flags``: defaults from the
# config and the preset, or, with --resume, from the run's config.json)
_HELPS = {
    "steps": "total training steps (the lr schedule spans them)",
    "images_per_class": "pairs of each class in a batch",
    "lr": "Adam learning rate (peak)",
    "neighbour_group": "1: random classes per batch; N>1: groups of N classes the model currently "
                       "confuses (online hard-negative class mining)",
    "neighbour_pool": "with --neighbour-group N: each group is an anchor class plus N-1 of its POOL "
                      "nearest classes",
    "decay_fraction": "the lr stays at its peak, then decays (cosine) over this last share of the "
                      "steps; 1 = decay from the end of warm-up",
    "val_every": "validate (zero-shot top-1 on val classes) every N steps",
    "ckpt_every": "write checkpoints/step_*.pt every N steps",
    "keep": "checkpoints to keep",
    "seed": "random seed",
    "threads": "torch CPU threads",
    "device": "cpu, cuda or auto",
    "amp": "auto (bf16 autocast on CUDA, fp32 on CPU), bf16 or off",
}


def add_arguments(p) -> None:
    p.add_argument("--data", help="dataset folder (SynthBirds from make-dataset, or Reed's CUB/Oxford "
                                  "layout); optional with --resume")
    p.add_argument("--out", required=True, help="run folder (config.json, log.jsonl, checkpoints/, "
                                                "training.png, weights/)")
    p.add_argument("--preset", default="small", choices=("tiny", "small", "reed"),
                   help="network sizes and training defaults")
    p.add_argument("--minutes", type=float, help="stop after this much training time (wall-clock, "
                                                 "summed over resumes), then write weights")
    p.add_argument("--batch-size", type=int,
                   help="pairs per batch = classes per batch × --images-per-class")
    p.add_argument("--matching", choices=("class", "instance"), default=None,
                   help="DS-SJE's classes: class (the dataset's classes, for CUB-like data) or "
                        "instance (each image its own class, one caption per image in a batch: "
                        "the paper's §5.4); default: instance on MS-COCO, else class")
    p.add_argument("--max-images", type=int, default=None, metavar="N",
                   help="MS-COCO: only the first N images of each split (a subset)")
    from ..train.text_config import TRAIN_PRESETS, TextTrainConfig  # torch-free
    from .config_flags import add_config_flags

    small = TRAIN_PRESETS["small"]
    add_config_flags(p, TextTrainConfig, _HELPS,
                     shown_defaults={k: f"the preset's; small: {small[k]}" for k in _HELPS if k in small})
    p.add_argument("--resume", action="store_true",
                   help="continue the run in --out exactly where its last checkpoint left off")
    p.add_argument("--stop-at", type=int, metavar="STEP",
                   help="pause after STEP (checkpoint only); continue later with --resume")
    p.add_argument("--no-test", action="store_true", help="skip the final test-split evaluation")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _overrides(args) -> dict:
    from ..train.text_config import TextTrainConfig
    from .config_flags import config_overrides

    out = config_overrides(args, TextTrainConfig)
    if args.matching is None and args.data and not args.resume:
        from ..data.dataset import detect_format

        if detect_format(args.data) == "coco":
            out["matching"] = "instance"  # COCO has no classes (§5.4)
    if args.batch_size is not None:
        if args.batch_size < 2:
            from ..errors import UserError

            raise UserError(f"--batch-size must be at least 2, got {args.batch_size}")
        if "images_per_class" in out:
            per = out["images_per_class"]
        else:
            from ..train.text_config import TRAIN_PRESETS

            per = TRAIN_PRESETS.get(args.preset, {}).get("images_per_class",
                                                         TextTrainConfig.images_per_class)
        out["classes_per_batch"] = max(1, args.batch_size // max(1, per))
    return {k: v for k, v in out.items() if v is not None}


def _print_figures(figures: dict) -> None:
    for split in ("val", "test"):
        f = figures.get(split)
        if not f:
            continue
        if "caption_to_image_r1" in f:
            print(f"{split}: retrieval on {f['n_images']} held-out images ({f['n_captions']} captions): "
                  + ", ".join(f"caption→image R@{k} {f[f'caption_to_image_r{k}']:.4f}" for k in (1, 5, 10))
                  + "; " + ", ".join(f"image→caption R@{k} {f[f'image_to_caption_r{k}']:.4f}" for k in (1, 5, 10)))
            continue
        print(f"{split}: zero-shot top-1 {f['zero_shot_top1']:.4f} over {f['n_classes']} unseen classes "
              f"({f['n_images']} images, {f['n_captions']} captions); caption top-1 "
              f"{f['caption_top1']:.4f}; retrieval AP@50 {f['retrieval_ap50']:.4f}"
              + (f"; paraphrase top-1 {f['paraphrase_top1']:.4f}" if "paraphrase_top1" in f else ""))


def run(args) -> int:
    from pathlib import Path

    from ..errors import UserError
    from ..train.text_trainer import TextTrainer

    if args.minutes is not None and args.minutes <= 0:
        raise UserError(f"--minutes must be positive, got {args.minutes}")
    if args.stop_at is not None and args.stop_at < 1:
        raise UserError(f"--stop-at must be at least 1, got {args.stop_at}")
    trainer = TextTrainer(Path(args.out), data=args.data, preset=args.preset,
                          overrides=_overrides(args), resume=args.resume,
                          progress=not args.no_progress, minutes=args.minutes,
                          stop_at=args.stop_at, eval_test=not args.no_test)
    result = trainer.train()
    if "paused_at" in result:
        print(f"paused at step {result['paused_at']}: continue with --resume --out {args.out}")
        return 0
    _print_figures(result)
    print(f"trained {trainer.step} steps in {trainer.elapsed_s / 60:.1f} min wall, "
          f"{trainer.cpu_s / 60:.1f} CPU-min; weights: {Path(args.out) / 'weights'}")
    return 0
