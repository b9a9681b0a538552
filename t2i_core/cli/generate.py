"""``python -m t2i_core generate "caption" --n 8 --seed 0 --out grid.png [--weights DIR]``."""

HELP = "draw images for a caption with a weights folder and save them as one grid PNG"


def add_arguments(p) -> None:
    p.add_argument("caption", help="what to draw, e.g. 'this bird has a red crown and blue wings'")
    p.add_argument("--n", type=int, default=8, help="number of images (image i uses seed + i)")
    p.add_argument("--seed", type=int, default=0, help="first latent seed (same seed → same pixels)")
    p.add_argument("--out", default="grid.png", help="output PNG (a grid of the n images)")
    p.add_argument("--weights", default=None,
                   help="weights folder (default: the bundled weights/synthbirds)")
    p.add_argument("--tiny", action="store_true",
                   help="use a random-weight tiny model instead of a weights folder (smoke test)")
    p.add_argument("--cols", type=int, default=None, help="grid columns (default: about square)")
    p.add_argument("--scale", type=int, default=1, help="enlarge each 64×64 image by this factor")
    p.add_argument("--frames", default=None,
                   help="also save each image as FRAMES/<seed>.png (a folder)")


def run(args) -> int:
    import sys
    from pathlib import Path

    from ..files import atomic_write
    from ..errors import UserError
    from ..pipeline import T2IPipeline
    from ..viz import image_grid

    if args.tiny and args.weights:
        raise UserError("give either --tiny or --weights, not both")
    if not 1 <= args.scale <= 16:
        raise UserError(f"--scale must be between 1 and 16, got {args.scale}")
    out = Path(args.out)
    if out.suffix.lower() != ".png":
        raise UserError(f"--out must end in .png, got {out}")
    if out.is_dir():
        raise UserError(f"--out is a folder: {out}")
    pipe = T2IPipeline.from_preset("tiny") if args.tiny else T2IPipeline.from_pretrained(args.weights)
    images = pipe.generate(args.caption, n=args.n, seed=args.seed)
    for note in pipe.notices:
        print(f"note: {note}", file=sys.stderr)
    grid = image_grid(images, cols=args.cols, scale=args.scale)
    atomic_write(out, lambda tmp: grid.save(tmp, format="png"))
    if args.frames:
        folder = Path(args.frames)
        for i, im in enumerate(images):
            atomic_write(folder / f"{args.seed + i}.png", lambda tmp, im=im: im.save(tmp, format="png"))
    print(f"wrote {out} ({len(images)} images, seeds {args.seed}..{args.seed + len(images) - 1}, "
          f"weights: {pipe.source})")
    return 0
