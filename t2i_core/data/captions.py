"""SynthBirds captions (DESIGN.md §2): writing CUB-like captions of a bird's content, and
reading back which content attributes a free-form caption mentions (for evaluation).

Captions are lowercase and use only Reed's alphabet (§3.2). They never mention style
(facing, pose, background). About 20% mention only 2–3 of the 4 attributes.

Two caption styles: ``rich`` (the default) also writes the way people describe birds on CUB —
colour synonyms from a bird guide's palette ("scarlet", "cobalt", "amethyst", "plum colored"),
more part names ("crest", "abdomen"), more word orders, a body colour that is the wings' ("a
red bird with a yellow belly"), verbless clauses and bare lists ("the wings snow white", "grey
head, olive wings"), and clauses about things the renders do not vary (eyes, feet, legs, tail
shape) — so that φ reads a user's free phrasing; ``plain`` is the first, 88-word generator, kept so that
figures measured on it reproduce byte for byte.
"""

from __future__ import annotations

import random
import re

from ..errors import UserError
from .vocabulary import CONTENT_KEYS, check_content

# ----------------------------------------------------------------------------- vocabulary
NOUNS = {  # part → (noun, plural?) synonyms, with repeats as weights
    "crown": [("crown", False), ("crown", False), ("head", False), ("head", False), ("cap", False)],
    "wing": [("wings", True), ("wings", True), ("wing feathers", True)],
    "belly": [("belly", False), ("belly", False), ("breast", False), ("chest", False),
              ("underparts", True), ("underbelly", False)],
    "beak": [("beak", False), ("beak", False), ("bill", False)],
}
HYPHEN = {"crown": ["headed", "headed", "crowned", "capped"], "wing": ["winged"],
          "belly": ["bellied", "breasted", "chested"], "beak": ["billed", "beaked"]}
MODIFIERS = {
    "red": ["bright", "vivid", "deep"], "orange": ["bright", "vivid"], "yellow": ["bright", "pale"],
    "green": ["bright", "vivid"], "blue": ["bright", "vivid", "deep"], "purple": ["deep", "vivid"],
    "brown": ["dark", "rich", "dull"], "black": ["jet", "solid"], "white": ["pure", "bright"],
    "grey": ["dull", "plain"],
}
BEAK_PHRASES = {
    "short": ["short beak", "short pointed beak", "small beak", "short bill", "stubby bill",
              "tiny beak", "short, stout beak", "short and pointy bill", "short sharp beak",
              "small pointed bill", "short cone-shaped beak"],
    "long": ["long beak", "long pointed beak", "long bill", "long thin beak", "very long bill",
             "long, sharp beak", "long and pointed bill", "elongated beak", "long slender bill",
             "long curved beak", "long narrow beak"],
}
BEAK_PREDICATES = {"short": ["short", "small", "stubby", "short and pointed", "short and stout",
                             "quite short"],
                   "long": ["long", "long and pointed", "very long", "long and thin", "elongated",
                            "quite long"]}
SMALL = ["small", "small", "little"]  # species-typical; uncorrelated with the style's scale

