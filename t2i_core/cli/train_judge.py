"""``python -m t2i_core train-judge``: train the attribute judge used by ``evaluate``."""

HELP = ("train the attribute judge (a small CNN reading SynthBirds or SynthFlowers attributes) "
        "on fresh renders")


def add_arguments(parser) -> None:
    parser.add_argument("--domain", choices=("birds", "flowers"), default="birds",
                        help="whose attributes the judge reads (SynthBirds or SynthFlowers renders)")
    parser.add_argument("--out", default=None,
                        help="weights folder to write (default: weights/judge for birds, "
                             "weights/judge_flowers for flowers)")
    parser.add_argument("--steps", type=int, default=3000, help="training steps (fresh renders each)")
    parser.add_argument("--batch-size", type=int, default=64, help="renders per step")
    parser.add_argument("--lr", type=float, default=2e-3, help="peak AdamW learning rate")
    parser.add_argument("--seed", type=int, default=0, help="seed for renders and initial weights")
    parser.add_argument("--eval-images", type=int, default=2000,
                        help="held-out renders for the accuracy check")
    parser.add_argument("--init", default=None,
                        help="continue from the judge in this folder (new seed stream advised)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")


def run(args) -> int:
    import json
    import sys

    import torch

    from ..errors import UserError
    from ..eval.judge import save_judge
    from ..eval.judge_train import train_judge

    if args.steps < 1 or args.batch_size < 2 or args.eval_images < 1:
        raise UserError("--steps and --eval-images must be >= 1 and --batch-size >= 2")
    if args.threads:
        torch.set_num_threads(args.threads)
    judge, result = train_judge(steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                                seed=args.seed, eval_images=args.eval_images,
                                progress=not args.no_progress, init=args.init, domain=args.domain)
    out = args.out or ("weights/judge" if args.domain == "birds" else f"weights/judge_{args.domain}")
    training = {"domain": args.domain, "init": args.init, "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
                "seed": args.seed, "command": "python -m t2i_core " + " ".join(sys.argv[1:])}
    folder = save_judge(judge, out, training=training)
    per = ", ".join(f"{k} {v:.4f}" for k, v in result["per_attribute"].items())
    print(f"judge written to {folder}")
    print(f"held-out accuracy (mean {result['accuracy_on_real']:.4f}): {per}; "
          f"background median CIEDE2000 {result['background_delta_e_median']:.2f}")
    if result["min_attribute"] < 0.99:
        print("warning: an attribute is below 99% held-out accuracy; train longer (--steps)",
              file=sys.stderr)
    print(json.dumps(result), file=sys.stderr)
    return 0
