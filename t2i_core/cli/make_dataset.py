"""``python -m t2i_core make-dataset --out DIR [--domain flowers]``: write a procedural dataset:
SynthBirds (DESIGN.md §2) in Reed's CUB ``cvpr2016`` layout, or SynthFlowers in Reed's
Oxford-102 layout, each with ``attributes.jsonl`` (the truth behind every image)."""

HELP = ("write SynthBirds (2,000 bird classes in Reed's CUB layout) or SynthFlowers (360 flower "
        "classes in Reed's Oxford-102 layout): 10 captions per image, zero-shot splits")
DOMAINS = {"birds": ("SynthBirds", 10, "2,000"), "flowers": ("SynthFlowers", 20, "360")}


def add_arguments(p) -> None:
    p.add_argument("--out", required=True, metavar="DIR",
                   help="new or empty folder (or an earlier dataset of the same domain, which is rewritten)")
    p.add_argument("--domain", choices=tuple(DOMAINS), default="birds",
                   help="birds: SynthBirds (crown, wing, belly colour; beak length); flowers: "
                        "SynthFlowers (petal colour, centre colour, petal shape, petal count)")
    p.add_argument("--images-per-class", type=int, default=None, metavar="N",
                   help="images per class (default: 10 birds, 20 flowers)")
    p.add_argument("--seed", type=int, default=0, metavar="S",
                   help="same seed → same bytes, whatever --workers is")
    p.add_argument("--size", type=int, default=64, help="image side in pixels")
    p.add_argument("--workers", type=int, default=None, metavar="W",
                   help="processes (default: all CPU cores)")
    p.add_argument("--captions", choices=("rich", "plain"), default=None,
                   help="birds only: rich (default) = bird-guide synonyms, varied word order and "
                        "clauses about eyes, feet and tail (what users type); plain = the first "
                        "88-word generator, for reproducing figures measured on it")
    p.add_argument("--max-classes", type=int, default=None, metavar="K",
                   help="only K classes, spread over train/val/test (quick experiments, tests); "
                        "default: all")


def run(args) -> int:
    import time

    from ..errors import UserError

    name, per_class, _ = DOMAINS[args.domain]
    per_class = per_class if args.images_per_class is None else args.images_per_class
    common = dict(images_per_class=per_class, seed=args.seed, size=args.size, workers=args.workers,
                  max_classes=args.max_classes, progress=True)
    start = time.perf_counter()
    if args.domain == "flowers":
        if args.captions is not None:
            raise UserError("--captions is for --domain birds; SynthFlowers has one caption style")
        from ..data.synthflowers import make_dataset

        summary = make_dataset(args.out, **common)
    else:
        from ..data.synthbirds import make_dataset

        summary = make_dataset(args.out, captions=args.captions or "rich", **common)
    splits = ", ".join(f"{k} {v}" for k, v in summary["splits"].items())
    print(f"wrote {name}: {summary['images']} images of {summary['classes']} classes ({splits}) "
          f"to {summary['root']} in {time.perf_counter() - start:.1f} s")
    return 0
