"""``python -m t2i_core make-dataset --out DIR``: write the procedural SynthBirds dataset
(DESIGN.md §2) in Reed's CUB ``cvpr2016`` layout plus ``attributes.jsonl``."""

HELP = ("write SynthBirds (2,000 bird classes, 10 CUB-like captions per image, zero-shot splits) "
        "in Reed's CUB layout")


def add_arguments(p) -> None:
    p.add_argument("--out", required=True, metavar="DIR",
                   help="new or empty folder (or an earlier SynthBirds folder, which is rewritten)")
    p.add_argument("--images-per-class", type=int, default=10, metavar="N",
                   help="images per class (2,000 classes)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="same seed → same bytes, whatever --workers is")
    p.add_argument("--size", type=int, default=64, help="image side in pixels")
    p.add_argument("--workers", type=int, default=None, metavar="W",
                   help="processes; None = all CPU cores")
    p.add_argument("--max-classes", type=int, default=None, metavar="K",
                   help="only K classes, spread over train/val/test (quick experiments, tests); "
                        "None = all 2,000")


def run(args) -> int:
    import time

    from ..data.synthbirds import make_dataset

    start = time.perf_counter()
    summary = make_dataset(args.out, images_per_class=args.images_per_class, seed=args.seed,
                           size=args.size, workers=args.workers, max_classes=args.max_classes,
                           progress=True)
    splits = ", ".join(f"{k} {v}" for k, v in summary["splits"].items())
    print(f"wrote {summary['images']} images of {summary['classes']} classes ({splits}) to "
          f"{summary['root']} in {time.perf_counter() - start:.1f} s")
    return 0
