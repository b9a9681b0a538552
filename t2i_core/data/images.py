"""Robust image opening: a path, bytes, a file object or a PIL image -> an RGB PIL image.

Used by every dataset loader and by the app for uploads. Handles the modes real datasets hold
(grayscale, CMYK JPEGs, RGBA and palette PNGs composited on white, 16/32-bit integer and float
images, animated GIF/PNG/WebP -> first frame), honours EXIF orientation, refuses decompression
bombs before decoding, and turns truncated or corrupt files into one clear ``UserError``.
"""

from __future__ import annotations

import io
import os
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import UserError

DEFAULT_MAX_PIXELS = 50_000_000  # ~7000 x 7000; larger is refused before decoding
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_INT_MODES = {"I", "I;16", "I;16B", "I;16L", "I;16N"}


def _describe(src) -> str:
    if isinstance(src, (str, os.PathLike)):
        return os.fspath(src)
    if isinstance(src, (bytes, bytearray, memoryview)):
        return f"<{len(src)} bytes>"
    return getattr(src, "name", None) or f"<{type(src).__name__}>"


def _pil_open(fp, name: str) -> Image.Image:
    """Image.open (header only) with every failure turned into a UserError."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(fp)
    except UnidentifiedImageError:
        raise UserError(f"{name} is not an image in a format this program reads "
                        "(JPEG, PNG, GIF, WebP, BMP, TIFF...)") from None
    except Image.DecompressionBombError as exc:
        raise UserError(f"image {name} is too large to open safely ({exc})") from None
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise UserError(f"image {name} is unreadable (truncated or corrupt?): {exc}") from None


def _open_path(path, name: str):
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise UserError(f"image file not found: {name}") from None
    except IsADirectoryError:
        raise UserError(f"expected an image file but got a folder: {name}") from None
    except OSError as exc:
        raise UserError(f"cannot read image file {name}: {exc.strerror or exc}") from None
    if os.fstat(f.fileno()).st_size == 0:
        f.close()
        raise UserError(f"image file is empty (0 bytes): {name}")
    return f


def _check_size(im: Image.Image, name: str, max_pixels: int | None) -> None:
    w, h = im.size
    if w <= 0 or h <= 0:
        raise UserError(f"image {name} has no pixels ({w}x{h})")
    if max_pixels is not None and w * h > max_pixels:
        raise UserError(f"image {name} is too large: {w}x{h} = {w * h:,} pixels "
                        f"(the limit is {max_pixels:,}); resize it first")


def _scale_to_uint8(arr: np.ndarray, is16: bool) -> np.ndarray:
    arr = arr.astype(np.float64)
    if is16:
        arr = arr / 257.0
    elif arr.dtype.kind == "f" and arr.size and np.nanmax(arr) <= 1.0 and np.nanmin(arr) >= 0.0:
        arr = arr * 255.0
    elif arr.size and (np.nanmax(arr) > 255 or np.nanmin(arr) < 0):
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if lo >= 0 and hi <= 65535:
            arr = arr / 257.0
        else:
            arr = (arr - lo) * (255.0 / max(hi - lo, 1e-12))
    return np.clip(np.nan_to_num(arr), 0, 255).round().astype(np.uint8)


def _deep_to_l(im: Image.Image) -> Image.Image:
    """16-bit ('I;16*'), 32-bit int ('I') and float ('F') grayscale -> 8-bit 'L'."""
    arr = np.asarray(im)
    if im.mode == "F" and arr.size and np.nanmax(arr) <= 1.0 and np.nanmin(arr) >= 0.0:
        out = _scale_to_uint8(arr, is16=False)
    else:
        out = _scale_to_uint8(arr, is16=im.mode.startswith("I;16"))
    return Image.fromarray(out, mode="L")


def _on_white(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def to_rgb(im: Image.Image, name: str = "image") -> Image.Image:
    """Convert an already-loaded PIL image of any mode to RGB (transparency on white)."""
    mode = im.mode
    if mode == "RGB" and "transparency" not in im.info:
        return im
    if mode in _INT_MODES or mode == "F":
        return _deep_to_l(im).convert("RGB")
    if mode in _ALPHA_MODES or "transparency" in im.info:
        return _on_white(im)
    try:
        return im.convert("RGB")
    except (ValueError, OSError) as exc:
        raise UserError(f"image {name} has colour mode {mode!r}, which cannot be "
                        f"converted to RGB ({exc})") from None


def open_image(src, *, max_pixels: int | None = DEFAULT_MAX_PIXELS,
               min_size: int | None = None, exif_transpose: bool = True) -> Image.Image:
    """Open ``src`` (path, bytes, file object or PIL image) as a fully loaded RGB PIL image.

    ``max_pixels``: refuse images with more pixels (checked from the header, before decoding).
    ``min_size``: a hint that the caller will shrink the image to about this size; JPEGs are then
    decoded at a reduced scale that still keeps both sides >= ``min_size`` (much faster).
    Raises ``UserError`` naming the file for missing, empty, non-image, oversized, truncated or
    corrupt input. Animated images give their first frame."""
    name = _describe(src)
    if isinstance(src, Image.Image):
        return _decode(src, name, max_pixels, None, exif_transpose, owned=False)
    if isinstance(src, (bytes, bytearray, memoryview)):
        if len(src) == 0:
            raise UserError(f"image {name} is empty (0 bytes)")
        return _decode(_pil_open(io.BytesIO(bytes(src)), name), name, max_pixels, min_size,
                       exif_transpose)
    if isinstance(src, (str, os.PathLike)):
        with _open_path(src, name) as f:
            return _decode(_pil_open(f, name), name, max_pixels, min_size, exif_transpose)
    if hasattr(src, "read"):
        return _decode(_pil_open(src, name), name, max_pixels, min_size, exif_transpose)
    raise UserError(f"cannot open an image from {type(src).__name__}; "
                    "give a file path, bytes or a PIL image")


def _decode(im: Image.Image, name: str, max_pixels, min_size, exif_transpose,
            owned: bool = True) -> Image.Image:
    """Load pixels (first frame) and convert to RGB. ``owned``: ``im`` may be modified."""
    _check_size(im, name, max_pixels)
    if owned and min_size and im.format == "JPEG" and im.mode in ("RGB", "L", "CMYK"):
        im.draft(im.mode, (int(min_size), int(min_size)))
    frames = getattr(im, "n_frames", 1)
    try:
        if frames > 1 and im.tell() != 0:
            im.seek(0)
        im.load()
        if exif_transpose and owned:
            ImageOps.exif_transpose(im, in_place=True)
        elif exif_transpose:
            im = ImageOps.exif_transpose(im)
            owned = True
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise UserError(f"image {name} is truncated or corrupt: {exc}") from None
    out = to_rgb(im, name)
    # a fresh image for the caller: never the caller's own object or a multi-frame file image
    return out.copy() if out is im and (not owned or frames > 1) else out


def verify_image(src, *, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> str | None:
    """Fast readability check for data-info: ``None`` when ``src`` decodes, else the reason.

    JPEGs are decoded at 1/8 scale (JPEG's own fast path), so a truncated file is still caught."""
    try:
        open_image(src, max_pixels=max_pixels, min_size=1, exif_transpose=False)
    except UserError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - any decoder failure is a finding, not a crash
        return f"image {_describe(src)} is unreadable: {type(exc).__name__}: {exc}"
    return None


def resize_square(im: Image.Image, size: int) -> Image.Image:
    """Resize to ``size`` x ``size`` ignoring aspect ratio, as Reed's loader does
    (``image.scale(input, loadSize, loadSize)``)."""
    if im.size == (size, size):
        return im
    return im.resize((size, size), Image.BILINEAR, reducing_gap=None)


def center_square(im: Image.Image) -> Image.Image:
    """The largest centred square of ``im`` (a photo keeps its proportions instead of being
    squashed; the cropped margins go)."""
    w, h = im.size
    if w == h:
        return im
    side = min(w, h)
    left, top = (w - side) // 2, (h - side) // 2
    return im.crop((left, top, left + side, top + side))


def array_to_pil(arr) -> Image.Image:
    """A uint8 or float image array (H×W, H×W×1/3/4; floats in [0, 1] or [0, 255]) → PIL image."""
    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4)):
        if arr.dtype != np.uint8:
            if arr.dtype.kind == "f" and arr.size and arr.min() >= 0 and arr.max() <= 1:
                arr = arr * 255.0
            arr = np.clip(np.nan_to_num(arr.astype(np.float64)), 0, 255).round().astype(np.uint8)
        return Image.fromarray(arr.squeeze(-1) if arr.ndim == 3 and arr.shape[2] == 1 else arr)
    raise UserError(f"an image array must be H×W, H×W×3 or H×W×4, got shape {arr.shape}")
