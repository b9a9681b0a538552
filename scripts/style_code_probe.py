"""What does S's code carry? A look inside §5.2's pose and background readings.

    python scripts/style_code_probe.py [--weights weights/synthbirds] [--data data/synthbirds]
                                       [--images 1000] [--seed 0]

Prints, for the weights' style encoder S:

* **how much of z S recovers** on G's own samples: held-out L_style as a share of predicting 0,
  and how many of z's dims S's reading correlates with (above 0.1 and above 0.3);
* **a linear probe of S's code on real renders** (the test split, as `evaluate` draws them):
  R² of each true style factor (facing, tilt, x, y, scale, backdrop R/G/B), fitted on 70% of
  the images and read on the other 30%;
* **§5.2's readings** (`evaluate`'s `roc_auc`: pose and background AUC as a share of the
  oracle's) with S's code as it is and centred on its mean over G's samples.

Where S reads the backdrop well and the pose poorly, the pose AUC falls and the background
AUC rises: the two share one code (reports/quality/README.md, round 11).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

# the columns of ``evaluate.oracle_style_vectors`` for birds (the true style factors, z-scored)
FACTORS = ("facing", "tilt", "x", "y", "scale", "R", "G", "B")


def probe_r2(code: np.ndarray, target: np.ndarray, train_share: float = 0.7) -> float:
    """R² on held-out rows of a least-squares linear map from ``code`` to ``target``."""
    n = int(len(code) * train_share)
    design = np.c_[code, np.ones(len(code))]
    coef, *_ = np.linalg.lstsq(design[:n], target[:n], rcond=None)
    pred = design[n:] @ coef
    return float(1 - ((pred - target[n:]) ** 2).mean() / target[n:].var())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--weights", default=None, help="weights folder with a style encoder (default: bundled)")
    p.add_argument("--data", default=None, help="dataset folder whose test split to read (default: procedural)")
    p.add_argument("--images", type=int, default=1000, help="real renders to probe (evaluate's roc_images)")
    p.add_argument("--seed", type=int, default=0, help="evaluate's seed: which renders and clusters")
    args = p.parse_args(argv)
    if args.images < 20:
        print(f"error: --images must be at least 20 (the probe fits on 70% and reads 30%), got {args.images}",
              file=sys.stderr)
        return 2

    import torch

    from t2i_core.data.dataset import open_dataset
    from t2i_core.errors import UserError
    from t2i_core.eval import evaluate as E
    from t2i_core.eval.sources import EvalSource
    from t2i_core.pipeline import T2IPipeline

    try:
        pipe = T2IPipeline.from_pretrained(args.weights)
        if not pipe.has("style_encoder"):
            raise UserError(f"{args.weights or 'the bundled weights'} hold no style encoder (run train-style)")
        nets = E.Nets(pipe)
        data = open_dataset(args.data) if args.data else None
        source = EvalSource(data, dataset_info=pipe.extra.get("dataset") or {})
        if source.domain.name != "birds":
            raise UserError("the probe reads bird style factors (facing, tilt, x, y, scale, backdrop)")
        real = source.real(args.images, E._rng(args.seed, 0))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    # z as S reads it back from G's samples (held-out z, fixed seed)
    captions = source.captions(256, np.random.default_rng(args.seed + 5))
    z = nets.z(1024, 777_000 + args.seed)
    emb = nets.embed(captions).repeat_interleave(4, 0)
    read = pipe.style_batch(nets.generate(z, emb), E.BATCH).numpy()
    z = z.numpy()
    corr = np.array([np.corrcoef(z[:, i], read[:, i])[0, 1] for i in range(z.shape[1])])
    loss = float(((z - read) ** 2).sum(1).mean() / (z ** 2).sum(1).mean())
    print(f"S on G's samples: L_style {loss:.1%} of predicting 0; z dims S reads with correlation "
          f"> 0.1: {int((corr > 0.1).sum())}, > 0.3: {int((corr > 0.3).sum())} of {z.shape[1]}; "
          f"mean code norm {np.linalg.norm(read.mean(0)):.2f} (rms {np.sqrt((read ** 2).sum(1).mean()):.2f})")

    code = nets.style(real.images).numpy()
    table = E.oracle_style_vectors(real.styles)  # R² does not change with a column's scale
    print(f"linear probe of S's code on {len(code)} real renders (R² on the last 30%):")
    print("  " + "  ".join(f"{name} {probe_r2(code, table[:, i]):.2f}" for i, name in enumerate(FACTORS)))

    class Centred(E.Nets):  # S's code minus its mean over G's samples
        def style(self, images_uint8):
            return super().style(images_uint8) - torch.from_numpy(read.mean(0))

    sizes = {**E.FULL, "roc_images": len(code)}
    for label, reader in (("as S reads it", nets), ("centred on G's samples", Centred(pipe))):
        roc = E.roc_section(reader, real, sizes, args.seed, {}, "birds")
        print(f"§5.2 {label}: pose {roc['pose_vs_oracle']:.3f}, background {roc['background_vs_oracle']:.3f} of the oracle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
