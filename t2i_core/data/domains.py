"""The procedural domains (paper §5.1: birds and flowers): what differs between SynthBirds and
SynthFlowers, in one place, for the parts that serve both (the attribute judge, evaluation).

A domain names its dataset module (classes, splits, ``sample_style``, ``render``,
``make_captions``), its content attributes and their values (what captions describe), and the
one categorical style attribute the judge reads and the style metrics keep (birds: facing;
flowers: one bloom or several).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UserError
from . import synthbirds, synthflowers
from .flower_vocabulary import FLOWER_KEYS, FLOWER_VALUES
from .vocabulary import CONTENT_KEYS, FACINGS, VALUES

_DATA_MODULES = {m.__name__: m for m in (synthbirds, synthflowers)}


@dataclass(frozen=True)
class Domain:
    name: str                 # "birds", "flowers"
    dataset: str              # "SynthBirds", "SynthFlowers"
    module: str               # the dataset module
    content_keys: tuple
    values: dict              # content key → its values
    style_key: str            # the categorical style attribute the judge reads
    style_values: tuple

    @property
    def data(self):
        """The dataset module (``all_classes``, ``make_splits``, ``sample_style``, ``render``...)."""
        return _DATA_MODULES[self.module]

    def style_label(self, style: dict) -> str:
        """The categorical style attribute of a style dict."""
        if self.style_key == "facing":
            return style["facing"]
        return "one" if int(style["blooms"]) == 1 else "several"

    def random_content(self, rng) -> dict:
        """A uniformly drawn content dict (numpy Generator)."""
        return {k: self.values[k][int(rng.integers(len(self.values[k])))] for k in self.content_keys}


DOMAINS = {
    "birds": Domain("birds", "SynthBirds", "t2i_core.data.synthbirds", CONTENT_KEYS, VALUES,
                    "facing", FACINGS),
    "flowers": Domain("flowers", "SynthFlowers", "t2i_core.data.synthflowers", FLOWER_KEYS,
                      FLOWER_VALUES, "blooms", ("one", "several")),
}


def get_domain(name: str) -> Domain:
    """The domain called ``name`` (a clear error for an unknown one)."""
    if name not in DOMAINS:
        raise UserError(f"unknown domain {name!r}: choose one of {', '.join(DOMAINS)}")
    return DOMAINS[name]
