"""The Gradio app's handlers: plain functions ``handler(pipe, ...)`` that validate their input.

``app.py`` binds them to a pipeline and wires them to events with ``preprocess=False``, so a
handler sees exactly what a browser or API client sent: text, numbers (possibly out of range or
not numbers at all) and, for images, Gradio's file payload (a dict with ``path``). Tests call
them directly with plain values, PIL images or paths. Every problem becomes a ``gr.Error`` with
a plain message; out-of-range numbers are clamped with a ``gr.Warning``. Images go back as PNG
(or GIF) file paths, see ``png_path``. Nothing here loads a model: the pipeline is passed in.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import math
import numbers
import os
import tempfile
import time
from pathlib import Path

import gradio as gr
import numpy as np
from gradio import utils as gradio_utils
from PIL import Image

from .data.images import array_to_pil, open_image
from .errors import UserError
from .files import atomic_write
from .viz import bar_chart, gif_bytes, image_strip, png_bytes

log = logging.getLogger(__name__)

MAX_N = 16                # images per Generate click
MIN_STYLE_SIDE = 32         # below this an upload is too small to read a style from (warned)
MAX_SEED = 2**31 - 1      # seeds offered by the UI and the API (the pipeline takes more)
MAX_CAPTIONS = 8          # captions per style transfer / probe request
MAX_RAW_CAPTION = 5000    # characters looked at; the encoder reads 201 anyway
STRIP_STEPS = (2, 16)
MAX_PIXELS = 40_000_000   # uploads larger than this are refused before decoding
MAX_DATA_URL = 15_000_000 # characters of an inline (base64) image: about the 10 MB upload cap
OUT_DIR = Path(tempfile.gettempdir()) / "t2i_app_outputs"
MAX_AGE_S = 3600          # output files older than this are pruned


# ----------------------------------------------------------------------------- input checks
def user_error(message: str) -> gr.Error:
    """The error a user's mistake raises: shown on the page, one line in the server log (no
    traceback: tracebacks are kept for real faults, see ``call``)."""
    log.warning("user error: %s", message)
    return gr.Error(message, print_exception=False)


def notify(notes) -> None:
    for note in dict.fromkeys(notes):  # unique, in order
        gr.Warning(note)


def as_int(value, name: str, lo: int, hi: int, notes: list, default=None) -> int:
    """A whole number from a UI/API value, clamped to [lo, hi] with a notice."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            raise user_error(f"{name} is missing: enter a whole number")
        return default
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise user_error(f"{name} must be a number") from None
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise user_error(f"{name} must be a finite number")
    out = int(round(float(value))) if abs(value) < 1e18 else (hi if value > 0 else lo)
    if out < lo or out > hi:
        clamped = min(max(out, lo), hi)
        notes.append(f"{name} must be between {lo} and {hi}: using {clamped}")
        return clamped
    return out


def as_fraction(value, name: str, notes: list) -> float:
    """A number in [0, 1] (slider position), clamped with a notice."""
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise user_error(f"{name} must be a number between 0 and 1") from None
    if value is None or isinstance(value, bool) or not isinstance(value, numbers.Real) \
            or not math.isfinite(value):
        raise user_error(f"{name} must be a number between 0 and 1")
    if not 0.0 <= value <= 1.0:
        clamped = min(max(float(value), 0.0), 1.0)
        notes.append(f"{name} must be between 0 and 1: using {clamped:g}")
        return clamped
    return float(value)


def as_caption(value, name: str = "caption") -> str:
    if value is None:
        raise user_error(f"the {name} is empty: describe a bird, e.g. 'a bird with a red crown'")
    if not isinstance(value, str):
        raise user_error(f"the {name} must be text")
    if not value.strip():
        raise user_error(f"the {name} is empty: describe a bird, e.g. 'a bird with a red crown'")
    return value[:MAX_RAW_CAPTION]


