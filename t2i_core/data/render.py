"""Drawing one SynthBirds image (DESIGN.md §2): a bird with crown, wings, belly, beak, eye and
tail over a sky / foliage / water / ground scene, looking like a 64×64 CUB crop.

The bird is drawn as polygons in its own coordinates (facing right, y down, body centre at the
origin), then tilted, mirrored for ``facing="left"``, scaled and placed. It is drawn with a dark
outline on a transparent layer at SS× the output size, box-downsampled (SS×SS supersampling
anti-aliasing) and composited over the scene. Scenes are crops of a bank of soft textures drawn
once per process (clouds, leaf blobs, ripples, pebbles; a shallow depth of field as in CUB
photos), flipped and recoloured so their mean RGB is exactly the style's ``background_rgb``.
"""

from __future__ import annotations

import colorsys
import functools
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from ..errors import UserError
from .vocabulary import FACINGS, SCENE_HSV, SCENES, check_content

SS = 3  # supersampling factor for the bird

# Fixed, well separated RGB per colour name (small per-image jitter only), so a judge can read
# every part at 64×64.
PALETTE = {
    "red": (212, 28, 36), "orange": (247, 138, 22), "yellow": (250, 218, 42),
    "green": (44, 158, 62), "blue": (38, 84, 212), "purple": (128, 48, 168),
    "brown": (112, 68, 34), "black": (26, 26, 26), "white": (244, 244, 244),
    "grey": (128, 128, 128),
}
OUTLINE = (18, 16, 14)
BEAK_RGB, BEAK_PALE = (44, 40, 38), (214, 200, 168)  # dark, or pale on a dark head
LEG_RGB = (70, 62, 56)
BEAK_LENGTH = {"short": 0.16, "long": 0.46}  # long ≈ 2.9 × short (in body units)
JITTER = 6  # max per-channel colour jitter of a part

# ----------------------------------------------------------------------------- geometry
_CIRCLE = np.stack([np.cos(np.linspace(0, 2 * np.pi, 36, endpoint=False)),
                    np.sin(np.linspace(0, 2 * np.pi, 36, endpoint=False))], 1)


def _ellipse(cx, cy, rx, ry, angle_deg=0.0) -> np.ndarray:
    a = math.radians(angle_deg)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return (_CIRCLE * [rx, ry]) @ rot.T + [cx, cy]


HEAD_C, HEAD_R = np.array([0.56, -0.42]), 0.34
BEAK_DIR = math.radians(6)  # slightly down
EYE_C = HEAD_C + HEAD_R * 0.40 * np.array([math.cos(math.radians(-30)), math.sin(math.radians(-30))])


def _beak(length: float) -> np.ndarray:
    d = np.array([math.cos(BEAK_DIR), math.sin(BEAK_DIR)])
    half = math.radians(27)
    top = HEAD_C + HEAD_R * np.array([math.cos(BEAK_DIR - half), math.sin(BEAK_DIR - half)])
    bottom = HEAD_C + HEAD_R * np.array([math.cos(BEAK_DIR + half), math.sin(BEAK_DIR + half)])
    return np.array([HEAD_C + HEAD_R * 0.7 * d, top, HEAD_C + (HEAD_R + length) * d, bottom])


