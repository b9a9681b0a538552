"""Time-to-quality: text match on unseen classes against CPU-minutes, for several recipes.

Each configuration (a name and the `train` flags that define it) is trained once per seed with
`python -m t2i_core train ... --eval-every N`, on the same data, the same φ and the same seeds.
The trainer logs a curve point every N steps (``eval.curve.CurveProbe``: text match per
attribute and all correct on unseen-class captions read by the attribute judge, facing-left
share and background spread within a caption, Fréchet distance in the judge's features) with
the training process's CPU time so far (the probe's own time excluded). This script runs the
trainings (resuming any that were interrupted: rerun the same command), then writes

    OUT_REPORT/quality.json   every curve, per seed, plus mean and spread between seeds
    OUT_REPORT/quality.png    text match against CPU-minutes (φ's CPU time included) and steps

and prints a table. "CPU-minutes" is process CPU time (user + system, all threads), so a run
on 1 thread and one on 2 compare fairly; φ's training CPU time (from its run's log) is added
so the x axis is "from scratch".

    python benchmarks/bench_quality.py --data data/synthbirds --text-encoder runs/text \\
        --runs runs/quality --config paper="--recipe paper" --config fast="--recipe fast" \\
        --seeds 0 1 --steps 3000 --eval-every 250 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import shlex
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEYS = ("per_attribute", "all_correct", "facing_left_share", "facing_minority_share",
        "background_spread_delta_e", "frechet_judge", "frechet_judge_floor")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    p.add_argument("--data", required=True, help="dataset folder (SynthBirds)")
    p.add_argument("--text-encoder", required=True, help="train-text run or weights folder (φ, θ)")
    p.add_argument("--runs", default="runs/quality", help="folder for the training runs")
    p.add_argument("--report", default=str(ROOT / "reports" / "quality"), help="where JSON and PNG go")
    p.add_argument("--config", action="append", default=[], metavar="NAME=FLAGS",
                   help='a configuration: its name and its train flags, e.g. fast="--recipe fast" '
                        '(repeat; default: paper and fast). A "--steps N" among the flags '
                        'gives that configuration its own length')
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="training seeds")
    p.add_argument("--steps", type=int, default=3000, help="training steps per run")
    p.add_argument("--eval-every", type=int, default=250, help="steps between curve points")
    p.add_argument("--preset", default="small", help="network sizes (tiny, small, reed)")
    p.add_argument("--threads", type=int, default=1, help="torch threads per training run")
    p.add_argument("--jobs", type=int, default=1, help="training runs at the same time")
    p.add_argument("--target", type=float, default=0.90, help="text-match level to time (per attribute; each part ≥ target − 0.05)")
    p.add_argument("--target-all", type=float, default=0.60, help="all-four-right level the target also needs")
    p.add_argument("--extra", default="", help="flags added to every run (e.g. --batch-size 16)")
    p.add_argument("--collect-only", action="store_true", help="do not train: read the runs as they are")
    return p.parse_args(argv)


def configs(args) -> dict[str, str]:
    specs = args.config or ["paper=--recipe paper", "fast=--recipe fast"]
    out = {}
    for spec in specs:
        name, sep, flags = spec.partition("=")
        if not sep or not name.strip():
            sys.exit(f"--config {spec!r}: write NAME=FLAGS, e.g. fast=\"--recipe fast\"")
        out[name.strip()] = flags.strip()
    return out


def run_dir(args, name: str, seed: int) -> Path:
    return Path(args.runs) / f"{name}_seed{seed}"


def train_command(args, name: str, flags: str, seed: int) -> list[str]:
    out = run_dir(args, name, seed)
    cmd = [sys.executable, "-m", "t2i_core", "train", "--data", args.data, "--text-encoder",
           args.text_encoder, "--out", str(out), "--preset", args.preset, "--seed", str(seed),
           "--steps", str(args.steps), "--eval-every", str(args.eval_every),
           "--sample-every", str(args.eval_every), "--ckpt-every", str(args.eval_every),
           "--threads", str(args.threads), "--no-progress", *shlex.split(flags), *shlex.split(args.extra)]
    if (out / "config.json").is_file():
        cmd.append("--resume")
    return cmd


def run_steps(args, flags: str) -> int:
    """A configuration's own ``--steps`` (in its flags) overrides the shared one."""
    words = shlex.split(flags)
    return int(words[words.index("--steps") + 1]) if "--steps" in words[:-1] else args.steps


