"""The attribute judge: bundled weights read real renders, noise scores at chance, API and I/O."""

import numpy as np
import pytest
from PIL import Image

from t2i_core.errors import CheckpointError, UserError
from t2i_core.eval.judge import (CATEGORICAL, Judge, JudgeConfig, build_model, class_values,
                                 default_judge_dir, load_judge, save_judge, uint8_to_tensor)
from t2i_core.eval.judge_train import heldout_accuracy, sample_renders, train_judge

SMALL = JudgeConfig(channels=(4, 4, 4, 4), downsample=(True, True, True, True), squeeze=4, hidden=8)


@pytest.fixture(scope="module")
def judge():
    return load_judge()


def test_bundled_judge_is_small_and_documented():
    folder = default_judge_dir()
    size = sum(p.stat().st_size for p in folder.glob("*.safetensors"))
    assert size < 3 * 2**20
    j = load_judge(folder)
    assert j.evaluation["min_attribute"] >= 0.99  # measured at training time on 2,000 renders


def test_bundled_flowers_judge_reads_content_and_matches_the_renderer():
    from t2i_core.data.domains import get_domain
    from t2i_core.eval.judge_train import render_fingerprint

    j = load_judge(domain="flowers")
    assert j.cfg.domain == "flowers" and default_judge_dir("flowers").name == "judge_flowers"
    per = j.evaluation["per_attribute"]
    assert all(per[k] >= 0.99 for k in get_domain("flowers").content_keys)  # 2,000 fresh renders
    assert per["blooms"] >= 0.95  # an extra bloom can fall outside the frame (README)
    assert j.evaluation["render_fingerprint"] == render_fingerprint(domain="flowers")


def test_bundled_judge_was_trained_on_the_current_renderer(judge):
    from t2i_core.eval.judge_train import render_fingerprint

    assert judge.evaluation.get("render_fingerprint") == render_fingerprint(), (
        "SynthBirds renders changed since weights/judge was trained: refresh it with "
        "`python -m t2i_core train-judge --init weights/judge --steps 300 --lr 1e-3 --seed 1 "
        "--out weights/judge`")


def test_judge_reads_real_renders(judge):
    images, truths = sample_renders(np.random.default_rng(12345), 64)
    preds = judge.predict([Image.fromarray(im) for im in images])
    for key in CATEGORICAL:
        acc = np.mean([p[key] == t[key] for p, t in zip(preds, truths)])
        assert acc >= 0.95, (key, acc)
    err = np.abs(np.array([p["background_rgb"] for p in preds]) - np.array([t["background_rgb"] for t in truths]))
    assert np.median(err) < 12


def test_judge_on_noise_is_near_chance(judge):
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=(200, 64, 64, 3), dtype=np.uint8)
    _, truths = sample_renders(np.random.default_rng(1), 200)  # labels unrelated to the pixels
    preds = judge.predict_tensor(uint8_to_tensor(noise))
    chance = {"crown": 0.1, "wing": 0.1, "belly": 0.1, "beak": 0.5, "facing": 0.5}
    for key, c in chance.items():
        acc = np.mean([p[key] == t[key] for p, t in zip(preds, truths)])
        assert acc < c + 0.15, (key, acc)


def test_predict_output_types_and_any_size(judge):
    img = Image.new("RGB", (128, 96), (90, 160, 220))
    out = judge.predict([img, img.convert("L")])
    assert len(out) == 2
    for rec in out:
        assert set(rec) == {"crown", "wing", "belly", "beak", "facing", "background_rgb"}
        assert all(isinstance(rec[k], str) for k in CATEGORICAL)
        assert len(rec["background_rgb"]) == 3 and all(isinstance(v, int) and 0 <= v <= 255
                                                       for v in rec["background_rgb"])
    assert out[0]["background_rgb"] == pytest.approx([90, 160, 220], abs=25)


def test_predict_rejects_bad_input(judge):
    with pytest.raises(UserError):
        judge.predict([])
    with pytest.raises(UserError):
        judge.predict(["not an image"])
    with pytest.raises(UserError):
        judge.predict_tensor(np.zeros((2, 64, 64)))


def test_save_load_roundtrip(tmp_path):
    import torch

    torch.manual_seed(0)
    values = class_values()
    j = Judge(build_model(SMALL, values), SMALL, values, {"accuracy_on_real": 0.5})
    save_judge(j, tmp_path / "j")
    k = load_judge(tmp_path / "j")
    x = uint8_to_tensor(np.random.default_rng(0).integers(0, 256, (3, 64, 64, 3), dtype=np.uint8))
    assert j.predict_tensor(x) == k.predict_tensor(x)
    assert k.evaluation["accuracy_on_real"] == 0.5
    with pytest.raises(CheckpointError):
        load_judge(tmp_path / "missing")


def test_train_judge_tiny_runs_and_reports():
    j, res = train_judge(steps=2, batch_size=4, cfg=SMALL, eval_images=8, progress=False)
    assert set(res["per_attribute"]) == set(CATEGORICAL)
    assert 0 <= res["accuracy_on_real"] <= 1 and res["train_steps"] == 2
    assert heldout_accuracy(j, n=4)["n_images"] == 4
    with pytest.raises(UserError):
        train_judge(steps=0)


def test_train_judge_cli(tmp_path, capsys):
    from t2i_core.__main__ import main

    rc = main(["train-judge", "--out", str(tmp_path / "j"), "--steps", "1", "--batch-size", "2",
               "--eval-images", "2", "--no-progress"])
    assert rc == 0
    assert (tmp_path / "j" / "judge.safetensors").is_file()
    assert "held-out accuracy" in capsys.readouterr().out
    assert main(["train-judge", "--out", str(tmp_path / "k"), "--steps", "0"]) == 2


def test_flowers_judge_reads_flower_attributes(tmp_path, capsys):
    from t2i_core.__main__ import main
    from t2i_core.data.domains import get_domain

    images, truths = sample_renders(np.random.default_rng(2), 6, domain="flowers")
    d = get_domain("flowers")
    assert images.shape == (6, 64, 64, 3)
    assert all(set(t) == {*d.content_keys, "blooms", "background_rgb"} for t in truths)
    j, res = train_judge(steps=2, batch_size=4, cfg=SMALL, eval_images=8, progress=False, domain="flowers")
    assert set(res["per_attribute"]) == {"petal", "center", "shape", "count", "blooms"}
    assert j.cfg.domain == "flowers" and SMALL.domain == "birds"  # the caller's config is left alone
    save_judge(j, tmp_path / "fj")
    k = load_judge(tmp_path / "fj")
    assert k.cfg.domain == "flowers" and k.values == j.values
    assert set(k.predict_tensor(uint8_to_tensor(images))[0]) == {*d.content_keys, "blooms", "background_rgb"}
    with pytest.raises(CheckpointError, match="--domain flowers"):
        load_judge(tmp_path / "nothing", domain="flowers")
    rc = main(["train-judge", "--domain", "flowers", "--out", str(tmp_path / "cli"), "--steps", "1",
               "--batch-size", "2", "--eval-images", "2", "--no-progress"])
    assert rc == 0 and load_judge(tmp_path / "cli").cfg.domain == "flowers"
    capsys.readouterr()