# The bird in its own coordinates (facing right, y down, body centre at the origin).
SHAPES = {
    "tail": np.array([(-0.42, -0.06), (-1.14, 0.14), (-1.20, 0.34), (-1.08, 0.42), (-0.40, 0.26)]),
    "tail_line": np.array([(-0.50, 0.12), (-1.12, 0.30)]),
    "leg1": np.array([(0.14, 0.38), (0.18, 0.68)]), "leg2": np.array([(-0.08, 0.40), (-0.04, 0.68)]),
    "toe1": np.array([(0.10, 0.71), (0.18, 0.68), (0.32, 0.70)]),
    "toe2": np.array([(-0.12, 0.71), (-0.04, 0.68), (0.10, 0.70)]),
    "body": _ellipse(0.0, 0.02, 0.64, 0.44, -14),
    "wing": np.array([(0.40, -0.18), (0.28, -0.33), (0.05, -0.40), (-0.25, -0.38), (-0.58, -0.24),
                      (-0.80, -0.06), (-0.92, 0.10), (-0.70, 0.14), (-0.38, 0.14), (-0.05, 0.10),
                      (0.22, 0.02), (0.38, -0.06)]),
    "feather1": np.array([(0.30, -0.08), (0.10, -0.03), (-0.22, -0.04), (-0.45, -0.10)]),
    "feather2": np.array([(-0.18, 0.06), (-0.50, 0.07), (-0.80, 0.07)]),
    "feather3": np.array([(-0.30, -0.04), (-0.56, -0.06), (-0.82, 0.00)]),
    "head": _ellipse(HEAD_C[0], HEAD_C[1], HEAD_R, HEAD_R),
    "beak_short": _beak(BEAK_LENGTH["short"]), "beak_long": _beak(BEAK_LENGTH["long"]),
    "eye_ring": _ellipse(EYE_C[0], EYE_C[1], 0.085, 0.085),
    "pupil": _ellipse(EYE_C[0], EYE_C[1], 0.05, 0.05),
    "glint": _ellipse(EYE_C[0] + 0.018, EYE_C[1] - 0.018, 0.017, 0.017),
    "feet": np.array([(0.18, 0.68), (-0.04, 0.68)]),
}
_OUTER = ("tail", "toe1", "toe2", "body", "wing", "head", "beak_long")
_KEYS = list(SHAPES)
_ENDS = np.cumsum([len(SHAPES[k]) for k in _KEYS]).tolist()
_SLICES = [(k, a, b) for k, a, b in zip(_KEYS, [0] + _ENDS[:-1], _ENDS)]
_ALL = np.concatenate([SHAPES[k] for k in _KEYS])
_OUTER_PTS = np.concatenate([SHAPES[k] for k in _OUTER])


class _Pose:
    """Bird coordinates → canvas pixels: tilt (head up), mirror, scale, translate."""

    def __init__(self, facing, tilt, x, y, scale, canvas):
        a = math.radians(tilt)
        flip = -1.0 if facing == "left" else 1.0
        # rotate in bird coordinates (y down: +tilt lifts the head), then mirror x
        rot = np.array([[math.cos(a), math.sin(a)], [-math.sin(a), math.cos(a)]])
        self.m = np.array([[flip, 0.0], [0.0, 1.0]]) @ rot * (scale * canvas)
        self.t = np.array([x * canvas, y * canvas])
        self.unit = scale * canvas

    def shapes(self) -> dict:
        """Every part of SHAPES in canvas pixels, as flat [x0, y0, x1, y1, ...] for ImageDraw."""
        flat = (_ALL @ self.m.T + self.t).ravel().tolist()
        return {key: flat[2 * a:2 * b] for key, a, b in _SLICES}

    def length(self, units: float) -> float:
        return units * self.unit


def bird_bbox(facing, tilt, scale):
    """Bird extent (long beak) around its body centre, as fractions of the frame: (x0, y0, x1, y1)."""
    pose = _Pose(facing, tilt, 0.0, 0.0, scale, 1.0)
    pts = _OUTER_PTS @ pose.m.T
    return (*pts.min(0), *pts.max(0))


def position_range(facing, tilt, scale, margin=0.03):
    """Where the body centre may go so the whole bird (long beak included) stays in frame."""
    x0, y0, x1, y1 = bird_bbox(facing, tilt, scale)

    def span(lo, hi):
        a, b = margin - lo, 1 - margin - hi
        return (a, b) if a <= b else ((a + b) / 2, (a + b) / 2)

    return span(x0, x1), span(y0, y1)


# ----------------------------------------------------------------------------- colours
def _clip(rgb) -> tuple[int, int, int]:
    return tuple(int(min(255, max(0, round(c)))) for c in rgb)


def _shade(rgb, f: float) -> tuple[int, int, int]:
    """Darker (f < 1) or, for very dark colours, lighter: for feather lines and tails."""
    if sum(rgb) < 150:
        return _clip(c + 60 * (1 - f) * 2 for c in rgb)
    return _clip(c * f for c in rgb)


def _shades(base, g, k, s=(1.0, 1.0), v=(1.0, 1.0), j=0.0) -> list[tuple]:
    """``k`` shades of ``base``: saturation × U(s), brightness × U(v), ± j per channel."""
    base = np.asarray(base, np.float64)
    grey = base.mean()
    cols = (grey + (base - grey) * g.uniform(*s, (k, 1))) * g.uniform(*v, (k, 1))
    cols = np.clip(cols + g.uniform(-j, j, (k, 3)), 0, 255).round().astype(int)
    return [tuple(c) for c in cols.tolist()]


