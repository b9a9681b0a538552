"""The recipe levers (resize upsampling, conditional BN, projection D, match head, frozen-θ
matching), the named recipes, and the time-to-quality probe."""

import argparse
import json

import numpy as np
import pytest
import torch

from t2i_core.config import DiscriminatorConfig, GeneratorConfig
from t2i_core.errors import UserError
from t2i_core.models import Discriminator, Generator
from t2i_core.text.image_encoder import ImageEncoder
from t2i_core.train.gan_config import RECIPES, GANTrainConfig, recipe_settings
from t2i_core.train.gan_step import StepOptions, gan_step
from t2i_core.train.losses import matching_loss

E = 16


def _g(**kw):
    torch.manual_seed(0)
    return Generator(GeneratorConfig(z_dim=8, embed_dim=E, proj_dim=8, ngf=4, **kw))


def _d(**kw):
    torch.manual_seed(0)
    return Discriminator(DiscriminatorConfig(embed_dim=E, proj_dim=8, ndf=4, **kw))


@pytest.mark.parametrize("upsample", ["deconv", "resize", "resize-last"])
def test_generator_upsampling_modes_draw_64px_images(upsample):
    g = _g(upsample=upsample)
    out = g(torch.randn(3, 8), torch.randn(3, E))
    assert out.shape == (3, 3, 64, 64) and out.abs().max() <= 1
    convt = [m for m in g.modules() if isinstance(m, torch.nn.ConvTranspose2d)]
    # Project4x4 (the 1×1 → 4×4 layer) is a ConvTranspose2d in every mode; the ×2 stages follow the mode
    assert len(convt) == {"deconv": 5, "resize": 1, "resize-last": 4}[upsample]
    with pytest.raises(UserError, match="upsample"):
        _g(upsample="bicubic")


def test_resize_upsampling_has_no_checkerboard_at_init():
    """A constant input map stays constant through nearest ×2 + 3×3 conv away from the border,
    while stride-2 transposed convs imprint a period-2 pattern (Odena et al. 2016)."""
    from t2i_core.models.generator import upsample2x

    torch.manual_seed(0)
    x = torch.ones(1, 4, 8, 8)
    for mode, periodic in (("deconv", True), ("resize", False)):
        with torch.no_grad():
            y = upsample2x(4, 1, mode)(x)[0, 0, 2:-2, 2:-2]
        spread = float(y.max() - y.min())
        assert (spread > 1e-3) == periodic, (mode, spread)


@pytest.mark.parametrize("channels_last", [False, True])
def test_resize_conv_equals_upsample_then_conv(channels_last):
    """ResizeConv2d (one stride-2 transposed conv with a folded kernel) computes exactly nearest ×2
    then 3×3 conv, borders included, forward and both gradients, with the plain pair's state dict."""
    from t2i_core.models.generator import ResizeConv2d

    torch.manual_seed(0)
    m = ResizeConv2d(6, 5)
    x = torch.randn(3, 6, 5, 7)
    if channels_last:
        m.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    plain = torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="nearest"),
                                torch.nn.Conv2d(6, 5, 3, 1, 1, bias=False))
    plain.load_state_dict(m.state_dict())  # same keys and shapes
    y, ref = m(x), plain(x)
    assert y.shape == ref.shape == (3, 5, 10, 14)
    torch.testing.assert_close(y, ref, rtol=1e-5, atol=1e-5)
    g = torch.randn_like(ref)
    got = torch.autograd.grad(y, (x, m[1].weight), g)
    want = torch.autograd.grad(ref, (x, plain[1].weight), g)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4)