CAPTION_STYLES = ("rich", "plain")
# rich only. Colour synonyms of a bird guide; a compound's first word is itself a synonym of
# the same colour (or a modifier in _SKIP), so that parse_caption reads it both ways.
COLOR_SYNONYMS = {
    "red": ["scarlet", "crimson", "ruby", "cherry", "reddish", "brick red", "scarlet red",
            "crimson red", "fiery red", "rosy red", "vermilion", "carmine", "cardinal red",
            "blood red", "cherry red", "ruby red", "vermilion red"],
    "orange": ["amber", "tangerine", "orangish", "orangey", "burnt orange", "tangerine orange",
               "pumpkin orange", "pumpkin", "apricot", "copper", "coppery", "rusty orange",
               "flame orange", "marigold", "persimmon", "apricot orange"],
    "yellow": ["golden", "gold", "lemon", "canary", "yellowish", "lemon yellow", "canary yellow",
               "golden yellow", "buttery yellow", "mustard", "butter", "butter yellow", "sulphur",
               "sulphur yellow", "daffodil", "dandelion", "mustard yellow", "banana yellow"],
    "green": ["emerald", "lime", "olive", "greenish", "olive green", "emerald green", "moss green",
              "lime green", "jade", "grass green", "forest green", "leaf green", "mint green",
              "pea green", "apple green", "bottle green", "jade green"],
    "blue": ["navy", "azure", "cobalt", "sapphire", "bluish", "navy blue", "royal blue",
             "cobalt blue", "cerulean", "steel blue", "ultramarine", "powder blue",
             "electric blue", "denim blue", "sapphire blue", "azure blue"],
    "purple": ["violet", "lilac", "lavender", "magenta", "indigo", "purplish", "plum",
               "deep violet", "lavender purple", "mauve", "amethyst", "orchid", "grape",
               "mulberry", "aubergine", "royal purple", "plum purple"],
    "brown": ["tan", "chestnut", "chocolate", "rufous", "cinnamon", "brownish", "tawny",
              "chocolate brown", "chestnut brown", "coffee", "russet", "sepia", "umber", "mocha",
              "caramel", "cocoa", "walnut", "mahogany", "earthy brown", "coffee brown"],
    "black": ["ebony", "jet black", "coal black", "blackish", "inky", "sooty", "raven",
              "pitch black", "ebony black", "inky black", "jet", "coal", "onyx", "obsidian",
              "sable", "raven black", "onyx black"],
    "white": ["ivory", "snowy", "whitish", "snow white", "cream", "creamy", "milky", "pearly",
              "ivory white", "creamy white", "chalk", "chalky", "chalk white", "alabaster",
              "porcelain", "frosty", "bone white", "off white", "pearl white"],
    "grey": ["silver", "silvery", "ashy", "slate", "greyish", "grayish", "ash grey", "slate gray",
             "charcoal", "smoky grey", "ash", "ashen", "pewter", "dove grey", "stone grey",
             "gunmetal", "graphite", "leaden", "steel grey", "charcoal gray"],
}
SYNONYM_P = 0.4  # share of colour words written as a synonym
COLORED_P = 0.12  # rich: share of those written "plum colored", "slate-colored"
EXTRA_NOUNS = {  # rich only, added to NOUNS
    "crown": [("crest", False), ("crest", False), ("forehead", False)],
    "wing": [("wing", False), ("flight feathers", True)],
    "belly": [("abdomen", False), ("stomach", False), ("underside", False), ("breast feathers", True)],
    "beak": [("bill", False)],
}
EXTRA_HYPHEN = {"crown": ["crested"], "wing": [], "belly": [], "beak": []}
EXTRA_SIZES = ["medium sized", "plump", "large", "stout", "tiny", "chubby", "slender"]
# Things the renders never vary, as people mention them anyway (noise φ must learn to ignore).
DISTRACTORS = ["black eyes", "small black eyes", "dark eyes", "a white eyering", "grey feet",
               "pink feet", "dark legs", "thin legs", "long legs", "a short tail",
               "a long tail", "a forked tail", "a notched tail", "long tail feathers",
               "sharp claws", "a rounded tail", "small feet", "beady eyes"]
DISTRACTOR_CLAUSES = ["its eyes are black", "the tail is short", "the tail is long and pointed",
                      "its legs are thin", "its feet are grey", "the tail is forked",
                      "the eyes are dark and round", "its legs are long"]
DISTRACTOR_P = 0.3