def _vary(base, g, s=(1.0, 1.0), v=(1.0, 1.0), j=0.0) -> tuple:
    return _shades(base, g, 1, s, v, j)[0]


def _ellipses(draw, cx, cy, rx, ry, colors) -> None:
    boxes = np.stack([cx - rx, cy - ry, cx + rx, cy + ry], 1).tolist()
    for box, col in zip(boxes, colors):
        draw.ellipse(box, fill=col)


# ----------------------------------------------------------------------------- scenes
def _gradient(n, top, bottom) -> Image.Image:
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None, None]
    rows = (1 - t) * np.asarray(top, np.float32) + t * np.asarray(bottom, np.float32)
    return Image.fromarray(np.broadcast_to(rows, (n, n, 3)).round().astype(np.uint8))


def _sky(n, base, g):
    img = _gradient(n, _vary(base, g, (1.1, 1.35), (0.88, 0.95), 6),
                    _vary(base, g, (0.55, 0.8), (1.02, 1.1), 6))
    k = int(g.integers(1, 5))  # clouds: clusters of 3-6 soft ellipses
    size = g.integers(3, 7, k)
    cx, cy, w = (np.repeat(a, size) for a in
                 (g.uniform(-0.1, 1.1, k) * n, g.uniform(0.0, 0.9, k) * n, g.uniform(0.2, 0.5, k) * n))
    m = len(cx)
    white = np.repeat(g.uniform(0.45, 0.85, k), size)[:, None]
    cols = np.asarray(base, np.float64) * (1 - white) + 250 * white
    _ellipses(ImageDraw.Draw(img), cx + g.uniform(-0.5, 0.5, m) * w, cy + g.uniform(-0.15, 0.1, m) * w,
              g.uniform(0.15, 0.35, m) * w, g.uniform(0.08, 0.18, m) * w,
              [tuple(c) for c in cols.round().astype(int).tolist()])
    return img


_LEAF = _CIRCLE[::3]  # 12-point ellipse outline


def _foliage(n, base, g):
    img = Image.new("RGB", (n, n), _vary(base, g, (1, 1), (0.8, 0.9)))
    k = int(g.integers(45, 80))  # leaf blobs of varied shade and angle
    length = g.uniform(0.06, 0.16, (k, 1, 1)) * n
    radii = np.concatenate([length, length * g.uniform(0.35, 0.55, (k, 1, 1))], 2)
    a = g.uniform(0, np.pi, (k, 1))
    cos, sin = np.cos(a), np.sin(a)
    pts = _LEAF[None] * radii
    x = pts[..., 0] * cos - pts[..., 1] * sin + g.uniform(-0.05, 1.05, (k, 1)) * n
    y = pts[..., 0] * sin + pts[..., 1] * cos + g.uniform(-0.05, 1.05, (k, 1)) * n
    draw = ImageDraw.Draw(img)
    for leaf, col in zip(np.stack([x, y], 2).tolist(), _shades(base, g, k, (0.8, 1.15), (0.75, 1.3), 15)):
        draw.polygon([tuple(p) for p in leaf], fill=col)
    return img


def _water(n, base, g):
    img = _gradient(n, _vary(base, g, (0.7, 0.9), (1.05, 1.15), 4),
                    _vary(base, g, (1.05, 1.25), (0.82, 0.92), 4))
    k = int(g.integers(25, 50))  # ripples: thin horizontal light / dark strokes
    cx, cy = g.uniform(0, 1, k) * n, g.uniform(0, 1, k) * n
    light = _shades(base, g, k, (0.5, 1.2), (1.0, 1.3), 4)
    dark = _shades(base, g, k, (0.8, 1.2), (0.7, 0.85), 4)
    cols = [lc if u < 0.6 else dc for lc, dc, u in zip(light, dark, g.random(k))]
    _ellipses(ImageDraw.Draw(img), cx, cy, g.uniform(0.04, 0.18, k) * n,
              g.uniform(0.006, 0.02, k) * n * (1 + cy / n), cols)
    return img