def test_conditional_bn_makes_every_stage_follow_the_text_code():
    g = _g(cond_bn=True)
    cond = [m for m in g.modules() if type(m).__name__ == "CondBatchNorm2d"]
    assert len(cond) == 4
    for m in cond:  # trained a little: γ(c), β(c) no longer zero
        torch.nn.init.normal_(m.gamma.weight, 0, 0.5)
        torch.nn.init.normal_(m.beta.weight, 0, 0.5)
    g.eval()
    z = torch.randn(1, 8).expand(2, -1)
    emb = torch.randn(2, E)
    code = g.text_code(emb)[0]
    # same z, two captions: the first stage's output already differs through the BN's γ, β
    h = torch.cat([z, code], 1)[:, :, None, None]
    s4 = g.blocks.s4
    plain = s4.act(torch.nn.functional.batch_norm(s4.conv(h), s4.bn.running_mean, s4.bn.running_var))
    modulated = s4.act(s4.bn(s4.conv(h), code))
    assert not torch.allclose(plain, modulated)
    assert g(z, emb).shape == (2, 3, 64, 64)


def test_projection_and_match_head():
    d = _d(projection=True, match_head=True, spectral_norm=True).eval()  # eval: no power iteration
    x, emb = torch.rand(4, 3, 64, 64) * 2 - 1, torch.randn(4, E)
    logits = d(x, emb)
    (right, wrong), matched = d(x, emb, wrong_emb=emb.flip(0), with_match=True)
    assert logits.shape == (4,) and torch.allclose(logits, right) and matched.shape == (4, E)
    d = _d(projection=True).eval()
    logits = d(x, emb)
    pooled = d.trunk(x).sum(dim=(2, 3))
    with torch.no_grad():  # the projection term is ⟨ψ(φ(t)), Σ_xy trunk(x)⟩ on top of the paper's head
        term = (d.text_proj_embed(emb) * pooled).sum(1)
        d.text_proj_embed.weight.zero_()
    assert torch.allclose(logits - d(x, emb), term, atol=1e-5) and term.abs().min() > 0
    with pytest.raises(UserError, match="no match head"):
        _d()(x, emb, with_match=True)


def test_matching_loss_prefers_aligned_pairs_and_ignores_same_class_negatives():
    torch.manual_seed(0)
    txt = torch.randn(6, E)
    idx = torch.arange(6)
    aligned = matching_loss(txt + 0.01 * torch.randn(6, E), txt, idx)
    shuffled = matching_loss(txt[torch.tensor([1, 2, 3, 4, 5, 0])], txt, idx)
    assert aligned < 0.1 < shuffled
    # a second caption of the image's own class is not a negative (it is one for other classes)
    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    img = torch.randn(6, E)
    base = matching_loss(img[:1], txt[:5], idx[:1], labels[:5])
    assert torch.allclose(base, matching_loss(img[:1], txt, idx[:1], labels))
    assert not torch.allclose(matching_loss(img[1:2], txt[:5], idx[1:2], labels[:5]),
                              matching_loss(img[1:2], txt, idx[1:2], labels))
    # fakes drawn twice for the first half of the captions (mode seeking) point at their rows
    targets = torch.tensor([0, 1, 2, 0, 1, 2])
    assert torch.isfinite(matching_loss(torch.randn(6, E), txt[:6], targets))


def test_fast_levers_train_g_through_frozen_theta_and_d_head():
    from t2i_core.config import ImageEncoderConfig

    g, d = _g(upsample="resize", cond_bn=True), _d(projection=True, match_head=True, spectral_norm=True)
    torch.manual_seed(1)
    theta = ImageEncoder(ImageEncoderConfig(channels=4, embed_dim=E)).eval().requires_grad_(False)
    theta0 = {k: v.clone() for k, v in theta.state_dict().items()}
    g0 = [p.detach().clone() for p in g.parameters()]
    opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
    b = 6
    batch = {"images": torch.rand(b, 3, 64, 64) * 2 - 1, "emb": torch.randn(b, E), "wrong_emb": torch.randn(b, E),
             "labels": torch.arange(b)}
    opts = StepOptions("gan-int-cls", mode_seeking=1.0, match_weight=1.0, theta_weight=1.0)
    stats = gan_step(g, d, opt_g, opt_d, batch, opts, theta=theta)
    for key in ("d_match", "g_match", "g_theta", "ms"):
        assert np.isfinite(stats[key]), key
    assert all(torch.equal(v, theta.state_dict()[k]) for k, v in theta0.items())  # θ stays frozen
    assert any(not torch.equal(a, p) for a, p in zip(g0, g.parameters()))
    off = gan_step(g, d, opt_g, opt_d, batch, StepOptions("gan-int-cls"), theta=None)
    assert "g_theta" not in off and "g_match" not in off and "d_match" in off  # D's head always learns


