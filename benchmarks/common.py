"""Shared helpers of the benchmarks: machine description and robust timing on a shared, noisy box.

Every benchmark prints ``machine_info()`` first: CPU model, the SIMD flags that decide which
low-precision kernels exist (AVX-512, AVX-512 BF16, AMX), torch version, thread count and the
1-minute load average before/after, because on a shared 2-core machine the load average says
more about a wall-clock figure than the figure itself.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from pathlib import Path


SIMD_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8")


def cpu_model_and_flags() -> tuple[str, set[str]]:
    model, flags = platform.processor() or "unknown", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("unknown", "", "x86_64"):
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return model, flags


def has_native_bf16() -> bool:
    """True when the CPU has AVX-512 BF16 or AMX-BF16 (oneDNN's fast bf16 paths)."""
    _, flags = cpu_model_and_flags()
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def load_average() -> float:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return float("nan")


def machine_info() -> dict:
    import torch

    model, flags = cpu_model_and_flags()
    return {"cpu": model, "cores": os.cpu_count(),
            "simd": [f for f in SIMD_FLAGS if f in flags],
            "missing_simd": [f for f in SIMD_FLAGS if f not in flags],
            "torch": torch.__version__, "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "threads": torch.get_num_threads(), "python": platform.python_version(),
            "load_avg_1m": load_average()}


def print_machine(info: dict) -> None:
    print(f"machine: {info['cpu']}, {info['cores']} cores, torch {info['torch']} "
          f"({info['torch_cpu_capability']}), {info['threads']} threads, python {info['python']}")
    print(f"  SIMD present: {' '.join(info['simd']) or '-'}; absent: {' '.join(info['missing_simd']) or '-'}")
    print(f"  load average (1 min) at start: {info['load_avg_1m']}")


def median(xs) -> float:
    return statistics.median(xs) if xs else float("nan")


def timed_call(fn) -> tuple[float, float]:
    """(wall seconds, process CPU seconds) of one call."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def alternate(fns: dict, rounds: int, calls: int = 1, warmup: int = 1) -> dict:
    """Time each of ``fns`` (name → zero-arg callable) ``calls`` times per round, the names in
    turn, for ``rounds`` rounds (order rotated every round, so no variant always runs right after
    the same neighbour). Returns name → {"wall": [...], "cpu": [...]} per call."""
    names = list(fns)
    for name in names:
        for _ in range(warmup):
            fns[name]()
    out = {n: {"wall": [], "cpu": []} for n in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            for _ in range(calls):
                w, c = timed_call(fns[name])
                out[name]["wall"].append(w)
                out[name]["cpu"].append(c)
    return out
