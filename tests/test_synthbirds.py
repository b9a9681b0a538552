"""SynthBirds (DESIGN.md §2): classes, renders, captions and their parser, splits, layout, CLI."""

import json
import random
import re

import numpy as np
import pytest
from PIL import Image

from t2i_core.data import synthbirds as sb
from t2i_core.data.captions import FULL_TEMPLATES, caption_with_keys, parse_caption
from t2i_core.errors import UserError
from t2i_core.text.alphabet import clean_caption

CONTENT = {"crown": "red", "wing": "blue", "belly": "yellow", "beak": "short"}


def _random_contents(n, seed=0):
    rnd = random.Random(seed)
    names = sb.all_classes()
    return [sb.parse_class(rnd.choice(names)) for _ in range(n)]


def test_classes_round_trip():
    names = sb.all_classes()
    assert len(names) == len(set(names)) == 2000
    assert sb.class_name(CONTENT) == "red_blue_yellow_short"
    assert sb.parse_class("red_blue_yellow_short") == CONTENT
    assert sb.parse_class("gray_grey_white_long")["crown"] == "grey"
    for bad in ("red_blue_yellow", "red_blue_yellow_medium", "pink_blue_yellow_short", None):
        with pytest.raises(UserError):
            sb.parse_class(bad)


def test_render_shape_determinism_and_facing():
    style = sb.sample_style(np.random.default_rng(0))
    img = sb.render(CONTENT, style)
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert np.array_equal(img, sb.render(CONTENT, dict(style)))
    other = dict(style, facing="left" if style["facing"] == "right" else "right")
    assert np.abs(img.astype(int) - sb.render(CONTENT, other).astype(int)).mean() > 5
    assert sb.render(CONTENT, style, size=32).shape == (32, 32, 3)
    long_beak = sb.render(dict(CONTENT, beak="long"), style)
    assert not np.array_equal(img, long_beak)
    with pytest.raises(UserError):
        sb.render(CONTENT, dict(style, scene="space"))
    with pytest.raises(UserError):
        sb.render(dict(CONTENT, wing="pink"), style)


def test_style_and_background_mean():
    from t2i_core.data.render import position_range, render_background

    rng = np.random.default_rng(1)
    for _ in range(40):
        s = sb.sample_style(rng)
        assert s["facing"] in sb.FACINGS and s["scene"] in sb.SCENES
        assert abs(s["tilt"]) <= sb.TILT_RANGE and sb.SCALE_RANGE[0] <= s["scale"] <= sb.SCALE_RANGE[1]
        (x0, x1), (y0, y1) = position_range(s["facing"], s["tilt"], s["scale"])
        assert x0 - 1e-3 <= s["x"] <= x1 + 1e-3 and y0 - 1e-3 <= s["y"] <= y1 + 1e-3
        bg = render_background(s["scene"], s["background_rgb"], s["detail_seed"], 64)
        mean = np.asarray(bg).reshape(-1, 3).mean(0)
        assert np.abs(mean - s["background_rgb"]).max() <= 1.0


def test_captions_are_clean_varied_and_parse_back():
    assert len(FULL_TEMPLATES) >= 25
    rng = np.random.default_rng(0)
    texts = set()
    for content in _random_contents(60):
        caps = sb.make_captions(content, rng, n=10)
        assert len(caps) == len(set(caps)) == 10
        for c in caps:
            assert c == clean_caption(c) and c == c.lower()
            for word in ("left", "right", "sky", "water", "branch", "background", "facing"):
                assert word not in c.split()
        texts.update(caps)
    assert len(texts) == 600
    rnd, ok, partial = random.Random(1), 0, 0
    contents = _random_contents(400, seed=2)
    for content in contents:
        text, keys = caption_with_keys(content, rnd)
        ok += parse_caption(text) == {k: content[k] for k in keys}
        partial += len(keys) < 4
    assert ok / len(contents) >= 0.99
    assert 0.1 <= partial / len(contents) <= 0.3


def _words(style, n=3000):
    rnd, words = random.Random(7), set()
    for content in _random_contents(n, seed=3):
        words.update(w for w in re.findall(r"[a-z]+", caption_with_keys(content, rnd, style=style)[0]))
    return words


