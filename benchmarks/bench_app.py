"""App speed, quiet and loaded: the in-process frame, the REST round trip and start-up time.

Goals (p95): a frame < 10 ms quiet and < 25 ms loaded; a REST round trip < 60 ms quiet and
< 150 ms loaded.

    python benchmarks/bench_app.py [--weights DIR | --tiny | --preset small] [--frames 200]
        [--trips 60] [--starts 3] [--hogs N] [--modes quiet,loaded] [--json PATH]

Each figure is measured twice: *quiet* (only the benchmark runs), then *loaded*, while the
benchmark's own hog runs: ``--hogs`` busy-looping processes (default: one per usable core). The
hog is always stopped (``finally``), and bounds itself: each process exits after
``--hog-limit`` seconds or as soon as the benchmark is gone, so it can never outlive it.

1. *frame* (in this process): ``T2IPipeline.text_frame`` / ``noise_frame`` at a new β/α each
   call (what a slider move costs the model; caption embeddings and latents are cached), the
   whole handler (frame + PNG encode + file write), and a revisited slider position (served from
   the frame cache). ``OMP_WAIT_POLICY=PASSIVE`` unless set, as in ``app.py``.
2. *REST round trip*: ``python app.py`` in a child process on 127.0.0.1 (the model under test),
   and one slider move the way a browser or ``curl`` does it, with plain HTTP: POST
   ``/gradio_api/call/interpolate_text``, read its event stream until ``complete``, GET the PNG.
   Moves are sequential (one user dragging).
3. *start-up*: from starting ``python app.py`` to the server answering (``ready``), and to the
   first frame back (``first frame``: ``ready`` plus one round trip), ``--starts`` times.

Prints a table (median and p95 per mode, and each goal); ``--json PATH`` also writes every
figure (with the process CPU time per call and the load average) to PATH.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as app.py does, before torch is imported

from common import load_average  # noqa: E402  (a sibling script; imports no torch)

ROOT = Path(__file__).resolve().parent.parent
CAP_A = "this bird has a red crown, blue wings and a yellow belly with a short beak"
CAP_B = "a small bird with a black head, white wings and an orange breast and a long bill"
API = "interpolate_text"
# figure -> (goal quiet, goal loaded) on the p95, in the figure's unit (None: no goal)
GOALS = {"text_frame": (10, 25), "noise_frame": (10, 25), "rest_round_trip": (60, 150)}
ROWS = (("text_frame", "frame: text_frame", "ms"), ("noise_frame", "frame: noise_frame", "ms"),
        ("handler_text_frame", "frame + PNG (handler)", "ms"), ("cached_text_frame", "frame, cached", "ms"),
        ("rest_round_trip", "REST round trip", "ms"), ("startup_ready", "start-up: ready", "s"),
        ("startup_first_frame", "start-up: first frame", "s"))


# ----------------------------------------------------------------------------- timing
def summary(wall_s, cpu_s=None, unit: str = "ms") -> dict:
    scale = 1000.0 if unit == "ms" else 1.0
    xs = sorted(scale * s for s in wall_s)
    p95 = xs[min(len(xs) - 1, int(round(0.95 * (len(xs) - 1))))]
    out = {"n": len(xs), "unit": unit, "median": round(statistics.median(xs), 3), "p95": round(p95, 3),
           "min": round(xs[0], 3)}
    if cpu_s:
        out["cpu_median_ms"] = round(1000.0 * statistics.median(cpu_s), 2)
    return out


def timed(fn, n: int, warmup: int = 5, offset: int = 0) -> dict:
    """Wall-clock latency in ms, plus the median process CPU time per call. ``fn(i)`` gets a
    different ``i`` on every call (warm-up included, ``offset`` onwards), so a benchmark can
    derive a new slider position from it and never hit the frame cache."""
    for i in range(warmup):
        fn(offset + n + i)
    wall, cpu = [], []
    for i in range(offset, offset + n):
        t, c = time.perf_counter(), time.process_time()
        fn(i)
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return summary(wall, cpu)


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 2


# ----------------------------------------------------------------------------- the hog
HOG = """
import os, sys, time
end, parent = time.monotonic() + float(sys.argv[1]), int(sys.argv[2])
while time.monotonic() < end and os.getppid() == parent:
    for _ in range(20000):
        pass
"""


@contextlib.contextmanager
def hog(n: int, limit_s: float):
    """``n`` busy processes for the ``with`` block. Each exits by itself after ``limit_s`` seconds
    or when this process is gone; leaving the block kills them all (and reaps them).

    Each runs in a session of its own, like another user's job: with the kernel's autogroup
    scheduling (``/proc/sys/kernel/sched_autogroup_enabled``) CPU time is shared fairly between
    sessions first, so hogs in one session would weigh as one process against the app's."""
    procs = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen([sys.executable, "-c", HOG, str(limit_s), str(os.getpid())],
                                          stdin=subprocess.DEVNULL, start_new_session=True))
        time.sleep(1.0)  # let them reach the CPUs (and the load average start to move)
        yield [p.pid for p in procs]
    finally:
        for p in procs:
            with contextlib.suppress(OSError):
                p.kill()
        for p in procs:
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=10)


