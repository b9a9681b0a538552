"""SynthFlowers captions: Oxford-102-like descriptions of a flower's content (petal colour,
centre colour, petal shape, petal count), the way Reed et al.'s Oxford-102 captions read
("the petals of this flower are pink and the anthers are yellow").

Captions are lowercase and use only Reed's alphabet (§3.2). They never mention style
(rotation, position, scale, blooms, leaves, backdrop, light). About 20% mention only 2–3 of
the 4 attributes.
"""

from __future__ import annotations

import random
import re

from ..errors import UserError
from .captions import distinct_captions
from .flower_vocabulary import FLOWER_KEYS, check_flower

# each colour name and words people use for it (the first is the name itself, weighted)
PETAL_WORDS = {
    "red": ["red", "red", "red", "scarlet", "crimson", "bright red", "deep red"],
    "orange": ["orange", "orange", "orange", "tangerine", "bright orange", "deep orange"],
    "yellow": ["yellow", "yellow", "yellow", "golden", "lemon yellow", "bright yellow", "buttery yellow"],
    "pink": ["pink", "pink", "pink", "rose", "rosy pink", "hot pink", "bright pink"],
    "purple": ["purple", "purple", "purple", "violet", "deep purple", "dark purple", "royal purple"],
    "blue": ["blue", "blue", "blue", "cobalt", "bright blue", "deep blue", "azure"],
    "white": ["white", "white", "white", "snow white", "pure white", "ivory"],
    "maroon": ["maroon", "maroon", "maroon", "burgundy", "dark red", "wine colored", "deep maroon"],
    "lavender": ["lavender", "lavender", "lavender", "lilac", "light purple", "pale purple"],
    "peach": ["peach", "peach", "peach", "salmon", "apricot", "peach colored", "light orange"],
}
CENTER_WORDS = {
    "yellow": ["yellow", "yellow", "golden", "bright yellow"],
    "orange": ["orange", "orange", "deep orange", "tangerine"],
    "black": ["black", "black", "dark", "jet black"],
    "brown": ["brown", "brown", "dark brown", "chocolate"],
    "white": ["white", "white", "pale white", "creamy white"],
    "green": ["green", "green", "lime green", "bright green"],
}
CENTER_NOUNS = [("center", False), ("center", False), ("centre", False), ("stamen", True),
                ("anthers", True), ("pistil", False), ("middle", False), ("stamens", True)]
SHAPE_WORDS = {
    "round": ["round", "rounded", "rounded", "oval", "broad", "wide", "round tipped", "smooth rounded"],
    "pointed": ["pointed", "pointed", "pointy", "sharp", "narrow pointed", "lance shaped", "tapered",
                "sharply pointed"],
}
COUNT_WORDS = {
    "five": ["five", "five", "five"],
    "eight": ["eight", "eight", "eight"],
    "many": ["many", "many", "numerous", "lots of", "layers of", "dense rows of", "a great many"],
}
# {P} petal colour, {C} centre colour, {S} petal shape, {N} count, {cn} centre noun, {ci} is/are
FULL_TEMPLATES = [
    "this flower has {N} {S} petals that are {P} and {ac}.",
    "the petals of this flower are {P} and {S}, there are {N} petals and the {cn} {ci} {C}.",
    "a flower with {N} {P} petals with {S} tips and {ac}.",
    "this flower is {P} in color, with {N} petals that are {S} and {ac}.",
    "{N} {S} {P} petals surround {ac}.",
    "the flower has {N} petals, they are {P} and {S}, around {ac}.",
    "this {P} flower has {N} {S} petals and {ac}.",
    "a {P} flower with {N} petals that are {S} at the ends and {ac}.",
    "this flower has {ac} surrounded by {N} {P} petals that are {S}.",
    "the {cn} of this flower {ci} {C} and the {N} petals are {P} and {S}.",
    "this flower has {N} petals which are {P} with {S} edges, and the {cn} {ci} {C}.",
    "a {P} flower with {ac} and {N} {S} petals.",
    "the flower shown has {N} {S} petals in {P} with {ac}.",
    "this flower has {P} petals, {N} of them, {S} in shape, and {ac}.",
    "{ac} sits in the middle of {N} {P} petals that are {S}.",
    "this is a {P} flower with {N} petals that are {S} and {ac}.",
    "the petals are {P} and {S} and there are {N} of them; the {cn} {ci} {C}.",
    "a flower with {ac} and {P} petals that are {S}, {N} in all.",
]
LIST_TEMPLATES = ["this flower has {items}.", "a flower with {items}.", "the flower has {items}.",
                  "{items}.", "this is a flower with {items}."]
PARTIAL_SHARE = 0.2
_AN = re.compile(r"\ba (?=[aeiou])")