def test_latent_head_reads_z_and_latent_regression_trains_it_with_g():
    """InfoGAN's Q on D's trunk: ``with_latent`` appends the reading of z[:, :N] (after the match
    vector); with ``latent_weight`` D's head learns to read z back from the fakes and G gets the
    same error, and the paper's step has neither."""
    x, emb = torch.rand(4, 3, 64, 64) * 2 - 1, torch.randn(4, E)
    d = _d(match_head=True, latent_dims=3).eval()
    s, matched, z_read = d(x, emb, with_match=True, with_latent=True)
    assert s.shape == (4,) and matched.shape == (4, E) and z_read.shape == (4, 3)
    assert torch.equal(d(x, emb, with_latent=True)[1], z_read) and torch.equal(d(x, emb), s)
    with pytest.raises(UserError, match="no latent head"):
        _d()(x, emb, with_latent=True)

    g, d = _g(upsample="resize"), _d(latent_dims=3)
    opt_g = torch.optim.Adam(g.parameters(), 1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 1e-3, betas=(0.5, 0.999))
    b = 16
    batch = {"images": torch.rand(b, 3, 64, 64) * 2 - 1, "emb": torch.randn(b, E), "wrong_emb": torch.randn(b, E)}
    opts = StepOptions("gan-cls", latent_weight=1.0)
    torch.manual_seed(0)
    losses = [gan_step(g, d, opt_g, opt_d, batch, opts) for _ in range(60)]
    first = np.mean([r["d_latent"] for r in losses[:5]])
    last = np.mean([r["d_latent"] for r in losses[-5:]])
    assert last < 0.8 * first, (first, last)          # z ~ N(0, I): reading nothing scores ~1
    assert all(np.isfinite(r["g_latent"]) for r in losses)
    off = gan_step(g, d, opt_g, opt_d, batch, StepOptions("gan-cls"))
    assert "d_latent" not in off and "g_latent" not in off
    with pytest.raises(ValueError, match="latent head"):
        gan_step(_g(), _d(), opt_g, opt_d, batch, opts)


def test_latent_regression_settings_are_checked():
    from t2i_core.train.gan_trainer import model_configs

    assert RECIPES["paper"].get("latent_regression", 0) == 0
    _, d = model_configs(GANTrainConfig(preset="tiny", latent_regression=0.5, latent_dims=4), 32)
    assert d.latent_dims == 4
    assert model_configs(GANTrainConfig(preset="tiny", latent_dims=4), 32)[1].latent_dims == 0
    for bad in (dict(latent_regression=-1.0), dict(latent_regression=1.0, latent_dims=0),
                dict(latent_regression=1.0, latent_dims=10_000)):
        with pytest.raises(UserError, match="latent"):
            model_configs(GANTrainConfig(preset="tiny", **bad), 32)


def test_mode_seeking_on_edges_and_layout_reaches_the_step():
    batch = {"images": torch.rand(6, 3, 64, 64) * 2 - 1, "emb": torch.randn(6, E), "wrong_emb": torch.randn(6, E)}

    def ms_term(space):
        g, d = _g(upsample="resize"), _d()
        opt_g = torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))
        torch.manual_seed(0)  # the same z for both spaces
        return gan_step(g, d, opt_g, opt_d, batch, StepOptions("gan-cls", mode_seeking=1.0, mode_seeking_on=space))["ms"]

    pixels, edges, layout = ms_term("pixels"), ms_term("edges"), ms_term("layout")
    assert np.isfinite(edges) and np.isfinite(layout) and len({pixels, edges, layout}) == 3
    assert GANTrainConfig().mode_seeking_on == "pixels" and "mode_seeking_on" not in RECIPES["paper"]


