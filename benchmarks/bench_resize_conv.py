"""Resize-convolution two ways: nearest ×2 then 3×3 conv, against ``ResizeConv2d``'s one stride-2
transposed convolution with the folded kernel (the same function, t2i_core/models/generator.py).

    python benchmarks/bench_resize_conv.py [--rounds 5] [--threads 1] [--json]

1. *Per stage*: forward + backward (input and weight gradients) of each ×2 stage of the ``small``
   G (batch 64, channels_last, as the trainer runs it), both forms, and their largest difference.
2. *Whole step*: ``Trainer.train_step()`` of ``--recipe fast`` on random data of the trainer's
   shape (a randomly initialised θ stands in for the train-text one: the cost is the same), with
   G's resize stages computed either way — the same trainer, weights and batches; only
   ``ResizeConv2d.forward`` is swapped for the plain ``nn.Sequential`` one.

Rounds alternate between the two forms (``common.alternate``); the tables give the median
process CPU time, which is what the time-to-quality curve counts.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from contextlib import contextmanager

from common import alternate, machine_info, median, print_machine


@contextmanager
def plain_resize_conv(enabled: bool):
    """While enabled, every ``ResizeConv2d`` runs as the plain Upsample → Conv2d pair."""
    from torch import nn

    from t2i_core.models.generator import ResizeConv2d

    fast = ResizeConv2d.forward
    if enabled:
        ResizeConv2d.forward = nn.Sequential.forward
    try:
        yield
    finally:
        ResizeConv2d.forward = fast


def stage_table(batch: int, rounds: int) -> list[dict]:
    import torch

    from t2i_core.config import preset
    from t2i_core.models.generator import ResizeConv2d

    ngf = preset("small", "generator").ngf
    rows = []
    for cin, cout, size in ((ngf * 8, ngf * 4, 4), (ngf * 4, ngf * 2, 8), (ngf * 2, ngf, 16), (ngf, 3, 32)):
        torch.manual_seed(0)
        m = ResizeConv2d(cin, cout).to(memory_format=torch.channels_last)
        x = torch.randn(batch, cin, size, size).contiguous(memory_format=torch.channels_last)
        x.requires_grad_()
        grad = torch.randn(batch, cout, 2 * size, 2 * size)

        def run(plain: bool):
            def call():
                with plain_resize_conv(plain):
                    y = m(x)
                torch.autograd.grad(y, (x, m[1].weight), grad)
            return call

        with torch.no_grad():
            with plain_resize_conv(True):
                ref = m(x)
            diff = float((m(x) - ref).abs().max() / ref.abs().max())
        times = alternate({"upsample+conv": run(True), "ResizeConv2d": run(False)}, rounds, calls=2)
        rows.append({"stage": f"{cin}→{cout}, {size}→{2 * size}", "max_rel_diff": diff,
                     **{k: median(v["cpu"]) * 1000 for k, v in times.items()}})
    return rows


def step_table(batch: int, rounds: int) -> dict:
    import torch

    from bench_train import random_data
    from t2i_core.config import ImageEncoderConfig
    from t2i_core.text.image_encoder import ImageEncoder
    from t2i_core.train.gan_config import GANTrainConfig, recipe_settings
    from t2i_core.train.gan_trainer import Trainer

    cfg = GANTrainConfig(**{**recipe_settings("fast"), "preset": "small", "batch_size": batch,
                            "steps": 10**9, "sample_every": 0, "ckpt_every": 0, "log_every": 0,
                            "diverge_patience": 0, "device": "cpu"})
    torch.manual_seed(0)
    theta = ImageEncoder(ImageEncoderConfig(channels=16))
    with tempfile.TemporaryDirectory() as run_dir:
        tr = Trainer(cfg, random_data(), run_dir, progress=False, image_encoder=theta)

        def run(plain: bool):
            def call():
                with plain_resize_conv(plain):
                    tr.train_step()
            return call

        times = alternate({"upsample+conv": run(True), "ResizeConv2d": run(False)}, rounds, calls=2)
    return {k: median(v["cpu"]) for k, v in times.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--batch", type=int, default=64, help="images per step (default 64)")
    p.add_argument("--rounds", type=int, default=5, help="alternating rounds (default 5)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1, as the curve runs)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    info = machine_info()
    res = {"machine": info, "stages": stage_table(args.batch, args.rounds),
           "fast_step_cpu_s": step_table(args.batch, args.rounds)}
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print_machine(info)
    print("\nG's ×2 stages (small, batch %d), forward + backward, CPU ms:" % args.batch)
    print(f"{'stage':<22}{'upsample+conv':>15}{'ResizeConv2d':>14}{'×':>7}{'max rel diff':>14}")
    for r in res["stages"]:
        print(f"{r['stage']:<22}{r['upsample+conv']:>15.1f}{r['ResizeConv2d']:>14.1f}"
              f"{r['upsample+conv'] / r['ResizeConv2d']:>7.2f}{r['max_rel_diff']:>14.1e}")
    s = res["fast_step_cpu_s"]
    print(f"\n--recipe fast, one training step, CPU s: upsample+conv {s['upsample+conv']:.3f}, "
          f"ResizeConv2d {s['ResizeConv2d']:.3f} ({s['upsample+conv'] / s['ResizeConv2d']:.2f}×)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