def finished(out: Path, steps: int) -> bool:
    return any(r.get("step", 0) >= steps for r in read_events(out, "eval"))


def train_one(args, name: str, flags: str, seed: int) -> int:
    out = run_dir(args, name, seed)
    if finished(out, run_steps(args, flags)):
        return 0
    out.mkdir(parents=True, exist_ok=True)
    cmd = train_command(args, name, flags, seed)
    print(f"[{name} seed {seed}] {' '.join(shlex.quote(c) for c in cmd)}", flush=True)
    with open(out / "train_stdout.txt", "a") as log:
        return subprocess.call(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               env={**__import__("os").environ, "OMP_NUM_THREADS": str(args.threads)})


def read_events(out: Path, event: str) -> list[dict]:
    path = out / "log.jsonl"
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if row.get("event") == event:
            rows.append(row)
    by_step = {r["step"]: r for r in rows}  # a resumed run may log a point twice: keep the last
    return [by_step[s] for s in sorted(by_step)]


def text_cpu_minutes(text_encoder: str) -> float:
    """φ's training CPU time (minutes) from its train-text run log, 0 when not found."""
    for cand in (Path(text_encoder), Path(text_encoder).parent):
        log = cand / "log.jsonl"
        if log.is_file():
            cpu = [json.loads(line).get("cpu_s") for line in log.read_text().splitlines() if line.strip()]
            cpu = [c for c in cpu if isinstance(c, (int, float))]
            if cpu:
                return round(max(cpu) / 60.0, 3)
    return 0.0


def summarise(curves: dict[int, list[dict]], text_min: float, target: float, target_all: float) -> dict:
    """Mean and spread (sd between seeds) at each step every seed reached."""
    steps = sorted(set.intersection(*(set(r["step"] for r in rows) for rows in curves.values())))
    points = []
    for step in steps:
        rows = [next(r for r in rs if r["step"] == step) for rs in curves.values()]
        pt = {"step": step, "cpu_minutes": round(statistics.mean(r["cpu_minutes"] for r in rows), 3)}
        pt["cpu_minutes_from_scratch"] = round(pt["cpu_minutes"] + text_min, 3)
        for k in KEYS:
            vals = [r[k] for r in rows if r.get(k) is not None]
            if vals:
                pt[k] = round(statistics.mean(vals), 4)
                pt[k + "_sd"] = round(statistics.stdev(vals), 4) if len(vals) > 1 else None
        attrs = sorted({a for r in rows for a in r.get("by_attribute", {})})
        pt["by_attribute"] = {a: round(statistics.mean(r["by_attribute"][a] for r in rows
                                                       if a in r.get("by_attribute", {})), 4) for a in attrs}
        points.append(pt)
    reached = next((p for p in points if p.get("per_attribute", 0) >= target
                    and min(p["by_attribute"].values() or [0]) >= target - 0.05
                    and p.get("all_correct", 0) >= target_all), None)
    return {"points": points, "seeds": sorted(curves),
            "target": {"per_attribute": target, "every_part": round(target - 0.05, 2),
                       "all_correct": target_all,
                       "reached_at_step": reached["step"] if reached else None,
                       "reached_at_cpu_minutes_from_scratch":
                           reached["cpu_minutes_from_scratch"] if reached else None}}


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    for name, res in result["configs"].items():
        pts = res["summary"]["points"]
        if not pts:
            continue
        x = [p["cpu_minutes_from_scratch"] for p in pts]
        y = [p.get("per_attribute") for p in pts]
        sd = [p.get("per_attribute_sd") or 0.0 for p in pts]
        line, = axes[0].plot(x, y, marker="o", ms=3, label=f"{name} ({len(res['summary']['seeds'])} seeds)")
        axes[0].fill_between(x, [a - s for a, s in zip(y, sd)], [a + s for a, s in zip(y, sd)],
                             color=line.get_color(), alpha=0.2)
        axes[1].plot([p["step"] for p in pts], [p.get("all_correct") for p in pts], marker="o", ms=3,
                     color=line.get_color(), label=name)
        if pts[0].get("frechet_judge") is not None:
            axes[2].plot(x, [p.get("frechet_judge") for p in pts], marker="o", ms=3, color=line.get_color(),
                         label=name)
    floor = next((p.get("frechet_judge_floor") for r in result["configs"].values()
                  for p in r["summary"]["points"] if p.get("frechet_judge_floor") is not None), None)
    if floor is not None:
        axes[2].axhline(floor, color="grey", ls="--", lw=1, label="floor (real vs real)")
    target = result["settings"]["target"]
    axes[0].axhline(target, color="grey", ls="--", lw=1, label=f"target {target}")
    axes[0].axvline(60, color="grey", ls=":", lw=1, label="60 CPU-min")
    axes[0].axhline(0.2, color="lightgrey", ls=":", lw=1)
    axes[0].set(xlabel=f"CPU-minutes from scratch (φ: {result['settings']['text_cpu_minutes']:.1f})",
                ylabel="text match per attribute (unseen classes)", ylim=(0, 1),
                title="time to quality (mean ± sd between seeds)")
    axes[1].set(xlabel="GAN steps", ylabel="all four attributes right", ylim=(0, 1), title="all correct")
    axes[2].set(xlabel="CPU-minutes from scratch", ylabel="Fréchet distance (judge features)",
                title="crispness (lower is better)")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def print_table(result: dict) -> None:
    print(f"\nφ CPU-minutes: {result['settings']['text_cpu_minutes']}")
    head = (f"{'config':<14}{'step':>6}{'CPU-min':>9}{'scratch':>9}{'match':>8}{'±sd':>7}{'all4':>7}"
            f"{'crown':>7}{'wing':>7}{'belly':>7}{'beak':>7}{'left':>6}{'bgΔE':>7}{'FD':>8}")
    print(head)
    for name, res in result["configs"].items():
        for p in res["summary"]["points"]:
            b = p["by_attribute"]
            sd = p.get("per_attribute_sd")
            print(f"{name:<14}{p['step']:>6}{p['cpu_minutes']:>9.1f}{p['cpu_minutes_from_scratch']:>9.1f}"
                  f"{p.get('per_attribute', float('nan')):>8.3f}{(sd if sd is not None else float('nan')):>7.3f}"
                  f"{p.get('all_correct', float('nan')):>7.3f}"
                  + "".join(f"{b.get(a, float('nan')):>7.3f}" for a in ("crown", "wing", "belly", "beak"))
                  + f"{p.get('facing_left_share', float('nan')):>6.2f}"
                  f"{p.get('background_spread_delta_e', float('nan')):>7.1f}"
                  f"{p.get('frechet_judge', float('nan')):>8.1f}")
        t = res["summary"]["target"]
        print(f"{name:<14}target {t['per_attribute']} (each part ≥ {t['every_part']}, all four right "
              f"≥ {t['all_correct']}): "
              + (f"reached at step {t['reached_at_step']}, {t['reached_at_cpu_minutes_from_scratch']} "
                 "CPU-min from scratch" if t["reached_at_step"] else "not reached"))


