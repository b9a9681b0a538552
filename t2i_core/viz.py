"""Pictures of results: image grids and strips (also saved from image tensors), PNG and GIF
bytes, a matplotlib bar chart.

Pure functions over PIL images (what ``T2IPipeline`` returns), used by the CLI, the app, the
notebooks and the trainers' sample grids. Matplotlib is used through ``Figure`` objects (no
pyplot state), so the helpers are safe to call from app worker threads.
"""

from __future__ import annotations

import io
import math
import threading
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from .errors import UserError
from .files import atomic_write

_MPL_LOCK = threading.Lock()  # matplotlib's text layout caches are not thread-safe


def _check_images(images) -> list:
    images = list(images or [])
    if not images:
        raise UserError("no images to draw")
    for im in images:
        if not isinstance(im, Image.Image):
            raise UserError(f"expected PIL images, got {type(im).__name__}")
    return [im.convert("RGB") for im in images]


def upscale(image: Image.Image, factor: int) -> Image.Image:
    """Nearest-neighbour enlargement (keeps a 64×64 sample crisp on screen)."""
    factor = max(1, int(factor))
    if factor == 1:
        return image
    return image.resize((image.width * factor, image.height * factor), Image.NEAREST)


def image_grid(images, cols: int | None = None, *, pad: int = 2, background=(255, 255, 255),
               scale: int = 1) -> Image.Image:
    """Tile images row by row (``cols`` default: about square) with ``pad`` pixels between."""
    images = [upscale(im, scale) for im in _check_images(images)]
    cols = max(1, min(int(cols or math.ceil(math.sqrt(len(images)))), len(images)))
    rows = math.ceil(len(images) / cols)
    w = max(im.width for im in images)
    h = max(im.height for im in images)
    grid = Image.new("RGB", (cols * w + (cols + 1) * pad, rows * h + (rows + 1) * pad), background)
    for i, im in enumerate(images):
        r, c = divmod(i, cols)
        grid.paste(im, (pad + c * (w + pad), pad + r * (h + pad)))
    return grid


def to_uint8(images) -> np.ndarray:
    """Float tensor/array [B, 3, H, W] in [−1, 1], uint8 [B, H, W, 3] or a PIL list → uint8 BHWC."""
    if isinstance(images, (list, tuple)) and images and hasattr(images[0], "convert"):
        return np.stack([np.asarray(im.convert("RGB")) for im in images])
    arr = images.detach().float().cpu().numpy() if hasattr(images, "detach") else np.asarray(images)
    if arr.dtype == np.uint8:
        return arr
    arr = np.transpose(arr, (0, 2, 3, 1))
    return np.clip((arr + 1) * 127.5 + 0.5, 0, 255).astype(np.uint8)


def save_grid(images, path, ncol: int = 8, pad: int = 2) -> Path:
    """Images in any form ``to_uint8`` takes (e.g. G's output) tiled ``ncol`` per row into one
    PNG (``image_grid``, white padding), written atomically; returns the path."""
    grid = image_grid([Image.fromarray(a) for a in to_uint8(images)], ncol, pad=pad)
    return atomic_write(path, lambda tmp: grid.save(tmp, format="png"))


def png_bytes(image) -> bytes:
    """A PIL image or a matplotlib figure as PNG bytes (for ``ipywidgets.Image``, uploads, HTTP)."""
    buf = io.BytesIO()
    if hasattr(image, "savefig"):
        image.savefig(buf, format="png", bbox_inches="tight")
    else:
        image.save(buf, format="PNG")
    return buf.getvalue()


def image_strip(images, *, pad: int = 2, background=(255, 255, 255), scale: int = 1) -> Image.Image:
    """One row of frames (an interpolation, left to right)."""
    images = _check_images(images)
    return image_grid(images, cols=len(images), pad=pad, background=background, scale=scale)


def gif_bytes(frames, *, duration_ms: int = 120, bounce: bool = True, scale: int = 1,
              loop: int = 0) -> bytes:
    """An animated GIF of ``frames`` (``bounce``: play forward then back, for smooth looping)."""
    frames = [upscale(im, scale) for im in _check_images(frames)]
    if bounce and len(frames) > 2:
        frames = frames + frames[-2:0:-1]
    # One shared palette per frame keeps colours stable; no dithering keeps the GIF small.
    pal = [im.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
           for im in frames]
    buf = io.BytesIO()
    pal[0].save(buf, format="GIF", save_all=True, append_images=pal[1:],
                duration=max(20, int(duration_ms)), loop=loop, disposal=1, optimize=False)
    return buf.getvalue()


def save_gif(frames, path, **kwargs) -> Path:
    """Write ``gif_bytes(frames, **kwargs)`` to ``path`` atomically; returns the path."""
    data = gif_bytes(frames, **kwargs)
    return atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))


def shorten(text: str, width: int = 48) -> str:
    """One line of at most ``width`` characters (``…`` when cut)."""
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def bar_chart(labels, values, *, title: str | None = None, xlabel: str = "score",
              xlim=(0.0, 1.0), highlight_max: bool = True, width_in: float = 7.0,
              dpi: int = 100) -> Image.Image:
    """Horizontal bars, one per label (top to bottom in the given order) → RGB PIL image.

    Used for the discriminator probe: ``labels`` are captions, ``values`` are D's scores."""
    labels = [shorten(label) for label in labels]
    values = [float(v) for v in values]
    if len(labels) != len(values) or not labels:
        raise UserError("bar_chart needs one value per label (and at least one)")
    best = max(range(len(values)), key=values.__getitem__) if highlight_max else -1
    colors = ["#d62728" if i == best else "#1f77b4" for i in range(len(values))]
    with _MPL_LOCK:
        fig = Figure(figsize=(width_in, 0.45 * len(values) + 1.1), dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_subplot(1, 1, 1)
        ys = list(range(len(values)))[::-1]
        bars = ax.barh(ys, values, color=colors)
        ax.set_yticks(ys, labels)
        ax.bar_label(bars, fmt="%.3f", padding=3, fontsize=9)
        if xlim is not None:  # a little room on the right for the value labels
            ax.set_xlim(xlim[0], xlim[1] + 0.12 * (xlim[1] - xlim[0]))
        ax.set_xlabel(xlabel)
        if title:  # over the whole figure: long tick labels leave the axes narrow
            fig.suptitle(title, fontsize=11)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    buf.seek(0)
    return Image.open(buf).convert("RGB")
