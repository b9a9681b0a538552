"""The SynthFlowers vocabulary (paper §5.1's second domain, Oxford-102 in procedural form):
content attributes and their values, which the captions describe, and the style attributes,
which they never mention.

Imported by ``synthflowers`` (classes, splits, the dataset writer), ``flower_render`` and
``flower_captions``.
"""

from __future__ import annotations

from ..errors import UserError

PETAL_COLORS = ("red", "orange", "yellow", "pink", "purple", "blue", "white", "maroon",
                "lavender", "peach")
CENTER_COLORS = ("yellow", "orange", "black", "brown", "white", "green")
PETAL_SHAPES = ("round", "pointed")
PETAL_COUNTS = ("five", "eight", "many")
FLOWER_KEYS = ("petal", "center", "shape", "count")
FLOWER_VALUES = {"petal": PETAL_COLORS, "center": CENTER_COLORS, "shape": PETAL_SHAPES,
                 "count": PETAL_COUNTS}
# style (never in captions): the backdrop behind the blooms, in HSV ranges (hue degrees,
# saturation, value), desaturated so that petal colours stay legible over every one of them
BACKDROPS = ("foliage", "soil", "sky", "water")
BACKDROP_HSV = {
    "foliage": ((70, 140), (0.30, 0.60), (0.22, 0.50)),
    "soil": ((18, 40), (0.25, 0.50), (0.22, 0.45)),
    "sky": ((190, 222), (0.12, 0.40), (0.72, 0.92)),
    "water": ((172, 212), (0.22, 0.48), (0.40, 0.68)),
}
# the bird renderer's scene textures each backdrop borrows (render.render_background)
BACKDROP_TEXTURE = {"foliage": "foliage", "soil": "ground", "sky": "sky", "water": "water"}


def check_flower(content) -> dict:
    """Validate a flower content dict and return a clean copy with exactly ``FLOWER_KEYS``."""
    if not isinstance(content, dict):
        raise UserError(f"flower content must be a dict with keys {FLOWER_KEYS}, "
                        f"got {type(content).__name__}")
    out = {}
    for key in FLOWER_KEYS:
        value = content.get(key)
        if value not in FLOWER_VALUES[key]:
            raise UserError(f"flower content[{key!r}] must be one of {FLOWER_VALUES[key]}, got {value!r}")
        out[key] = value
    return out