# Full captions (all four attributes). Slots: {ac} "a red crown", {w} "blue wings", {ab} "a
# yellow belly" / "yellow underparts", {ak} "a short beak"; {C} {W} {B} colours; {cn} {wn} {bn}
# {kn} nouns; {bi} {wi} is/are; {K} beak predicate; {ch} {wh} {bh} {kh} "red-headed"...; {s} small.
FULL_TEMPLATES = [
    "this bird has {ac}, {w} and {ab} with {ak}.",
    "a bird with {ak}, {w}, {ab} and {ac}.",
    "this {s} bird has {ac}, {w}, {ab}, and {ak}.",
    "the bird has {ac} and {w}, its {bn} {bi} {B} and it has {ak}.",
    "a {ch} bird with {w}, {ab} and {ak}.",
    "this bird is mostly {W} with {ac}, {ab} and {ak}.",
    "this is a {wh} bird with {ac}, {ab} and {ak}.",
    "a {s} bird with {ab}, {w}, {ac} and {ak}.",
    "this bird has {w} and {ab}, with {ac} and {ak}.",
    "the {cn} of this bird is {C}, the {wn} {wi} {W}, the {bn} {bi} {B} and the {kn} is {K}.",
    "this bird has {ak}, {ac}, {w} and {ab}.",
    "a {ch}, {wh} bird with {ab} and {ak}.",
    "this particular bird has {ab}, {w}, {ac} and {ak}.",
    "a {bh} bird with {w}, {ac} and {ak}.",
    "this bird has {ak} and {ac}; its {wn} {wi} {W} and its {bn} {bi} {B}.",
    "{w}, {ac}, {ab} and {ak}.",
    "this bird's {cn} is {C}, its {wn} {wi} {W}, its {bn} {bi} {B} and it has {ak}.",
    "a bird that has {ac}, {w}, {ab} and {ak}.",
    "this is a {s} bird with {ab}, {w}, {ac} and {ak}.",
    "the bird has {ak} and {w}, along with {ac} and {ab}.",
    "this bird has {ac} with {w} and {ab}, and its {kn} is {K}.",
    "a {kh} bird with {ac}, {w} and {ab}.",
    "this {ch} bird has {w}, {ab} and {ak}.",
    "the bird is {W} on its {wn} with {ac}, {ab} and {ak}.",
    "this bird has {ab} and {ac}, {w}, and a {kn} that is {K}.",
    "this {s} {ch} bird has {w} and {ab}, and {ak}.",
    "with {ac}, {w} and {ab}, this bird also has {ak}.",
    "this bird's features include {ac}, {w}, {ab} and {ak}.",
    "a {s} {wh} bird with {ac}, {ab} and a {kn} that is {K}.",
    "the bird has {ac}, {w}, {ab} and {ak}.",
    "this bird has a {K} {kn}, {ac}, {w} and {ab}.",
    "this is a bird with {w} and {ac}; the {bn} {bi} {B} and the {kn} is {K}.",
    "a {s} bird with {W} {wn}, a {C} {cn}, {ab}, and {ak}.",
    "this bird has {ab}, {ac} and {w}; its {kn} is {K}.",
]
# Used when parts share a colour ("a blue head and wings"); all four attributes.
SAME_TEMPLATES = {
    ("crown", "wing", "belly"): ["this bird is entirely {C} with {ak}.", "an all {C} bird with {ak}.",
                                 "this bird is completely {C} and has {ak}.",
                                 "a solid {C} bird with {ak}."],
    ("crown", "wing"): ["this bird has a {C} {cn} and {wn}, {ab} and {ak}.",
                        "a bird with {ab}, {ak}, and a {C} {cn} and {wn}."],
    ("wing", "belly"): ["this bird has {W} {wn} and {bn}, {ac} and {ak}.",
                        "a bird with {ac}, {ak} and {W} {wn} and {bn}."],
    ("crown", "belly"): ["a bird with a {C} {cn} and {bn}, {w} and {ak}.",
                         "this bird has {w}, {ak} and a {C} {cn} and {bn}."],
}
# Any order, any subset: {items} is a list like "a red crown, blue wings and a short beak".
LIST_TEMPLATES = ["this bird has {items}.", "a bird with {items}.", "this {s} bird has {items}.",
                  "the bird has {items}.", "a {s} bird with {items}.", "{items}.",
                  "this is a bird with {items}.", "this bird is {s} and has {items}.",
                  "a {s} bird that has {items}."]

