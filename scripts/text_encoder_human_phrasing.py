"""How well φ alone reads hand-written captions: each caption goes to the nearest class in the
joint embedding (θ's mean image embedding of every class of the dataset, DS-SJE's
compatibility θ(v)ᵀφ(t)), and that class's attributes are scored against the caption's intended
ones (``tests/data/human_captions.jsonl``). No generator, no judge: it isolates the text
encoder, the first place free phrasing can fail (``evaluate``'s ``human_text_match`` scores the
whole chain).

    python scripts/text_encoder_human_phrasing.py --text-encoder runs/synthbirds/text/weights \\
        --data data/synthbirds [--human-captions FILE] [--images-per-class 2]
"""

from __future__ import annotations

import argparse
import sys


def phrasing_accuracy(text_encoder, image_encoder, index, captions, wants, images_per_class: int = 2) -> dict:
    """Per-attribute accuracy (and per part) of the nearest class's attributes."""
    import numpy as np
    import torch

    from t2i_core.data.synthbirds import parse_class
    from t2i_core.text.alphabet import clean_caption
    from t2i_core.text.sje import class_means
    from t2i_core.text.zero_shot import embed_captions, embed_images, split_images

    per_class: dict[str, list[int]] = {}
    for i, rec in enumerate(index.records):
        if len(per_class.setdefault(rec.class_name, [])) < images_per_class:
            per_class[rec.class_name].append(i)
    names = sorted(per_class)
    ids = [i for n in names for i in per_class[n]]
    labels = torch.tensor([names.index(index.records[i].class_name) for i in ids])
    protos = class_means(embed_images(image_encoder, split_images(index, ids)), labels, len(names))
    pred = (embed_captions(text_encoder, [clean_caption(c) for c in captions]) @ protos.t()).argmax(1)
    hits: dict[str, list[bool]] = {}
    for p, want in zip(pred.tolist(), wants):
        got = parse_class(names[p])
        for part, value in want.items():
            hits.setdefault(part, []).append(got[part] == value)
    return {"per_attribute": float(np.mean([h for v in hits.values() for h in v])),
            "by_attribute": {k: float(np.mean(v)) for k, v in hits.items()},
            "n_captions": len(captions), "n_classes": len(names)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--text-encoder", required=True, help="train-text run or weights folder (φ and θ)")
    ap.add_argument("--data", required=True, help="SynthBirds folder (its classes are the candidates)")
    ap.add_argument("--human-captions", default=None,
                    help="JSONL of hand-written captions (default: tests/data/human_captions.jsonl)")
    ap.add_argument("--images-per-class", type=int, default=2, help="images behind each class prototype")
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = ap.parse_args(argv)

    import torch

    from t2i_core.data.dataset import open_dataset
    from t2i_core.errors import UserError
    from t2i_core.eval.evaluate import HUMAN_CAPTIONS, load_human_captions
    from t2i_core.text.loading import load_image_encoder, load_text_encoder

    torch.set_num_threads(args.threads)
    try:
        if args.images_per_class < 1:
            raise UserError("--images-per-class must be at least 1")
        captions, wants = load_human_captions(args.human_captions or HUMAN_CAPTIONS)
        res = phrasing_accuracy(load_text_encoder(args.text_encoder), load_image_encoder(args.text_encoder),
                                open_dataset(args.data), captions, wants, args.images_per_class)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    parts = ", ".join(f"{k} {v:.3f}" for k, v in res["by_attribute"].items())
    print(f"φ nearest class of {res['n_captions']} hand-written captions among {res['n_classes']} classes: "
          f"per attribute {res['per_attribute']:.3f} ({parts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
