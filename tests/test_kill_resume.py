"""`train` killed for real (SIGKILL, at random moments, three times) and resumed with --resume
ends with the same weights, optimizers and log as a run that was never interrupted."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from t2i_core.checkpoint import load_training_state, load_weights, save_weights
from t2i_core.config import preset, to_dict
from t2i_core.text.char_cnn_rnn import CharCNNRNN
from t2i_core.text.image_encoder import ImageEncoder

ROOT = Path(__file__).resolve().parent.parent
STEPS = 40  # room for three kills (each 1-3 checkpoints plus up to 0.2 s past one) on a fast CPU


@pytest.fixture(scope="module")
def text_encoder_folder(tmp_path_factory):
    """A tiny φ + θ weights folder (the fast recipe's matching loss needs θ)."""
    torch.manual_seed(0)
    te, ie = CharCNNRNN(preset("tiny", "text")), ImageEncoder(preset("tiny", "image"))
    folder = tmp_path_factory.mktemp("te")
    save_weights(folder, {"text_encoder": te.state_dict(), "image_encoder": ie.state_dict()},
                 {"components": {"text_encoder": to_dict(te.cfg), "image_encoder": to_dict(ie.cfg)}})
    return folder


def _command(data, te, out, cache, resume=False):
    cmd = [sys.executable, "-m", "t2i_core", "train", "--data", str(data), "--text-encoder", str(te),
           "--out", str(out), "--cache-dir", str(cache), "--preset", "tiny", "--recipe", "fast",
           "--batch-size", "8", "--steps", str(STEPS), "--ckpt-every", "1", "--keep", "2",
           "--sample-every", "0", "--log-every", "1", "--standing-stats-batches", "2", "--no-progress", "--device", "cpu",
           "--threads", "1"]
    return cmd + (["--resume"] if resume else [])


def _env():
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}


def _latest_step(out: Path) -> int:
    found = sorted((out / "checkpoints").glob("step_*.pt")) if (out / "checkpoints").is_dir() else []
    return int(found[-1].stem.split("_")[1]) if found else 0


def _kill_after(cmd, out: Path, target: int, delay: float) -> int:
    """Start ``cmd``; once checkpoint ``target`` exists wait ``delay`` s, then SIGKILL it."""
    proc = subprocess.Popen(cmd, cwd=ROOT, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 240
    while _latest_step(out) < target and proc.poll() is None and time.time() < deadline:
        time.sleep(0.005)
    time.sleep(delay)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc.returncode


def test_sigkill_three_times_then_resume_matches_an_uninterrupted_run(tiny_synthbirds, text_encoder_folder,
                                                                       tmp_path):
    cache = tmp_path / "cache"
    full = tmp_path / "full"
    done = subprocess.run(_command(tiny_synthbirds, text_encoder_folder, full, cache), cwd=ROOT, env=_env(),
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]

    seed = random.randrange(10**6)
    rng = random.Random(seed)
    run = tmp_path / "killed"
    kills = []
    for k in range(3):
        target = _latest_step(run) + rng.randint(1, 3)
        code = _kill_after(_command(tiny_synthbirds, text_encoder_folder, run, cache, resume=k > 0), run,
                           target, rng.uniform(0.0, 0.2))
        kills.append((target, _latest_step(run), code))
    assert any(code == -signal.SIGKILL for *_, code in kills), (seed, kills)
    assert _latest_step(run) < STEPS, f"the run finished before the third kill ({seed}, {kills})"
    done = subprocess.run(_command(tiny_synthbirds, text_encoder_folder, run, cache, resume=True), cwd=ROOT,
                          env=_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, (seed, kills, done.stderr[-2000:])
    assert not list((run / "checkpoints").glob(".*.tmp")), "a half-written checkpoint was left behind"

    a = load_training_state(full / "checkpoints" / f"step_{STEPS:08d}.pt")
    b = load_training_state(run / "checkpoints" / f"step_{STEPS:08d}.pt")
    assert a["step"] == b["step"] == STEPS
    for part in ("G", "D", "G_ema"):
        for name, tensor in a[part].items():
            assert torch.equal(tensor, b[part][name]), (seed, kills, part, name)
    for part in ("opt_g", "opt_d"):
        for pid, st in a[part]["state"].items():
            for name, v in st.items():
                assert torch.equal(torch.as_tensor(v), torch.as_tensor(b[part]["state"][pid][name])), (part, name)
    _, wa = load_weights(full / "weights")
    _, wb = load_weights(run / "weights")
    for comp in wa:
        for name, tensor in wa[comp].items():
            assert torch.equal(tensor, wb[comp][name]), (seed, kills, comp, name)
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line.strip()]
    steps = [r["step"] for r in rows if r.get("event") == "train"]
    assert steps == list(range(1, STEPS + 1)), (seed, kills, steps)  # each step logged once
