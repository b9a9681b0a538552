"""``python -m t2i_core data-info ROOT [--json]``: what a dataset folder holds, and what is wrong."""

HELP = ("detect a dataset's format (SynthBirds / SynthFlowers / Reed cvpr2016, icml2016 .t7, hdf5, "
        "MS-COCO) and report classes per split, images, captions per image and problems")


def add_arguments(p) -> None:
    import argparse

    p.add_argument("root", metavar="ROOT",
                   help="dataset folder (text_c10 layout, icml .t7 folders, MS-COCO root) or .hdf5 file")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--image-dir", default=None,
                   help="folder holding the images when they are not next to ROOT "
                        "(e.g. CUB_200_2011/images)")
    p.add_argument("--check-images", action=argparse.BooleanOptionalAction, default=True,
                   help="decode every image to find unreadable files (--no-check-images is "
                        "faster but leaves them unreported)")
    p.add_argument("--max-images", type=int, default=None, metavar="N",
                   help="MS-COCO: only the first N images of each split (by image id)")
    p.add_argument("--workers", type=int, default=0,
                   help="threads for checking images; 0 = automatic (up to 4)")


def _format_text(s: dict) -> str:
    fmt = s["format"] + {"birds": " (SynthBirds)", "flowers": " (SynthFlowers)"}.get(s["domain"], "")
    if s["format"] == "coco":
        fmt += " (MS-COCO: every image its own class, instance-level)"
    cpi = s["captions_per_image"]
    lines = [
        f"dataset   {s['root']}",
        f"format    {fmt}",
        "classes   " + ", ".join(f"{k} {v}" for k, v in s["classes"].items()),
        f"images    {s['images']} (" + ", ".join(f"{k} {v}" for k, v in s["images_per_split"].items())
        + ")",
        f"captions  {s['captions']} ({cpi['min']}-{cpi['max']} per image)",
        "embeddings " + (f"{s['embeddings']}-d, shipped with the data" if s["embeddings"] else "none "
                         "(computed by the text encoder)"),
    ]
    if s.get("images_checked"):
        lines.append(f"unreadable images {s['unreadable_images']}")
    for note in s["notes"]:
        lines.append(f"note: {note}")
    if s["problems"]:
        total = sum(s["problem_counts"].values())
        lines.append(f"problems ({total}):")
        lines += [f"  {p}" for p in s["problems"]]
    else:
        lines.append("problems: none")
    return "\n".join(lines)


def run(args) -> int:
    import json
    import sys

    from ..data.dataset import open_dataset
    from ..errors import UserError

    progress = sys.stderr.isatty()
    try:
        index = open_dataset(args.root, image_dir=args.image_dir, progress=progress,
                             max_images=args.max_images)
        if args.check_images:
            index.check_images(progress=progress, workers=args.workers or None)
    except UserError:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as exc:  # never a traceback
        raise UserError(f"could not read the dataset at {args.root}: "
                        f"{type(exc).__name__}: {exc}") from None
    summary = index.summary()
    summary["images_checked"] = bool(args.check_images)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(_format_text(summary))
    return 0