def as_caption_lines(value, notes: list) -> list[str]:
    """Captions typed one per line (blank lines ignored), at most ``MAX_CAPTIONS``."""
    if isinstance(value, (list, tuple)):
        value = "\n".join(str(v) for v in value)
    if value is not None and not isinstance(value, str):
        raise user_error("the captions must be text, one per line")
    lines = [line.strip()[:MAX_RAW_CAPTION] for line in (value or "").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise user_error("enter at least one caption (one per line)")
    if len(lines) > MAX_CAPTIONS:
        notes.append(f"only the first {MAX_CAPTIONS} captions are used")
        lines = lines[:MAX_CAPTIONS]
    return lines


def as_image(value):
    """Uploaded image (Gradio payload dict, the image editor's {background, layers, composite}
    payload, path, PIL image or array) → RGB PIL image."""
    if isinstance(value, dict) and ("composite" in value or "background" in value):
        # the image editor's payload: the edited (cropped) canvas, else the upload itself
        value = value.get("composite") or value.get("background")
    if isinstance(value, dict):  # Gradio's FileData payload
        url = value.get("url") or ""
        if value.get("path"):
            value = uploaded_path(value["path"])
        elif url.startswith("data:") and "," in url:
            if len(url) > MAX_DATA_URL:
                raise user_error("the image is too large: upload a smaller file")
            try:
                value = base64.b64decode(url.split(",", 1)[1], validate=False)
            except ValueError:
                raise user_error("the uploaded image data is not valid base64") from None
        else:
            value = None
    if value is None or (isinstance(value, str) and not value):
        raise user_error("no image: upload a bird photo or pick an example")
    if not isinstance(value, (str, Path, bytes, bytearray, Image.Image, np.ndarray)):
        raise user_error("the image must be an uploaded picture file")
    try:
        if isinstance(value, np.ndarray):
            value = array_to_pil(value)
        return open_image(value, max_pixels=MAX_PIXELS, min_size=64)
    except UserError as exc:
        raise user_error(_plain(str(exc), value)) from None
    except Exception:  # noqa: BLE001 - a decoder failure open_image did not foresee
        log.exception("could not decode an uploaded image")
        raise user_error("the uploaded image could not be read") from None


def uploaded_path(path) -> str:
    """A payload's path, only if it lies in Gradio's upload/cache folder: a client could name
    any server file in a hand-made payload, and handlers run with ``preprocess=False``."""
    root = Path(gradio_utils.get_upload_folder()).resolve()
    resolved = Path(str(path)).resolve()
    if root != resolved and root not in resolved.parents:
        raise user_error("the image must be uploaded to this app first")
    return str(resolved)


def _plain(message: str, src) -> str:
    """Say 'the uploaded image' instead of a server-side temporary path."""
    if isinstance(src, (str, Path)):
        message = message.replace(str(src), "the uploaded image")
    return message.replace("image the uploaded image", "the uploaded image")


# ----------------------------------------------------------------------------- running the model
def pick_model(pipes: dict, model):
    """The pipeline the model selector (or an API call's trailing ``model``) names; ``None`` or
    empty: the first one."""
    if model is None or (isinstance(model, str) and not model.strip()):
        return next(iter(pipes.values()))
    if not isinstance(model, str) or model.strip() not in pipes:
        raise user_error(f"unknown model {model!r}: choose one of {', '.join(pipes)}")
    return pipes[model.strip()]


def call(fn, *args, **kwargs):
    """Run a pipeline method: UserError → gr.Error; anything unexpected is logged and reported
    as a plain error (the server keeps running)."""
    try:
        return fn(*args, **kwargs)
    except gr.Error:
        raise
    except UserError as exc:
        raise user_error(str(exc)) from None
    except Exception:  # noqa: BLE001 - keep serving; the details go to the server log
        log.exception("handler failed")
        raise gr.Error("something went wrong while drawing; the details are in the server log",
                       print_exception=False) from None


# ----------------------------------------------------------------------------- output files
# Handlers return PNG/GIF *paths* written atomically under a content-hash name. (Returning PIL
# images lets Gradio write its cache file in place; two concurrent requests with the same
# result then rewrite the file while it is being served, and a client reads a truncated file.)
_writes = [0]


def _store(data: bytes, prefix: str, suffix: str) -> str:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{prefix}_{hashlib.sha256(data).hexdigest()[:20]}{suffix}"
    try:
        os.utime(path)  # already there: keep it fresh for the pruning below
    except FileNotFoundError:
        atomic_write(path, lambda tmp: Path(tmp).write_bytes(data))
        _writes[0] += 1
        if _writes[0] % 64 == 0:
            _prune()
    return str(path)


def _prune() -> None:
    cutoff = time.time() - MAX_AGE_S
    for p in OUT_DIR.glob("*_*.*"):
        try:
            if p.stat().st_mtime < cutoff:
                p.unlink()
        except OSError:
            pass


def png_path(image, prefix: str = "bird") -> str:
    return _store(png_bytes(image), prefix, ".png")


def gif_path(frames, prefix: str) -> str:
    return _store(gif_bytes(frames, scale=2), prefix, ".gif")


# ----------------------------------------------------------------------------- handlers
def generate(pipe, caption, n=4, seed=0):
    """Generate tab: n images of a caption → gallery items (PNG path, 'seed s')."""
    notes = []
    caption = as_caption(caption)
    n = as_int(n, "n", 1, MAX_N, notes, default=4)
    seed = as_int(seed, "seed", 0, MAX_SEED, notes, default=0)
    images = call(pipe.generate, caption, n=n, seed=seed)
    notify(notes + pipe.notices)
    return [(png_path(im), f"seed {seed + i}") for i, im in enumerate(images)]


def text_frame(pipe, caption_a, caption_b, beta=0.5, seed=0):
    """β slider: one frame (PNG path) between caption a (β = 0) and caption b (β = 1)."""
    notes = []
    a, b = as_caption(caption_a, "first caption"), as_caption(caption_b, "second caption")
    beta = as_fraction(beta, "beta", notes)
    seed = as_int(seed, "seed", 0, MAX_SEED, notes, default=0)
    frame = call(pipe.text_frame, a, b, beta, seed)
    notify(notes + pipe.notices)
    return png_path(frame, "frame")


def text_strip(pipe, caption_a, caption_b, seed=0, steps=8):
    """The whole text interpolation: (strip PNG path, GIF path)."""
    notes = []
    a, b = as_caption(caption_a, "first caption"), as_caption(caption_b, "second caption")
    seed = as_int(seed, "seed", 0, MAX_SEED, notes, default=0)
    steps = as_int(steps, "steps", *STRIP_STEPS, notes, default=8)
    frames = call(pipe.interpolate_text, a, b, steps=steps, seed=seed)
    notify(notes + pipe.notices)
    return png_path(image_strip(frames), "strip"), gif_path(frames, "text_interpolation")


def noise_frame(pipe, caption, seed_a=0, seed_b=1, alpha=0.5):
    """α slider: one frame (PNG path) between seed a's latent (α = 0) and seed b's (α = 1)."""
    notes = []
    caption = as_caption(caption)
    seed_a = as_int(seed_a, "seed a", 0, MAX_SEED, notes, default=0)
    seed_b = as_int(seed_b, "seed b", 0, MAX_SEED, notes, default=1)
    alpha = as_fraction(alpha, "alpha", notes)
    frame = call(pipe.noise_frame, caption, seed_a, seed_b, alpha)
    notify(notes + pipe.notices)
    return png_path(frame, "frame")


def noise_strip(pipe, caption, seed_a=0, seed_b=1, steps=8):
    """The whole noise interpolation: (strip PNG path, GIF path)."""
    notes = []
    caption = as_caption(caption)
    seed_a = as_int(seed_a, "seed a", 0, MAX_SEED, notes, default=0)
    seed_b = as_int(seed_b, "seed b", 0, MAX_SEED, notes, default=1)
    steps = as_int(steps, "steps", *STRIP_STEPS, notes, default=8)
    frames = call(pipe.interpolate_noise, caption, seed_a=seed_a, seed_b=seed_b, steps=steps)
    notify(notes + pipe.notices)
    return png_path(image_strip(frames), "strip"), gif_path(frames, "noise_interpolation")


def style_transfer(pipe, image, captions):
    """§4.4: the photo's style ŝ = S(x) redrawn with each caption → gallery (PNG path, caption).
    No seed: ŝ takes z's place, so the result is fixed by the photo and the captions."""
    notes = []
    lines = as_caption_lines(captions, notes)
    photo = as_image(image)
    if min(photo.size) < MIN_STYLE_SIDE:
        notes.append(f"the photo is only {photo.size[0]}×{photo.size[1]} pixels: too small to read a "
                     f"pose and background from (use one at least {MIN_STYLE_SIDE} px on each side)")
    images = call(pipe.transfer_style, photo, lines)
    notify(notes + pipe.notices)
    return [(png_path(im, "style"), line) for im, line in zip(images, lines)]


def relative_scores(scores) -> list[float]:
    """D's sigmoid scores compared across the captions: softmax of their logits (sums to 1), so
    the caption D prefers stands out even when every raw score is small."""
    eps = 1e-7
    logits = [math.log(min(max(s, eps), 1 - eps) / (1 - min(max(s, eps), 1 - eps))) for s in scores]
    top = max(logits)
    weights = [math.exp(v - top) for v in logits]
    return [w / sum(weights) for w in weights]


def image_key(photo) -> str:
    """A fingerprint of an image's pixels (the same picture re-uploaded gets the same key)."""
    arr = np.asarray(photo.convert("RGB"))
    return hashlib.sha256(str(arr.shape).encode() + arr.tobytes()).hexdigest()


def match_scores(pipe, image, captions, known: dict | None = None):
    """Discriminator probe: sigmoid(D(x, φ(t))) per caption → (bar chart PNG path,
    [{caption, score, relative, rank}]); the chart shows the relative scores, each bar labelled
    with its raw sigmoid. ``known``: {image_key: right caption} of the bundled examples; when
    the image is one of them and its right caption is among the lines, that entry gets
    ``"right_caption": true`` and the page says where it ranked."""
    notes = []
    lines = as_caption_lines(captions, notes)
    photo = as_image(image)
    scores = call(pipe.match_scores, photo, lines)
    right = (known or {}).get(image_key(photo))
    relative = relative_scores(scores)
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    rank = {i: r + 1 for r, i in enumerate(order)}
    chart = bar_chart([f"{i + 1}. (σ {s:.3f}) {c}" for i, (c, s) in enumerate(zip(lines, scores))], relative,
                      title="D's preference among the captions (softmax of logits; red: best)",
                      xlabel="relative score (sums to 1)")
    rows = [{"caption": c, "score": round(s, 6), "relative": round(r, 4), "rank": rank[i]}
            for i, (c, s, r) in enumerate(zip(lines, scores, relative))]
    hit = next((i for i, c in enumerate(lines) if right and c.strip().lower() == right.strip().lower()), None)
    if hit is not None:
        rows[hit]["right_caption"] = True
        gr.Info(f"This is a bundled example: its right caption (line {hit + 1}) ranked "
                f"{rank[hit]} of {len(lines)}.")
    notify(notes + pipe.notices)
    return png_path(chart, "scores"), rows