def test_caption_styles_plain_reproduces_and_rich_speaks_like_people():
    content = {"crown": "red", "wing": "blue", "belly": "white", "beak": "long"}
    # plain is the first generator, byte for byte (figures measured on it must reproduce)
    assert sb.make_captions(content, np.random.default_rng(5), n=3, style="plain") == [
        "this red-crowned bird has blue wings, a bright white breast and a long and pointed beak",
        "a small bird that has a white underbelly, a very long beak, a deep red crown and blue wings.",
        "the bird is blue on its wing feathers with a red crown, a white chest and a very long beak."]
    plain, rich = _words("plain"), _words("rich")
    assert len(plain) < 100 and len(rich) > 250  # 85 and 258 words in 3,000 captions (88 and 259 in 20,000)
    assert {"scarlet", "cobalt", "ebony", "crest", "abdomen", "eyes", "tail", "feet", "amethyst",
            "vermilion", "colored"} <= rich - plain
    # the shapes people write: a body colour, verbless clauses, bare lists
    rnd, texts = random.Random(5), []
    for c in _random_contents(3000, seed=6):
        texts.append(caption_with_keys(c, rnd, style="rich")[0])
    assert any(re.match(r"an? [a-z]+ bird with", t) for t in texts)
    assert any(re.search(r"the (wings|wing|flight feathers|wing feathers) [a-z]+[,.]", t) for t in texts)
    # one clause a part, in any order and subset, two parts sharing one ("the crown and belly are")
    belly_first = re.compile(r"^(the|its) (belly|breast|chest|underparts|underbelly|stomach|abdomen)"
                             r"( feathers)?( of this bird)? (is|are) ")
    assert sum(bool(belly_first.match(t)) for t in texts) >= 30
    assert any(re.search(r"\bthe [a-z]+( feathers)? and [a-z]+( feathers)? are ", t) for t in texts)
    rnd, ok = random.Random(2), 0
    contents = _random_contents(400, seed=4)
    for c in contents:
        text, keys = caption_with_keys(c, rnd, style="rich")
        ok += parse_caption(text) == {k: c[k] for k in keys} and text == clean_caption(text)
    assert ok / len(contents) >= 0.99
    with pytest.raises(UserError, match="caption style"):
        sb.make_captions(content, np.random.default_rng(0), style="fancy")


@pytest.mark.parametrize("text, expected", [
    ("A red-headed bird with blue wings", {"crown": "red", "wing": "blue"}),
    ("its belly is white", {"belly": "white"}),
    ("a bird with a long bill, grey wings, white breast and a black head.",
     {"crown": "black", "wing": "grey", "belly": "white", "beak": "long"}),
    ("the bird is mostly blue with a red cap", {"crown": "red", "wing": "blue"}),
    ("This bird has a GRAY head and wings that are Yellow; its chest is orange.",
     {"crown": "grey", "wing": "yellow", "belly": "orange"}),
    ("a bird with a blue head and wings and a brown breast, and a short, stout beak",
     {"crown": "blue", "wing": "blue", "belly": "brown", "beak": "short"}),
    ("an entirely black bird with a long beak",
     {"crown": "black", "wing": "black", "belly": "black", "beak": "long"}),
    ("the beak is very long and the head of this bird is purple", {"crown": "purple", "beak": "long"}),
    ("a small bird with a short black bill and green wing feathers", {"wing": "green", "beak": "short"}),
    ("a bird", {}),
    ("the belly is amethyst, the wings snow white, the crown chestnut",
     {"crown": "brown", "wing": "white", "belly": "purple"}),
    ("a plum colored bird with a slate-colored crest", {"crown": "grey", "wing": "purple"}),
    ("its crown is jet and its wings are coal", {"crown": "black", "wing": "black"}),
    ("a red bird with a yellow belly and a black crown", {"crown": "black", "wing": "red", "belly": "yellow"}),
    ("its breast feathers are ivory and the wings blue", {"wing": "blue", "belly": "white"}),
    ("its breast feathers are ivory", {"belly": "white"}),
    ("the crest of this bird is jet black", {"crown": "black"}),
    ("this bird has wings that are black and has a yellow belly", {"wing": "black", "belly": "yellow"}),
    ("the crown and belly are yellow and the wings are blue", {"crown": "yellow", "wing": "blue", "belly": "yellow"}),
])
def test_parse_free_form(text, expected):
    assert parse_caption(text) == expected