# rich only: more word orders, relative clauses and sentence shapes.
RICH_TEMPLATES = [
    "{ac}, {w} and {ab} make up this bird, which has {ak}.",
    "a bird whose {cn} is {C}, with {w}, {ab} and {ak}.",
    "the {wn} of this bird {wi} {W} and its {cn} is {C}; it has {ab} and {ak}.",
    "this {s} bird has {ak}; the {cn} is {C}, the {bn} {bi} {B}, and the {wn} {wi} {W}.",
    "{ab}, {ac}, {w} and {ak} on this {s} bird.",
    "the bird has a {C} {cn} while its {wn} {wi} {W} and its {bn} {bi} {B}, plus {ak}.",
    "this bird is {s}, with {w}, {ab}, {ac} and {ak}.",
    "a {s} bird with a {K} {kn} and {ac}; its {wn} {wi} {W} and its {bn} {bi} {B}.",
    "{ak} and {ac} stand out on this bird, along with {w} and {ab}.",
    "its {cn} is {C} and its {bn} {bi} {B}, with {w} and {ak}.",
    "a {s} bird, {W} on the {wn}, with {ac}, {ab} and {ak}.",
    "you can see {ac}, {w} and {ab} on this bird, and it has {ak}.",
    "this {s} bird has {w}, and its {cn} is {C}, its {bn} {bi} {B} and its {kn} is {K}.",
    "a {ch} bird whose {wn} {wi} {W} and whose {bn} {bi} {B}, with {ak}.",
    # a body colour is the wings' ("a red bird with a yellow belly"), as people write it
    "a {W} bird with {ac}, {ab} and {ak}.",
    "{W} bird with {ab}, {ac} and {ak}.",
    "a {s} {W} bird with {ac}, {ab} and {ak}.",
    "a mostly {W} bird with {ab}, {ac}, and {ak}.",
    "{ac} and {ab} on a {W} bird with {ak}.",
    # verbless clauses and bare lists ("the wings snow white", "grey head, olive wings")
    "the {bn} {bi} {B}, the {wn} {W} and the {cn} {C}; it has {ak}.",
    "the {cn} is {C}, the {wn} {W}, the {bn} {B}, and the {kn} {K}.",
    "bird with {C} {cn}, {W} {wn}, {B} {bn} and {ak}.",
    "{C} {cn}, {W} {wn}, {B} {bn}, {K} {kn}.",
    "a {s} bird: {w}, {ac}, {ab}, {ak}.",
    "this bird has {w}. its {cn} is {C} and its {bn} {bi} {B}. the {kn} is {K}.",
]
# rich only, partial captions that name the wings as the body's colour: {items} lists the others.
BODY_TEMPLATES = ["a {W} bird with {items}.", "{W} bird with {items}.", "a {s} {W} bird with {items}.",
                  "a mostly {W} bird with {items}."]
BODY_P = 0.3  # share of the partial rich captions not written as clauses (with the wings among
# their keys) that name the wings as the body's colour

# rich only: one clause a part, in any order and any subset ("the wings are ivory, the head is
# olive and the underparts grey"); people order them freely, the templates above mostly do not
_SAY = {"crown": ("{cn}", "is", "{C}"), "wing": ("{wn}", "{wi}", "{W}"), "belly": ("{bn}", "{bi}", "{B}"),
        "beak": ("{kn}", "is", "{K}")}  # part: (noun, verb, value) slots
# a first clause; later ones may drop the verb ("the head olive")
CLAUSE_LEADS = {k: [f"the {n} {v} {x}", f"its {n} {v} {x}", "it has {ak}" if k == "beak" else f"the {n} of this bird {v} {x}"]
                for k, (n, v, x) in _SAY.items()}
CLAUSE_FOLLOWS = {k: [f"the {n} {v} {x}", f"the {n} {x}", "it has {ak}" if k == "beak" else f"its {n} {v} {x}"]
                  for k, (n, v, x) in _SAY.items()}
CLAUSE_OPENERS = ["", "", "", "this is a {s} bird: ", "on this bird ", "a {s} bird; "]
_NOUN_SLOT, _COLOUR_SLOT = {"crown": "cn", "wing": "wn", "belly": "bn"}, {"crown": "C", "wing": "W", "belly": "B"}
CLAUSE_P = 0.3     # share of partial rich captions written as clauses
CLAUSE_FULL = 0.15  # share of all rich captions: full ones written as clauses
PARTIAL_SHARE = 0.2  # captions that mention only 2–3 attributes
_AN = re.compile(r"\ba (?=[aeiou])")


def _color(color: str, rnd: random.Random, modifier_p: float = 0.2, rich: bool = False) -> str:
    if rich and rnd.random() < SYNONYM_P:
        word = rnd.choice(COLOR_SYNONYMS[color])
        if rnd.random() < COLORED_P:
            word += rnd.choice((" colored", "-colored", " coloured"))
        return word
    word = rnd.choice(("grey", "gray")) if color == "grey" else color
    if rnd.random() < modifier_p:
        word = f"{rnd.choice(MODIFIERS[color])} {word}"
    return word


