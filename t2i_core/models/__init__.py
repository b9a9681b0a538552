"""The paper's networks (§4.1, §4.4): Generator G, matching-aware Discriminator D, StyleEncoder S.

``build(component, cfg)`` turns a config dataclass into its network; ``count_parameters`` is a
small helper used by the trainers and tests.
"""

from __future__ import annotations

from .discriminator import Discriminator
from .generator import Generator
from .style_encoder import StyleEncoder

__all__ = ["Generator", "Discriminator", "StyleEncoder", "build", "count_parameters"]

_BY_COMPONENT = {"generator": Generator, "discriminator": Discriminator, "style_encoder": StyleEncoder}


def build(component: str, cfg):
    """``build("generator", GeneratorConfig(...))`` → Generator; same for discriminator, style_encoder."""
    return _BY_COMPONENT[component](cfg)


def count_parameters(module) -> int:
    return sum(p.numel() for p in module.parameters())
