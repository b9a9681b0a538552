"""Losses (§4.2 Alg. 1, §4.3) term by term, and one GAN step for every variant and lever."""

import math

import pytest
import torch
import torch.nn.functional as F

from t2i_core.config import DiscriminatorConfig, GeneratorConfig
from t2i_core.errors import UserError
from t2i_core.models import Discriminator, Generator
from t2i_core.train.gan_step import StepOptions, gan_step
from t2i_core.train.losses import (VARIANTS, d_loss, g_loss, interpolate_embeddings, mode_seeking_loss,
                                   uses_interpolation, uses_wrong_text)


def _bce(s, y):
    return F.binary_cross_entropy_with_logits(s, torch.full_like(s, y))


def test_d_loss_weights_follow_algorithm_1():
    s_r, s_w, s_f = torch.tensor([1.0, -0.5]), torch.tensor([0.3, 2.0]), torch.tensor([-1.0, 0.2])
    loss, terms = d_loss("gan-cls", s_r, s_f, s_w)
    # maximise log s_r + ½(log(1 − s_w) + log(1 − s_f))
    expected = -(torch.log(torch.sigmoid(s_r)).mean() + 0.5 * (torch.log(1 - torch.sigmoid(s_w)).mean()
                                                                + torch.log(1 - torch.sigmoid(s_f)).mean()))
    assert torch.allclose(loss, expected, atol=1e-6)
    assert set(terms) == {"d_real", "d_wrong", "d_fake"}
    loss_gan, terms_gan = d_loss("gan", s_r, s_f)
    assert torch.allclose(loss_gan, _bce(s_r, 1.0) + _bce(s_f, 0.0))
    assert "d_wrong" not in terms_gan
    assert torch.allclose(d_loss("gan-int", s_r, s_f)[0], loss_gan)
    with_int, _ = d_loss("gan-int-cls", s_r, s_f, s_w, s_int=s_r)  # option d_int_fakes
    assert torch.allclose(with_int, _bce(s_r, 1) + 0.5 * (_bce(s_w, 0) + 0.5 * (_bce(s_f, 0) + _bce(s_r, 0))))


def test_g_loss_adds_the_interpolation_term_for_int_variants():
    s_f, s_i = torch.tensor([0.5, -2.0]), torch.tensor([1.5, 0.0])
    for variant in VARIANTS:
        loss, terms = g_loss(variant, s_f, s_i)
        expected = _bce(s_f, 1.0) + (_bce(s_i, 1.0) if uses_interpolation(variant) else 0.0)
        assert torch.allclose(loss, expected)
        assert ("g_int" in terms) == uses_interpolation(variant)
    with pytest.raises(ValueError):
        g_loss("gan-int", s_f, None)
    with pytest.raises(ValueError):
        d_loss("gan-cls", s_f, s_f, None)
    with pytest.raises(UserError, match="unknown variant"):
        g_loss("gan-xyz", s_f)
    assert [uses_wrong_text(v) for v in VARIANTS] == [False, True, False, True]


def test_interpolation_and_mode_seeking():
    emb = torch.randn(4, 6)
    perm = torch.tensor([1, 2, 3, 0])
    assert torch.allclose(interpolate_embeddings(emb, perm), (emb + emb[perm]) / 2)  # β = 0.5
    z1, z2 = torch.zeros(2, 3), torch.ones(2, 3)
    x = torch.zeros(2, 3, 4, 4)
    close, far = mode_seeking_loss(x, x + 0.1, z1, z2), mode_seeking_loss(x, x + 1.0, z1, z2)
    assert far < close  # minimising it pushes images of different z apart
    # "edges": a backdrop of another colour is no variety, a shape moved elsewhere is
    recoloured = x + 0.5
    moved = x.clone()
    moved[:, :, 1, 1] = 1.0
    assert mode_seeking_loss(x, recoloured, z1, z2) < 10
    assert mode_seeking_loss(x, recoloured, z1, z2, space="edges") > 1e4   # 1 / ε: no distance at all
    assert mode_seeking_loss(x, moved, z1, z2, space="edges") < 100
    # "layout": nor is fine texture; a shape moved to another 4 x 4 cell is
    big = torch.zeros(2, 3, 16, 16)
    textured = big + 0.1 * (torch.arange(16)[:, None] + torch.arange(16)).remainder(2).float()
    shifted = big.clone()
    shifted[:, :, 0:4, 0:4], shifted[:, :, 8:12, 8:12] = 1.0, -1.0
    assert mode_seeking_loss(big, big + 0.5, z1, z2, space="layout") > 1e4
    assert mode_seeking_loss(big, textured, z1, z2, space="layout") > 1e4
    assert mode_seeking_loss(big, textured, z1, z2, space="edges") < 100   # what "layout" fixes
    assert mode_seeking_loss(big, shifted, z1, z2, space="layout") < 100
    # a bird (a quarter of the image) on a recoloured backdrop: about 2a = half the pixel distance
    bird = torch.zeros(2, 3, 16, 16)
    bird[:, :, 4:12, 4:12] = 1.0
    recoloured_backdrop = bird.clone()
    recoloured_backdrop[:, :, :4], recoloured_backdrop[:, :, 12:] = 0.5, 0.5
    recoloured_backdrop[:, :, 4:12, :4], recoloured_backdrop[:, :, 4:12, 12:] = 0.5, 0.5
    pixels = 1 / mode_seeking_loss(bird, recoloured_backdrop, z1, z2)
    layout = 1 / mode_seeking_loss(bird, recoloured_backdrop, z1, z2, space="layout")
    assert 0.4 * pixels < layout < 0.6 * pixels
    # "pixels+layout": one term per space, summed; a recoloured backdrop alone leaves the
    # layout term large, so G must also move shapes to lower it
    both = mode_seeking_loss(bird, recoloured_backdrop, z1, z2, space="pixels+layout")
    assert torch.isclose(both, 1 / pixels + 1 / layout)
    assert mode_seeking_loss(big, big + 0.5, z1, z2, space="pixels+layout") > 1e4
    assert mode_seeking_loss(big, shifted, z1, z2, space="pixels+layout") < 100
    with pytest.raises(ValueError, match="mode-seeking space"):
        mode_seeking_loss(x, moved, z1, z2, space="hue")
    with pytest.raises(ValueError, match="'hue'"):
        mode_seeking_loss(x, moved, z1, z2, space="pixels+hue")
    with pytest.raises(ValueError, match="twice"):
        mode_seeking_loss(x, moved, z1, z2, space="pixels+pixels")