def test_named_recipes_and_flag_precedence(tmp_path):
    from t2i_core.cli.train import add_arguments, resolve_config

    assert recipe_settings("paper") == {"recipe": "paper"}
    defaults = GANTrainConfig()
    assert defaults.upsample == "deconv" and not defaults.projection and not defaults.match_head
    assert defaults.theta_weight == 0 and not defaults.spectral_norm and defaults.ema_decay == 0
    assert set(RECIPES) >= {"paper", "fast"}
    with pytest.raises(UserError, match="unknown recipe"):
        recipe_settings("faster")

    def parse(*argv):
        p = argparse.ArgumentParser()
        add_arguments(p)
        return resolve_config(p.parse_args(["--out", str(tmp_path / "run"), *argv]))[0]

    from t2i_core.train.gan_trainer import model_configs

    g, d = model_configs(parse("--ndf", "32"), 1024)
    assert d.ndf == 32 and g.ngf == 32                             # small: ngf 32, ndf 16
    g, d = model_configs(parse(), 1024)
    assert d.ndf == 16 and g.ngf == 32
    assert model_configs(parse("--ngf", "48"), 1024)[0].ngf == 48
    fast = parse("--recipe", "fast")
    for key, value in RECIPES["fast"].items():
        assert getattr(fast, key) == value, key
    assert fast.recipe == "fast"
    assert parse().load_size == 76 and fast.load_size == 64  # §5's resize + crop; fast: the renders' scale
    tuned = parse("--recipe", "fast", "--theta-weight", "0", "--no-match-head", "--upsample", "deconv")
    assert tuned.theta_weight == 0 and not tuned.match_head and tuned.upsample == "deconv"
    assert parse().recipe == "paper" and parse().upsample == "deconv"
    # a resumed run keeps its stored recipe settings unless a flag says otherwise
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "config.json").write_text(json.dumps({"training": {**vars(fast)}}))
    resumed = parse("--resume", "--steps", "7")
    assert resumed.match_head and resumed.steps == 7 and resumed.recipe == "fast"
    # SynthFlowers data: fast keeps Reed's 76-pixel zoom (RECIPE_DOMAINS), unless a flag says otherwise
    flowers = tmp_path / "flowers"
    flowers.mkdir()
    (flowers / "attributes.jsonl").write_text("")
    (flowers / "synthflowers.json").write_text("{}")
    assert recipe_settings("fast", "flowers")["load_size"] == 76
    assert fast.variant == "gan-cls" and recipe_settings("fast", "flowers")["variant"] == "gan-int-cls"
    assert parse("--out", str(tmp_path / "p"), "--recipe", "paper").variant == "gan-int-cls"  # ablate's
    assert recipe_settings("fast", "birds")["load_size"] == 64 == recipe_settings("fast")["load_size"]
    new = ("--out", str(tmp_path / "new"), "--recipe", "fast", "--data", str(flowers))
    assert parse(*new).load_size == 76 and parse(*new, "--load-size", "64").load_size == 64
    (flowers / "synthflowers.json").unlink()                        # now a SynthBirds-style folder
    assert parse(*new).load_size == 64
    (tmp_path / "run" / "config.json").write_text(
        json.dumps({"training": {**vars(fast)}, "dataset": {"domain": "flowers"}}))
    assert parse("--resume", "--recipe", "fast").load_size == 76    # the run's own domain