def _last_colour_word(phrase: str) -> str:
    """"brick red" → "red", "plum colored" / "slate-colored" → "plum", "slate" (for "red-headed")."""
    words = phrase.replace("-", " ").split()
    return words[-2] if words[-1] in ("colored", "coloured") else words[-1]


def _slots(content: dict, rnd: random.Random, rich: bool = False) -> dict:
    """Words for one caption: each noun, colour and phrase drawn once, so a caption is consistent."""
    nouns = {k: NOUNS[k] + EXTRA_NOUNS[k] if rich else NOUNS[k] for k in CONTENT_KEYS}
    hyphen = {k: HYPHEN[k] + EXTRA_HYPHEN[k] if rich else HYPHEN[k] for k in CONTENT_KEYS}
    (cn, _), (wn, wplural), (bn, bplural), (kn, _) = (rnd.choice(nouns[k]) for k in CONTENT_KEYS)
    C, W, B = (_color(content[k], rnd, rich=rich) for k in ("crown", "wing", "belly"))
    beak = rnd.choice(BEAK_PHRASES[content["beak"]]).replace("beak", kn).replace("bill", kn)
    slots = {
        "C": C, "W": W, "B": B, "cn": cn, "wn": wn, "bn": bn, "kn": kn, "bi": "are" if bplural else "is",
        "wi": "are" if wplural else "is",
        "K": rnd.choice(BEAK_PREDICATES[content["beak"]]), "s": rnd.choice(SMALL + EXTRA_SIZES if rich else SMALL),
        "ac": f"a {C} {cn}", "w": f"{W} {wn}", "ab": f"{B} {bn}" if bplural else f"a {B} {bn}",
        "ak": f"a {beak}",
        "ch": f"{_last_colour_word(C)}-{rnd.choice(hyphen['crown'])}",
        "wh": f"{_last_colour_word(W)}-{rnd.choice(hyphen['wing'])}",
        "bh": f"{_last_colour_word(B)}-{rnd.choice(hyphen['belly'])}",
        "kh": f"{content['beak']}-{rnd.choice(hyphen['beak'])}",
    }
    return slots


def _join(items: list[str], rnd: random.Random) -> str:
    if len(items) == 1:
        return items[0]
    comma = "," if len(items) > 2 and rnd.random() < 0.4 else ""
    return ", ".join(items[:-1]) + f"{comma} and {items[-1]}"


def _clauses(content: dict, keys, slots: dict, rnd: random.Random) -> str:
    """``keys`` as clauses in a random order; two parts of one colour may share a clause ("the
    crown and belly are yellow")."""
    order = rnd.sample(list(keys), len(keys))
    colour_parts = [k for k in order if k != "beak"]
    pair = next(((a, b) for i, a in enumerate(colour_parts) for b in colour_parts[i + 1:]
                 if content[a] == content[b]), None)
    clauses = {}  # part → its clause, in the order said
    for k in order:
        if pair and k == pair[1] and rnd.random() < 0.5:  # said together with pair[0], in its place
            a = pair[0]
            clauses[a] = f"the {slots[_NOUN_SLOT[a]]} and {slots[_NOUN_SLOT[k]]} are {slots[_COLOUR_SLOT[a]]}"
            continue
        forms = CLAUSE_FOLLOWS[k] if clauses else CLAUSE_LEADS[k]
        clauses[k] = rnd.choice(forms).format(**slots)
    texts = list(clauses.values())
    if len(texts) > 1 and rnd.random() < 0.25:
        body = "; ".join(texts) if rnd.random() < 0.5 else ". ".join(texts)
    else:
        body = _join(texts, rnd)
    return rnd.choice(CLAUSE_OPENERS).format(**slots) + body + "."


def _shared(content: dict) -> tuple | None:
    c, w, b = content["crown"], content["wing"], content["belly"]
    if c == w == b:
        return ("crown", "wing", "belly")
    for pair in (("crown", "wing"), ("wing", "belly"), ("crown", "belly")):
        if content[pair[0]] == content[pair[1]]:
            return pair
    return None


