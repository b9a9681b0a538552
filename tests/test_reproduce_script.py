"""scripts/reproduce_synthbirds.sh: the whole sequence runs, and a second run resumes."""

import json
import os
import re
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "reproduce_synthbirds.sh"
TINY = {"PRESET": "tiny", "TEXT_STEPS": "6", "DATASET_ARGS": "--max-classes 12 --images-per-class 2",
        "GAN_ARGS": "--batch-size 8", "STYLE_STEPS": "4", "EVAL_ARGS": "--quick"}


SETTINGS = ("THREADS", "TEXT_STEPS", "GAN_STEPS", "STYLE_STEPS", "PRESET", "DATASET_ARGS", "TEXT_RECIPE",
            "TEXT_ARGS", "GAN_ARGS", "EVAL_ARGS", "GAN_RECIPE", "STYLE_ARGS")


def _run(tmp_path, gan_steps):
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS}
    env.update(TINY, GAN_STEPS=str(gan_steps))
    args = [str(tmp_path / d) for d in ("data", "runs", "weights")]
    proc = subprocess.run(["bash", str(SCRIPT), *args], env=env, capture_output=True, text=True,
                          timeout=600, cwd=SCRIPT.parent.parent)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def _gan_step(tmp_path):
    rows = [json.loads(line) for line in (tmp_path / "runs/gan/log.jsonl").read_text().splitlines()]
    return max(r["step"] for r in rows if "step" in r)


def test_sequence_runs_then_resumes(tmp_path):
    out = _run(tmp_path, gan_steps=2)  # an "interrupted" schedule: the GAN stops at step 2
    for name in ("make-dataset", "train-text", "train", "train-style", "evaluate"):
        assert re.search(rf"==> {name} done: .* s wall, .* CPU", out), name
    weights = tmp_path / "weights"
    for comp in ("text_encoder", "generator", "discriminator", "style_encoder"):
        assert (weights / f"{comp}.safetensors").is_file(), comp
    assert (weights / "evaluation" / "report.md").is_file()
    assert _gan_step(tmp_path) == 2

    out = _run(tmp_path, gan_steps=4)  # the rerun continues the GAN instead of starting over
    assert "==> make-dataset" not in out
    assert "==> train-text: finished earlier" in out
    assert re.search(r"==> train: .*--resume", out)
    assert "resuming train-style" not in out  # S is retrained on the continued G, not resumed
    assert _gan_step(tmp_path) == 4

    out = _run(tmp_path, gan_steps=4)  # nothing left to train: G stays as it is, S resumes
    assert "==> train: finished earlier at step 4, skipped" in out
    assert "resuming train-style from step 4" in out

    from t2i_core import T2IPipeline

    pipe = T2IPipeline.from_pretrained(weights)
    assert pipe.has("style_encoder") and not pipe.random_weights
    config = json.loads((weights / "config.json").read_text())
    assert config["training"]["recipe"] == "fast" and config["style_training"]["augment"] is True
