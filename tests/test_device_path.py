"""The GPU code path (bf16 autocast, channels_last, tensors moved to the device) of train-text,
train and train-style, run on the CPU with ``--amp bf16`` so it cannot rot on machines without
a GPU. ``--device cuda`` takes exactly this path with device "cuda"."""

import json

import pytest
import torch

from t2i_core.__main__ import main
from t2i_core.checkpoint import load_weights
from t2i_core.errors import UserError
from t2i_core.train.amp import amp_context, resolve_amp


def test_amp_resolution():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert resolve_amp("auto", cpu) == "off" and resolve_amp("auto", cuda) == "bf16"
    assert resolve_amp("bf16", cpu) == "bf16" and resolve_amp("off", cuda) == "off"
    with pytest.raises(UserError, match="unknown --amp"):
        resolve_amp("fp8", cpu)
    with amp_context(cpu, "bf16"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.bfloat16
    with amp_context(cpu, "auto"):
        assert (torch.ones(2, 2) @ torch.ones(2, 2)).dtype == torch.float32


def test_train_text_train_and_train_style_run_the_bf16_device_path(tiny_synthbirds, tmp_path):
    text = tmp_path / "text"
    assert main(["train-text", "--data", str(tiny_synthbirds), "--out", str(text), "--preset", "tiny",
                 "--device", "cpu", "--amp", "bf16", "--no-progress"]) == 0
    assert json.loads((text / "config.json").read_text())["training"]["amp"] == "bf16"
    run = tmp_path / "gan"
    assert main(["train", "--data", str(tiny_synthbirds), "--text-encoder", str(text / "weights"),
                 "--out", str(run), "--preset", "tiny", "--recipe", "fast", "--batch-size", "8",
                 "--steps", "3", "--cache-dir", str(tmp_path / "cache"), "--sample-every", "0",
                 "--standing-stats-batches", "2", "--device", "cpu", "--amp", "bf16", "--no-progress"]) == 0
    assert main(["train-style", "--weights", str(run / "weights"), "--out", str(tmp_path / "final"),
                 "--steps", "3", "--batch-size", "8", "--eval-every", "0", "--device", "cpu",
                 "--amp", "bf16", "--no-progress"]) == 0
    config, states = load_weights(tmp_path / "final" / "weights")
    assert set(states) == {"text_encoder", "generator", "discriminator", "style_encoder"}
    assert config["training"]["amp"] == "bf16" and config["style_training"]["amp"] == "bf16"
    # weights stay fp32 (autocast only changes the compute dtype)
    assert all(t.dtype == torch.float32 for comp in states.values() for t in comp.values() if t.is_floating_point())
