"""The loss-curve pictures of a run folder (GAN and text runs); sample grids: ``viz.save_grid``."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..files import atomic_write

CURVE_KEYS = ("d_loss", "g_loss", "d_real", "d_wrong", "d_fake", "g_fake", "g_int", "kl", "ms")


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    if len(values) < window or window <= 1:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def plot_losses(records: list[dict], path) -> Path | None:
    """Loss curves (moving average) of the ``train`` records into a PNG; None without data."""
    rows = [r for r in records if r.get("event") == "train"]
    if not rows:
        return None
    fig = Figure(figsize=(11, 4))
    FigureCanvasAgg(fig)
    ax, ax2 = fig.subplots(1, 2)
    steps = np.array([r["step"] for r in rows])
    window = max(1, len(rows) // 50)
    for key in CURVE_KEYS:
        vals = np.array([r.get(key, math.nan) for r in rows], dtype=float)
        if np.isfinite(vals).sum() < 1:
            continue
        target = ax if key in ("d_loss", "g_loss") else ax2
        target.plot(steps[window - 1:] if window > 1 and len(vals) >= window else steps,
                    _smooth(vals, window), label=key)
    for a, title in ((ax, "D and G losses"), (ax2, "loss terms")):
        a.set_xlabel("step")
        a.set_title(title)
        a.legend(fontsize=8)
        a.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=80))
    return Path(path)


def plot_text_run(records: list[dict], path) -> Path | None:
    """A ``train-text`` run: DS-SJE loss and validation zero-shot top-1 against the step."""
    train = [r for r in records if "loss" in r]
    val = [r for r in records if "val" in r]
    if not train:
        return None
    fig = Figure(figsize=(10, 3.6))
    FigureCanvasAgg(fig)
    ax1, ax2 = fig.subplots(1, 2)
    steps = [r["step"] for r in train]
    ax1.plot(steps, [r["loss"] for r in train], label="total")
    ax1.plot(steps, [r["loss_image"] for r in train], label="image side", alpha=0.7)
    ax1.plot(steps, [r["loss_text"] for r in train], label="text side", alpha=0.7)
    ax1.set(title="DS-SJE loss", xlabel="step")
    ax1.legend()
    if val:
        vsteps = [r["step"] for r in val]
        ax2.plot(vsteps, [r["val"]["zero_shot_top1"] for r in val], "o-", label="zero-shot top-1")
        ax2.plot(vsteps, [r["val"]["caption_top1"] for r in val], "s--", label="caption top-1")
        ax2.plot(vsteps, [r["val"]["retrieval_ap50"] for r in val], "^:", label="retrieval AP@50")
        ax2.legend()
    ax2.set(title="validation (unseen classes)", xlabel="step", ylim=(0, 1.02))
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return Path(path)
