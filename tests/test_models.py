"""G, D and S (§4.1, §4.4): shapes at every layer boundary, options, bad input, save → load."""

import pytest
import torch

from t2i_core.config import DiscriminatorConfig, GeneratorConfig, StyleEncoderConfig, preset
from t2i_core.errors import UserError
from t2i_core.models import Discriminator, Generator, StyleEncoder, build
from t2i_core.models.generator import Project4x4


def _shapes(module, names, *args, **kwargs):
    """Output shape of each named sub-module for one forward call."""
    seen, hooks = {}, []
    for name in names:
        sub = module.get_submodule(name)
        hooks.append(sub.register_forward_hook(lambda m, i, o, n=name: seen.__setitem__(n, tuple(o.shape))))
    try:
        out = module(*args, **kwargs)
    finally:
        for h in hooks:
            h.remove()
    return seen, out


@pytest.mark.parametrize("residual", [False, True])
def test_generator_shapes_at_each_stage(residual):
    cfg = GeneratorConfig(z_dim=8, embed_dim=32, proj_dim=8, ngf=8, residual=residual)
    g = Generator(cfg)
    z, emb = torch.randn(3, 8), torch.randn(3, 32)
    names = ["text_proj", "blocks.s4", "blocks.s8", "blocks.s16", "blocks.s32", "blocks.s64"]
    seen, out = _shapes(g, names, z, emb)
    ngf = cfg.ngf
    assert seen == {"text_proj": (3, 8), "blocks.s4": (3, ngf * 8, 4, 4), "blocks.s8": (3, ngf * 4, 8, 8),
                    "blocks.s16": (3, ngf * 2, 16, 16), "blocks.s32": (3, ngf, 32, 32),
                    "blocks.s64": (3, 3, 64, 64)}
    assert out.shape == (3, 3, 64, 64) and out.abs().max() <= 1.0  # tanh
    assert hasattr(g.blocks.s4, "res") == residual and hasattr(g.blocks.s8, "res") == residual
    assert not hasattr(g.blocks.s16, "res")