def test_frechet_distance():
    from t2i_core.eval.metrics import frechet_distance

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3000, 4)), rng.normal(size=(3000, 4))
    assert frechet_distance(a, b) < 0.05
    assert abs(frechet_distance(a, b + 2.0) - 16.0) < 0.3  # ‖Δμ‖² = 4 · 2²
    assert frechet_distance(a, 3 * b) > 10  # Tr(Σa + Σb − 2√(ΣaΣb)) = 4 (1 + 9 − 6)
    with pytest.raises(UserError):
        frechet_distance(a[:, :2], b)


def test_curve_probe_scores_a_generator_on_unseen_captions():
    from t2i_core.config import preset
    from t2i_core.eval.curve import CurveProbe
    from t2i_core.eval.judge import load_judge
    from t2i_core.text.char_cnn_rnn import CharCNNRNN

    torch.manual_seed(0)
    te = CharCNNRNN(preset("tiny", "text"))
    probe = CurveProbe(te, n_captions=6, per_caption=2, style_captions=2, style_z=4, fid_images=8,
                       judge=load_judge())
    g = Generator(GeneratorConfig(z_dim=8, embed_dim=32, proj_dim=8, ngf=4)).eval()
    first, again = probe(g), probe(g)
    assert first == again  # fixed draws: a curve point depends only on the weights
    assert 0 <= first["per_attribute"] <= 1 and 0 <= first["all_correct"] <= first["per_attribute"]
    assert set(first["by_attribute"]) <= {"crown", "wing", "belly", "beak"}
    assert first["frechet_judge"] > first["frechet_judge_floor"] >= 0  # an untrained G is far from real

    # known values: a "generator" that always draws the same real render of a red-crowned,
    # left-facing bird has no background spread, faces left every time, and matches "red crown"
    from t2i_core.data.synthbirds import render, sample_style

    style = {**sample_style(np.random.default_rng(0)), "facing": "left"}
    bird = render({"crown": "red", "wing": "blue", "belly": "yellow", "beak": "short"}, style)
    x = torch.from_numpy(bird).permute(2, 0, 1).float().div(127.5).sub(1.0)

    class Stamp(torch.nn.Module):
        cfg = g.cfg

        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, z, emb, **_):
            return x.expand(len(z), -1, -1, -1) + 0 * self.w

    fixed = probe(Stamp())
    assert fixed["background_spread_delta_e"] == 0.0 and fixed["facing_left_share"] == 1.0
    assert fixed["facing_minority_share"] == 0.0


def test_eval_every_logs_curve_points_without_changing_training(tiny_synthbirds, tmp_path):
    from t2i_core.data.dataset import open_dataset
    from t2i_core.train.gan_data import load_split, standin_embeddings
    from t2i_core.train.gan_trainer import Trainer

    index = open_dataset(tiny_synthbirds)
    data = load_split(index, "all", *standin_embeddings(index, dim=32), progress=False)
    seen = []

    def probe(generator):
        assert not generator.training  # the exported copy, eval mode with standing statistics
        seen.append(generator)
        return {"per_attribute": 0.5 + 0.01 * len(seen)}

    def run(name, **kw):
        settings = {**RECIPES["fast"], "ema_decay": 0.9, "theta_weight": 0.0, **kw}
        cfg = GANTrainConfig(preset="tiny", steps=6, batch_size=8, sample_every=0, ckpt_every=0, log_every=1,
                             standing_stats_batches=2, device="cpu", **settings)
        tr = Trainer(cfg, data, tmp_path / name, progress=False, probe=probe if cfg.eval_every else None)
        tr.train(export=False)
        return tr

    plain, probed = run("plain"), run("probed", eval_every=3)
    assert len(seen) == 2 and all(g is not probed.G_ema for g in seen)
    for k, v in plain.G.state_dict().items():
        assert torch.equal(v, probed.G.state_dict()[k]), k
    rows = [json.loads(line) for line in (tmp_path / "probed" / "log.jsonl").read_text().splitlines()]
    evals = [r for r in rows if r.get("event") == "eval"]
    assert [r["step"] for r in evals] == [3, 6] and [r["per_attribute"] for r in evals] == [0.51, 0.52]
    assert 0 < evals[0]["cpu_minutes"] < evals[1]["cpu_minutes"]


