"""T2IPipeline (DESIGN.md §4) on the tiny preset: shapes, determinism, save→load, errors, CLI."""

import hashlib
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
import torch

from t2i_core.errors import CheckpointError, UserError

CAP = "this bird has a red crown, blue wings and a yellow belly"
CAP_B = "a bird with a black head, white wings and an orange breast"
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pipe():
    from t2i_core import T2IPipeline

    return T2IPipeline.from_preset("tiny", seed=0)


def px(im):
    return np.asarray(im)


def same(a, b):
    return np.array_equal(px(a), px(b))


def digest(images):
    return hashlib.sha256(b"".join(px(im).tobytes() for im in images)).hexdigest()


def test_generate_shapes_and_types(pipe):
    images = pipe.generate(CAP, n=3, seed=0)
    assert len(images) == 3
    for im in images:
        assert isinstance(im, Image.Image) and im.size == (64, 64) and im.mode == "RGB"


def test_same_seed_same_pixels_whatever_n(pipe):
    four = pipe.generate(CAP, n=4, seed=7)
    assert all(same(a, b) for a, b in zip(four, pipe.generate(CAP, n=4, seed=7)))
    assert all(same(a, b) for a, b in zip(four, pipe.generate(CAP, n=2, seed=7)))
    assert same(four[2], pipe.generate(CAP, n=1, seed=9)[0])  # image i uses seed + i
    assert not same(four[0], four[1])


def test_make_z(pipe):
    import torch

    z = pipe.make_z(0, 4)
    assert z.shape == (4, pipe.z_dim) and z.dtype == torch.float32 and z.device.type == "cpu"
    assert torch.equal(pipe.make_z(3, 1)[0], z[3])
    g = torch.Generator().manual_seed(2)
    assert torch.equal(pipe.make_z(2, 1)[0], torch.randn(pipe.z_dim, generator=g))
    for bad in (-1, 1.5, "3", None, True):
        with pytest.raises(UserError):
            pipe.make_z(bad, 1)


def test_same_pixels_in_another_process():
    # Same thread count on both sides: other tests in this process may have changed it.
    code = ("import torch; torch.set_num_threads(1);"
            "from t2i_core import T2IPipeline; import hashlib, numpy as np;"
            "ims = T2IPipeline.from_preset('tiny', seed=0).generate(%r, n=2, seed=5);"
            "print(hashlib.sha256(b''.join(np.asarray(i).tobytes() for i in ims)).hexdigest())" % CAP)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    import torch
    from t2i_core import T2IPipeline

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        here = digest(T2IPipeline.from_preset("tiny", seed=0).generate(CAP, n=2, seed=5))
    finally:
        torch.set_num_threads(threads)
    assert out.stdout.strip() == here


def test_interpolate_text_endpoints_and_frames(pipe):
    frames = pipe.interpolate_text(CAP, CAP_B, steps=5, seed=3)
    assert len(frames) == 5
    assert same(frames[0], pipe.generate(CAP, n=1, seed=3)[0])
    assert same(frames[-1], pipe.generate(CAP_B, n=1, seed=3)[0])
    assert same(frames[2], pipe.text_frame(CAP, CAP_B, 0.5, seed=3))
    with pytest.raises(UserError):
        pipe.interpolate_text(CAP, CAP_B, steps=1)
    with pytest.raises(UserError):
        pipe.text_frame(CAP, CAP_B, 1.5)


def test_interpolate_noise_endpoints_and_frames(pipe):
    frames = pipe.interpolate_noise(CAP, seed_a=4, seed_b=9, steps=3)
    assert same(frames[0], pipe.generate(CAP, n=1, seed=4)[0])
    assert same(frames[-1], pipe.generate(CAP, n=1, seed=9)[0])
    assert same(frames[1], pipe.noise_frame(CAP, 4, 9, 0.5))
    with pytest.raises(UserError):
        pipe.noise_frame(CAP, 4, 9, float("nan"))


