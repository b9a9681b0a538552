"""SynthFlowers: classes, splits, rendering, Oxford-102-like captions and Reed's Oxford layout."""

import json
import random

import numpy as np
import pytest

from t2i_core.data import synthflowers as sf
from t2i_core.data.dataset import open_dataset
from t2i_core.data.flower_captions import (CENTER_WORDS, COUNT_WORDS, PETAL_WORDS, SHAPE_WORDS,
                                           caption_with_keys)
from t2i_core.data.flower_render import CENTER_PALETTE, PETAL_PALETTE
from t2i_core.data.flower_vocabulary import FLOWER_VALUES
from t2i_core.errors import UserError
from t2i_core.text.alphabet import clean_caption


def test_classes_and_zero_shot_splits():
    names = sf.all_classes()
    assert len(names) == len(set(names)) == 360
    assert all(sf.class_name(sf.parse_class(n)) == n for n in names)
    with pytest.raises(UserError, match="SynthFlowers class"):
        sf.parse_class("red_blue")
    with pytest.raises(UserError, match="petal"):
        sf.class_name({"petal": "green", "center": "yellow", "shape": "round", "count": "five"})
    splits = sf.make_splits(0)
    assert len(splits["test"]) == 72 and not set(splits["test"]) & set(splits["train"] + splits["val"])
    for key, values in FLOWER_VALUES.items():
        assert {sf.parse_class(n)[key] for n in splits["train"]} == set(values)
    assert sf.make_splits(0) == splits != sf.make_splits(1)


def _near(img, rgb, tol=40):
    return int((np.abs(img.astype(int) - rgb).sum(-1) < tol).sum())


def test_render_shows_content_and_is_deterministic():
    rng = np.random.default_rng(3)
    style = sf.sample_style(rng)
    style.update(blooms=1, leaves=0, scale=0.3, x=0.5, y=0.5, light=1.0, backdrop="soil",
                 background_rgb=[96, 70, 40])
    a = {"petal": "blue", "center": "yellow", "shape": "round", "count": "five"}
    img = sf.render(a, style)
    assert img.shape == (64, 64, 3) and img.dtype == np.uint8
    assert np.array_equal(img, sf.render(a, style))
    assert _near(img, PETAL_PALETTE["blue"]) > 300 and _near(img, CENTER_PALETTE["yellow"]) > 15
    pink = sf.render({**a, "petal": "pink"}, style)
    assert _near(pink, PETAL_PALETTE["pink"]) > 300 and _near(pink, PETAL_PALETTE["blue"]) < 20
    # more, narrower petals leave more backdrop between them than five broad ones
    many = sf.render({**a, "count": "many", "shape": "pointed"}, style)
    assert _near(many, PETAL_PALETTE["blue"]) < _near(img, PETAL_PALETTE["blue"])
    with pytest.raises(UserError, match="backdrop"):
        sf.render(a, {**style, "backdrop": "space"})
    with pytest.raises(UserError, match="size"):
        sf.render(a, style, size=8)


def test_captions_describe_content_never_style():
    rnd = random.Random(0)
    words = {"petal": PETAL_WORDS, "center": CENTER_WORDS, "shape": SHAPE_WORDS, "count": COUNT_WORDS}
    partial = 0
    for name in sf.all_classes()[::3]:
        content = sf.parse_class(name)
        caps = sf.make_captions(content, rnd, n=10)
        assert len(set(caps)) == 10
        for c in caps:
            assert c == clean_caption(c)
            for style_word in ("leaf", "leaves", "stem", "sky", "water", "soil", "background",
                               "rotated", "left", "right"):
                assert style_word not in c.split()
        text, keys = caption_with_keys(content, rnd)
        partial += len(keys) < 4
        for key in keys:  # every mentioned attribute is said with one of its own words
            assert any(w in text for w in words[key][content[key]]), (key, text)
    assert 0.1 <= partial / 120 <= 0.3


def _tree(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_dataset_in_oxford_layout_read_by_the_oxford_loader(tmp_path, capsys):
    from t2i_core.__main__ import main

    out = tmp_path / "flowers"
    assert main(["make-dataset", "--domain", "flowers", "--out", str(out), "--max-classes", "10",
                 "--images-per-class", "3", "--workers", "1"]) == 0
    assert "wrote SynthFlowers: 30 images of 10 classes" in capsys.readouterr().out
    for name in ("allclasses.txt", "trainvalclasses.txt", "testclasses.txt", "attributes.jsonl"):
        assert (out / name).is_file()
    folders = (out / "allclasses.txt").read_text().split()
    assert len(folders) == 10 and all(f.startswith("class_") and len(f) == 11 for f in folders)
    jpgs = sorted((out / "jpg").iterdir())
    assert len(jpgs) == 30 and all(p.name.startswith("image_") and p.suffix == ".jpg" for p in jpgs)
    index = open_dataset(out)
    assert index.format == "cvpr" and index.domain == "flowers" and not index.synthbirds
    assert len(index.records) == 30 and all(len(r.captions) == 10 for r in index.records)
    assert len(index.classes["test"]) == 2
    for i, rec in enumerate(index.records):
        truth = index.attributes(i)
        assert truth["class"] == rec.class_name and truth["content"] == sf.parse_class(truth["name"])
        assert np.asarray(index.load_image(i)).shape == (64, 64, 3)
    assert main(["data-info", str(out)]) == 0
    assert "SynthFlowers" in capsys.readouterr().out
    # same seed, same bytes whatever the workers; rewriting is allowed, a stranger folder is not
    sf.make_dataset(tmp_path / "b", images_per_class=3, max_classes=10, workers=2, progress=False)
    assert _tree(out) == _tree(tmp_path / "b")
    assert json.loads((out / "synthflowers.json").read_text())["dataset"] == "SynthFlowers"
    with pytest.raises(UserError, match="not a SynthFlowers folder"):
        sf.make_dataset(tmp_path, max_classes=3, images_per_class=1, workers=1, progress=False)
    assert main(["make-dataset", "--domain", "flowers", "--out", str(tmp_path / "c"),
                 "--captions", "plain"]) == 2
    assert "--captions is for --domain birds" in capsys.readouterr().err
