"""The SynthBirds vocabulary (DESIGN §2): content attributes and their values, which the
captions describe, and the style attributes (facing, scene), which they never mention.

Imported by ``synthbirds`` (classes, splits, the dataset writer), ``render`` and ``captions``.
"""

from __future__ import annotations

from ..errors import UserError

# §2: the content attributes; each colour name has one fixed RGB (render.py) so it is legible.
COLORS = ("red", "orange", "yellow", "green", "blue", "purple", "brown", "black", "white", "grey")
BEAKS = ("short", "long")
CONTENT_KEYS = ("crown", "wing", "belly", "beak")
VALUES = {"crown": COLORS, "wing": COLORS, "belly": COLORS, "beak": BEAKS}
# §2: style attributes (never in captions)
FACINGS = ("left", "right")
SCENES = ("sky", "foliage", "water", "ground")

# Scene colour ranges in HSV (hue degrees, saturation, value): plausible backdrops that stay
# apart from the saturated part colours (desaturated, in their own hue ranges, mid-to-light).
SCENE_HSV = {
    "sky": ((190, 222), (0.12, 0.42), (0.74, 0.94)),
    "foliage": ((62, 135), (0.22, 0.48), (0.38, 0.62)),
    "water": ((172, 212), (0.22, 0.48), (0.46, 0.74)),
    "ground": ((24, 46), (0.18, 0.42), (0.46, 0.74)),
}


def check_content(content) -> dict:
    """Validate a content dict and return a clean copy with exactly ``CONTENT_KEYS``."""
    if not isinstance(content, dict):
        raise UserError(f"content must be a dict with keys {CONTENT_KEYS}, got {type(content).__name__}")
    out = {}
    for key in CONTENT_KEYS:
        value = content.get(key)
        value = "grey" if value == "gray" and key != "beak" else value
        if value not in VALUES[key]:
            raise UserError(f"content[{key!r}] must be one of {VALUES[key]}, got {value!r}")
        out[key] = value
    return out
