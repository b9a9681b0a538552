"""Thread settings: OpenMP wait policy and thread count, across processes.

    python benchmarks/bench_threads.py [--preset small] [--repeats 3] [--calls 2]

The OpenMP wait policy is read once, when torch's libgomp loads, so it cannot alternate inside
one process the way ``bench_train.py`` alternates its steps. This script alternates *child
processes* instead — each one runs ``bench_train.py`` (reference and trainer steps, alternating)
under one setting — cycling through the settings ``--repeats`` times:

* ``default``: torch's defaults (OMP_WAIT_POLICY unset: libgomp threads spin between regions),
* ``passive``: OMP_WAIT_POLICY=PASSIVE — what ``python -m t2i_core train`` now sets unless
  OMP_WAIT_POLICY / GOMP_SPINCOUNT / KMP_BLOCKTIME is already set,
* ``1 thread``: torch.set_num_threads(1) (``train --threads 1``).

It prints every (setting, step) median and its ratio to the plain reference step under the
default setting — the speed-up a user gets from ``python -m t2i_core train`` over a plain fp32
loop in a plain environment. On a shared machine spinning threads burn the CPU time the other
processes need, so these figures depend on the load, printed with them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path


from common import load_average, machine_info, median, print_machine

SETTINGS = {
    "default": ({}, []),
    "passive": ({"OMP_WAIT_POLICY": "PASSIVE"}, []),
    "1 thread": ({}, ["--threads", "1"]),
}
OMP_VARS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME", "OMP_NUM_THREADS")


def run_child(preset: str, batch: int, calls: int, env_extra: dict, args_extra: list) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in OMP_VARS}
    env.update(env_extra)
    cmd = [sys.executable, str(Path(__file__).resolve().parent / "bench_train.py"), "--presets", preset,
           "--batch", str(batch), "--rounds", "1", "--calls", str(calls), "--json", *args_extra]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
    if res.returncode != 0:
        raise RuntimeError(f"child failed: {res.stderr.strip()[-500:]}")
    return json.loads(res.stdout)["results"][0]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--preset", default="small", choices=["tiny", "small", "reed"])
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3, help="cycles through the settings (default 3)")
    p.add_argument("--calls", type=int, default=2, help="timed steps per variant per child (default 2)")
    p.add_argument("--settings", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    info = machine_info()
    walls = {(s, v): [] for s in args.settings for v in ("reference", "trainer")}
    cpus = {k: [] for k in walls}
    for r in range(args.repeats):
        order = args.settings[r % len(args.settings):] + args.settings[:r % len(args.settings)]
        for s in order:
            res = run_child(args.preset, args.batch, args.calls, *SETTINGS[s])
            for v in ("reference", "trainer"):
                walls[(s, v)] += res["variants"][v]["wall_all"]
                cpus[(s, v)].append(res["variants"][v]["cpu_s_per_step"])
    base = median(walls[(args.settings[0], "reference")])
    rows = [{"setting": s, "step": v, "s_per_step": round(median(walls[(s, v)]), 4),
             "images_per_s": round(args.batch / median(walls[(s, v)]), 1),
             "cpu_s_per_step": round(median(cpus[(s, v)]), 4),
             f"speedup_vs_{args.settings[0]}_reference": round(base / median(walls[(s, v)]), 3),
             "n": len(walls[(s, v)])} for (s, v) in walls]
    out = {"machine": info, "preset": args.preset, "batch": args.batch, "repeats": args.repeats,
           "rows": rows, "load_avg_end": load_average()}
    if args.json:
        print(json.dumps(out, indent=1))
        return 0
    print_machine(info)
    print(f"\n{args.preset}: GAN-INT-CLS, batch {args.batch}; {args.repeats} cycles of child processes, "
          f"settings alternating; ratios to the reference step under '{args.settings[0]}'")
    print(f"  {'setting':10s} {'step':10s} {'s/step':>8s} {'img/s':>8s} {'cpu s':>8s} {'×':>6s}")
    for row in rows:
        print(f"  {row['setting']:10s} {row['step']:10s} {row['s_per_step']:8.3f} {row['images_per_s']:8.1f} "
              f"{row['cpu_s_per_step']:8.3f} {row[f'speedup_vs_{args.settings[0]}_reference']:6.2f}")
    print(f"load average (1 min): {info['load_avg_1m']} at start, {out['load_avg_end']} at end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