def test_ablate_trains_each_variant_with_the_papers_recipe(monkeypatch, tmp_path):
    """`ablate` keeps Reed et al.'s exact recipe: every lever of `fast` is off in its configs."""
    from t2i_core.eval import ablation
    from t2i_core.train import gan_trainer

    seen = []

    class Capture:
        def __init__(self, cfg, *a, **k):
            seen.append(cfg)

        def train(self):
            return {"weights": str(tmp_path)}

    monkeypatch.setattr(gan_trainer, "Trainer", Capture)
    for variant in ("gan", "gan-cls", "gan-int", "gan-int-cls"):
        ablation.train_variant(variant, None, None, {}, tmp_path / variant, steps=1, seed=0,
                               preset="tiny", batch_size=4, progress=False)
    assert [c.variant for c in seen] == ["gan", "gan-cls", "gan-int", "gan-int-cls"]
    default = GANTrainConfig()
    for cfg in seen:
        assert cfg.recipe == "paper"
        for key in set(RECIPES["fast"]) - {"variant"}:                   # the variant is ablate's own
            assert getattr(cfg, key) == getattr(default, key), key
    # `ablate --recipe fast`: the same four variants, each with every lever of `fast`
    seen.clear()
    for variant in ("gan", "gan-int-cls"):
        ablation.train_variant(variant, None, None, {}, tmp_path / variant, steps=1, seed=0, preset="tiny",
                               batch_size=4, progress=False, settings=ablation.variant_settings("fast"))
    assert [c.variant for c in seen] == ["gan", "gan-int-cls"]
    for cfg in seen:
        assert cfg.recipe == "fast"
        for key in set(RECIPES["fast"]) - {"variant"}:
            assert getattr(cfg, key) == RECIPES["fast"][key], key