def _count_phrase(count: str, word: str) -> str:
    """A count word that reads after "there are" / "{N} of them" too."""
    return "many" if count == "many" and word not in ("many", "numerous") else word


def _slots(content: dict, rnd: random.Random) -> dict:
    cn, plural = rnd.choice(CENTER_NOUNS)
    C = rnd.choice(CENTER_WORDS[content["center"]])
    N = rnd.choice(COUNT_WORDS[content["count"]])
    return {"P": rnd.choice(PETAL_WORDS[content["petal"]]), "C": C, "cn": cn,
            "ci": "are" if plural else "is", "S": rnd.choice(SHAPE_WORDS[content["shape"]]),
            "N": N, "ac": f"{C} {cn}" if plural else f"a {C} {cn}"}


def caption_with_keys(content, rnd: random.Random) -> tuple[str, tuple[str, ...]]:
    """One caption and the content keys it mentions (all four, or 2–3 for a partial one)."""
    content = check_flower(content)
    slots = _slots(content, rnd)
    if rnd.random() < PARTIAL_SHARE:
        picked = rnd.sample(FLOWER_KEYS, rnd.choice((2, 2, 3)))
        keys = tuple(k for k in FLOWER_KEYS if k in picked)
        petals = " ".join(w for k, w in (("count", slots["N"]), ("shape", slots["S"]),
                                           ("petal", slots["P"])) if k in keys)
        items = [f"{petals} petals"]  # 2–3 keys: at least one is about the petals
        if "center" in keys:
            items.append(slots["ac"])
        text = rnd.choice(LIST_TEMPLATES).format(items=" and ".join(items))
    else:
        keys = FLOWER_KEYS
        template = rnd.choice(FULL_TEMPLATES)
        if "there are {N}" in template or "{N} of them" in template or "{N} in all" in template:
            slots = {**slots, "N": _count_phrase(content["count"], slots["N"])}
        text = template.format(**slots)
    text = _AN.sub("an ", text)
    if rnd.random() < 0.15:  # Oxford captions often lack the final period
        text = text.rstrip(".")
    return text, keys


def make_captions(content, rng, n: int = 10) -> list[str]:
    """``n`` distinct captions of ``content``. ``rng``: numpy Generator or random.Random."""
    return distinct_captions(lambda rnd: caption_with_keys(content, rnd), rng, n)


# ----------------------------------------------------------------------------- parsing
def _phrases(table: dict) -> list[tuple[str, str]]:
    """(phrase, value) longest first, so "dark red" is read before "red"."""
    pairs = {(w, v) for v, words in table.items() for w in words}
    return sorted(pairs, key=lambda p: (-len(p[0]), p[0]))


_CENTER_NOUN = r"(?:center|centre|stamens?|anthers?|pistils?|middle|stigma)"
_PETAL_PHRASES = _phrases(PETAL_WORDS)
_CENTER_PHRASES = _phrases(CENTER_WORDS)
_SHAPE_PHRASES = _phrases(SHAPE_WORDS)
_COUNT_PHRASES = _phrases({**COUNT_WORDS, "many": COUNT_WORDS["many"] + ["lots", "layers", "rows"]})


def _find(text: str, phrases) -> tuple[str | None, tuple[int, int] | None]:
    for phrase, value in phrases:
        m = re.search(rf"\b{re.escape(phrase)}\b", text)
        if m:
            return value, m.span()
    return None, None


def parse_flower_caption(text: str) -> dict:
    """Which flower attributes a caption mentions, and their values: ``"five pointed pink petals
    around a yellow center"`` → ``{"petal": "pink", "center": "yellow", "shape": "pointed",
    "count": "five"}``. The centre colour is the one next to a centre word (before it, or after
    "the center is"); every other colour describes the petals."""
    if not isinstance(text, str):
        raise UserError(f"a caption must be text, got {type(text).__name__}")
    text = " " + re.sub(r"[^a-z0-9]+", " ", text.lower()) + " "
    found = {}
    for phrase, value in _CENTER_PHRASES:
        p = re.escape(phrase)
        m = (re.search(rf"\b{p} {_CENTER_NOUN}\b", text)
             or re.search(rf"\b{_CENTER_NOUN} (?:of this flower )?(?:is|are) {p}\b", text))
        if m:
            found["center"] = value
            text = text[:m.start()] + " " + text[m.end():]  # the rest describes the petals
            break
    for key, phrases in (("petal", _PETAL_PHRASES), ("shape", _SHAPE_PHRASES), ("count", _COUNT_PHRASES)):
        value, span = _find(text, phrases)
        if value is not None:
            found[key] = value
            text = text[:span[0]] + " " + text[span[1]:]
    return {k: found[k] for k in FLOWER_KEYS if k in found}
