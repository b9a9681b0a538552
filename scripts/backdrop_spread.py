"""Does the backdrop stay style? G's backdrop variety beside the training images' own.

    python scripts/backdrop_spread.py [--weights weights/synthbirds] [--data data/synthbirds]
                                      [--captions 24] [--z 24] [--classes 60] [--seed 0]

Prints three median pairwise CIEDE2000 distances between backdrop colours, each as the
attribute judge reads them (`evaluate`'s `diversity.background_spread_delta_e` is the first):

* **within a caption**: one caption, many z (what style should vary);
* **across captions, same z**: one z, many captions (what the caption moves: small if the
  backdrop is style, §4.4);
* **real, within a class**: the dataset's own images of one class (same content, their own
  style): the variety the training data has, i.e. what a model that learnt the data shows.

The same z rows are used for every caption (``Nets.z``), so the second figure isolates the caption.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np


def spreads(nets, judge, captions: list[str], n_z: int, z_seed: int) -> dict:
    """Median pairwise ΔE00 of judge-read backdrops: within each caption (over z) and across the
    captions for each z; each averaged."""
    emb = nets.embed(captions)
    z = nets.z(n_z, z_seed)
    images = nets.generate(z.repeat(len(captions), 1), emb.repeat_interleave(n_z, 0))
    bg = np.asarray([p["background_rgb"] for p in judge.predict_tensor(images)], float)
    bg = bg.reshape(len(captions), n_z, 3)
    return {"within_caption": _mean_median_spread(bg), "across_captions_same_z": _mean_median_spread(bg.transpose(1, 0, 2))}


def real_spread(judge, index, n_classes: int, rng: np.random.Generator) -> float:
    """The same figure for the dataset's images: within each of ``n_classes`` random classes."""
    import torch

    from t2i_core.data.dataset import load_image_array
    from t2i_core.errors import UserError

    by_class: dict[str, list[int]] = {}
    for i, r in enumerate(index.records):
        by_class.setdefault(r.class_name, []).append(i)
    names = [c for c in sorted(by_class) if len(by_class[c]) > 1]
    if not names:
        raise UserError("the dataset has no class with two images or more")
    picks = rng.choice(len(names), size=min(n_classes, len(names)), replace=False)
    groups = []
    for j in picks:
        imgs = load_image_array(index, by_class[names[int(j)]], 64, workers=1, progress=False)
        x = torch.from_numpy(np.ascontiguousarray(imgs)).permute(0, 3, 1, 2).float() / 127.5 - 1.0
        groups.append(np.asarray([p["background_rgb"] for p in judge.predict_tensor(x)], float))
    return _mean_median_spread(groups)


def _mean_median_spread(groups) -> float:
    from t2i_core.eval.metrics import median_pairwise_delta_e

    return float(np.mean([median_pairwise_delta_e(g) for g in groups]))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--weights", default=None, help="weights folder (default: bundled weights/synthbirds)")
    ap.add_argument("--data", default="data/synthbirds", help="SynthBirds folder: test captions and real images")
    ap.add_argument("--captions", type=int, default=24, help="test captions")
    ap.add_argument("--z", type=int, default=24, help="z rows per caption (the same rows for every caption)")
    ap.add_argument("--classes", type=int, default=60, help="real classes to read")
    ap.add_argument("--seed", type=int, default=0, help="seed for captions, z and classes")
    args = ap.parse_args(argv)

    from t2i_core.data.dataset import open_dataset
    from t2i_core.errors import UserError
    from t2i_core.eval import evaluate as E
    from t2i_core.eval.judge import load_judge
    from t2i_core.eval.sources import EvalSource
    from t2i_core.pipeline import T2IPipeline

    try:
        if min(args.captions, args.z, args.classes) < 2:
            raise UserError("--captions, --z and --classes must each be at least 2")
        pipe = T2IPipeline.from_pretrained(args.weights)
        index = open_dataset(args.data, progress=False)
        source, judge, nets = EvalSource(index), load_judge(), E.Nets(pipe)
        rng = np.random.default_rng(args.seed)
        model = spreads(nets, judge, source.captions(args.captions, rng), args.z, args.seed)
        real = real_spread(judge, index, args.classes, rng)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"weights: {pipe.source}; {args.captions} test captions × {args.z} z; {args.classes} real classes")
    print("backdrop spread, median pairwise ΔE00 of the judge-read backdrop colour:")
    print(f"  G, within a caption (over z)        {model['within_caption']:6.1f}")
    print(f"  G, across captions (same z)         {model['across_captions_same_z']:6.1f}")
    print(f"  real images, within a class         {real:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