def test_class_prototypes_and_hard_wrong_texts():
    from t2i_core.train.gan_data import HardWrong, class_prototypes, from_arrays

    # 6 classes × 3 images, one caption each; classes 2k and 2k+1 are near twins in φ
    torch.manual_seed(0)
    centres = torch.randn(3, E).repeat_interleave(2, 0) + 0.05 * torch.randn(6, E)
    labels = torch.arange(6).repeat_interleave(3) * 2 + 10          # sparse labels: rows ≠ labels
    emb = centres.repeat_interleave(3, 0) + 0.01 * torch.randn(18, E)
    data = from_arrays(np.zeros((18, 3, 8, 8), np.uint8), emb, torch.arange(19), labels, grid_rows=0)
    protos, row = class_prototypes(data)
    assert protos.shape == (6, E) and row[10] == 0 and row[20] == 5 and row[11] == -1
    assert torch.allclose(protos[1], emb[3:6].mean(0), atol=1e-3)   # float16 cache
    idx = torch.arange(18).repeat(20)
    hard = HardWrong(data, p=1.0, k=1)(idx)
    assert (data.labels[hard] != data.labels[idx]).all()
    twin = (row[data.labels[idx]] // 2 == row[data.labels[hard]] // 2)
    assert twin.all()                                               # always the nearest class
    some = HardWrong(data, p=0.0, k=1)(idx)
    assert (data.labels[some] != data.labels[idx]).all() and not twin.eq(
        row[data.labels[idx]] // 2 == row[data.labels[some]] // 2).all()


def test_class_negatives_score_fakes_against_every_class_prototype():
    from t2i_core.train.gan_step import _match

    torch.manual_seed(0)
    protos = torch.randn(5, E)
    batch = {"labels": torch.tensor([7, 9, 7]), "class_emb": protos,
             "class_row": torch.tensor([-1] * 7 + [3, -1, 1])}
    h = torch.randn(3, E)
    right = _match(protos[[3, 1, 3]], h, torch.arange(3), batch, 0.1)
    wrong = _match(protos[[0, 2, 4]], h, torch.arange(3), batch, 0.1)
    assert right < 0.01 < 1.0 < wrong
    # without prototypes the batch's captions are the negatives (the paper-era DAMSM form)
    del batch["class_emb"]
    assert _match(h, h, torch.arange(3), batch, 0.1) < 0.01


def test_trainer_runs_with_class_negatives_and_hard_wrong_texts(tiny_synthbirds, tmp_path):
    from t2i_core.data.dataset import open_dataset
    from t2i_core.train.gan_data import load_split, standin_embeddings
    from t2i_core.train.gan_trainer import Trainer

    index = open_dataset(tiny_synthbirds)
    data = load_split(index, "all", *standin_embeddings(index, dim=32), progress=False)

    def cfg(**kw):
        return GANTrainConfig(preset="tiny", steps=3, batch_size=8, sample_every=0, ckpt_every=0, log_every=1,
                              standing_stats_batches=2, device="cpu",
                              **{**RECIPES["fast"], "theta_weight": 0.0, **kw})

    tr = Trainer(cfg(match_negatives="classes", hard_wrong=0.5), data, tmp_path / "run", progress=False)
    tr.train(export=False)
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "d_match" in r]
    assert len(steps) == 3 and all(np.isfinite(r["d_match"]) and np.isfinite(r["g_match"]) for r in steps)
    for bad, msg in ((dict(match_negatives="all"), "match-negatives"), (dict(hard_wrong=2.0), "hard-wrong")):
        with pytest.raises(UserError, match=msg):
            Trainer(cfg(**bad), data, tmp_path / "bad", progress=False)


def test_sample_grids_leave_training_unchanged_and_draw_the_standing_g(tiny_synthbirds, tmp_path):
    from t2i_core.data.dataset import open_dataset
    from t2i_core.train.gan_data import load_split, standin_embeddings
    from t2i_core.train.gan_trainer import Trainer

    index = open_dataset(tiny_synthbirds)
    data = load_split(index, "all", *standin_embeddings(index, dim=32), progress=False)

    def run(name, sample_every):
        cfg = GANTrainConfig(preset="tiny", steps=4, batch_size=8, sample_every=sample_every, ckpt_every=0,
                             standing_stats_batches=2, device="cpu",
                             **{**RECIPES["fast"], "ema_decay": 0.9, "theta_weight": 0.0})
        tr = Trainer(cfg, data, tmp_path / name, progress=False)
        tr.train(export=False)
        return tr

    plain, sampled = run("plain", 0), run("sampled", 2)
    assert (tmp_path / "sampled" / "samples" / "step_00000002_eval.png").is_file()
    for k, v in plain.G.state_dict().items():
        assert torch.equal(v, sampled.G.state_dict()[k]), k


def test_load_size_64_trains_on_the_renders_own_pixels(tiny_synthbirds):
    """--load-size 64 on 64-pixel renders: no resize, the batch is each image or its mirror; the
    paper's 76 zooms every image 1.19x (a crop of a resized image matches neither)."""
    from t2i_core.data.dataset import open_dataset
    from t2i_core.train.gan_data import augment, load_split, standin_embeddings

    index = open_dataset(tiny_synthbirds)
    emb = standin_embeddings(index, dim=32)
    native = load_split(index, "all", *emb, load_size=64, progress=False).images
    assert native.shape[-1] == 64
    batch = augment(native[:8])
    as_float = native[:8].float().div(127.5).sub(1.0)
    assert all(torch.equal(b, a) or torch.equal(b, a.flip(2)) for b, a in zip(batch, as_float))
    zoomed = load_split(index, "all", *emb, load_size=76, progress=False).images
    assert zoomed.shape[-1] == 76
    crop = augment(zoomed[:8])
    assert not any(torch.equal(b, a) or torch.equal(b, a.flip(2)) for b, a in zip(crop, as_float))