def _ground(n, base, g):
    img = _gradient(n, _vary(base, g, (0.75, 0.9), (1.02, 1.1), 6),
                    _vary(base, g, (1.0, 1.15), (0.85, 0.95), 6))
    draw = ImageDraw.Draw(img)
    k = int(g.integers(90, 160))  # pebbles and earth texture, larger towards the viewer
    cx, cy = g.uniform(0, 1, k) * n, g.uniform(0, 1, k) * n
    r = g.uniform(0.004, 0.018, k) * n * (0.6 + cy / n)
    _ellipses(draw, cx, cy, r * 1.4, r, _shades(base, g, k, (0.6, 1.1), (0.75, 1.25), 8))
    k = int(g.integers(0, 25))  # sparse grass blades
    grass = _vary((120, 130, 70), g, (0.6, 0.9), (0.8, 1.1), 22)
    x, y = g.uniform(0, 1, k) * n, g.uniform(0.3, 1, k) * n
    ends = np.stack([x, y, x + g.uniform(-0.02, 0.02, k) * n, y - g.uniform(0.03, 0.07, k) * n], 1)
    for line in ends.tolist():
        draw.line(line, fill=grass)
    return img


_SCENES = {"sky": _sky, "foliage": _foliage, "water": _water, "ground": _ground}


TEXTURES = 48  # scene textures per kind; each image crops, flips and recolours one
TEXTURE_SIZE, CROP = 96, 64  # texture side; crop side (resized to the output size)


@functools.lru_cache(maxsize=None)
def _texture(scene: str, index: int) -> np.ndarray:
    """Scene texture ``index`` as a per-channel ratio to its base colour, float32 (96, 96, 3).

    Drawn once per process from a fixed seed, so every worker sees the same textures."""
    (h0, h1), (s0, s1), (v0, v1) = SCENE_HSV[scene]
    base = np.array(colorsys.hsv_to_rgb((h0 + h1) / 720, (s0 + s1) / 2, (v0 + v1) / 2)) * 255
    g = np.random.default_rng([index, 1000 + SCENES.index(scene)])
    img = _SCENES[scene](TEXTURE_SIZE, tuple(int(round(c)) for c in base), g)
    img = img.filter(ImageFilter.BoxBlur(g.uniform(0.6, 1.2)))  # shallow depth of field
    return np.asarray(img, np.float32) / base.astype(np.float32)


def render_background(scene: str, background_rgb, detail_seed: int, size: int) -> Image.Image:
    """The scene alone at ``size`` (a crop of a recoloured texture) with mean ``background_rgb``."""
    g = np.random.default_rng([detail_seed, 1])
    tex = _texture(scene, int(g.integers(TEXTURES)))
    ox, oy = (int(v) for v in g.integers(0, TEXTURE_SIZE - CROP + 1, 2))
    crop = tex[oy:oy + CROP, ox:ox + CROP]
    if g.random() < 0.5:
        crop = crop[:, ::-1]
    if size != CROP:
        crop = np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(crop[..., c]), "F")
                                    .resize((size, size), Image.BILINEAR)) for c in range(3)], 2)
    rgb = np.asarray(background_rgb, np.float32)
    arr = crop * rgb
    for _ in range(2):  # shift the mean onto background_rgb (clipping may leave a residue)
        arr += rgb - arr.reshape(-1, 3).mean(0)
        np.clip(arr, 0, 255, out=arr)
    return Image.fromarray((arr + 0.5).astype(np.uint8))


# ----------------------------------------------------------------------------- the bird
def _part_colors(content, g) -> dict:
    light = g.uniform(0.96, 1.03)  # slight per-image lighting; parts stay far apart
    return {k: _clip((c + g.uniform(-JITTER, JITTER)) * light for c in PALETTE[content[k]])
            for k in ("crown", "wing", "belly")}


def _perch(draw, pose, shapes, scene, g, canvas):
    """A branch / reed through the feet (none on the ground, where the bird stands)."""
    if scene == "ground" or (scene in ("sky", "water") and g.random() < 0.35):
        return
    feet = shapes["feet"]
    fx, fy = (feet[0] + feet[2]) / 2, (feet[1] + feet[3]) / 2 + pose.length(0.04)
    slope = g.uniform(-0.25, 0.25)
    x0, x1 = -0.1 * canvas, 1.1 * canvas
    pts = (x0, fy + slope * (x0 - fx), x1, fy + slope * (x1 - fx))
    col = _vary((104, 90, 76), g, (0.6, 1.1), (0.8, 1.25), 15)
    draw.line(pts, fill=_shade(col, 0.55), width=max(2, round(pose.length(0.13))))
    draw.line(pts, fill=col, width=max(1, round(pose.length(0.08))))