def check_style(style: str) -> bool:
    """True for ``rich``, False for ``plain``; a clear error otherwise."""
    if style not in CAPTION_STYLES:
        raise UserError(f"caption style must be one of {CAPTION_STYLES}, got {style!r}")
    return style == "rich"


def _distractor(text: str, rnd: random.Random) -> str:
    """Append a clause about eyes, feet, legs or tail (rich captions)."""
    text = text.rstrip(".")
    form = rnd.random()
    if form < 0.4:
        return f"{text}, and {rnd.choice(DISTRACTORS)}."
    if form < 0.6:
        return f"{text} with {rnd.choice(DISTRACTORS)}."
    if form < 0.8:
        return f"{text}. it has {rnd.choice(DISTRACTORS)}."
    return f"{text}; {rnd.choice(DISTRACTOR_CLAUSES)}."


def caption_with_keys(content, rnd: random.Random, style: str = "rich") -> tuple[str, tuple[str, ...]]:
    """One caption and the content keys it mentions (all four, or 2–3 for a partial one)."""
    content = check_content(content)
    rich = check_style(style)
    slots = _slots(content, rnd, rich=rich)
    item = {"crown": slots["ac"], "wing": slots["w"], "belly": slots["ab"], "beak": slots["ak"]}
    r = rnd.random()
    shared = _shared(content)
    if r < PARTIAL_SHARE:
        keys = tuple(rnd.sample(CONTENT_KEYS, rnd.choice((2, 2, 3))))
        if rich and rnd.random() < CLAUSE_P:
            text = _clauses(content, keys, slots, rnd)
        elif rich and "wing" in keys and rnd.random() < BODY_P:
            rest = [item[k] for k in keys if k != "wing"]
            text = rnd.choice(BODY_TEMPLATES).format(items=_join(rest, rnd), **slots)
        else:
            text = rnd.choice(LIST_TEMPLATES).format(items=_join([item[k] for k in keys], rnd), **slots)
    else:
        keys = CONTENT_KEYS
        if rich and r > 1 - CLAUSE_FULL:
            text = _clauses(content, keys, slots, rnd)
        else:
            if shared and r < PARTIAL_SHARE + 0.12:
                template = rnd.choice(SAME_TEMPLATES[shared])
            elif r < PARTIAL_SHARE + 0.35:
                order = rnd.sample(CONTENT_KEYS, 4)
                template = rnd.choice(LIST_TEMPLATES).replace("{items}", _join([item[k] for k in order], rnd))
            else:
                template = rnd.choice(FULL_TEMPLATES + RICH_TEMPLATES if rich else FULL_TEMPLATES)
            text = template.format(**slots)
    if rich and rnd.random() < DISTRACTOR_P:
        text = _distractor(text, rnd)
    text = _AN.sub("an ", text)
    if rnd.random() < 0.15:  # CUB captions often lack the final period
        text = text.rstrip(".")
    return text, keys


def distinct_captions(draw, rng, n: int) -> list[str]:
    """``n`` distinct captions from ``draw(rnd) -> (text, keys)``; ``rng``: numpy Generator or
    random.Random (shared by SynthBirds and SynthFlowers)."""
    rnd = rng if isinstance(rng, random.Random) else random.Random(int(rng.integers(2**63)))
    out, tries = [], 0
    while len(out) < n and tries < 50 * n:
        text, _ = draw(rnd)
        tries += 1
        if text not in out:
            out.append(text)
    while len(out) < n:  # (never in practice) pad with repeats rather than fail
        out.append(out[len(out) % max(1, len(out))])
    return out


def make_captions(content, rng, n: int = 10, style: str = "rich") -> list[str]:
    """``n`` distinct captions of ``content`` in caption ``style`` (``rich`` or ``plain``).
    ``rng``: numpy Generator or random.Random."""
    return distinct_captions(lambda rnd: caption_with_keys(content, rnd, style=style), rng, n)


# ----------------------------------------------------------------------------- parsing
# first words of compound colours that are modifiers, not colours ("royal blue", "burnt orange")
# (read as modifiers, _SKIP, everywhere)
_COMPOUND_MODIFIERS = {"royal", "burnt", "fiery", "rosy", "buttery", "steel", "smoky", "pitch", "blood",
                       "flame", "rusty", "forest", "leaf", "mint", "pea", "apple", "bottle", "sky",
                       "powder", "electric", "denim", "earthy", "off", "pearl", "bone", "dove", "stone",
                       "banana"}
