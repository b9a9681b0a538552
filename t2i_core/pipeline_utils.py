"""Small helpers of ``T2IPipeline``: argument checks, slerp, an LRU cache, tensor → PIL, and
BatchNorm statistics for random-weight presets. (``array_to_pil``, which needs no torch, lives in
``data/images.py`` so the app's handlers can use it without importing torch.)"""

from __future__ import annotations

import math
import numbers
import threading
from collections import OrderedDict
from contextlib import contextmanager

import torch
from PIL import Image
from torch.nn.modules.batchnorm import _BatchNorm

from .errors import UserError
from .text.alphabet import encode_batch

MAX_IMAGES = 64  # per call: n, steps, number of captions


def check_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(value) or int(value) != value:
        raise UserError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if not lo <= value <= hi:
        raise UserError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def check_fraction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise UserError(f"{name} must be a number between 0 and 1, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise UserError(f"{name} must be between 0 and 1, got {value}")
    return float(value)


def caption_list(captions) -> list[str]:
    if isinstance(captions, str):
        captions = [captions]
    captions = list(captions or [])
    if not captions:
        raise UserError("give at least one caption")
    if len(captions) > MAX_IMAGES:
        raise UserError(f"at most {MAX_IMAGES} captions per call, got {len(captions)}")
    return captions


_THREADS_LOCK = threading.RLock()


@contextmanager
def torch_threads(n: int):
    """torch's intra-op thread count set to ``n`` for the block, then restored (``n`` 0: left as
    it is). The pipeline's one-image calls run on one thread: a 64×64 sample is too small to
    share, and on a busy machine a second thread waits for a free core (measured on 2 cores with
    two other jobs: p90 45 ms at 2 threads, 6–10 ms at 1). One count for every call also keeps
    the pixels the same whatever thread count the caller's process uses."""
    if not n:
        yield
        return
    with _THREADS_LOCK:
        before = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            yield
        finally:
            torch.set_num_threads(before)


def z_row(seed: int, z_dim: int):
    """The latent of one seed: ~ N(0, I) [z_dim] from ``torch.Generator`` seeded with ``seed``."""
    return torch.randn(z_dim, generator=torch.Generator(device="cpu").manual_seed(int(seed)))


def make_z(seed: int, n: int, z_dim: int):
    """Latents [n, z_dim] on CPU: row i is ``z_row(seed + i)`` (StyleGAN's seed → latent
    convention), so a row never depends on ``n``. The one seed convention of the project: the
    pipeline and the app, ``evaluate`` and the trainer's sample grid all draw z this way."""
    return torch.stack([z_row(s, z_dim) for s in range(int(seed), int(seed) + int(n))])


def slerp(a, b, t: float):
    """Spherical interpolation between latents ``a`` and ``b`` (lerp when nearly parallel)."""
    if t <= 0.0 or t >= 1.0:  # exact endpoints: frame 0 / last frame equal the seeds' own images
        return (a if t <= 0.0 else b).clone()
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(omega.sin().abs()) < 1e-6:
        return (1.0 - t) * a + t * b
    return (torch.sin((1.0 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def standing_stats(models: dict, batches: int = 4, batch_size: int = 16) -> None:
    """Set BatchNorm running statistics from a few train-mode passes ("standing statistics").

    Used for random-weight presets: with the default statistics (mean 0, var 1) eval-mode G of a
    freshly initialised network draws flat grey; after this its samples have contrast and vary
    with z, which keeps the fast demo and the tests meaningful."""
    g, d, s = models["generator"], models.get("discriminator"), models.get("style_encoder")
    colors = ("red", "blue", "green", "yellow", "black", "white", "grey", "brown")
    captions = [f"this bird has a {a} crown and {b} wings" for a in colors for b in colors[:2]]
    with torch.no_grad():
        emb = models["text_encoder"].eval()(torch.from_numpy(encode_batch(captions)))
    nets = [m for m in (g, d, s) if m is not None]
    norms = [m for net in nets for m in net.modules() if isinstance(m, _BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the passes
    for net in nets:
        net.train()
    with torch.no_grad():
        for i in range(batches):
            e = emb[torch.arange(batch_size) % len(captions)].roll(i)
            x = g(torch.randn(batch_size, g.cfg.z_dim), e)
            if d is not None:
                d(x, e)
            if s is not None:
                s(x)
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum
    for net in nets:
        net.eval()


class LRU:
    def __init__(self, size: int):
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get_or_make(self, key, make):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        value = make()  # computed outside the lock; a duplicate computation is harmless
        with self.lock:
            self.data[key] = value
            while len(self.data) > self.size:
                self.data.popitem(last=False)
        return value


def to_pil(x):
    """[3, H, W] in [-1, 1] → RGB PIL image."""
    arr = ((x.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return Image.fromarray(arr.permute(1, 2, 0).cpu().numpy(), mode="RGB")