def _nets(cond_aug=False, mbstd=False, sn=False):
    torch.manual_seed(0)
    g = Generator(GeneratorConfig(z_dim=8, embed_dim=16, proj_dim=8, ngf=4, cond_aug=cond_aug))
    d = Discriminator(DiscriminatorConfig(embed_dim=16, proj_dim=8, ndf=4, minibatch_std=mbstd, spectral_norm=sn))
    return g, d, torch.optim.Adam(g.parameters(), 2e-4, betas=(0.5, 0.999)), torch.optim.Adam(d.parameters(), 2e-4, betas=(0.5, 0.999))


def _batch(b=6):
    return {"images": torch.rand(b, 3, 64, 64) * 2 - 1, "emb": torch.randn(b, 16), "wrong_emb": torch.randn(b, 16)}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("levers", [{}, {"d_int_fakes": True, "mode_seeking": 1.0, "cond_aug": True}])
def test_every_variant_is_finite_and_trains_both_networks(variant, levers):
    g, d, opt_g, opt_d = _nets(cond_aug=levers.get("cond_aug", False), mbstd=bool(levers), sn=bool(levers))
    g0 = [p.detach().clone() for p in g.parameters()]
    d0 = [p.detach().clone() for p in d.parameters()]
    calls = []
    hook = d.register_forward_hook(lambda m, i, o: calls.append(i[0].shape[0]))
    opts = StepOptions(variant, d_int_fakes=levers.get("d_int_fakes", False), mode_seeking=levers.get("mode_seeking", 0.0))
    stats = gan_step(g, d, opt_g, opt_d, _batch(), opts)
    hook.remove()
    assert all(math.isfinite(v) for v in stats.values()), stats
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in g.parameters())
    assert all(p.grad is not None for p in d.parameters()) and any(p.grad.abs().sum() > 0 for p in d.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(g0, g.parameters()))
    assert any(not torch.equal(a, b) for a, b in zip(d0, d.parameters()))
    # one homogeneous batch per D call (BatchNorm pitfall): real (+ wrong, same images), fake, [int]
    # in the D step | fake, [int] in the G step
    n_d = 2 + (uses_interpolation(variant) and levers.get("d_int_fakes", False))
    n_g = 1 + uses_interpolation(variant)
    assert calls == [6] * (n_d + n_g)
    assert ("g_int" in stats) == uses_interpolation(variant)
    assert ("kl" in stats) == bool(levers) and ("ms" in stats) == bool(levers)


def test_g_step_leaves_d_weights_alone():
    g, d, opt_g, opt_d = _nets()
    opt_d = torch.optim.SGD(d.parameters(), lr=0.0)  # D step is a no-op
    d0 = {k: v.clone() for k, v in d.state_dict().items() if "running" not in k and "num_batches" not in k}
    gan_step(g, d, opt_g, opt_d, _batch(), StepOptions("gan-int-cls"))
    for k, v in d0.items():
        assert torch.equal(v, d.state_dict()[k]), k
    assert all(p.requires_grad for p in d.parameters())


def test_shared_trunk_call_equals_two_separate_calls():
    from t2i_core.train.standing_stats import frozen_buffers

    _, d, _, _ = _nets(mbstd=True)
    b = _batch()
    with torch.no_grad(), frozen_buffers(d):
        d.train()
        s_r, s_w = d(b["images"], b["emb"], wrong_emb=b["wrong_emb"])
        assert torch.allclose(s_r, d(b["images"], b["emb"]), atol=1e-6)
        assert torch.allclose(s_w, d(b["images"], b["wrong_emb"]), atol=1e-6)