# ----------------------------------------------------------------------------- 1. frame
def bench_frames(pipe, n: int, offset: int = 0) -> dict:
    from t2i_core import app_handlers as H

    def fresh(i: int, salt: float) -> float:  # a new position every call: no frame-cache hits
        return (i * 0.6180339887 + salt) % 1.0

    warm = min(5, n)
    return {
        "text_frame": timed(lambda i: pipe.text_frame(CAP_A, CAP_B, fresh(i, 0.1), 0), n, warm, offset),
        "noise_frame": timed(lambda i: pipe.noise_frame(CAP_A, 0, 1, fresh(i, 0.2)), n, warm, offset),
        "handler_text_frame": timed(lambda i: H.text_frame(pipe, CAP_A, CAP_B, fresh(i, 0.3), 0), n, warm, offset),
        # ten positions, drawn once in the warm-up or the first calls: then served from the cache
        "cached_text_frame": timed(lambda i: pipe.text_frame(CAP_A, CAP_B, fresh(offset + i % 10, 0.4), 0),
                                   n, 10, offset),
    }


# ----------------------------------------------------------------------------- 2./3. the app over HTTP
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class AppProcess:
    """``python app.py <args> --port P`` in its own process group, killed on ``close``."""

    def __init__(self, app_args: list[str], ready_timeout: float = 300.0):
        import httpx

        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        t0 = time.perf_counter()
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), *app_args, "--port", str(self.port)],
                                     cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        try:
            while True:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"app.py exited ({self.proc.returncode}):\n{self.output()}")
                if time.perf_counter() - t0 > ready_timeout:
                    raise RuntimeError(f"app.py not ready after {ready_timeout:.0f} s:\n{self.output()}")
                try:
                    r = httpx.get(f"{self.base}/config", timeout=5)
                    if r.status_code == 200:
                        self.config = r.json()
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
            self.ready_s = time.perf_counter() - t0
        except BaseException:
            self.close()
            raise

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")[-3000:]

    def model_value(self):
        """The model selector's value (the last input of every model event)."""
        for comp in self.config.get("components", []):
            if comp.get("props", {}).get("elem_id") == "model-select":
                return comp["props"].get("value")
        return None

    def close(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.log.close()


def slider_move(http, base: str, data: list) -> None:
    """One slider event over Gradio's REST API: POST the call, read the event stream until
    ``complete``, GET the PNG it names."""
    r = http.post(f"{base}/gradio_api/call/{API}", json={"data": data})
    r.raise_for_status()
    event_id = r.json()["event_id"]
    event, result = None, None
    with http.stream("GET", f"{base}/gradio_api/call/{API}/{event_id}") as s:
        s.raise_for_status()
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                if event == "error":
                    raise RuntimeError(f"{API} failed: {line[5:].strip()}")
                result = json.loads(line[5:])
                break
    if result is None:
        raise RuntimeError(f"{API}: the event stream ended without a result")
    image = http.get(result[0]["url"])
    image.raise_for_status()
    if not image.content.startswith(b"\x89PNG"):
        raise RuntimeError(f"{API}: {result[0]['url']} is not a PNG")


def bench_app(app_args: list[str], trips: int, starts: int, offset: int = 0) -> dict:
    """``starts`` fresh app processes (start-up figures); the last one also serves ``trips``
    timed round trips."""
    import httpx

    ready, first = [], []
    trip = None
    for k in range(max(1, starts)):
        app = AppProcess(app_args)
        try:
            data = [CAP_A, CAP_B, 0.5, 0, app.model_value()]
            with httpx.Client(timeout=60) as http:
                t = time.perf_counter()
                slider_move(http, app.base, data)
                ready.append(app.ready_s)
                first.append(app.ready_s + time.perf_counter() - t)
                if k == max(1, starts) - 1:
                    trip = timed(lambda i: slider_move(http, app.base, [CAP_A, CAP_B, (i * 0.6180339887) % 1.0,
                                                                       0, data[-1]]), trips, min(5, trips), offset)
        finally:
            app.close()
    return {"rest_round_trip": trip, "startup_ready": summary(ready, unit="s"),
            "startup_first_frame": summary(first, unit="s")}


# ----------------------------------------------------------------------------- driver
def load_pipe(args):
    from t2i_core.pipeline import T2IPipeline, default_weights_dir

    if args.preset:
        return T2IPipeline.from_preset(args.preset), f"{args.preset} preset, random weights"
    if args.tiny or (args.weights is None and not (default_weights_dir() / "config.json").is_file()):
        note = "tiny preset, random weights"
        if not args.tiny:
            note += " (no bundled weights at weights/synthbirds)"
        return T2IPipeline.from_preset("tiny"), note
    pipe = T2IPipeline.from_pretrained(args.weights)
    source = Path(str(pipe.source))
    return pipe, str(source.relative_to(ROOT) if source.is_relative_to(ROOT) else source)


def app_args_for(args, pipe, scratch: Path) -> list[str]:
    """The ``app.py`` arguments that serve the model under test."""
    if args.weights:
        return ["--weights", str(args.weights)]
    if pipe.random_weights:          # --tiny, --preset, or no bundled weights: hand over this model
        pipe.save_pretrained(scratch / "weights")
        return ["--weights", str(scratch / "weights")]
    return []                        # the bundled models, exactly what `python app.py` opens


def run_mode(pipe, app_args, args, offset: int) -> dict:
    """Every figure once. ``offset``: where this mode's slider positions start (the modes share
    the pipeline and its frame cache, so each draws positions of its own)."""
    out = {"load_avg_1m_start": load_average()}
    out.update(bench_frames(pipe, args.frames, offset))
    if args.trips > 0:
        out.update(bench_app(app_args, args.trips, args.starts, offset))
    out["load_avg_1m_end"] = load_average()
    return out


def print_table(result: dict) -> None:
    modes = [m for m in ("quiet", "loaded") if m in result["modes"]]
    print(f"model: {result['model']}  (torch threads: {result['torch_threads']}, {result['cores']} usable cores, "
          f"OMP_WAIT_POLICY={result['omp_wait_policy']}; loaded = {result['hogs']} busy processes)")
    print(f"app: python app.py {' '.join(result['app_args'])}".rstrip())
    for m in modes:
        r = result["modes"][m]
        print(f"  {m}: load average (1 min) {r['load_avg_1m_start']} at start, {r['load_avg_1m_end']} at end")
    head = f"{'figure':24s}" + "".join(f"{m + ' median':>15s}{m + ' p95':>13s}" for m in modes) + "  goal (p95)"
    print(head)
    print("-" * len(head))
    for key, label, unit in ROWS:
        if not all(key in result["modes"][m] for m in modes):
            continue
        line = f"{label:24s}"
        for m in modes:
            s = result["modes"][m][key]
            line += f"{s['median']:>11.2f} {unit:3s}{s['p95']:>9.2f} {unit:3s}"
        if key in GOALS:
            verdicts = []
            for m in modes:
                goal = GOALS[key][0 if m == "quiet" else 1]
                verdicts.append(f"{m} < {goal} {unit}: {'ok' if result['modes'][m][key]['p95'] < goal else 'MISSED'}")
            line += "  " + "; ".join(verdicts)
        print(line.rstrip())
    first = result["modes"][modes[0]]
    counts = [f"{first[k]['n']} {what}" for k, what in (("text_frame", "frames per frame figure"),
              ("rest_round_trip", "round trips"), ("startup_ready", "start-ups")) if k in first]
    print(f"(per mode: {', '.join(counts)})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None, help="weights folder (default: the bundled models)")
    parser.add_argument("--tiny", action="store_true", help="random-weight tiny preset")
    parser.add_argument("--preset", default=None, choices=("tiny", "small", "reed"),
                        help="random weights of this preset (its speed is that of trained weights)")
    parser.add_argument("--frames", type=int, default=200, help="timed frames per frame figure")
    parser.add_argument("--trips", type=int, default=60, help="timed REST round trips (0: no app figures)")
    parser.add_argument("--starts", type=int, default=3, help="app start-ups timed per mode")
    parser.add_argument("--modes", default="quiet,loaded", help="quiet, loaded or both (comma-separated)")
    parser.add_argument("--hogs", type=int, default=usable_cores(),
                        help="busy processes of the loaded mode (default: the usable cores, %(default)s)")
    parser.add_argument("--hog-limit", type=float, default=900.0,
                        help="seconds after which each hog process exits even if not stopped")
    parser.add_argument("--json", default=None, metavar="PATH", help="also write every figure to PATH")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes or set(modes) - {"quiet", "loaded"}:
        parser.error("--modes takes quiet, loaded or quiet,loaded")

    import torch

    pipe, note = load_pipe(args)
    result = {"model": note, "torch_threads": torch.get_num_threads(), "cores": usable_cores(),
              "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "hogs": args.hogs, "goals_p95": GOALS,
              "modes": {}}
    with tempfile.TemporaryDirectory(prefix="bench_app_") as scratch:
        app_args = app_args_for(args, pipe, Path(scratch))
        result["app_args"] = [a.replace(scratch, "<tmp>") for a in app_args]
        for mode in modes:
            if mode == "quiet":
                result["modes"]["quiet"] = run_mode(pipe, app_args, args, offset=0)
            else:
                with hog(args.hogs, args.hog_limit) as pids:
                    result["modes"]["loaded"] = run_mode(pipe, app_args, args, offset=1_000_000)
                result["hog_pids"] = pids
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
