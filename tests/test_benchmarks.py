"""Benchmarks: the trainer's speed levers change no result, and every benchmark runs.

The exact levers of the trainer's step — one shared D-trunk call for real+right / real+wrong, D
frozen in the G step, channels_last — must reproduce the plain reference step of
``t2i_core/train/reference_step.py`` (straightforward fp32 PyTorch) for one step: same
losses, same updated weights (up to float rounding where the kernels sum in another order).
"""

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from t2i_core.train.reference_step import ReferenceStep

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
LR = 2e-4


def _load(name):
    """A benchmark module by file, registered under its name: benchmarks/ is not a package and
    its scripts import their siblings (``common``, ``bench_train``) by plain name."""
    for sibling in ("common", "bench_train")[:("common", "bench_train", name).index(name)]:
        if sibling not in sys.modules:   # common first, then bench_train (which imports common)
            _load(sibling)
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def bt():
    return _load("bench_train")


def _trainer(bt, tmp_path, batch=16):
    data = bt.random_data(n=48, embed_dim=32)
    return bt.make_trainer(bt.train_config("tiny", batch), data, tmp_path / "run"), data


def _params(G, D):
    """Parameters and BN buffers, except D's image-trunk running statistics: the reference passes
    the real batch through the trunk twice (two D calls), the trainer once (one shared call), so
    those running averages take one momentum update fewer by design (train-mode outputs equal)."""
    out = {f"G.{k}": v for k, v in G.state_dict().items()}
    out.update({f"D.{k}": v for k, v in D.state_dict().items() if not k.startswith("trunk.")
                or not k.endswith(("running_mean", "running_var", "num_batches_tracked"))})
    return out


def _compare(a: dict, b: dict, atol: float, max_share: float = 0.0):
    """All entries within ``atol``, except at most ``max_share`` of them, which may differ by up to
    2·lr: Adam's first update is lr·g/(|g| + ε), so where a gradient is ~0 float rounding alone
    can move a weight +lr in one run and −lr in the other."""
    assert a.keys() == b.keys()
    d = torch.cat([(a[k].float() - b[k].float()).abs().flatten() for k in a])
    off = int((d > atol).sum())
    assert off <= max_share * d.numel(), f"{off} of {d.numel()} entries differ by > {atol}"
    assert float(d.max()) <= 2 * LR * 1.001, f"largest difference {float(d.max()):.3g}"
    return off


def _grads_close(G1, G2, rtol: float) -> None:
    """G's gradient of the G step (left in ``.grad``), tensor by tensor, relative to its norm."""
    for (name, p), (_, q) in zip(G1.named_parameters(), G2.named_parameters()):
        rel = float((p.grad - q.grad).norm() / q.grad.norm())
        assert rel < rtol, f"{name}: relative gradient difference {rel:.2e}"


def test_gan_step_levers_match_the_reference_in_the_default_layout(bt, tmp_path):
    """Shared trunk + frozen D in the G step, NCHW, same Adam: the reference's numbers. Not
    bitwise: the trunk's weight gradient is one backward of the summed upstream gradients instead
    of the sum of two backward passes, so D's update differs in the last bits."""
    from t2i_core.train.gan_data import EpochSampler, next_batch
    from t2i_core.train.gan_step import gan_step

    tr, data = _trainer(bt, tmp_path)
    G1, D1, G2, D2 = (bt.plain_copy(m) for m in (tr.G, tr.D, tr.G, tr.D))
    ref = ReferenceStep(G1, D1)
    opt_g = torch.optim.Adam(G2.parameters(), LR, (0.5, 0.999))
    opt_d = torch.optim.Adam(D2.parameters(), LR, (0.5, 0.999))
    batch = next_batch(data, EpochSampler(len(data), 16))
    rng = torch.get_rng_state()
    out_ref = ref(batch)
    torch.set_rng_state(rng)
    out = gan_step(G2, D2, opt_g, opt_d, batch, tr.step_options)
    assert out["d_loss"] == out_ref["d_loss"]                  # the D forward is bitwise the same
    assert out["g_loss"] == pytest.approx(out_ref["g_loss"], rel=1e-6)
    _grads_close(G1, G2, rtol=1e-5)
    _compare(_params(G1, D1), _params(G2, D2), atol=1e-6, max_share=1e-3)


def test_trainer_step_matches_the_plain_reference_step(bt, tmp_path):
    """``Trainer.train_step`` (channels_last, batch prep) vs the reference on the same batch and
    noise: equal up to float rounding."""
    from t2i_core.train.gan_data import next_batch

    tr, data = _trainer(bt, tmp_path)
    G, D = bt.plain_copy(tr.G), bt.plain_copy(tr.D)
    ref, sampler = ReferenceStep(G, D), copy.deepcopy(tr.sampler)
    rng = torch.get_rng_state()
    out = tr.train_step()
    torch.set_rng_state(rng)
    out_ref = ref(next_batch(data, sampler))
    assert out["d_loss"] == pytest.approx(out_ref["d_loss"], rel=1e-5)
    assert out["g_loss"] == pytest.approx(out_ref["g_loss"], rel=1e-5)
    _grads_close(G, tr.G, rtol=1e-4)
    _compare(_params(G, D), _params(tr.G, tr.D), atol=1e-6, max_share=1e-3)


