"""One dataclass per network (nanoGPT style) plus named presets ``tiny``, ``small``, ``reed``.

Every weights folder and checkpoint stores these as plain dicts (``asdict``), so weights load
without guessing hyperparameters. Add a field with a default and old folders still load.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .errors import UserError

PRESETS = ("tiny", "small", "reed")


@dataclass
class TextEncoderConfig:
    """Reed's char-CNN-RNN φ (§3.2): 3 × (Conv1d k=4 → ReLU → MaxPool 3) → GRU → mean → Linear."""
    vocab_size: int = 71  # 70 symbols + padding
    max_len: int = 201
    conv_channels: tuple = (384, 512, 512)
    kernel_size: int = 4
    pool_size: int = 3
    rnn_hidden: int = 512
    embed_dim: int = 1024
    batch_norm: bool = False  # not in Reed's code: BatchNorm after each conv (trains far faster)


@dataclass
class ImageEncoderConfig:
    """θ for DS-SJE: a small CNN trained jointly (the paper's GoogLeNet features are not available)."""
    image_size: int = 64
    channels: int = 64
    embed_dim: int = 1024


@dataclass
class GeneratorConfig:
    """G: ℝ^Z × ℝ^T → ℝ^D (§4.1)."""
    z_dim: int = 100
    embed_dim: int = 1024
    proj_dim: int = 128
    ngf: int = 64
    image_size: int = 64
    residual: bool = False  # Reed's code: residual 3×3 blocks at 4×4 and 8×8
    cond_aug: bool = False  # StackGAN conditioning augmentation: text code ~ N(μ(φ), σ(φ)) + KL
    # "deconv" (paper: stride-2 transposed convs) or "resize": nearest ×2 + 3×3 conv, free of
    # checkerboard artefacts (Odena et al. 2016, "Deconvolution and Checkerboard Artifacts")
    upsample: str = "deconv"
    # text code modulates every BN of G (conditional BN / FiLM; de Vries et al. 2017, Perez et al. 2018)
    cond_bn: bool = False


@dataclass
class DiscriminatorConfig:
    """Matching-aware D (§4.1–4.2)."""
    embed_dim: int = 1024
    proj_dim: int = 128
    ndf: int = 64
    image_size: int = 64
    residual: bool = False  # Reed's code: a residual block at 4×4
    minibatch_std: bool = False  # ProGAN minibatch-stddev channel at 4×4 (anti mode collapse)
    spectral_norm: bool = False  # spectral norm on every conv / linear weight of D
    projection: bool = False  # + ⟨ψ(φ(t)), Σ_xy trunk(x)⟩ (projection D, Miyato & Koyama 2018)
    match_head: bool = False  # head mapping an image into φ-space (text reconstruction; Xu et al. 2018)
    latent_dims: int = 0  # head reading z's first N dims back from a fake (InfoGAN's Q, Chen et al. 2016); 0 = none


@dataclass
class StyleEncoderConfig:
    """S: image → z (§4.4), a conv trunk like D's without text."""
    z_dim: int = 100
    ndf: int = 64
    image_size: int = 64


def _preset_table():
    return {
        "tiny": dict(
            text=TextEncoderConfig(conv_channels=(16, 16, 16), rnn_hidden=16, embed_dim=32,
                                   batch_norm=True),
            image=ImageEncoderConfig(channels=8, embed_dim=32),
            generator=GeneratorConfig(z_dim=8, embed_dim=32, proj_dim=8, ngf=8),
            discriminator=DiscriminatorConfig(embed_dim=32, proj_dim=8, ndf=8),
            style=StyleEncoderConfig(z_dim=8, ndf=8),
        ),
        "small": dict(
            # measured on SynthBirds: BatchNorm + narrow convs reach 0.97 test zero-shot in ~13 CPU-min
            text=TextEncoderConfig(conv_channels=(64, 128, 128), rnn_hidden=128, embed_dim=1024,
                                   batch_norm=True),
            image=ImageEncoderConfig(channels=16, embed_dim=1024),
            generator=GeneratorConfig(ngf=32),
            discriminator=DiscriminatorConfig(ndf=16),  # ngf:ndf = 2:1 as in Reed (128:64); CPU speed
            style=StyleEncoderConfig(ndf=32),
        ),
        "reed": dict(
            text=TextEncoderConfig(),
            image=ImageEncoderConfig(channels=64),
            generator=GeneratorConfig(ngf=128, residual=True),
            discriminator=DiscriminatorConfig(ndf=64, residual=True),
            style=StyleEncoderConfig(ndf=64),
        ),
    }


def preset(name: str, component: str):
    """A fresh config for ``component`` (text, image, generator, discriminator, style)."""
    table = _preset_table()
    if name not in table:
        raise UserError(f"unknown preset {name!r}: choose one of {', '.join(PRESETS)}")
    return table[name][component]


def to_dict(cfg) -> dict:
    d = asdict(cfg)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def from_dict(cls, data: dict):
    """Build ``cls`` from a stored dict; unknown keys are an error that names them."""
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise UserError(f"{cls.__name__}: unknown settings {unknown} (a newer format?)")
    kw = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    return cls(**kw)
