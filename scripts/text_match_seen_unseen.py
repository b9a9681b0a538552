"""Text match on seen (train) and unseen (test) SynthBirds classes, side by side.

    python scripts/text_match_seen_unseen.py [--weights weights/synthbirds] [--seed 0] [--quick]

``evaluate`` scores captions of unseen classes only. This diagnostic runs its ``text_match``
(same sample sizes, judge and seed) on captions of training classes and of test classes: if
seen ≈ unseen, G's fidelity to words is the bottleneck, not zero-shot generalisation. Both rows
use procedural captions (``make_captions``) of the classes of ``make_splits`` for the seed the
weights' training data used, so the unseen row differs a little from ``evaluate --data DIR``,
which draws the dataset's own captions.
"""

from __future__ import annotations

import argparse
import sys



def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--weights", default=None, help="weights folder (default: bundled weights/synthbirds)")
    ap.add_argument("--seed", type=int, default=0, help="seed for captions and z")
    ap.add_argument("--quick", action="store_true", help="small sample sizes (a smoke test)")
    args = ap.parse_args(argv)

    from t2i_core.errors import UserError
    from t2i_core.eval import evaluate as E
    from t2i_core.eval.judge import load_judge
    from t2i_core.eval.sources import EvalSource
    from t2i_core.pipeline import T2IPipeline

    try:
        pipe = T2IPipeline.from_pretrained(args.weights)
        judge, nets = load_judge(), E.Nets(pipe)
        sizes = E.QUICK if args.quick else E.FULL
        print(f"weights: {pipe.source}; procedural captions, {sizes['captions']} captions × "
              f"{sizes['per_caption']} z per row")
        print(f"{'classes':<16}{'per_attribute':>14}{'all_correct':>12}  by attribute")
        for split, label in [("train", "seen (train)"), ("test", "unseen (test)")]:
            source = EvalSource(None, pipe.extra.get("dataset"), split=split)
            for warning in source.warnings if split == "train" else ():
                print(f"warning: {warning}", file=sys.stderr)
            r = E.text_match(nets, judge, source, sizes, args.seed, {})
            by = ", ".join(f"{k} {v:.3f}" for k, v in sorted(r["by_attribute"].items()))
            print(f"{label:<16}{r['per_attribute']:>14.4f}{r['all_correct']:>12.4f}  {by}")
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