def test_transfer_style_and_match_scores_accept_pil_array_and_path(pipe, tmp_path):
    photo = Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 120, 3), dtype=np.uint8))
    path = tmp_path / "photo.png"
    photo.save(path)
    out = pipe.transfer_style(photo, [CAP, CAP_B], seed=0)
    assert len(out) == 2 and all(im.size == (64, 64) for im in out)
    assert all(same(a, b) for a, b in zip(out, pipe.transfer_style(path, [CAP, CAP_B])))
    assert all(same(a, b) for a, b in zip(out, pipe.transfer_style(np.asarray(photo), [CAP, CAP_B])))
    scores = pipe.match_scores(path, [CAP, CAP_B, "green"])
    assert len(scores) == 3 and all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)
    assert scores[:2] == pipe.match_scores(photo, [CAP, CAP_B])  # per caption, not per batch
    (tmp_path / "bad.png").write_text("not an image")
    with pytest.raises(UserError):
        pipe.match_scores(tmp_path / "bad.png", [CAP])
    with pytest.raises(UserError):
        pipe.transfer_style(photo, [])


def test_photos_are_read_from_their_centred_square_unless_told_to_squash(pipe):
    wide = np.zeros((64, 192, 3), np.uint8)
    wide[:, :64] = (255, 0, 0)                                        # red left third
    wide[:, 64:128] = (0, 200, 0)                                     # green middle
    wide[:, 128:] = (0, 0, 255)                                       # blue right third
    centre = pipe.image_tensor(wide)
    assert centre.shape == (1, 3, 64, 64)
    assert torch.allclose(centre, pipe.image_tensor(wide[:, 64:128]))  # the green square only
    squashed = pipe.image_tensor(wide, crop="squash")
    assert squashed[0, 0, :, :10].mean() > 0.9 and squashed[0, 2, :, -10:].mean() > 0.9
    assert not same(pipe.transfer_style(wide, [CAP])[0], pipe.transfer_style(wide, [CAP], crop="squash")[0])
    with pytest.raises(UserError, match="unknown crop"):
        pipe.image_tensor(wide, crop="stretch")


def test_slider_frames_are_cached_as_copies(pipe):
    first = pipe.noise_frame(CAP, 0, 1, 0.37)
    first.paste((255, 0, 0), (0, 0, 64, 64))  # the caller's copy, not the cache's
    again = pipe.noise_frame(CAP, 0, 1, 0.37)
    assert not same(first, again)
    assert not same(again, pipe.noise_frame(CAP, 0, 1, 0.38))
    pipe.text_frame("a red bird " * 100, CAP, 0.5)
    pipe.text_frame("a red bird " * 100, CAP, 0.5)  # cached, still noticed
    assert pipe.notices == ["caption 1: caption truncated to its first 201 characters"]


def test_caption_errors_and_notices(pipe):
    for bad in ("", "   ", "\U0001F426\U0001F426"):
        with pytest.raises(UserError):
            pipe.generate(bad, n=1)
    with pytest.raises(UserError):
        pipe.generate(CAP, n=0)
    pipe.generate(CAP, n=1)
    assert pipe.notices == []
    pipe.generate("a red bird " * 1000, n=1)
    assert any("truncated" in note for note in pipe.notices)
    assert same(pipe.generate("A RED bird \U0001F426", n=1)[0], pipe.generate("a red bird", n=1)[0])


def test_embed_long_caption_on_fresh_thread():
    # Regression: clean() on a thread that had no other call crashed ('_thread._local' has no 'notices').
    from t2i_core import T2IPipeline

    fresh = T2IPipeline.from_preset("tiny", seed=0)
    out, errors = {}, []

    def work():
        try:
            out["emb"] = fresh.embed(["a " * 200])
            out["clean"] = fresh.clean(["a " * 300])
            out["notices"] = fresh.notices
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert not errors, errors
    assert out["emb"].shape[0] == 1 and len(out["clean"]) == 1
    assert any("truncated" in note for note in out["notices"])


def test_embedding_cache_is_used(pipe, monkeypatch):
    encoder = pipe.models["text_encoder"]
    calls = []
    original = encoder.forward
    monkeypatch.setattr(encoder, "forward", lambda ids: calls.append(1) or original(ids))
    pipe.generate("a cached caption about a blue bird", n=2)
    pipe.text_frame("a cached caption about a blue bird", "a cached caption about a blue bird", 0.3)
    assert len(calls) == 1


def test_threads_get_identical_results(pipe):
    expected = digest(pipe.generate(CAP, n=2, seed=11))
    results, errors = [], []

    def work():
        try:
            results.append(digest(pipe.generate(CAP, n=2, seed=11)))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and results == [expected] * 8


