"""The ceiling the training images set: the attribute judge on real renders as `train` feeds them.

G learns the distribution of its training batches. `train --load-size L` resizes every image to
L x L and takes a random 64 crop (and a flip), as Reed et al. did for CUB photos (L = 76). On
64-pixel renders that zooms every bird 1.19x and can crop the beak or a bloom off: the judge,
trained on renders at their own scale, then reads the real training images less well, and a G
that matches them perfectly can score no higher. This prints the judge's per-attribute accuracy
on a sample of real renders for each load size, random crops (what training sees) and the
centre crop:

    python benchmarks/bench_augment_ceiling.py --data data/synthbirds --load-sizes 64 70 76
    python benchmarks/bench_augment_ceiling.py --data data/synthflowers --json reports/quality/augment_ceiling_flowers.json
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

import numpy as np
import torch

from t2i_core.data.dataset import load_image_array, open_dataset
from t2i_core.errors import UserError
from t2i_core.eval.judge import load_judge
from t2i_core.train.gan_data import augment, center_crop


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--data", default="data/synthbirds", help="a SynthBirds or SynthFlowers folder")
    p.add_argument("--judge", default=None, help="judge folder (default: the domain's bundled judge)")
    p.add_argument("--load-sizes", type=int, nargs="+", default=[64, 70, 76],
                   help="train --load-size values to compare (64 = the renders' own scale)")
    p.add_argument("--n", type=int, default=2000, help="renders sampled from the dataset")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if any(size < 64 for size in args.load_sizes):
        print("error: every load size must be at least 64 (the crop)")
        return 2
    try:
        index = open_dataset(args.data, progress=False)
    except UserError as exc:
        print(f"error: {exc}")
        return 2
    if index.domain is None:
        print(f"error: {args.data} has no attributes.jsonl: --data must be a SynthBirds or SynthFlowers folder")
        return 2
    domain = index.domain
    judge = load_judge(args.judge, domain=domain)
    ids = random.Random(args.seed).sample(range(len(index.records)), min(args.n, len(index.records)))
    records = [index.attributes(i) for i in ids]
    keys = list(records[0]["content"])
    torch.manual_seed(args.seed)

    def accuracy(batch) -> dict:
        preds = judge.predict_tensor(batch)
        return {k: round(float(np.mean([p[k] == r["content"][k] for p, r in zip(preds, records)])), 4)
                for k in keys}

    result = {"data": args.data, "domain": domain, "n": len(records), "seed": args.seed, "load_sizes": {}}
    print(f"judge accuracy on {len(records)} real {domain} renders, as `train --load-size L` feeds them")
    print(f"{'load size':>10} {'crop':>7} " + " ".join(f"{k:>7}" for k in keys))
    for size in args.load_sizes:
        arr = load_image_array(index, ids, size, progress=False)  # the trainer's own loader
        batch = torch.from_numpy(arr).permute(0, 3, 1, 2).contiguous()
        row = {"random": accuracy(augment(batch)), "centre": accuracy(center_crop(batch))}
        result["load_sizes"][str(size)] = row
        for crop, acc in row.items():
            print(f"{size:>10} {crop:>7} " + " ".join(f"{acc[k]:7.3f}" for k in keys))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
