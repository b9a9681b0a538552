"""Inference latency and the app's resident memory.

    python benchmarks/bench_inference.py [--weights DIR | --preset small] [--runs 20] [--no-app]

Through ``T2IPipeline`` (the one inference entry of the app, notebooks and CLI):

* *single image*: ``generate(caption, n=1, seed)`` with a new seed every call and an already
  embedded caption (``warm``: G only, what a user changing the seed waits for), and with a new
  caption every call (``cold``: the text encoder runs too).
* *8-frame strip*: ``interpolate_text(a, b, steps=8, seed)`` (fixed z, sliding text), new seed
  every call, captions embedded (``warm``), and with new captions (``cold``); also
  ``interpolate_noise(caption, seed_a, seed_b, steps=8)``.
* *memory*: in a fresh process, the resident set size (RSS) after building the app's demo
  (``app.build_demo``) and one ``generate`` — what ``python app.py`` holds — plus the peak (VmHWM).

Weights: ``--weights DIR``, else the bundled ``weights/synthbirds`` when it exists, else
``from_preset("small")`` random weights (same networks and cost as a trained ``small`` model);
the output says which. Median and p95 wall milliseconds, and median process CPU ms.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path


from common import load_average, machine_info, median, print_machine, timed_call

COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "brown", "black", "white", "grey")


def caption(i: int) -> str:
    c = [COLORS[(i + k * 3) % 10] for k in range(3)]
    beak = "short" if (i // 10) % 2 else "long"
    return f"this bird has a {c[0]} crown, {c[1]} wings and a {c[2]} belly with a {beak} beak (#{i})"


def load_pipeline(weights: str | None, preset: str):
    """(pipeline, description of the weights)."""
    from t2i_core.pipeline import T2IPipeline, default_weights_dir

    if weights:
        return T2IPipeline.from_pretrained(weights), f"weights folder {weights}"
    if (default_weights_dir() / "config.json").is_file():
        return T2IPipeline.from_pretrained(), f"bundled weights {default_weights_dir()}"
    return T2IPipeline.from_preset(preset, seed=0), (f"from_preset('{preset}') random weights "
                                                     f"(no bundled weights at {default_weights_dir()})")


def stats(pairs) -> dict:
    wall = sorted(1000 * w for w, _ in pairs)
    p95 = wall[min(len(wall) - 1, round(0.95 * (len(wall) - 1)))]
    return {"n": len(wall), "median_ms": round(median(wall), 2), "p95_ms": round(p95, 2),
            "cpu_median_ms": round(1000 * median([c for _, c in pairs]), 2)}


def bench_latency(pipe, runs: int) -> dict:
    a, b = caption(0), caption(1)
    pipe.generate(a, n=1, seed=0)                       # warm-up (and caches φ of a and b)
    pipe.interpolate_text(a, b, steps=8, seed=0)
    out = {
        "single image, warm caption": [timed_call(lambda i=i: pipe.generate(a, n=1, seed=1000 + i))
                                       for i in range(runs)],
        "single image, new caption": [timed_call(lambda i=i: pipe.generate(caption(100 + i), n=1, seed=i))
                                      for i in range(runs)],
        "8-frame strip (text), warm": [timed_call(lambda i=i: pipe.interpolate_text(a, b, steps=8, seed=2000 + i))
                                       for i in range(runs)],
        "8-frame strip (text), new captions": [
            timed_call(lambda i=i: pipe.interpolate_text(caption(300 + 2 * i), caption(301 + 2 * i),
                                                         steps=8, seed=i))
            for i in range(runs)],
        "8-frame strip (noise), warm": [
            timed_call(lambda i=i: pipe.interpolate_noise(a, seed_a=3000 + 2 * i, seed_b=3001 + 2 * i, steps=8))
            for i in range(runs)],
    }
    return {k: stats(v) for k, v in out.items()}


def _rss_kib() -> dict:
    """VmRSS / VmHWM of this process in KiB (psutil when installed, else /proc/self/status)."""
    proc = _proc_status()
    try:
        import psutil
    except ImportError:
        return {**proc, "source": "/proc/self/status"}
    return {**proc, "rss_kib": psutil.Process().memory_info().rss // 1024, "source": "psutil"}


def _proc_status() -> dict:
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            out["rss_kib"] = int(line.split()[1])
        elif line.startswith("VmHWM:"):
            out["peak_kib"] = int(line.split()[1])
    return out


def app_memory_child(weights: str | None, preset: str) -> dict:
    """Run in a fresh process: RSS after import, after the pipeline, after build_demo + generate."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    steps = {"python + torch imported": None}
    import torch  # noqa: F401

    steps["python + torch imported"] = _rss_kib()["rss_kib"]
    import app

    steps["app module (gradio) imported"] = _rss_kib()["rss_kib"]
    pipe, which = load_pipeline(weights, preset)
    steps["pipeline loaded"] = _rss_kib()["rss_kib"]
    app.build_demo(pipe)
    pipe.generate(caption(0), n=4, seed=0)
    final = _rss_kib()
    steps["demo built + one generate (n=4)"] = final["rss_kib"]
    return {"weights": which, "steps_kib": steps, "peak_kib": final.get("peak_kib"), "source": final["source"]}


def bench_app_memory(weights: str | None, preset: str) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--_memory-child", "--preset", preset]
    if weights:
        cmd += ["--weights", weights]
    root = Path(__file__).resolve().parent.parent
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=root)
    if res.returncode != 0:
        return {"error": res.stderr.strip().splitlines()[-1] if res.stderr.strip() else f"exit {res.returncode}"}
    return json.loads(res.stdout.strip().splitlines()[-1])


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--weights", help="weights folder (default: bundled weights/synthbirds if present)")
    p.add_argument("--preset", default="small", choices=["tiny", "small", "reed"],
                   help="random-weight preset when there are no weights (default small)")
    p.add_argument("--runs", type=int, default=20, help="timed calls per figure (default 20)")
    p.add_argument("--threads", type=int, help="torch.set_num_threads (default: torch's choice)")
    p.add_argument("--no-app", action="store_true", help="skip the app memory figure (no gradio import)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--_memory-child", dest="memory_child", action="store_true", help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.memory_child:
        print(json.dumps(app_memory_child(args.weights, args.preset)))
        return 0
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    info = machine_info()
    pipe, which = load_pipeline(args.weights, args.preset)
    latency = bench_latency(pipe, args.runs)
    memory = None if args.no_app else bench_app_memory(args.weights, args.preset)
    out = {"machine": info, "weights": which, "latency": latency, "app_memory": memory,
           "load_avg_end": load_average()}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print_machine(info)
    print(f"weights: {which}")
    for name, s in latency.items():
        print(f"  {name:36s} median {s['median_ms']:8.2f} ms  p95 {s['p95_ms']:8.2f} ms  "
              f"(CPU {s['cpu_median_ms']:.2f} ms, n={s['n']})")
    if memory and "error" not in memory:
        print(f"app resident memory (RSS, fresh process, {memory['source']}; {memory['weights']}):")
        for step, kib in memory["steps_kib"].items():
            print(f"  {step:36s} {kib / 1024:8.1f} MiB")
        if memory.get("peak_kib"):
            print(f"  {'peak (VmHWM)':36s} {memory['peak_kib'] / 1024:8.1f} MiB")
    elif memory:
        print(f"app memory: failed ({memory['error']})")
    else:
        print("app RSS: skipped (--no-app); pipeline process RSS now "
              f"{_rss_kib()['rss_kib'] / 1024:.1f} MiB")
    print(f"load average (1 min): {info['load_avg_1m']} at start, {out['load_avg_end']} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