def test_amp_option_is_validated_and_runs(bt, tmp_path):
    from t2i_core.errors import UserError

    data = bt.random_data(n=32, embed_dim=32)
    with pytest.raises(UserError, match="amp"):
        bt.make_trainer(bt.train_config("tiny", 16, amp="fp8"), data, tmp_path / "bad")
    tr = bt.make_trainer(bt.train_config("tiny", 16, amp="bf16"), data, tmp_path / "bf16")
    stats = tr.train_step()
    assert all(torch.isfinite(torch.tensor(v)) for v in stats.values())


def test_bench_train_prints_its_figures(bt, capsys):
    assert bt.main(["--presets", "tiny", "--batch", "8", "--rounds", "1", "--calls", "1",
                    "--warmup", "0", "--ablation", "--extra", "fused", "threads1"]) == 0
    out = capsys.readouterr().out
    assert "reference" in out and "trainer" in out and "img/s" in out and "load average" in out


def test_bench_flops_counts_and_measures(capsys):
    bf = _load("bench_flops")
    assert bf.main(["--presets", "tiny", "--batch", "8", "--size", "128", "--seconds", "0.05",
                    "--steps", "1", "--no-bf16"]) == 0
    out = capsys.readouterr().out
    assert "FLOPs per training image" in out and "GFLOP/s" in out


def test_bench_inference_prints_latency_and_memory(capsys):
    bi = _load("bench_inference")
    assert bi.main(["--preset", "tiny", "--runs", "2", "--no-app"]) == 0
    out = capsys.readouterr().out
    assert "single image" in out and "8-frame strip" in out and "RSS" in out


def test_bench_text_encoder_compares_tail_and_literal(capsys):
    bx = _load("bench_text_encoder")
    assert bx.main(["--preset", "tiny", "--batch", "8", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "tail" in out and "literal" in out and "speed-up (CPU)" in out and "longest" in out


def test_bench_app_hog_is_bounded_and_always_stopped():
    ba = _load("bench_app")
    with ba.hog(1, limit_s=60) as pids:
        os.kill(pids[0], 0)                                   # running inside the block
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)                                   # killed and reaped on leaving it
    with pytest.raises(RuntimeError):                         # also when the block raises
        with ba.hog(1, limit_s=60) as pids:
            raise RuntimeError
    with pytest.raises(ProcessLookupError):
        os.kill(pids[0], 0)
    # a hog nobody stops ends by itself at its limit
    proc = subprocess.Popen([sys.executable, "-c", ba.HOG, "0.5", str(os.getpid())])
    assert proc.wait(timeout=30) == 0


def test_bench_app_prints_quiet_and_loaded_figures(tmp_path, capsys):
    ba = _load("bench_app")
    out_json = tmp_path / "app.json"
    assert ba.main(["--tiny", "--frames", "3", "--trips", "3", "--starts", "1", "--hogs", "1",
                    "--hog-limit", "120", "--json", str(out_json)]) == 0
    out = capsys.readouterr().out
    for label in ("frame: text_frame", "REST round trip", "start-up: ready", "start-up: first frame",
                  "quiet median", "loaded p95", "goal (p95)"):
        assert label in out
    result = json.loads(out_json.read_text())
    for mode in ("quiet", "loaded"):
        figures = result["modes"][mode]
        assert figures["rest_round_trip"]["n"] == 3 and figures["startup_ready"]["n"] == 1
        assert 0 < figures["startup_ready"]["median"] <= figures["startup_first_frame"]["median"]
    for pid in result["hog_pids"]:                           # the hog is gone
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_bench_augment_ceiling_reads_renders_as_training_feeds_them(tiny_synthbirds, tmp_path, capsys):
    bc = _load("bench_augment_ceiling")
    out = tmp_path / "ceiling.json"
    assert bc.main(["--data", str(tiny_synthbirds), "--n", "120", "--load-sizes", "64", "76",
                    "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    native, zoomed = res["load_sizes"]["64"], res["load_sizes"]["76"]
    assert res["domain"] == "birds" and res["n"] == 120
    assert min(native["random"].values()) >= 0.95  # at their own scale (flips only) the judge reads them
    assert all(abs(native["random"][k] - native["centre"][k]) <= 0.02 for k in native["random"])
    assert zoomed["random"]["beak"] < native["random"]["beak"] - 0.05  # the 1.19x zoom hides the beak
    assert "beak" in capsys.readouterr().out
    assert bc.main(["--data", str(tmp_path)]) == 2  # not a SynthBirds/SynthFlowers folder


def test_bench_resize_conv_compares_both_forms(capsys):
    br = _load("bench_resize_conv")
    from t2i_core.models.generator import ResizeConv2d

    fast = ResizeConv2d.forward
    assert br.main(["--batch", "4", "--rounds", "1", "--json"]) == 0
    assert ResizeConv2d.forward is fast  # the transposed-conv form is restored afterwards
    res = json.loads(capsys.readouterr().out)
    assert len(res["stages"]) == 4
    for row in res["stages"]:
        assert row["max_rel_diff"] < 1e-4 and row["upsample+conv"] > 0 and row["ResizeConv2d"] > 0
    assert set(res["fast_step_cpu_s"]) == {"upsample+conv", "ResizeConv2d"}