def test_save_load_roundtrip_keeps_pixels_and_extra_config(pipe, tmp_path):
    from t2i_core import T2IPipeline

    pipe.extra["training"] = {"variant": "gan-int-cls", "steps": 3}
    pipe.save_pretrained(tmp_path / "w")
    config = json.loads((tmp_path / "w" / "config.json").read_text())
    assert set(config["components"]) == {"text_encoder", "generator", "discriminator", "style_encoder"}
    assert config["training"]["steps"] == 3 and "format_version" in config
    loaded = T2IPipeline.from_pretrained(tmp_path / "w")
    assert digest(loaded.generate(CAP, n=2, seed=1)) == digest(pipe.generate(CAP, n=2, seed=1))
    photo = pipe.generate(CAP_B, n=1)[0]
    assert loaded.match_scores(photo, [CAP]) == pipe.match_scores(photo, [CAP])
    assert loaded.extra["training"]["variant"] == "gan-int-cls"


def test_from_pretrained_errors(pipe, tmp_path, monkeypatch):
    from t2i_core import T2IPipeline, pipeline

    monkeypatch.setattr(pipeline, "default_weights_dir", lambda: tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="make-dataset.*train-text.*train.*train-style"):
        T2IPipeline.from_pretrained()
    folder = tmp_path / "w"
    pipe.save_pretrained(folder)
    with open(folder / "generator.safetensors", "r+b") as f:
        f.seek(-4, 2)
        f.write(b"\0\0\0\0")
    with pytest.raises(CheckpointError, match="checksum"):
        T2IPipeline.from_pretrained(folder)


def test_missing_optional_components(pipe, tmp_path):
    from t2i_core import T2IPipeline
    from t2i_core.pipeline import COMPONENTS

    lite = T2IPipeline({k: pipe.models[k] for k in ("text_encoder", "generator")},
                       {k: pipe.configs[k] for k in COMPONENTS}, source="lite")
    lite.save_pretrained(tmp_path / "lite")
    loaded = T2IPipeline.from_pretrained(tmp_path / "lite")
    assert loaded.generate(CAP, n=1)
    with pytest.raises(UserError, match="style encoder"):
        loaded.transfer_style(loaded.generate(CAP, n=1)[0], [CAP])
    with pytest.raises(UserError, match="discriminator"):
        loaded.match_scores(loaded.generate(CAP, n=1)[0], [CAP])


def test_cli_generate(tmp_path, capsys):
    from t2i_core.__main__ import main

    out = tmp_path / "grid.png"
    assert main(["generate", CAP, "--tiny", "--n", "4", "--seed", "0", "--out", str(out), "--cols", "2"]) == 0
    assert Image.open(out).size == (2 * 64 + 3 * 2, 2 * 64 + 3 * 2)
    assert main(["generate", CAP, "--weights", str(tmp_path / "missing"), "--out", str(out)]) == 2
    assert "train-text" in capsys.readouterr().err
    assert main(["generate", "", "--tiny", "--out", str(out)]) == 2


def test_one_image_calls_run_on_one_thread_and_give_the_same_pixels_at_any_thread_count(pipe):
    seen = []
    g = pipe.models["generator"]
    hook = g.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two = pipe.generate(CAP, n=2, seed=5)
        torch.set_num_threads(1)
        one = pipe.generate(CAP, n=2, seed=5)
        assert set(seen) == {1} and all(same(a, b) for a, b in zip(one, two))
        torch.set_num_threads(2)
        assert torch.get_num_threads() == 2                      # the caller's setting is restored
        seen.clear()
        pipe.inference_threads = 0                               # 0: torch's own setting
        pipe.generate(CAP, n=1, seed=5)
        assert seen == [2]
    finally:
        pipe.inference_threads = 1
        hook.remove()
        torch.set_num_threads(before)


def test_a_bad_thread_setting_is_a_clear_error(monkeypatch):
    from t2i_core import T2IPipeline

    monkeypatch.setenv("T2I_INFERENCE_THREADS", "many")
    with pytest.raises(UserError, match="T2I_INFERENCE_THREADS must be a whole number"):
        T2IPipeline.from_preset("tiny")
    monkeypatch.setenv("T2I_INFERENCE_THREADS", "2")
    assert T2IPipeline.from_preset("tiny").inference_threads == 2
