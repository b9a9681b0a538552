"""The CLI turns OS errors and corrupt run/checkpoint files into one 'error:' line (exit 2)."""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "t2i_core", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})


def _one_error_line(proc):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, proc.stderr
    return errors[0]


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs an unwritable /proc")
def test_generate_into_an_unwritable_folder():
    line = _one_error_line(_cli("generate", "a red bird", "--tiny", "--n", "1", "--out", "/proc/x.png"))
    assert line.endswith("/proc/x.png"), line


def test_train_resume_with_a_corrupt_config(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text("{not json")
    line = _one_error_line(_cli("train", "--data", str(tmp_path / "nodata"), "--out", str(run), "--resume",
                                "--preset", "tiny", "--device", "cpu"))
    assert "config.json" in line


def test_foreign_checkpoint_is_a_checkpoint_error(tmp_path):
    from t2i_core.checkpoint import save_training_state
    from t2i_core.errors import CheckpointError
    from t2i_core.train.gan_data import from_arrays
    from t2i_core.train.gan_trainer import GANTrainConfig, Trainer

    g = torch.Generator().manual_seed(0)
    data = from_arrays(torch.randint(0, 256, (8, 76, 76, 3), dtype=torch.uint8, generator=g),
                       torch.randn(8, 32, generator=g), torch.arange(9), torch.arange(8) % 2)
    cfg = GANTrainConfig(variant="gan-cls", preset="tiny", steps=1, batch_size=4, sample_every=0, ckpt_every=0,
                         log_every=0, standing_stats_batches=1, device="cpu")
    tr = Trainer(cfg, data, tmp_path / "run", progress=False)
    foreign = tmp_path / "foreign.pt"
    save_training_state(foreign, {"model": {"w": torch.zeros(2)}})
    with pytest.raises(CheckpointError, match="not a GAN training checkpoint"):
        tr.load(foreign)


def test_missing_weights_say_the_bundled_model_is_the_default(tmp_path):
    line = _one_error_line(_cli("generate", "a red bird", "--weights", str(tmp_path / "runs" / "gan"),
                                "--out", str(tmp_path / "g.png")))
    assert "leave out --weights to use the bundled model" in line and "copy it to" not in line
    assert "train-text" in line and "--recipe fast" in line


def test_bundled_config_records_no_machine_paths():
    """weights/synthbirds/config.json travels to other machines: no absolute path may sit in it
    where a command would take it as a default."""
    import json

    def strings(x):
        if isinstance(x, dict):
            for v in x.values():
                yield from strings(v)
        elif isinstance(x, list):
            for v in x:
                yield from strings(v)
        elif isinstance(x, str):
            yield x

    config = json.loads((ROOT / "weights" / "synthbirds" / "config.json").read_text())
    assert "cache_dir" not in config
    assert not [s for s in strings(config) if s.startswith(("/", "~")) or ":\\\\" in s]


def test_train_style_says_when_the_recorded_dataset_is_not_here(tmp_path):
    import shutil

    weights = tmp_path / "w"
    shutil.copytree(ROOT / "weights" / "synthbirds", weights)
    line = _one_error_line(subprocess.run(
        [sys.executable, "-m", "t2i_core", "train-style", "--weights", str(weights), "--out", "style", "--steps", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,  # no data/synthbirds here
        env={**__import__("os").environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}))
    assert "data/synthbirds" in line and "not here" in line and "--data" in line


def test_train_load_size_below_the_image_size_is_refused_before_loading(tmp_path):
    line = _one_error_line(_cli("train", "--data", str(tmp_path / "nodata"), "--out", str(tmp_path / "run"),
                                "--preset", "tiny", "--load-size", "60"))
    assert "--load-size 60" in line and "64" in line


def test_train_style_refuses_a_negative_contrastive_weight_before_loading(tmp_path):
    line = _one_error_line(_cli("train-style", "--weights", str(tmp_path / "none"), "--out", str(tmp_path / "s"),
                                "--contrastive", "-1"))
    assert "--contrastive" in line and "-1" in line
    line = _one_error_line(_cli("train-style", "--weights", str(tmp_path / "none"), "--out", str(tmp_path / "s"),
                                "--contrastive", "10", "--contrastive-tau", "0"))
    assert "--contrastive-tau" in line and "0.0" in line


def test_train_unknown_or_repeated_mode_seeking_space_is_refused_before_loading(tmp_path):
    line = _one_error_line(_cli("train", "--data", str(tmp_path / "nodata"), "--out", str(tmp_path / "run"),
                                "--preset", "tiny", "--mode-seeking-on", "pixels+hue"))
    assert "'hue'" in line and "pixels, edges, layout" in line
    line = _one_error_line(_cli("train", "--data", str(tmp_path / "nodata"), "--out", str(tmp_path / "run"),
                                "--preset", "tiny", "--mode-seeking-on", "layout+layout"))
    assert "twice" in line
