"""Eval-mode BatchNorm that matches train mode: "standing statistics" (Brock et al. 2019, BigGAN §4).

DCGAN-style BatchNorm keeps running means/variances as an exponential moving average over
training batches. Those lag behind the weights (and say nothing about EMA weights), so an
eval-mode G can draw noise while train-mode samples look fine (DESIGN §7). The fix used here:

    for every BN layer: reset running stats, momentum = None (cumulative average)
    run G in train mode, no grad, over many batches of (z ~ N(0, I), training embeddings)
    restore momentum; eval mode now normalises with the average batch statistics

``eval_train_gap`` measures the problem: mean |G_eval(z, h) − G_train(z, h)| on one batch,
leaving the running statistics untouched.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


def bn_layers(module: nn.Module) -> list[_BatchNorm]:
    return [m for m in module.modules() if isinstance(m, _BatchNorm)]


@contextlib.contextmanager
def frozen_buffers(module: nn.Module):
    """Run ``module`` in train mode inside this block without changing any buffer (BN running
    stats, minibatch-std running mean, spectral-norm vectors): they are restored on exit."""
    saved = {name: buf.detach().clone() for name, buf in module.named_buffers()}
    was_training = module.training
    try:
        yield module
    finally:
        with torch.no_grad():
            for name, buf in module.named_buffers():
                if name in saved:
                    buf.copy_(saved[name])
        module.train(was_training)


@torch.no_grad()
def recompute_bn_stats(module: nn.Module, make_batch, n_batches: int = 100) -> int:
    """Reset every BN layer of ``module`` and re-estimate its running stats as the plain average
    over ``n_batches`` train-mode forward passes ``module(*make_batch(i))``. Returns the number of
    BN layers updated. Leaves ``module`` in eval mode."""
    layers = bn_layers(module)
    if not layers or n_batches <= 0:
        module.eval()
        return len(layers)
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative moving average: every batch weighs the same
    module.train()
    try:
        for i in range(n_batches):
            args, kwargs = make_batch(i)
            module(*args, **kwargs)
    finally:
        for m, mom in zip(layers, momenta):
            m.momentum = mom
        module.eval()
    return len(layers)


@torch.no_grad()
def eval_train_gap(module: nn.Module, *args, **kwargs) -> float:
    """mean |module_eval(args) − module_train(args)| for one batch; no buffer changes."""
    with frozen_buffers(module):
        module.train()
        train_out = module(*args, **kwargs)
        module.eval()
        eval_out = module(*args, **kwargs)
    return float((eval_out - train_out).abs().mean())


def generator_batches(generator: nn.Module, sample_embeddings, *, batch_size: int = 64, seed: int = 0,
                      captions_per_image: int = 4):
    """``make_batch(i)`` for ``recompute_bn_stats`` on G, drawn from its own seeded RNG (the
    global torch RNG is untouched): z ~ N(0, I) and ``sample_embeddings(n, k, generator)``
    training embeddings; even batches average ``captions_per_image`` captions (as in training), odd ones use a single
    caption (what users type). With conditioning augmentation the text noise is zero, as in eval
    mode, so the statistics describe exactly the inputs eval mode sees."""
    cfg = generator.cfg
    device = next(generator.parameters()).device
    gen = torch.Generator().manual_seed(seed)

    def make_batch(i: int):
        z = torch.randn(batch_size, cfg.z_dim, generator=gen)
        emb = sample_embeddings(batch_size, captions_per_image if i % 2 == 0 else 1, gen)
        kwargs = {"cond_noise": torch.zeros(batch_size, cfg.proj_dim, device=device)} if cfg.cond_aug else {}
        return (z.to(device), emb.to(device)), kwargs

    return make_batch
