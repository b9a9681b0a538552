"""Run-folder outputs of a training run: ``log.jsonl``, a loss-curve PNG and sample-grid PNGs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..files import atomic_write

CURVE_KEYS = ("d_loss", "g_loss", "d_real", "d_wrong", "d_fake", "g_fake", "g_int", "kl", "ms")


class RunLog:
    """Append-only JSON-lines log; one object per logged step or event."""

    def __init__(self, run_dir, enabled: bool = True):
        self.path = Path(run_dir) / "log.jsonl"
        self.enabled = enabled

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")

    def read(self) -> list[dict]:
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text().splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
        return out

    def truncate_after(self, step: int) -> None:
        """On resume: drop records past the checkpoint's step (they will be logged again)."""
        if not self.enabled or not self.path.is_file():
            return
        kept = [r for r in self.read() if r.get("step", 0) <= step]
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept)
        atomic_write(self.path, lambda tmp: Path(tmp).write_text(text))


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
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4))
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
    plt.close(fig)
    return Path(path)


def save_grid(images, path, nrow: int, pad: int = 2) -> Path:
    """[N, 3, H, W] tensor in [−1, 1] → one PNG, ``nrow`` images per row."""
    from PIL import Image

    arr = ((images.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
    n, _, h, w = arr.shape
    rows = math.ceil(n / nrow)
    canvas = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), 255, dtype=np.uint8)
    for k in range(n):
        r, c = divmod(k, nrow)
        y, x = pad + r * (h + pad), pad + c * (w + pad)
        canvas[y:y + h, x:x + w] = arr[k].transpose(1, 2, 0)
    atomic_write(path, lambda tmp: Image.fromarray(canvas).save(tmp, format="PNG"))
    return Path(path)