def test_splits_zero_shot():
    splits = sb.make_splits(0)
    train, val, test = (set(splits[k]) for k in ("train", "val", "test"))
    assert (len(train), len(val), len(test)) == (1400, 200, 400)
    assert not (train & test) and not (train & val) and not (val & test)
    assert train | val | test == set(sb.all_classes())
    for key, values in sb.VALUES.items():
        assert {sb.parse_class(c)[key] for c in train} == set(values)
    assert sb.make_splits(0) == splits and sb.make_splits(1) != splits


def test_dataset_layout(tiny_synthbirds):
    root = tiny_synthbirds
    read = lambda name: (root / name).read_text().split()  # noqa: E731
    train, val, test = read("trainclasses.txt"), read("valclasses.txt"), read("testclasses.txt")
    assert sorted(read("allclasses.txt")) == sorted(train + val + test) and len(read("allclasses.txt")) == 60
    assert sorted(read("trainvalclasses.txt")) == sorted(train + val)
    assert test and val and not set(train) & set(test)
    full = sb.make_splits(0)
    assert set(test) <= set(full["test"]) and set(train) <= set(full["train"])
    for key in ("crown", "wing", "belly", "beak"):
        assert {sb.parse_class(c)[key] for c in train} == set(sb.VALUES[key])
    records = [json.loads(line) for line in (root / "attributes.jsonl").read_text().splitlines()]
    assert len(records) == 120
    for rec in records:
        assert set(rec["style"]) >= {"facing", "tilt", "x", "y", "scale", "scene", "background_rgb"}
        assert rec["content"] == sb.parse_class(rec["class"])
        img = Image.open(root / rec["image"])
        assert img.size == (64, 64) and img.mode == "RGB"
        stem = rec["image"].split("/")[-1][:-4]
        lines = (root / "text_c10" / rec["class"] / f"{stem}.txt").read_text().splitlines()
        assert len(lines) == 10 and all(c and c == clean_caption(c) for c in lines)


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_whatever_workers(tmp_path, tiny_synthbirds):
    sb.make_dataset(tmp_path / "a", images_per_class=2, seed=0, workers=1, max_classes=4, progress=False)
    sb.make_dataset(tmp_path / "b", images_per_class=2, seed=0, workers=2, max_classes=4, progress=False)
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a == b and len(a) == 4 * 2 * 2 + 7
    # an image is the same in a subset and in the 60-class fixture (RNG from seed, class, index)
    same = [k for k in a if k.endswith(".png") and (tiny_synthbirds / k).is_file()]
    assert same and all(a[k] == (tiny_synthbirds / k).read_bytes() for k in same)
    sb.make_dataset(tmp_path / "c", images_per_class=2, seed=1, workers=1, max_classes=4, progress=False)
    assert _tree(tmp_path / "c") != a


def test_bad_out_and_cli(tmp_path, capsys):
    from t2i_core.__main__ import main

    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UserError, match="not a SynthBirds folder"):
        sb.make_dataset(tmp_path, max_classes=3, images_per_class=1, workers=1, progress=False)
    assert main(["make-dataset", "--out", str(tmp_path / "notes.txt")]) == 2
    assert "is a file" in capsys.readouterr().err
    assert main(["make-dataset", "--out", str(tmp_path / "x"), "--max-classes", "2"]) == 2
    with pytest.raises(UserError):
        sb.make_dataset(tmp_path / "y", images_per_class=0)
    out = tmp_path / "sb"
    assert main(["make-dataset", "--out", str(out), "--max-classes", "3", "--images-per-class", "1",
                 "--workers", "1"]) == 0
    # rewriting an earlier SynthBirds folder is allowed and leaves no stale files behind
    assert main(["make-dataset", "--out", str(out), "--max-classes", "3", "--images-per-class", "1",
                 "--workers", "1", "--seed", "5"]) == 0
    assert len(list((out / "images").rglob("*.png"))) == 3
    assert json.loads((out / "synthbirds.json").read_text())["captions"] == "rich"
    assert main(["make-dataset", "--out", str(out), "--max-classes", "3", "--images-per-class", "1",
                 "--workers", "1", "--captions", "plain"]) == 0
    assert json.loads((out / "synthbirds.json").read_text())["captions"] == "plain"
