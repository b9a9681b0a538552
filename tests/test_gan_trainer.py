"""The GAN trainer (tiny preset, seconds): learning, determinism, exact resume, health stops,
standing statistics, and the `train` / `train-style` commands end to end."""

import json

import pytest
import torch

from t2i_core.errors import UserError
from t2i_core.train.gan_data import (center_crop, from_arrays, load_split, mean_caption_embedding,
                                     standin_embeddings, wrong_indices)
from t2i_core.train.gan_trainer import GANTrainConfig, Trainer, TrainingStopped
from t2i_core.train.standing_stats import frozen_buffers


def _cfg(**kw):
    base = dict(variant="gan-int-cls", preset="tiny", steps=4, batch_size=8, sample_every=0, ckpt_every=0,
                log_every=1, standing_stats_batches=4, device="cpu")
    return GANTrainConfig(**{**base, **kw})


@pytest.fixture(scope="module")
def random_data():
    g = torch.Generator().manual_seed(0)
    n = 24
    images = torch.randint(0, 256, (n, 76, 76, 3), dtype=torch.uint8, generator=g)
    offsets = torch.arange(n + 1) * 3
    return from_arrays(images, torch.randn(3 * n, 32, generator=g), offsets, torch.arange(n) % 6)


@pytest.fixture(scope="module")
def synthbirds_data(tiny_synthbirds):
    from t2i_core.data.dataset import open_dataset

    index = open_dataset(tiny_synthbirds)
    emb, offsets = standin_embeddings(index, dim=32)
    return load_split(index, "all", emb, offsets, progress=False)


def _all_state(tr: Trainer) -> dict:
    state = {f"G.{k}": v for k, v in tr.G.state_dict().items()}
    state.update({f"D.{k}": v for k, v in tr.D.state_dict().items()})
    if tr.G_ema is not None:
        state.update({f"E.{k}": v for k, v in tr.G_ema.state_dict().items()})
    for name, opt in (("og", tr.opt_g), ("od", tr.opt_d)):
        for pid, st in opt.state_dict()["state"].items():
            state.update({f"{name}.{pid}.{k}": v for k, v in st.items() if torch.is_tensor(v)})
    state["rng"] = torch.get_rng_state()
    state["perm"] = tr.sampler.perm
    return state


def test_d_learns_to_separate_right_from_wrong_captions(synthbirds_data, tmp_path):
    d = synthbirds_data
    n = 32  # a small set D can learn in under a hundred steps
    data = from_arrays(d.images[:n], d.cap_emb[: int(d.offsets[n])].float(), d.offsets[: n + 1], d.labels[:n])
    # (80 steps: at 40 the margin was 0.04-0.08 over trainer seeds and thread counts, at 80 0.12-0.37)
    tr = Trainer(_cfg(variant="gan-cls", steps=80, batch_size=16, lr_d=1e-3, lr_g=1e-3, log_every=0),
                 data, tmp_path / "run", progress=False)
    tr.train(export=False)
    torch.manual_seed(1)
    ids = torch.arange(n)
    x = center_crop(data.images[ids])
    right, wrong = mean_caption_embedding(data, ids), mean_caption_embedding(data, wrong_indices(data, ids))
    with torch.no_grad(), frozen_buffers(tr.D):
        tr.D.train()  # the mode D trained in: one homogeneous batch per call
        s_right, s_wrong = tr.D(x, right), tr.D(x, wrong)
    assert s_right.mean() > s_wrong.mean() + 0.05, (s_right.mean(), s_wrong.mean())
    assert (s_right > s_wrong).float().mean() > 0.6


def test_same_seed_same_pixels(random_data, tmp_path):
    outs = []
    for k in range(2):
        tr = Trainer(_cfg(steps=2, cond_aug=True, ema_decay=0.9), random_data, tmp_path / f"r{k}", progress=False)
        tr.train(export=False)
        args, kwargs = tr.grid_inputs()
        with torch.no_grad():
            outs.append(tr.export_generator().eval()(*args, **kwargs))
    assert torch.equal(outs[0], outs[1])


