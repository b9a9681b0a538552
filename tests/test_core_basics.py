"""Alphabet, configs, checkpoint folders and the CLI entry point."""

import json
import subprocess
import sys

import pytest
import torch

from t2i_core import checkpoint
from t2i_core.config import PRESETS, GeneratorConfig, from_dict, preset, to_dict
from t2i_core.errors import CheckpointError, UserError
from t2i_core.text import alphabet


def test_alphabet_is_reeds():
    assert len(alphabet.ALPHABET) == 70 and alphabet.ALPHABET[-1] == " "
    assert alphabet.CHAR_TO_INDEX["a"] == 1
    assert alphabet.CHAR_TO_INDEX["-"] == alphabet.ALPHABET.rindex("-") + 1  # later index wins
    assert alphabet.VOCAB_SIZE == 71


def test_alphabet_round_trip_and_cleaning():
    text = "this bird has a red crown, blue wings & a short beak!"
    assert alphabet.decode(alphabet.encode(text)) == text
    assert alphabet.clean_caption("A RED Bird 🐦\twith  ÉLÉGANT wings") == "a red bird with elegant wings"
    ids = alphabet.encode("x" * 500)
    assert ids.shape == (201,) and (ids > 0).all()


@pytest.mark.parametrize("bad", ["", "   \n\t", "🐦🐦", "鳥"])
def test_prepare_caption_rejects_unusable(bad):
    with pytest.raises(UserError):
        alphabet.prepare_caption(bad)


def test_prepare_caption_truncates_with_notice():
    clean, notices = alphabet.prepare_caption("red " * 100)
    assert len(clean) == 201 and notices and "truncated" in notices[0]


def test_config_round_trip_and_presets():
    for name in PRESETS:
        cfg = preset(name, "generator")
        assert from_dict(GeneratorConfig, to_dict(cfg)) == cfg
    with pytest.raises(UserError, match="unknown preset"):
        preset("huge", "generator")
    with pytest.raises(UserError, match="unknown settings"):
        from_dict(GeneratorConfig, {"ngf": 8, "bogus": 1})


def _folder(tmp_path):
    sd = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.ones(2)}
    return checkpoint.save_weights(tmp_path / "w", {"net": sd}, {"components": {"net": {}}}), sd


def test_weights_round_trip(tmp_path):
    folder, sd = _folder(tmp_path)
    config, loaded = checkpoint.load_weights(folder)
    assert config["format_version"] == checkpoint.FORMAT_VERSION
    assert torch.equal(loaded["net"]["w"], sd["w"])


def test_weights_errors_are_clear(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        checkpoint.load_weights(tmp_path / "nope")
    folder, _ = _folder(tmp_path)
    with pytest.raises(CheckpointError, match="no 'style' component"):
        checkpoint.load_weights(folder, ["style"])
    path = folder / "net.safetensors"
    path.write_bytes(path.read_bytes()[:-7])  # truncated
    with pytest.raises(CheckpointError, match="checksum"):
        checkpoint.load_weights(folder)
    cfg = json.loads((folder / "config.json").read_text())
    cfg["format_version"] = 99
    (folder / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="format_version"):
        checkpoint.load_weights(folder)
    (folder / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        checkpoint.load_weights(folder)


def test_make_paths_relative_keeps_no_machine_paths(tmp_path):
    repo = tmp_path / "repo"
    (repo / "data" / "birds").mkdir(parents=True)
    config = {"dataset": {"root": str(repo / "data" / "birds"), "n_images": 3},
              "text_encoder_source": str(repo / "runs" / "text" / "weights"),
              "style_training": {"root": str(tmp_path / "elsewhere")}, "cache_dir": "/tmp/cache",
              "evaluation": {"meta": {"data": f"{repo}/data/birds (test split, 4 images)",
                                      "weights": str(repo), "other": f"{repo}ly/elsewhere"}}}
    checkpoint.save_weights(tmp_path / "w", {"g": {"x": torch.ones(2)}}, config)
    before = checkpoint.load_weights(tmp_path / "w")[1]
    out = checkpoint.make_paths_relative(tmp_path / "w", repo)
    stored = checkpoint.read_config(tmp_path / "w")
    assert stored == out and "cache_dir" not in stored
    assert stored["dataset"] == {"root": "data/birds", "n_images": 3}
    assert stored["text_encoder_source"] == "runs/text/weights"
    assert stored["style_training"]["root"] == str(tmp_path / "elsewhere")   # outside: left alone
    assert stored["evaluation"]["meta"]["data"] == "data/birds (test split, 4 images)"
    assert stored["evaluation"]["meta"]["weights"] == "."
    assert stored["evaluation"]["meta"]["other"] == f"{repo}ly/elsewhere"   # a look-alike path stays
    assert torch.equal(checkpoint.load_weights(tmp_path / "w")[1]["g"]["x"], before["g"]["x"])


def test_training_state_is_tensors_only(tmp_path):
    path = checkpoint.save_training_state(tmp_path / "c.pt", {"step": 3, "x": torch.zeros(2)})
    assert checkpoint.load_training_state(path)["step"] == 3
    path.write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="cannot load"):
        checkpoint.load_training_state(path)


def test_cli_help_lists_commands_quickly():
    out = subprocess.run([sys.executable, "-m", "t2i_core", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    listed = {line.split()[0] for line in out.stdout.splitlines() if line.startswith("    ") and line.split()}
    assert {"make-dataset", "data-info"} <= listed
    assert "Traceback" not in out.stderr


def test_import_is_cheap():
    code = "import sys, t2i_core; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.stdout.strip() == "False"
