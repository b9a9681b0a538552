"""FLOPs per training image and the achieved fraction of the machine's measured peak.

    python benchmarks/bench_flops.py [--presets small reed] [--batch 64] [--steps 3] [--seconds 3]

1. *FLOPs*: ``torch.utils.flop_counter.FlopCounterMode`` around one GAN-INT-CLS training step
   (matmuls and convolutions, forward and backward; elementwise ops, BatchNorm and Adam are not
   counted), divided by the batch size — for the trainer's step and for the plain reference step
   of ``bench_train.py`` (which does more work: a second pass of D's image trunk, and D's weight
   gradients in the G step). Also G's forward FLOPs per generated image (inference).
2. *Peak*: a loop of square ``torch.matmul`` calls in fp32 and in bf16 for ``--seconds`` each
   (best and median GFLOP/s). bf16 is measured at a smaller size (``--bf16-size``): on CPUs
   without AVX-512 BF16 / AMX it is orders of magnitude slower than fp32.
3. *Achieved*: the trainer step's counted FLOPs over its median wall time, as a fraction of the
   best measured fp32 matmul rate; and FLOPs per process CPU-second against the matmul's FLOPs
   per CPU-second (on a shared machine this discounts the time spent waiting for a core).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path


from common import load_average, machine_info, median, print_machine, timed_call


def count_flops(fn) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())


def matmul_peak(size: int, dtype, seconds: float) -> dict:
    """GFLOP/s of ``a @ b`` (size × size) repeated for about ``seconds`` (after one warm-up)."""
    import torch

    a, b = torch.randn(size, size).to(dtype), torch.randn(size, size).to(dtype)
    flops = 2 * size ** 3
    first, _ = timed_call(lambda: a @ b)          # warm-up, and the first estimate of the rate
    times, cpus, t_end = [], [], time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(times) < 2:
        w, c = timed_call(lambda: a @ b)
        times.append(w)
        cpus.append(c)
        if first > seconds and len(times) >= 2:     # a very slow dtype: two calls are enough
            break
    return {"dtype": str(dtype).replace("torch.", ""), "size": size, "calls": len(times),
            "best_gflops": round(flops / min(times) / 1e9, 2),
            "median_gflops": round(flops / median(times) / 1e9, 2),
            "gflop_per_cpu_s": round(flops / median(cpus) / 1e9, 2)}


def bench_preset(preset: str, args, peak: dict) -> dict:
    import torch

    import bench_train as bt

    torch.manual_seed(0)
    data = bt.random_data()
    with tempfile.TemporaryDirectory() as tmp:
        tr = bt.make_trainer(bt.train_config(preset, args.batch), data, Path(tmp) / "run")
        ref = bt.reference_variant(tr, data, args.batch)
        flops_trainer = count_flops(tr.train_step)
        flops_ref = count_flops(ref)
        z, emb = torch.randn(args.batch, tr.g_cfg.z_dim), torch.randn(args.batch, tr.g_cfg.embed_dim)
        G = tr.export_generator().eval()
        with torch.no_grad():
            flops_g = count_flops(lambda: G(z, emb))
        tr.train_step()                                   # warm-up
        wall, cpu = [], []
        for _ in range(args.steps):
            w, c = timed_call(tr.train_step)
            wall.append(w)
            cpu.append(c)
    per_img = flops_trainer / args.batch
    w, c = median(wall), median(cpu)
    achieved = flops_trainer / w / 1e9
    achieved_cpu = flops_trainer / c / 1e9 if c > 0 else float("nan")
    return {"preset": preset, "batch": args.batch,
            "train_flops_per_image": per_img, "reference_flops_per_image": flops_ref / args.batch,
            "g_forward_flops_per_image": flops_g / args.batch,
            "trainer_s_per_step": round(w, 4), "trainer_cpu_s_per_step": round(c, 4),
            "achieved_gflops": round(achieved, 2), "achieved_gflop_per_cpu_s": round(achieved_cpu, 2),
            "fraction_of_fp32_peak": round(achieved / peak["best_gflops"], 3),
            "fraction_of_fp32_peak_cpu_time": round(achieved_cpu / peak["gflop_per_cpu_s"], 3)}


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--presets", nargs="+", default=["small", "reed"], choices=["tiny", "small", "reed"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=3, help="timed trainer steps per preset (default 3)")
    p.add_argument("--size", type=int, default=2048, help="fp32 matmul size for the peak (default 2048)")
    p.add_argument("--bf16-size", type=int, default=512, help="bf16 matmul size (default 512)")
    p.add_argument("--seconds", type=float, default=3.0, help="seconds per peak measurement (default 3)")
    p.add_argument("--no-bf16", action="store_true", help="skip the bf16 peak")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    info = machine_info()
    peaks = [matmul_peak(args.size, torch.float32, args.seconds)]
    if not args.no_bf16:
        peaks.append(matmul_peak(args.bf16_size, torch.bfloat16, args.seconds))
    results = [bench_preset(p, args, peaks[0]) for p in args.presets]
    out = {"machine": info, "peaks": peaks, "results": results, "load_avg_end": load_average()}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print_machine(info)
    for pk in peaks:
        print(f"matmul peak {pk['dtype']:8s} {pk['size']}²: best {pk['best_gflops']} GFLOP/s, "
              f"median {pk['median_gflops']} GFLOP/s, {pk['gflop_per_cpu_s']} GFLOP per CPU-second "
              f"({pk['calls']} calls)")
    for r in results:
        print(f"\n{r['preset']} (GAN-INT-CLS, batch {r['batch']}):")
        print(f"  FLOPs per training image: {r['train_flops_per_image'] / 1e9:.3f} GFLOP (trainer step), "
              f"{r['reference_flops_per_image'] / 1e9:.3f} GFLOP (plain reference step)")
        print(f"  G forward FLOPs per generated image: {r['g_forward_flops_per_image'] / 1e6:.1f} MFLOP")
        print(f"  trainer step {r['trainer_s_per_step']:.3f} s wall ({r['trainer_cpu_s_per_step']:.3f} s CPU): "
              f"{r['achieved_gflops']} GFLOP/s = {100 * r['fraction_of_fp32_peak']:.1f}% of the best fp32 matmul "
              f"rate; per CPU-second {r['achieved_gflop_per_cpu_s']} GFLOP = "
              f"{100 * r['fraction_of_fp32_peak_cpu_time']:.1f}% of the matmul's")
    print(f"\nload average (1 min): {info['load_avg_1m']} at start, {out['load_avg_end']} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
