"""Drawing one SynthFlowers image: one or several blooms (petal colour, centre colour, petal
shape, petal count) with a stem and leaves over a foliage / soil / sky / water backdrop, looking
like a 64×64 Oxford-102 crop.

A bloom is drawn in its own coordinates (centre at the origin, unit = petal length), rotated,
squashed vertically (seen at an angle), scaled and placed, on a transparent layer at SS× the
output size, box-downsampled and composited over the backdrop (the bird renderer's scene
textures, recoloured to the style's mean ``background_rgb``).
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw

from ..errors import UserError
from .flower_vocabulary import BACKDROP_TEXTURE, BACKDROPS, check_flower
from .render import SS, _clip, _shade, render_background

# Fixed, well separated RGB per colour name (small per-image jitter and the style's light only).
PETAL_PALETTE = {
    "red": (214, 30, 45), "orange": (245, 135, 25), "yellow": (250, 215, 40),
    "pink": (246, 138, 190), "purple": (122, 42, 164), "blue": (52, 92, 222),
    "white": (246, 246, 240), "maroon": (112, 18, 44), "lavender": (186, 160, 236),
    "peach": (250, 192, 146),
}
CENTER_PALETTE = {
    "yellow": (246, 206, 28), "orange": (236, 118, 18), "black": (24, 22, 20),
    "brown": (108, 62, 28), "white": (242, 242, 232), "green": (78, 150, 48),
}
LEAF_RGB, STEM_RGB = (58, 128, 46), (70, 118, 50)
JITTER = 6
# petals per ring and their width (fraction of the length) per count; "many" has two rings
RINGS = {"five": [(5, 0.62, 1.0)], "eight": [(8, 0.40, 1.0)],
         "many": [(15, 0.20, 1.0), (11, 0.20, 0.68)]}
CENTER_R = {"five": 0.30, "eight": 0.28, "many": 0.24}  # centre disc radius / petal length
STYLE_KEYS = ("x", "y", "scale", "rotation", "squash", "blooms", "leaves", "backdrop",
              "background_rgb", "light")
SCALE_RANGE = (0.24, 0.34)  # petal length as a fraction of the frame (bloom ≈ 50–70% wide)


def _petal(shape: str, width: float, n: int = 14) -> np.ndarray:
    """One petal along +x from the centre (0, 0) to its tip (1, 0): round (elliptic tip) or
    pointed (widest at a third, sharp tip)."""
    u = np.linspace(0.0, 1.0, n)
    if shape == "round":
        half = width / 2 * np.sqrt(np.clip(1 - (2 * u - 1) ** 2, 0, 1)) ** 0.8
        half = np.maximum(half, width / 2 * np.minimum(1.0, 4 * u) * (u < 0.5))  # full base
    else:
        half = width / 2 * np.sqrt(u) * (1 - u) / 0.385
    upper = np.stack([u, half], 1)
    lower = np.stack([u[::-1], -half[::-1]], 1)
    return np.concatenate([upper, lower])


def _place(points: np.ndarray, angle: float, squash: float, scale: float, cx: float, cy: float) -> list:
    a = math.radians(angle)
    rot = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    p = points @ rot.T
    p[:, 1] *= squash
    return [tuple(q) for q in (p * scale + [cx, cy]).tolist()]


def _jitter(rgb, g, light: float) -> tuple:
    return _clip((c + g.uniform(-JITTER, JITTER)) * light for c in rgb)


def _bloom(draw, content, cx, cy, scale, rotation, squash, light, g) -> None:
    petal_rgb = _jitter(PETAL_PALETTE[content["petal"]], g, light)
    edge = _shade(petal_rgb, 0.72)
    vein = _shade(petal_rgb, 0.86)
    ow = max(1, round(scale * 0.025))
    for k, (count, width, length) in enumerate(RINGS[content["count"]]):
        offset = rotation + (180.0 / count if k else 0.0)
        shape = _petal(content["shape"], width) * length
        for i in range(count):
            angle = offset + 360.0 * i / count + g.uniform(-4, 4)
            draw.polygon(_place(shape, angle, squash, scale, cx, cy), fill=petal_rgb, outline=edge, width=ow)
            if content["count"] != "many":
                line = np.array([[0.25, 0.0], [0.75 * length, 0.0]])
                draw.line(_place(line, angle, squash, scale, cx, cy), fill=vein, width=ow)
    r = CENTER_R[content["count"]] * scale
    center_rgb = _jitter(CENTER_PALETTE[content["center"]], g, light)
    draw.ellipse((cx - r, cy - r * squash, cx + r, cy + r * squash), fill=center_rgb,
                 outline=_shade(center_rgb, 0.7), width=ow)
    dots = _shade(center_rgb, 0.7)  # stamens: a ring of small dots
    for i in range(10):
        a = 2 * math.pi * i / 10 + g.uniform(0, 0.3)
        x, y = cx + 0.62 * r * math.cos(a), cy + 0.62 * r * squash * math.sin(a)
        d = max(1.0, r * 0.12)
        draw.ellipse((x - d, y - d, x + d, y + d), fill=dots)


def _leaf(draw, cx, cy, length, angle, g, light) -> None:
    rgb = _jitter(LEAF_RGB, g, light * g.uniform(0.8, 1.1))
    shape = _petal("pointed", 0.42)
    draw.polygon(_place(shape, angle, 1.0, length, cx, cy), fill=rgb, outline=_shade(rgb, 0.7),
                 width=max(1, round(length * 0.03)))
    draw.line(_place(np.array([[0.05, 0.0], [0.9, 0.0]]), angle, 1.0, length, cx, cy),
              fill=_shade(rgb, 0.8), width=max(1, round(length * 0.025)))


def _check_style(style) -> dict:
    if not isinstance(style, dict):
        raise UserError(f"style must be a dict (see synthflowers.sample_style), got {type(style).__name__}")
    missing = [k for k in STYLE_KEYS if k not in style]
    if missing:
        raise UserError(f"style is missing {', '.join(missing)} (use synthflowers.sample_style(rng))")
    if style["backdrop"] not in BACKDROPS:
        raise UserError(f"style['backdrop'] must be one of {BACKDROPS}, got {style['backdrop']!r}")
    try:
        nums = [float(style[k]) for k in ("x", "y", "scale", "rotation", "squash", "light")]
        nums += [float(v) for v in style["background_rgb"]] + [int(style["blooms"]), int(style["leaves"])]
    except (TypeError, ValueError):
        nums = []
    if len(nums) != 11 or not all(np.isfinite(nums)):
        raise UserError("style needs numbers for x, y, scale, rotation, squash, light, blooms, "
                        "leaves and 3 for background_rgb")
    if not 0.05 <= float(style["scale"]) <= 1.0:
        raise UserError(f"style['scale'] must be in [0.05, 1], got {style['scale']!r}")
    return style


def render_flower(content, style, size: int = 64) -> np.ndarray:
    """One SynthFlowers image: uint8 (size, size, 3). Same (content, style) → same pixels."""
    content, style = check_flower(content), _check_style(style)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 16:
        raise UserError(f"size must be an integer >= 16, got {size!r}")
    seed = int(style.get("detail_seed", 0))
    canvas = size * SS
    background = render_background(BACKDROP_TEXTURE[style["backdrop"]], style["background_rgb"], seed, size)
    layer = Image.new("RGBA", (canvas, canvas), (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    g = np.random.default_rng([seed, 3])
    light = float(style["light"])
    scale = float(style["scale"]) * canvas
    cx, cy = float(style["x"]) * canvas, float(style["y"]) * canvas
    squash, rotation = float(style["squash"]), float(style["rotation"])
    # extra blooms of the same plant: smaller, behind, beside the main one
    extras = []
    for _ in range(int(style["blooms"]) - 1):
        a = g.uniform(0, 2 * math.pi)
        d = g.uniform(1.3, 1.8) * scale
        extras.append((cx + d * math.cos(a), cy + d * math.sin(a), scale * g.uniform(0.55, 0.75),
                       g.uniform(0, 360), g.uniform(0.6, 1.0)))
    stem_w = max(2, round(scale * 0.07))
    for ex, ey, *_ in extras + [(cx, cy)]:
        draw.line((ex, ey, ex + g.uniform(-0.3, 0.3) * scale, canvas * 1.05),
                  fill=_jitter(STEM_RGB, g, light), width=stem_w)
    for _ in range(int(style["leaves"])):
        side = g.choice([-1.0, 1.0])
        lx, ly = cx + side * g.uniform(0.2, 0.6) * scale, cy + g.uniform(0.6, 1.6) * scale
        angle = (0 if side > 0 else 180) + side * g.uniform(-50, 10)
        _leaf(draw, lx, ly, scale * g.uniform(0.9, 1.3), angle, g, light)
    for ex, ey, es, erot, esq in extras:
        _bloom(draw, content, ex, ey, es, erot, esq, light, g)
    _bloom(draw, content, cx, cy, scale, rotation, squash, light, g)
    out = Image.alpha_composite(background.convert("RGBA"), layer.reduce(SS))
    return np.array(out.convert("RGB"))