def _draw_bird(draw, pose, shapes, content, g, background_rgb=(255, 255, 255)):
    col = _part_colors(content, g)
    ow = max(2, round(pose.length(0.035)))  # dark outline ≈ 0.8 px at the output size
    tail = _shade(col["wing"], 0.8)
    draw.polygon(shapes["tail"], fill=tail, outline=OUTLINE, width=ow)
    draw.line(shapes["tail_line"], fill=_shade(tail, 0.75), width=ow)
    leg_w = max(2, round(pose.length(0.05)))
    for key in ("leg1", "leg2", "toe1", "toe2"):
        draw.line(shapes[key], fill=LEG_RGB, width=leg_w, joint="curve")
    draw.polygon(shapes["body"], fill=col["belly"], outline=OUTLINE, width=ow)
    draw.polygon(shapes["wing"], fill=col["wing"], outline=OUTLINE, width=ow)
    for key in ("feather1", "feather2", "feather3"):
        draw.line(shapes[key], fill=_shade(col["wing"], 0.7), width=ow, joint="curve")
    draw.polygon(shapes["head"], fill=col["crown"], outline=OUTLINE, width=ow)
    beak = shapes["beak_" + content["beak"]]
    # a pale horn beak where a dark one would vanish (dark head or dark scene)
    light = sum(PALETTE[content["crown"]]) < 300 or sum(background_rgb) < 330
    draw.polygon(beak, fill=BEAK_PALE if light else BEAK_RGB, outline=OUTLINE, width=ow)
    draw.line(beak[0:2] + beak[4:6], fill=(150, 140, 120) if light else (92, 86, 80), width=max(1, ow // 2))
    draw.polygon(shapes["eye_ring"], fill=(236, 234, 222), outline=OUTLINE, width=ow)
    draw.polygon(shapes["pupil"], fill=(10, 10, 10))
    draw.polygon(shapes["glint"], fill=(250, 250, 250))


def _check_style(style) -> dict:
    if not isinstance(style, dict):
        raise UserError(f"style must be a dict (see sample_style), got {type(style).__name__}")
    missing = [k for k in ("facing", "tilt", "x", "y", "scale", "scene", "background_rgb") if k not in style]
    if missing:
        raise UserError(f"style is missing {', '.join(missing)} (use sample_style(rng) to make one)")
    if style["facing"] not in FACINGS:
        raise UserError(f"style['facing'] must be one of {FACINGS}, got {style['facing']!r}")
    if style["scene"] not in SCENES:
        raise UserError(f"style['scene'] must be one of {SCENES}, got {style['scene']!r}")
    try:
        nums = [float(style[k]) for k in ("tilt", "x", "y", "scale")]
        nums += [float(v) for v in style["background_rgb"]]
    except (TypeError, ValueError):
        nums = []
    if len(nums) != 7 or not all(np.isfinite(nums)):
        raise UserError("style needs numbers for tilt, x, y, scale and 3 for background_rgb")
    if not 0.05 <= float(style["scale"]) <= 1.0:
        raise UserError(f"style['scale'] must be in [0.05, 1], got {style['scale']!r}")
    return style


def render_bird(content, style, size: int = 64) -> np.ndarray:
    """One SynthBirds image: uint8 (size, size, 3). Same (content, style) → same pixels."""
    content, style = check_content(content), _check_style(style)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 16:
        raise UserError(f"size must be an integer >= 16, got {size!r}")
    seed = int(style.get("detail_seed", 0))
    canvas = size * SS
    background = render_background(style["scene"], style["background_rgb"], seed, size)
    # the bird is drawn on a transparent SS× layer, box-downsampled (anti-aliasing), composited
    layer = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    pose = _Pose(style["facing"], float(style["tilt"]), float(style["x"]), float(style["y"]),
                 float(style["scale"]), canvas)
    shapes = pose.shapes()
    g = np.random.default_rng([seed, 2])
    _perch(draw, pose, shapes, style["scene"], g, canvas)
    _draw_bird(draw, pose, shapes, content, g, style["background_rgb"])
    out = Image.alpha_composite(background.convert("RGBA"), layer.reduce(SS))
    return np.array(out.convert("RGB"))