def main(argv=None) -> int:
    args = parse_args(argv)
    table = configs(args)
    jobs = [(name, flags, seed) for name, flags in table.items() for seed in args.seeds]
    if not args.collect_only:
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            codes = list(pool.map(lambda j: train_one(args, *j), jobs))
        failed = [f"{n} seed {s}" for (n, _, s), c in zip(jobs, codes) if c]
        if failed:
            print(f"training failed for {', '.join(failed)} (see train_stdout.txt in their run folders)")
    text_min = text_cpu_minutes(args.text_encoder)
    result = {"settings": {"data": args.data, "text_encoder": args.text_encoder, "preset": args.preset,
                           "steps": args.steps, "eval_every": args.eval_every, "seeds": args.seeds,
                           "threads": args.threads, "target": args.target, "target_all": args.target_all, "text_cpu_minutes": text_min,
                           "extra": args.extra},
              "configs": {}}
    for name, flags in table.items():
        curves = {s: read_events(run_dir(args, name, s), "eval") for s in args.seeds}
        curves = {s: c for s, c in curves.items() if c}
        if not curves:
            continue
        result["configs"][name] = {"flags": flags, "curves": {str(s): c for s, c in curves.items()},
                                   "summary": summarise(curves, text_min, args.target, args.target_all)}
    if not result["configs"]:
        print("no curve points found: nothing to report")
        return 1
    report = Path(args.report)
    report.mkdir(parents=True, exist_ok=True)
    (report / "quality.json").write_text(json.dumps(result, indent=1))
    plot(result, report / "quality.png")
    print_table(result)
    print(f"\nwrote {report / 'quality.json'} and {report / 'quality.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