def test_interrupted_and_resumed_run_matches_an_uninterrupted_one(random_data, tmp_path):
    levers = dict(ema_decay=0.9, cond_aug=True, mode_seeking=0.5, minibatch_std=True, spectral_norm=True,
                  d_int_fakes=True, ckpt_every=2, keep=2)
    full = Trainer(_cfg(steps=6, **levers), random_data, tmp_path / "full", progress=False)
    full.train(export=False)
    part = Trainer(_cfg(steps=3, **levers), random_data, tmp_path / "part", progress=False)
    part.train(export=False)  # "interrupted" after step 3
    with pytest.raises(UserError, match="--resume"):
        Trainer(_cfg(steps=6, **levers), random_data, tmp_path / "part", progress=False)
    with pytest.raises(UserError, match="different settings"):
        Trainer(_cfg(steps=6, **{**levers, "lr_g": 1e-3}), random_data, tmp_path / "part", resume=True, progress=False)
    resumed = Trainer(_cfg(steps=6, **levers), random_data, tmp_path / "part", resume=True, progress=False)
    assert resumed.step == 3
    resumed.train(export=False)
    assert resumed.step == full.step == 6
    a, b = _all_state(full), _all_state(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    assert len(list((tmp_path / "part" / "checkpoints").glob("step_*.pt"))) == 2  # --keep 2
    steps = [r["step"] for r in map(json.loads, (tmp_path / "part" / "log.jsonl").read_text().splitlines())
             if r["event"] == "train"]
    assert steps == [1, 2, 3, 4, 5, 6]


def test_ctrl_c_mid_step_saves_the_complete_step_and_resumes_exactly(random_data, tmp_path):
    import os
    import signal

    levers = dict(ema_decay=0.9, d_int_fakes=True, ckpt_every=2)
    full = Trainer(_cfg(steps=5, **levers), random_data, tmp_path / "full", progress=False)
    full.train(export=False)
    part = Trainer(_cfg(steps=5, **levers), random_data, tmp_path / "part", progress=False)
    calls = []

    def ctrl_c_in_third_step(module, inputs, output):  # D's forward, inside the step
        calls.append(part.step)
        if part.step == 2 and calls.count(2) == 2:
            os.kill(os.getpid(), signal.SIGINT)

    hook = part.D.register_forward_hook(ctrl_c_in_third_step)
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        part.train(export=False)
    hook.remove()
    assert signal.getsignal(signal.SIGINT) is before
    assert part.step == 3 and part.checkpoints()[-1].name == "step_00000003.pt"
    resumed = Trainer(_cfg(steps=5, **levers), random_data, tmp_path / "part", resume=True, progress=False)
    assert resumed.step == 3
    resumed.train(export=False)
    a, b = _all_state(full), _all_state(resumed)
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_nan_stops_training_with_a_message(random_data, tmp_path):
    tr = Trainer(_cfg(steps=5), random_data, tmp_path / "nan", progress=False)
    with torch.no_grad():
        tr.G.blocks.s4.conv.weight.fill_(float("nan"))
    with pytest.raises(TrainingStopped, match="NaN"):
        tr.train(export=False)
    events = [json.loads(line)["event"] for line in (tmp_path / "nan" / "log.jsonl").read_text().splitlines()]
    assert events[-1] == "stopped"


def test_divergence_stops_after_patience(random_data, tmp_path):
    tr = Trainer(_cfg(diverge_patience=3), random_data, tmp_path / "div", progress=False)
    lost = {"d_loss": 1e-5, "g_loss": 25.0, "g_fake": 25.0}
    tr._check_health(lost)
    tr._check_health({"d_loss": 0.5, "g_loss": 1.0, "g_fake": 1.0})  # recovery resets the count
    tr._check_health(lost)
    tr._check_health(lost)
    with pytest.raises(TrainingStopped, match="diverged"):
        tr._check_health(lost)


def test_standing_stats_make_eval_output_match_train_output(random_data, tmp_path):
    tr = Trainer(_cfg(steps=3, sample_every=3, ema_decay=0.5, standing_stats_batches=20), random_data,
                 tmp_path / "ss", progress=False)
    result = tr.train()
    s = result["standing_stats"]
    assert s["eval_train_gap_after"] < 0.5 * s["eval_train_gap_before"], s
    assert s["eval_train_gap_after"] < 0.05, s
    run = tmp_path / "ss"
    for name in ("config.json", "log.jsonl", "loss_curve.png", "samples/step_00000003.png",
                 "samples/step_00000003_eval.png", "samples/final_eval.png"):
        assert (run / name).is_file(), name
    cfg = json.loads((run / "weights" / "config.json").read_text())
    assert set(cfg["files"]) == {"generator", "discriminator"}
    assert cfg["training"]["standing_stats"] == s and cfg["training"]["generator_weights"] == "ema"


def test_unknown_mode_seeking_distance_is_a_clear_error(random_data, tmp_path):
    with pytest.raises(UserError, match="mode-seeking-on"):
        Trainer(_cfg(steps=1, mode_seeking_on="hue"), random_data, tmp_path / "r", progress=False)


def test_lr_halves_every_n_epochs(random_data, tmp_path):
    tr = Trainer(_cfg(lr_halve_every=2), random_data, tmp_path / "lr", progress=False)
    per_epoch = len(random_data) / 8  # 3 steps per epoch
    assert tr.lr_factor(0) == 1.0 and tr.lr_factor(int(2 * per_epoch)) == 0.5
    assert tr.lr_factor(int(4 * per_epoch)) == 0.25


def test_lr_decays_linearly_to_zero_over_the_last_share(random_data, tmp_path):
    tr = Trainer(_cfg(lr_halve_every=0, lr_decay=0.4, steps=100), random_data, tmp_path / "d",
                 progress=False)
    assert tr.lr_factor(0) == 1.0 and tr.lr_factor(60) == 1.0      # flat until 60% of the run
    assert tr.lr_factor(80) == pytest.approx(0.5) and tr.lr_factor(99) == pytest.approx(1 / 40)
    tr.train_step()                                                  # the optimisers get it
    assert tr.opt_g.param_groups[0]["lr"] == tr.cfg.lr_g
    tr.step = 90
    tr.train_step()
    assert tr.opt_d.param_groups[0]["lr"] == pytest.approx(0.25 * tr.cfg.lr_d)
    with pytest.raises(UserError, match="--lr-decay"):
        Trainer(_cfg(lr_decay=1.5), random_data, tmp_path / "bad", progress=False)


def test_train_and_train_style_commands(tiny_synthbirds, tmp_path):
    from t2i_core.__main__ import main
    from t2i_core.checkpoint import load_weights, save_weights
    from t2i_core.config import preset, to_dict
    from t2i_core.text.char_cnn_rnn import CharCNNRNN

    torch.manual_seed(0)
    te = CharCNNRNN(preset("tiny", "text"))
    save_weights(tmp_path / "te", {"text_encoder": te.state_dict()}, {"components": {"text_encoder": to_dict(te.cfg)}})
    run = tmp_path / "run"
    common = ["--data", str(tiny_synthbirds), "--text-encoder", str(tmp_path / "te"), "--out", str(run),
              "--preset", "tiny", "--batch-size", "8", "--cache-dir", str(tmp_path / "cache"), "--no-progress",
              "--sample-every", "2", "--ckpt-every", "2", "--standing-stats-batches", "2", "--device", "cpu"]
    assert main(["train", *common, "--steps", "2"]) == 0
    assert main(["train", *common, "--steps", "3", "--resume"]) == 0
    assert json.loads((run / "config.json").read_text())["training"]["steps"] == 3
    style = tmp_path / "style"
    assert main(["train-style", "--weights", str(run / "weights"), "--out", str(style), "--steps", "3",
                 "--batch-size", "8", "--eval-every", "0", "--ckpt-every", "1", "--keep", "2", "--no-progress",
                 "--device", "cpu", "--augment"]) == 0
    config, states = load_weights(style / "weights")
    assert set(states) == {"text_encoder", "generator", "discriminator", "style_encoder"}
    assert config["training"]["final_step"] == 3 and config["style_training"]["result"]["step"] == 3
    assert config["style_training"]["augment"] is True
    assert set(config["components"]) == set(states)
    assert config["dataset"]["synthbirds_seed"] == 0  # evaluate's procedural test classes follow it
    assert json.loads((run / "config.json").read_text())["dataset"]["synthbirds_seed"] == 0
    assert torch.equal(states["text_encoder"]["proj.weight"], te.state_dict()["proj.weight"])
    # the style run folder has the layout every trainer shares; the source folder is untouched
    assert "style_encoder" not in load_weights(run / "weights")[1]
    assert not list((run / "weights").glob("*.pt"))
    assert [p.name for p in sorted((style / "checkpoints").iterdir())] == ["step_00000002.pt", "step_00000003.pt"]
    run_cfg = json.loads((style / "config.json").read_text())
    assert run_cfg["command"] == "train-style" and run_cfg["source_weights"] == str(run / "weights")
    assert [r["event"] for r in map(json.loads, (style / "log.jsonl").read_text().splitlines())] == ["final"]
    # resume: a longer run continues from step 3 (--weights may be left out: the run's own source)
    assert main(["train-style", "--out", str(style), "--steps", "4", "--no-progress", "--resume"]) == 0
    assert load_weights(style / "weights")[0]["style_training"]["result"]["step"] == 4
    # a new run never overwrites one, and a resumed run keeps its settings
    assert main(["train-style", "--weights", str(run / "weights"), "--out", str(style), "--steps", "4"]) == 2
    assert main(["train-style", "--out", str(style), "--steps", "5", "--lr", "0.1", "--resume"]) == 2


def test_train_style_bad_runs_give_one_clear_error(tmp_path, capsys):
    from t2i_core.__main__ import main

    assert main(["train-style", "--out", str(tmp_path / "none"), "--resume", "--no-progress"]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    assert main(["train-style", "--out", str(tmp_path / "none"), "--no-progress"]) == 2
    assert "--weights is required" in capsys.readouterr().err
    assert main(["train-style", "--weights", str(tmp_path / "style" / "weights"), "--out", str(tmp_path / "style"),
                 "--no-progress"]) == 2
    assert "would overwrite its own source weights" in capsys.readouterr().err


def test_style_encoder_learns_to_recover_z_on_held_out_noise(random_data):
    from t2i_core.config import GeneratorConfig, StyleEncoderConfig
    from t2i_core.models import Generator
    from t2i_core.train.gan_data import embedding_sampler
    from t2i_core.train.style_trainer import StyleTrainConfig, StyleTrainer, style_loss

    z = torch.randn(4, 8)
    assert style_loss(z, z) == 0 and torch.isclose(style_loss(z, torch.zeros_like(z)), z.pow(2).sum(1).mean())
    torch.manual_seed(0)
    from t2i_core.train.standing_stats import generator_batches, recompute_bn_stats

    g = Generator(GeneratorConfig(z_dim=8, embed_dim=32, proj_dim=8, ngf=8))
    recompute_bn_stats(g, generator_batches(g, embedding_sampler(random_data), batch_size=16), 8)
    cfg = StyleTrainConfig(steps=30, batch_size=16, lr=1e-3, eval_every=0, eval_size=64, standing_stats_batches=4)
    trainer = StyleTrainer(cfg, g, StyleEncoderConfig(z_dim=8, ndf=8), embedding_sampler(random_data))
    before = trainer.evaluate()["heldout_loss"]
    final = trainer.train(progress=False)
    assert final["step"] == 30 and not trainer.S.training
    assert final["heldout_loss"] < 0.5 * min(before, final["baseline_loss"]), (before, final)


@pytest.mark.parametrize("augment", [False, True])
def test_style_trainer_checkpoint_resumes_exactly(random_data, tmp_path, augment):
    from t2i_core.config import GeneratorConfig, StyleEncoderConfig
    from t2i_core.errors import UserError
    from t2i_core.models import Generator
    from t2i_core.train.gan_data import embedding_sampler
    from t2i_core.config import to_dict
    from t2i_core.train.run_folder import RunFolder
    from t2i_core.train.style_config import RESUMABLE_CHANGES
    from t2i_core.train.style_trainer import StyleTrainConfig, StyleTrainer

    torch.manual_seed(0)
    g = Generator(GeneratorConfig(z_dim=8, embed_dim=32, proj_dim=8, ngf=8)).eval()

    def make(steps, name, resume=False, **kw):
        cfg = StyleTrainConfig(steps=steps, batch_size=8, eval_every=2, eval_size=16, standing_stats_batches=1,
                               augment=augment, ckpt_every=2, **kw)
        folder = RunFolder(tmp_path / name)
        latest = folder.start({"training": to_dict(cfg)}, resume=resume, resumable=RESUMABLE_CHANGES)
        trainer = StyleTrainer(cfg, g, StyleEncoderConfig(z_dim=8, ndf=8), embedding_sampler(random_data),
                               folder=folder)
        return trainer, latest

    full, _ = make(5, "full")
    full.train(progress=False)
    make(3, "part")[0].train(progress=False)  # "interrupted" after step 3 (saved at the end)
    with pytest.raises(UserError, match="different settings"):
        make(5, "part", resume=True, lr=1e-3)
    resumed, latest = make(5, "part", resume=True)
    assert latest.name == "step_00000003.pt" and resumed.load(latest) == 3
    resumed.train(progress=False)
    assert resumed.step == full.step == 5 and resumed.history == full.history
    a, b = full.S.state_dict(), resumed.S.state_dict()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    for pid, st in full.opt.state_dict()["state"].items():
        for k, v in st.items():
            assert torch.equal(v, resumed.opt.state_dict()["state"][pid][k]), (pid, k)


def test_style_contrastive_term_adds_infonce_and_codes_find_their_own_z(random_data):
    from t2i_core.config import GeneratorConfig, StyleEncoderConfig
    from t2i_core.models import Generator
    from t2i_core.train.gan_data import embedding_sampler
    from t2i_core.train.losses import matching_loss
    from t2i_core.train.standing_stats import generator_batches, recompute_bn_stats
    from t2i_core.train.style_trainer import StyleTrainConfig, StyleTrainer, style_loss

    torch.manual_seed(0)
    g = Generator(GeneratorConfig(z_dim=8, embed_dim=32, proj_dim=8, ngf=8))
    recompute_bn_stats(g, generator_batches(g, embedding_sampler(random_data), batch_size=16), 8)
    cfg = StyleTrainConfig(steps=40, batch_size=16, lr=1e-3, eval_every=0, eval_size=64, standing_stats_batches=4,
                           contrastive=2.0)
    trainer = StyleTrainer(cfg, g, StyleEncoderConfig(z_dim=8, ndf=8), embedding_sampler(random_data))
    # one step's loss is L_style + λ · InfoNCE of the codes against their own z (S in eval mode
    # to recompute it: the same batch, the same S as the step sees)
    trainer.S.eval()
    torch.manual_seed(1)
    z = torch.randn(cfg.batch_size, 8)
    x = trainer._render(z, trainer._embeddings(cfg.batch_size))
    with torch.no_grad():
        z_hat = trainer.S(x)
    want = style_loss(z, z_hat) + 2.0 * matching_loss(z_hat, z, torch.arange(len(z)))
    torch.manual_seed(1)  # the step draws the same batch; BN stays in eval mode: the same function
    assert abs(trainer.train_step() - float(want)) < 1e-4
    trainer.S.train()
    trainer.train(progress=False)
    zh, emb = trainer._heldout
    with torch.no_grad():
        codes = trainer.S(trainer._render(zh, emb))
    sim = torch.nn.functional.normalize(codes, dim=1) @ torch.nn.functional.normalize(zh, dim=1).t()
    hits = (sim.argmax(1) == torch.arange(len(zh))).float().mean()
    assert hits > 0.3, hits  # chance: 1 / 64
