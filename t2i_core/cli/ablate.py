"""``python -m t2i_core ablate``: GAN vs GAN-CLS vs GAN-INT vs GAN-INT-CLS, one budget, one table."""

HELP = ("train gan, gan-cls, gan-int and gan-int-cls with the same budget and seeds, evaluate each "
        "and say whether the paper's claims hold")


def add_arguments(parser) -> None:
    parser.add_argument("--data", required=True, help="dataset folder (SynthBirds)")
    parser.add_argument("--steps", type=int, required=True, help="GAN training steps per variant")
    parser.add_argument("--text-encoder", default=None,
                        help="text encoder (train-text run or weights folder) shared by all variants "
                             "(default: the bundled weights/synthbirds)")
    parser.add_argument("--out", default="runs/ablation", help="folder for runs, table and report")
    parser.add_argument("--style-steps", type=int, default=None,
                        help="style-encoder steps per variant (default: steps / 2)")
    parser.add_argument("--preset", default="small", choices=("tiny", "small", "reed"),
                        help="network sizes")
    parser.add_argument("--batch-size", type=int, default=64, help="images per step")
    parser.add_argument("--seed", type=int, default=0, help="one seed for every variant")
    parser.add_argument("--variants", default=",".join(("gan", "gan-cls", "gan-int", "gan-int-cls")),
                        help="comma-separated subset of variants")
    parser.add_argument("--recipe", default="paper", choices=("paper", "fast"),
                        help="training recipe every variant shares: paper (Reed et al. exactly) or "
                             "fast (the time-to-quality curve's levers; its own choice of variant "
                             "is overridden)")
    parser.add_argument("--quick-eval", action="store_true", help="small evaluation samples")
    parser.add_argument("--judge", default=None, help="judge weights folder (default: weights/judge)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")


def run(args) -> int:
    import sys

    import torch

    from ..errors import UserError
    from ..eval.ablation import run_ablation
    from ..eval.ablation_report import claims_text
    from ..pipeline import default_weights_dir

    text_encoder = args.text_encoder
    if text_encoder is None:
        if not (default_weights_dir() / "config.json").is_file():
            raise UserError("give --text-encoder (a train-text run); there are no bundled weights "
                            f"at {default_weights_dir()} to take φ from")
        text_encoder = default_weights_dir()
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = tuple(v.strip() for v in args.variants.split(",") if v.strip())

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    summary = run_ablation(data=args.data, steps=args.steps, out=args.out, text_encoder=text_encoder,
                           style_steps=args.style_steps, preset=args.preset,
                           batch_size=args.batch_size, seed=args.seed, quick_eval=args.quick_eval,
                           variants=variants, judge=args.judge, progress=not args.no_progress,
                           log=log, recipe=args.recipe)
    from ..eval.ablation_report import text_table

    print(text_table(summary["results"]))
    print()
    print(claims_text(summary["results"]).replace("**", ""))
    print(f"\nreport: {summary['report']}")
    return 0