# (colours of their own when they stand alone: "snow" white, "coal" black, ...)
_SKIP_COMPOUND = _COMPOUND_MODIFIERS | {"deep", "snow", "coal", "ash", "brick", "moss", "grass"}
_COLOR_WORDS = {c: c for c in ("red", "orange", "yellow", "green", "blue", "purple", "brown",
                                "black", "white", "grey")}
_COLOR_WORDS.update({word: color for color, words in COLOR_SYNONYMS.items() for phrase in words
                     for word in phrase.split() if word not in _COLOR_WORDS and word not in _SKIP_COMPOUND})
_COLOR_WORDS.update({"gray": "grey", "cyan": "blue", "blueish": "blue", "snow": "white",
                     "coal": "black", "ash": "grey", "brick": "red", "moss": "green", "grass": "green"})
_PART_WORDS = {
    "crown": "crown", "crowned": "crown", "crowns": "crown", "head": "crown", "headed": "crown",
    "cap": "crown", "capped": "crown", "crest": "crown", "crested": "crown", "forehead": "crown", "nape": "crown", "face": "crown",
    "faced": "crown", "cheeks": "crown", "cheek": "crown",
    "wing": "wing", "wings": "wing", "winged": "wing", "wingbars": "wing", "wingbar": "wing",
    "primaries": "wing", "secondaries": "wing", "coverts": "wing", "flight": "wing",
    "belly": "belly", "bellied": "belly", "breast": "belly", "breasted": "belly", "chest": "belly",
    "chested": "belly", "underparts": "belly", "underbelly": "belly", "underside": "belly",
    "abdomen": "belly", "stomach": "belly", "throat": "belly", "throated": "belly",
    "beak": "beak", "beaked": "beak", "beaks": "beak", "bill": "beak", "billed": "beak",
    "body": "body", "bodied": "body", "plumage": "body", "feathers": "body", "back": "body",
    "tail": "body", "tailed": "body",
}
_LENGTH_WORDS = {"short": "short", "shorter": "short", "small": "short", "tiny": "short",
                 "stubby": "short", "little": "short", "long": "long", "longer": "long",
                 "elongated": "long", "lengthy": "long"}
_SKIP = set("""a an bright vivid deep pale light dark dull pure jet solid rich plain very mostly
    mainly all entirely completely pointed pointy sharp thin thick stout slender curved straight
    hooked narrow cone shaped large big colored coloured feathered tinted shiny glossy quite
    rather fairly relatively medium sized nice pretty beautiful vibrant brilliant soft muted
    striking distinct""".split()) | _COMPOUND_MODIFIERS
_COPULA = {"is", "are", "was", "were", "appears", "appear", "looks", "look", "seems", "seem"}
_ALL_WORDS = {"entirely", "completely", "all", "totally", "fully", "solid", "wholly", "solidly"}
_MOSTLY_WORDS = {"mostly", "mainly", "primarily", "predominantly", "largely", "overall", "generally"}
_TOKEN = re.compile(r"[a-z]+|[^a-z\s]")


def _tokens(text: str) -> list[str]:
    if not isinstance(text, str):
        raise UserError(f"a caption must be text, got {type(text).__name__}")
    text = text.lower()
    return _TOKEN.findall(text.replace("'s ", " s ").replace("-", " "))


def _back(tok, i, want: dict, also_skip=()) -> tuple[str | None, int]:
    """Scan left of ``i`` over modifiers (and ``also_skip``) for a word in ``want``."""
    j = i - 1
    while j >= 0:
        t = tok[j]
        if t in want:
            return want[t], j
        if t in ("its", "the") and j >= 1 and tok[j - 1] == "on":  # "blue on its wings"
            j -= 2
            continue
        if t not in _SKIP and t not in also_skip:
            return None, -1
        j -= 1
    return None, -1


