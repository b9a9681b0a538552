"""App handlers called directly: good input, and each bad input a user can send → gr.Error or a
sensible (clamped) result with a warning. Also the bad-image fixtures used by the server test."""

import io
import struct
import warnings
import zlib

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from t2i_core import app_content as C
from t2i_core import app_handlers as H

CAP = "this bird has a red crown, blue wings and a yellow belly"
CAP_B = "a bird with a black head, white wings and an orange breast"


@pytest.fixture(scope="module")
def pipe():
    from t2i_core import T2IPipeline

    return T2IPipeline.from_preset("tiny", seed=0)


# ----------------------------------------------------------------------------- image fixtures
def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_header_only(width: int, height: int) -> bytes:
    """A valid-looking PNG claiming width × height (a bomb / huge image without the memory)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    chunks = _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def _encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kw)
    return buf.getvalue()


def bird(size=(80, 60)) -> Image.Image:
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def good_images() -> dict:
    """Unusual but valid images: each should give a result."""
    frames = [bird(), Image.new("RGB", (80, 60), "red"), Image.new("RGB", (80, 60), "blue")]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)
    deep = Image.fromarray((np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) * 16), mode="I;16")
    return {
        "one_pixel.png": _encode(Image.new("RGB", (1, 1), "red"), "PNG"),
        "deep16.png": _encode(deep, "PNG"),
        "cmyk.jpg": _encode(bird().convert("CMYK"), "JPEG"),
        "rgba.png": _encode(bird().convert("RGBA"), "PNG"),
        "gray.png": _encode(bird().convert("L"), "PNG"),
        "animated.gif": gif.getvalue(),
        "wide.jpg": _encode(bird((2400, 300)), "JPEG"),
    }


def bad_images() -> dict:
    """Files that must be refused with a plain message: name → (bytes, words in the message)."""
    png = _encode(bird(), "PNG")
    return {
        "notes.png": (b"this is a text file, not a picture\n" * 20, "not an image"),
        "truncated.png": (png[: len(png) // 2], "truncated or corrupt"),
        "corrupt.png": (png[:60] + bytes(range(256)) * 4 + png[60 + 1024:], "corrupt"),
        "bomb.png": (png_header_only(40_000, 40_000), "too large"),
        "huge.png": (png_header_only(9_000, 9_000), "too large"),
        "empty.png": (b"", "empty"),
    }


def write(tmp_path, name, data) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


@pytest.fixture
def upload_dir(tmp_path, monkeypatch):
    """Play Gradio: payload paths must lie in its upload folder (GRADIO_TEMP_DIR)."""
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path))
    return tmp_path


def load(path) -> Image.Image:
    with Image.open(path) as im:
        assert im.format == "PNG"
        return im.convert("RGB")


def px(path):
    return np.asarray(load(path))


def error_message(excinfo) -> str:
    return str(excinfo.value.message if hasattr(excinfo.value, "message") else excinfo.value)


# ----------------------------------------------------------------------------- tests
def test_generate_gallery_and_clamping(pipe):
    items = H.generate(pipe, CAP, 3, 5)
    assert [c for _, c in items] == ["seed 5", "seed 6", "seed 7"]
    assert all(load(p).size == (64, 64) for p, _ in items)
    with pytest.warns(UserWarning, match="n must be between 1 and 16"):
        assert len(H.generate(pipe, CAP, 10**6, 0)) == H.MAX_N
    with pytest.warns(UserWarning, match="seed must be between"):
        items = H.generate(pipe, CAP, 1, -5)
    assert np.array_equal(px(items[0][0]), px(H.generate(pipe, CAP, 1, 0)[0][0]))
    assert len(H.generate(pipe, CAP, "2", 1.0)) == 2  # numbers as sent by some clients


@pytest.mark.parametrize("caption", ["", "   \n ", None, "\U0001F426\U0001F99C", 42])
def test_bad_captions_are_plain_errors(pipe, caption):
    with pytest.raises(gr.Error) as excinfo:
        H.generate(pipe, caption, 1, 0)
    assert "Traceback" not in error_message(excinfo)


def test_long_and_emoji_captions_work(pipe):
    with pytest.warns(UserWarning, match="truncated"):
        assert len(H.generate(pipe, "a red bird " * 1000, 1, 0)) == 1
    assert len(H.generate(pipe, "a red bird \U0001F426 with blue wings", 1, 0)) == 1


@pytest.mark.parametrize("value", [float("nan"), float("inf"), "abc", [1], {"a": 1}])
def test_bad_numbers_are_plain_errors(pipe, value):
    with pytest.raises(gr.Error):
        H.generate(pipe, CAP, value, 0)
    with pytest.raises(gr.Error):
        H.text_frame(pipe, CAP, CAP_B, value, 0)


def test_frames_and_clamped_sliders(pipe):
    frame = H.text_frame(pipe, CAP, CAP_B, 0.25, 3)
    assert load(frame).size == (64, 64)
    with pytest.warns(UserWarning, match="beta must be between 0 and 1"):
        high = H.text_frame(pipe, CAP, CAP_B, 7, 3)
    assert np.array_equal(px(high), px(H.text_frame(pipe, CAP, CAP_B, 1.0, 3)))
    with pytest.warns(UserWarning, match="alpha"):
        H.noise_frame(pipe, CAP, 0, 1, -3)
    with pytest.warns(UserWarning, match="seed b"):
        assert load(H.noise_frame(pipe, CAP, "4", 2**40, 0.5)).size == (64, 64)


def test_strips_and_gifs(pipe):
    strip, gif = H.text_strip(pipe, CAP, CAP_B, 0, 4)
    assert load(strip).size[0] > 4 * 64 and load(strip).size[1] >= 64
    with Image.open(gif) as im:
        assert im.format == "GIF"  # (identical frames of a random model may be merged)
    strip, gif = H.noise_strip(pipe, CAP, 0, 1, 4)
    with Image.open(gif) as im:
        assert im.format == "GIF" and im.n_frames >= 4  # forward and back
    with pytest.warns(UserWarning, match="steps"):
        strip, gif = H.noise_strip(pipe, CAP, 0, 1, 500)
    assert load(strip).size[0] > H.STRIP_STEPS[1] * 64


@pytest.mark.parametrize("name", sorted(good_images()))
def test_unusual_images_give_results(pipe, upload_dir, name):
    path = write(upload_dir, name, good_images()[name])
    items = H.style_transfer(pipe, {"path": path, "orig_name": name}, f"{CAP}\n\n{CAP_B}\n")
    assert [c for _, c in items] == [CAP, CAP_B]
    chart, scores = H.match_scores(pipe, path, f"{CAP}\n{CAP_B}")
    assert load(chart).size[0] > 100 and [s["caption"] for s in scores] == [CAP, CAP_B]
    assert all(0.0 <= s["score"] <= 1.0 for s in scores)


@pytest.mark.parametrize("name", sorted(bad_images()))
def test_bad_images_are_plain_errors(pipe, upload_dir, name):
    data, words = bad_images()[name]
    path = write(upload_dir, name, data)
    for handler, args in ((H.style_transfer, (CAP,)), (H.match_scores, (CAP,))):
        with pytest.raises(gr.Error) as excinfo:
            handler(pipe, {"path": path}, *args)
        message = error_message(excinfo)
        assert words in message and str(upload_dir) not in message


def test_payload_paths_outside_the_upload_folder_are_refused(pipe, upload_dir, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "secret.png"
    bird().save(outside)
    for path in (str(outside), str(upload_dir / ".." / outside.parent.name / "secret.png")):
        with pytest.raises(gr.Error, match="uploaded to this app"):
            H.match_scores(pipe, {"path": path}, CAP)
    assert len(H.match_scores(pipe, str(outside), CAP)[1]) == 1  # Python callers may pass paths


@pytest.mark.parametrize("image", [None, {"path": None}, "", 12])
def test_missing_image(pipe, image):
    with pytest.raises(gr.Error):
        H.style_transfer(pipe, image, CAP)


def test_a_tiny_upload_is_transferred_with_a_warning(pipe):
    with pytest.warns(UserWarning, match="only 1×1 pixels: too small"):
        assert len(H.style_transfer(pipe, Image.new("RGB", (1, 1), "red"), CAP)) == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a normal photo: no warning
        assert len(H.style_transfer(pipe, bird(), CAP)) == 1


def test_image_inputs_in_other_forms(pipe):
    im = bird()
    assert len(H.style_transfer(pipe, im, CAP)) == 1
    assert len(H.style_transfer(pipe, np.asarray(im), [CAP, CAP_B])) == 2
    import base64

    url = "data:image/png;base64," + base64.b64encode(_encode(im, "PNG")).decode()
    assert len(H.match_scores(pipe, {"url": url, "path": None}, CAP)[1]) == 1


def test_caption_lines(pipe):
    with pytest.raises(gr.Error, match="at least one caption"):
        H.style_transfer(pipe, bird(), "\n \n")
    with pytest.warns(UserWarning, match="first 8"):
        items = H.style_transfer(pipe, bird(), "\n".join(f"a red bird number {i}" for i in range(30)))
    assert len(items) == H.MAX_CAPTIONS
    with pytest.raises(gr.Error, match="caption 2"):
        H.match_scores(pipe, bird(), f"{CAP}\n\U0001F426")


def test_examples_and_about(pipe, tmp_path):
    examples = C.example_renders(tmp_path)
    assert len(examples) == len(C.EXAMPLE_CONTENTS)
    path, truth, probe = examples[0]
    assert Image.open(path).size == (64, 64) and probe.splitlines()[0] == truth
    root = tmp_path / "repo"
    (root / "notebooks").mkdir(parents=True)
    (root / "notebooks" / "01_generate.ipynb").write_text(
        '{"cells": [{"cell_type": "markdown", "source": ["# Generating birds\\n"]}]}')
    (root / "weights").mkdir()
    (root / "weights" / "MODEL_CARD.md").write_text("The card of the model.")
    text = C.about_markdown(pipe, repo_root=root)
    assert "Generating birds" in text and "The card of the model." in text and "random weights" in text


def test_the_page_names_the_model_not_the_server_path():
    from t2i_core import T2IPipeline

    bundled = T2IPipeline.from_pretrained()
    name = C.model_name(bundled)
    assert name.startswith("synthbirds (") and "/" not in name and str(bundled.source) not in name
    assert str(bundled.source) not in C.about_markdown(bundled).split("### Model card")[0]
    assert C.model_name(T2IPipeline.from_preset("tiny")) == "random-weight tiny model"


def test_about_has_one_heading_per_level(pipe, tmp_path):
    root = tmp_path / "repo"
    (root / "weights").mkdir(parents=True)
    (root / "weights" / "MODEL_CARD.md").write_text("# Model card: x\n\n## Figures\n\n```\n# not a heading\n```\n")
    text = C.about_markdown(pipe, repo_root=root)
    levels = [len(line) - len(line.lstrip("#")) for line in text.splitlines()
              if line.startswith("#") and line != "# not a heading"]  # (inside the code block)
    assert levels[0] == 2 and min(levels[1:]) == 3 and levels.count(2) == 1
    assert "### Model card: x" in text and "#### Figures" in text and "\n# not a heading" in text
    assert text.count("Model card") == 1


def test_probe_scores_are_compared_across_captions(pipe):
    _, scores = H.match_scores(pipe, bird(), f"{CAP}\n{CAP_B}\na green bird")
    assert abs(sum(s["relative"] for s in scores) - 1.0) < 1e-3
    assert sorted(s["rank"] for s in scores) == [1, 2, 3]
    best = max(scores, key=lambda s: s["score"])
    assert best["rank"] == 1 and best["relative"] == max(s["relative"] for s in scores)
    small = H.relative_scores([0.03, 0.09, 0.18])  # all tiny raw scores, still clearly ordered
    assert small[2] > 0.5 and small[0] < small[1] < small[2]


def test_handlers_never_leak_unexpected_exceptions(pipe, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("internal detail")

    monkeypatch.setattr(pipe, "generate", boom)
    with warnings.catch_warnings(), pytest.raises(gr.Error, match="server log"):
        H.generate(pipe, CAP, 1, 0)


def test_output_files_are_content_addressed_and_complete(pipe):
    first = H.generate(pipe, CAP, 2, 0)
    again = H.generate(pipe, CAP, 2, 0)
    assert [p for p, _ in first] == [p for p, _ in again]  # same pixels → same file, never rewritten
    assert first[0][0] != first[1][0]
    assert H.OUT_DIR in __import__("pathlib").Path(first[0][0]).parents


def test_import_is_light_and_missing_weights_exit_cleanly(tmp_path):
    import subprocess
    import sys

    code = ("import sys; import app; assert 'torch' not in sys.modules, 'import app loaded torch'; "
            f"sys.exit(app.main(['--weights', {str(tmp_path / 'nowhere')!r}]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=__import__("pathlib").Path(__file__).resolve().parent.parent)
    assert out.returncode == 2, out.stderr
    assert "train-text" in out.stderr and "--tiny" in out.stderr and "Traceback" not in out.stderr


def test_image_editor_payload_uses_the_cropped_canvas_then_the_upload(monkeypatch, tmp_path):
    whole, crop = tmp_path / "whole.png", tmp_path / "crop.png"
    Image.new("RGB", (90, 60), "navy").save(whole)
    Image.new("RGB", (40, 40), "orange").save(crop)
    monkeypatch.setattr(H, "uploaded_path", lambda p: p)         # the server's upload check
    got = H.as_image({"background": {"path": str(whole)}, "layers": [], "composite": {"path": str(crop)}})
    assert got.size == (40, 40)
    assert H.as_image({"background": {"path": str(whole)}, "layers": [], "composite": None}).size == (90, 60)
    with pytest.raises(gr.Error, match="no image"):
        H.as_image({"background": None, "layers": [], "composite": None, "id": None})


def test_user_mistakes_log_one_line_and_no_traceback(caplog, pipe):
    import logging

    with caplog.at_level(logging.INFO, logger="t2i_core.app_handlers"):
        with pytest.raises(gr.Error) as excinfo:
            H.generate(pipe, "", 1, 0)
    assert excinfo.value.print_exception is False          # Gradio prints no traceback for it
    lines = [r for r in caplog.records if r.name == "t2i_core.app_handlers"]
    assert len(lines) == 1 and lines[0].getMessage().startswith("user error: ")
    assert lines[0].exc_info is None and "\n" not in lines[0].getMessage()


def test_probe_says_where_a_bundled_examples_right_caption_ranked(pipe, tmp_path, monkeypatch):
    examples = C.example_renders(tmp_path)
    path, right, probe = examples[0]
    with Image.open(path) as im:
        known = {H.image_key(im): right}
    said = []
    monkeypatch.setattr(gr, "Info", lambda msg, *a, **k: said.append(msg))
    _, rows = H.match_scores(pipe, path, probe, known=known)
    flagged = [r for r in rows if r.get("right_caption")]
    assert len(flagged) == 1 and flagged[0]["caption"] == right
    assert said and f"ranked {flagged[0]['rank']} of {len(rows)}" in said[0]
    said.clear()
    _, rows = H.match_scores(pipe, examples[1][0], probe, known=known)   # another image: no claim
    assert not any(r.get("right_caption") for r in rows) and not said