def test_first_layer_matmul_equals_the_transposed_conv():
    """G's first layer is a matmul; forward and gradients match ConvTranspose2d(k=4, s=1, p=0),
    state dicts load both ways, and a channels_last weight gives a channels_last output."""
    assert isinstance(Generator(GeneratorConfig(z_dim=8, embed_dim=32, proj_dim=8, ngf=8)).blocks.s4.conv,
                      Project4x4)
    torch.manual_seed(0)
    fast = Project4x4(12, 16)
    plain = torch.nn.ConvTranspose2d(12, 16, 4, 1, 0, bias=False)
    plain.load_state_dict(fast.state_dict(), strict=True)
    fast.load_state_dict(plain.state_dict(), strict=True)
    for batch in (5, 1):
        x1 = torch.randn(batch, 12, 1, 1, requires_grad=True)
        x2 = x1.detach().clone().requires_grad_(True)
        y1, y2 = fast(x1), plain(x2)
        assert y1.shape == y2.shape == (batch, 16, 4, 4)
        torch.testing.assert_close(y1, y2, rtol=1e-5, atol=1e-6)
        g = torch.randn_like(y1)
        y1.backward(g)
        y2.backward(g)
        torch.testing.assert_close(x1.grad, x2.grad, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(fast.weight.grad, plain.weight.grad, rtol=1e-5, atol=1e-6)
        fast.zero_grad()
        plain.zero_grad()
    x = torch.randn(3, 12, 1, 1)
    big = torch.randn(2, 12, 3, 3)  # not 1×1: falls back to the convolution
    torch.testing.assert_close(fast(big), plain(big))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert fast(x).dtype == plain(x).dtype == torch.bfloat16
    fast.to(memory_format=torch.channels_last)
    y = fast(x)
    assert y.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(y, plain(x), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(fast.as_conv_transpose()(x), plain(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("residual,mbstd", [(False, False), (True, True)])
def test_discriminator_shapes_at_each_stage(residual, mbstd):
    cfg = DiscriminatorConfig(embed_dim=32, proj_dim=8, ndf=8, residual=residual, minibatch_std=mbstd)
    d = Discriminator(cfg)
    x, emb = torch.rand(4, 3, 64, 64) * 2 - 1, torch.randn(4, 32)
    names = ["trunk.s32", "trunk.s16", "trunk.s8", "trunk.s4", "text_proj", "head.act", "head.out"]
    seen, out = _shapes(d, names, x, emb)
    assert seen == {"trunk.s32": (4, 8, 32, 32), "trunk.s16": (4, 16, 16, 16), "trunk.s8": (4, 32, 8, 8),
                    "trunk.s4": (4, 64, 4, 4), "text_proj": (4, 8), "head.act": (4, 64, 4, 4),
                    "head.out": (4, 1, 1, 1)}
    assert d.head.conv.in_channels == 64 + 8 + (1 if mbstd else 0)
    assert out.shape == (4,)
    assert hasattr(d.trunk.s4, "res") == residual


def test_style_encoder_shapes():
    s = StyleEncoder(StyleEncoderConfig(z_dim=8, ndf=8))
    seen, out = _shapes(s, ["trunk.s32", "trunk.s4", "out"], torch.zeros(2, 3, 64, 64))
    assert seen == {"trunk.s32": (2, 8, 32, 32), "trunk.s4": (2, 64, 4, 4), "out": (2, 8, 1, 1)}
    assert out.shape == (2, 8)


def test_presets_follow_the_paper():
    g, d = preset("reed", "generator"), preset("reed", "discriminator")
    assert (g.ngf, d.ndf, g.residual, d.residual, g.z_dim, g.proj_dim, d.proj_dim) == (128, 64, True, True, 100, 128, 128)
    small = preset("small", "generator")
    assert not small.residual and not preset("small", "discriminator").residual
    assert isinstance(build("generator", preset("tiny", "generator")), Generator)


def test_conditioning_augmentation_is_random_in_train_and_fixed_in_eval():
    g = Generator(GeneratorConfig(z_dim=8, embed_dim=32, proj_dim=8, ngf=8, cond_aug=True))
    z, emb = torch.randn(4, 8), torch.randn(4, 32)
    with torch.no_grad():
        code_a, kl = g.text_code(emb)  # train mode: c = μ + σ ε
        code_b, _ = g.text_code(emb)
        assert not torch.equal(code_a, code_b) and kl >= 0
        g.eval()
        assert torch.equal(g(z, emb), g(z, emb))
        out, kl = g(z, emb, return_kl=True)
        assert out.shape == (4, 3, 64, 64) and kl.dim() == 0


def test_eval_mode_scores_do_not_depend_on_the_rest_of_the_batch():
    d = Discriminator(DiscriminatorConfig(embed_dim=32, proj_dim=8, ndf=8, minibatch_std=True,
                                          spectral_norm=True))
    x, emb = torch.randn(6, 3, 64, 64), torch.randn(6, 32)
    d(x, emb)  # one train-mode pass updates running stats
    d.eval()
    with torch.no_grad():
        assert torch.allclose(d(x, emb)[:2], d(x[:2], emb[:2]), atol=1e-5)


@pytest.mark.parametrize("bad", [torch.zeros(2, 3, 32, 32), torch.zeros(2, 1, 64, 64), torch.zeros(3, 64, 64)])
def test_bad_shapes_raise_user_errors(bad):
    d = Discriminator(DiscriminatorConfig(embed_dim=32, proj_dim=8, ndf=8))
    with pytest.raises(UserError, match="images must be"):
        d(bad, torch.zeros(2, 32))
    g = Generator(GeneratorConfig(z_dim=8, embed_dim=32, proj_dim=8, ngf=8))
    with pytest.raises(UserError, match="emb must be"):
        g(torch.zeros(2, 8), torch.zeros(2, 31))
    with pytest.raises(UserError, match="image_size"):
        Generator(GeneratorConfig(image_size=128))


def test_weights_folder_round_trip_gives_identical_outputs(tmp_path):
    from t2i_core.checkpoint import load_state_dict_strict, load_weights, save_weights
    from t2i_core.config import from_dict, to_dict

    torch.manual_seed(0)
    g = Generator(GeneratorConfig(z_dim=8, embed_dim=32, proj_dim=8, ngf=8, cond_aug=True)).eval()
    d = Discriminator(DiscriminatorConfig(embed_dim=32, proj_dim=8, ndf=8, spectral_norm=True,
                                          minibatch_std=True)).eval()
    save_weights(tmp_path, {"generator": g.state_dict(), "discriminator": d.state_dict()},
                 {"components": {"generator": to_dict(g.cfg), "discriminator": to_dict(d.cfg)}})
    config, states = load_weights(tmp_path)
    g2 = Generator(from_dict(GeneratorConfig, config["components"]["generator"])).eval()
    d2 = Discriminator(from_dict(DiscriminatorConfig, config["components"]["discriminator"])).eval()
    load_state_dict_strict(g2, states["generator"], "generator")
    load_state_dict_strict(d2, states["discriminator"], "discriminator")
    z, emb = torch.randn(2, 8), torch.randn(2, 32)
    with torch.no_grad():
        x = g(z, emb)
        assert torch.equal(x, g2(z, emb))
        assert torch.equal(d(x, emb), d2(x, emb))