def _forward(tok, i, want: dict) -> tuple[str | None, int]:
    """``PART [feathers] [of this bird] [and PART] (is|are|that is ...) [modifiers] VALUE``."""
    n, j = len(tok), i + 1
    while j < n and tok[j] in ("feathers", "feather", "area", "region", "patch"):
        j += 1
    if j < n and tok[j] == "of":
        j += 1
        while j < n and tok[j] in ("this", "the", "a", "bird", "s"):
            j += 1
    while j + 1 < n and tok[j] in ("and", ",") and tok[j + 1] in _PART_WORDS:
        j += 2
        while j < n and tok[j] in ("feathers", "feather"):
            j += 1
    if j < n and tok[j] in ("that", "which"):
        j += 1
    verbless = i >= 1 and tok[i - 1] in ("the", "its")  # "the wings snow white, the crown chestnut"
    if j < n and tok[j] in _COPULA | {"colored", "coloured", ":"}:
        j += 1
    elif not verbless:
        return None, -1
    while j < n and tok[j] not in want and (tok[j] in _SKIP or tok[j] in _MOSTLY_WORDS):
        j += 1  # ("jet" is a modifier in "jet black" and a colour alone)
    return (want[tok[j]], j) if j < n and tok[j] in want else (None, -1)


def parse_caption(text: str) -> dict:
    """Which content attributes a free-form caption mentions, and their values.

    ``"a red-headed bird with blue wings"`` → ``{"crown": "red", "wing": "blue"}``. Handles
    synonyms (head/cap, breast/chest/underparts, bill), grey/gray, colours before or after the
    part ("its belly is white"), "a blue head and wings", "mostly blue", "entirely black"."""
    tok = _tokens(text)
    found, used, via_back = {}, set(), {}
    for i, t in enumerate(tok):
        part = _PART_WORDS.get(t)
        if part is None or (part == "body" and i > 0 and _PART_WORDS.get(tok[i - 1]) not in (None, "body")):
            continue  # "breast feathers": the feathers are the breast's, not the body's
        if part == "beak":
            value, j = _back(tok, i, _LENGTH_WORDS, also_skip=set(_COLOR_WORDS) | {",", "and"})
            if value is None:
                value, j = _forward(tok, i, _LENGTH_WORDS)
        else:
            value, j = _back(tok, i, _COLOR_WORDS)
            if value is not None:
                via_back[i] = value
            else:
                value, j = _forward(tok, i, _COLOR_WORDS)
            if value is None:  # "a red head and wings": share the colour of the previous part
                k = i - 1
                while k >= 0 and tok[k] in _SKIP:
                    k -= 1
                if k >= 1 and tok[k] in ("and", ","):
                    k -= 1
                    while k >= 1 and tok[k] in ("feathers", "feather"):
                        k -= 1
                    if k in via_back:
                        value = via_back[i] = via_back[k]
        if value is not None:
            used.add(j)
            found.setdefault(part, value)
    _whole_bird_colours(tok, used, found)
    body = found.pop("body", None)
    if body is not None:
        found.setdefault("wing", body)
    return {k: found[k] for k in CONTENT_KEYS if k in found}


def _whole_bird_colours(tok, used: set, found: dict) -> None:
    """Colours not tied to a part: "entirely black" → crown, wing, belly; "mostly blue",
    "a blue bird", "the bird is blue" → the body (wings)."""
    for j, t in enumerate(tok):
        if t not in _COLOR_WORDS or j in used or (j - 1 in used and tok[j - 1] in _COLOR_WORDS):
            continue  # ("jet black" whose "jet" a part took)
        k = j - 1
        while k >= 0 and tok[k] in _SKIP - _ALL_WORDS - _MOSTLY_WORDS:
            k -= 1
        prev = tok[k] if k >= 0 else ""
        m = j + 1
        while m < len(tok) and tok[m] in _SKIP and tok[m] not in _ALL_WORDS:  # "plum colored bird"
            m += 1
        nxt = tok[m] if m < len(tok) else ""
        colour = _COLOR_WORDS[t]
        if prev in _ALL_WORDS:
            for part in ("crown", "wing", "belly"):
                found.setdefault(part, colour)
        elif prev in _MOSTLY_WORDS or nxt == "bird" or (prev in _COPULA and k >= 1 and tok[k - 1] == "bird"):
            found.setdefault("body", colour)
