"""T2IPipeline: the one inference entry for the app, the notebooks and the CLI (DESIGN.md §4).

    pipe = T2IPipeline.from_pretrained()            # weights/synthbirds
    pipe = T2IPipeline.from_preset("tiny", seed=0)  # random weights: tests, fast demo
    pipe.generate("this bird has a red crown ...", n=4, seed=0) -> list[PIL.Image] (64×64 RGB)

Determinism: image ``i`` of ``generate(..., seed=s)`` uses the latent of seed ``s + i``
(StyleGAN's ``--seeds`` convention, see ``make_z``), and every network runs one sample at a
time in eval mode, so the same seed gives the same pixels across calls, processes and ``n``.
Caption embeddings and latents are kept in small LRU caches guarded by a lock, so one pipeline
can serve concurrent app requests; ``notices`` holds the current thread's last caption notices.
"""

from __future__ import annotations

import math
import numbers
import threading
from collections import OrderedDict
from pathlib import Path

from .errors import CheckpointError, UserError

COMPONENTS = ("text_encoder", "generator", "discriminator", "style_encoder")
REQUIRED = ("text_encoder", "generator")
MAX_IMAGES = 64  # per call: n, steps, number of captions
MAX_SEED = 2**63 - 1
_RESERVED = ("format_version", "package_version", "files", "components")

TRAINING_COMMANDS = (
    "python -m t2i_core make-dataset --out data/synthbirds",
    "python -m t2i_core train-text --data data/synthbirds --out runs/text",
    "python -m t2i_core train --data data/synthbirds --text-encoder runs/text/weights --out runs/gan",
    "python -m t2i_core train-style --weights runs/gan/weights",
)


def default_weights_dir() -> Path:
    """The bundled weights folder: ``<repo>/weights/synthbirds``."""
    return Path(__file__).resolve().parent.parent / "weights" / "synthbirds"


def how_to_get_weights(target=None) -> str:
    target = target or default_weights_dir()
    steps = "; ".join(TRAINING_COMMANDS)
    return (f"train them on SynthBirds with: {steps}; then copy runs/gan/weights to {target} "
            "or pass that folder with --weights")


def _component_classes():
    from .config import DiscriminatorConfig, GeneratorConfig, StyleEncoderConfig, TextEncoderConfig
    from .models.discriminator import Discriminator
    from .models.generator import Generator
    from .models.style_encoder import StyleEncoder
    from .text.char_cnn_rnn import CharCNNRNN

    return {"text_encoder": (TextEncoderConfig, CharCNNRNN, "text"),
            "generator": (GeneratorConfig, Generator, "generator"),
            "discriminator": (DiscriminatorConfig, Discriminator, "discriminator"),
            "style_encoder": (StyleEncoderConfig, StyleEncoder, "style")}


def _check_int(name: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or \
            not math.isfinite(value) or int(value) != value:
        raise UserError(f"{name} must be a whole number, got {value!r}")
    value = int(value)
    if not lo <= value <= hi:
        raise UserError(f"{name} must be between {lo} and {hi}, got {value}")
    return value


def _check_fraction(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        raise UserError(f"{name} must be a number between 0 and 1, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise UserError(f"{name} must be between 0 and 1, got {value}")
    return float(value)


def _caption_list(captions) -> list[str]:
    if isinstance(captions, str):
        captions = [captions]
    captions = list(captions or [])
    if not captions:
        raise UserError("give at least one caption")
    if len(captions) > MAX_IMAGES:
        raise UserError(f"at most {MAX_IMAGES} captions per call, got {len(captions)}")
    return captions


def slerp(a, b, t: float):
    """Spherical interpolation between latents ``a`` and ``b`` (lerp when nearly parallel)."""
    import torch

    if t <= 0.0 or t >= 1.0:  # exact endpoints: frame 0 / last frame equal the seeds' own images
        return (a if t <= 0.0 else b).clone()
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1.0, 1.0))
    if float(omega.sin().abs()) < 1e-6:
        return (1.0 - t) * a + t * b
    return (torch.sin((1.0 - t) * omega) * a + torch.sin(t * omega) * b) / torch.sin(omega)


def _standing_stats(models: dict, batches: int = 4, batch_size: int = 16) -> None:
    """Set BatchNorm running statistics from a few train-mode passes ("standing statistics").

    Used for random-weight presets: with the default statistics (mean 0, var 1) eval-mode G of a
    freshly initialised network draws flat grey; after this its samples have contrast and vary
    with z, which keeps the fast demo and the tests meaningful."""
    import torch
    from torch.nn.modules.batchnorm import _BatchNorm

    from .text.alphabet import encode_batch

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


class _LRU:
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


class T2IPipeline:
    """φ (text encoder), G, D and S in eval mode, with caption and latent caches."""

    def __init__(self, models: dict, configs: dict, extra: dict | None = None, source: str = ""):
        missing = [name for name in REQUIRED if models.get(name) is None]
        if missing:
            raise CheckpointError(f"a pipeline needs {', '.join(missing)}")
        self.models = {name: m.eval().requires_grad_(False) for name, m in models.items() if m is not None}
        self.configs = dict(configs)
        self.extra = {k: v for k, v in (extra or {}).items() if k not in _RESERVED}
        self.source = source
        self._emb_cache = _LRU(1024)
        self._z_cache = _LRU(4096)
        self._local = threading.local()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(cls, path=None) -> "T2IPipeline":
        """Load a weights folder (default: ``weights/synthbirds``)."""
        from .checkpoint import load_state_dict_strict, load_weights, read_config
        from .config import from_dict

        folder = Path(path) if path is not None else default_weights_dir()
        if not (folder / "config.json").is_file():
            where = "the bundled weights are not there" if path is None else "it is not a weights folder"
            raise CheckpointError(f"no weights at {folder} ({where}): {how_to_get_weights(folder)}")
        stored = [n for n in COMPONENTS if n in read_config(folder).get("files", {})]
        config, states = load_weights(folder, names=stored)
        comps = config.get("components")
        if not isinstance(comps, dict):
            raise CheckpointError(f"{folder}/config.json has no 'components' section")
        models, configs = {}, {}
        for name, (cfg_cls, model_cls, _) in _component_classes().items():
            if name not in states:
                continue
            if name not in comps:
                raise CheckpointError(f"{folder}/config.json has weights for '{name}' but no config")
            try:
                cfg = from_dict(cfg_cls, comps[name])
            except (UserError, TypeError) as exc:
                raise CheckpointError(f"{folder}: the '{name}' config does not fit ({exc})") from None
            model = model_cls(cfg)
            load_state_dict_strict(model, states[name], name)
            models[name], configs[name] = model, cfg
        missing = [n for n in REQUIRED if n not in models]
        if missing:
            raise CheckpointError(f"{folder} lacks {', '.join(missing)}: {how_to_get_weights(folder)}")
        return cls(models, configs, extra=config, source=str(folder))

    @classmethod
    def from_preset(cls, name: str = "tiny", seed: int = 0) -> "T2IPipeline":
        """Randomly initialised networks of a preset (tests and the app's fast ``--tiny`` mode)."""
        import torch

        from .config import preset

        seed = _check_int("seed", seed, 0, MAX_SEED)
        models, configs = {}, {}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for comp, (_, model_cls, key) in _component_classes().items():
                configs[comp] = preset(name, key)
                models[comp] = model_cls(configs[comp])
            _standing_stats(models)
        extra = {"pipeline": {"preset": name, "seed": seed, "random_weights": True}}
        return cls(models, configs, extra=extra, source=f"preset '{name}' (random weights, seed {seed})")

    def save_pretrained(self, path) -> Path:
        """Write a weights folder (safetensors + config.json) that ``from_pretrained`` reads."""
        from .checkpoint import save_weights
        from .config import to_dict

        states = {name: m.state_dict() for name, m in self.models.items() if name in COMPONENTS}
        config = {**self.extra, "components": {n: to_dict(self.configs[n]) for n in states}}
        return save_weights(path, states, config)

    # ------------------------------------------------------------------ properties
    @property
    def z_dim(self) -> int:
        return int(self.configs["generator"].z_dim)

    @property
    def random_weights(self) -> bool:
        return bool(self.extra.get("pipeline", {}).get("random_weights", False))

    @property
    def notices(self) -> list[str]:
        """Notices (e.g. a truncated caption) from this thread's last pipeline call."""
        return list(getattr(self._local, "notices", []))

    def has(self, component: str) -> bool:
        return component in self.models

    def _need(self, component: str, what: str):
        if component not in self.models:
            raise UserError(f"{what} needs a {component.replace('_', ' ')}, which these weights "
                            f"({self.source}) lack" + (": run train-style on them"
                                                       if component == "style_encoder" else ""))
        return self.models[component]

    def _reset_notices(self) -> None:
        self._local.notices = []

    # ------------------------------------------------------------------ latents and text
    def make_z(self, seed: int, n: int = 1):
        """Latents [n, z_dim] ~ N(0, I) on CPU: row i comes from ``torch.Generator`` seeded with
        ``seed + i`` (StyleGAN's seed→latent convention), so rows never depend on ``n``."""
        import torch

        seed = _check_int("seed", seed, 0, MAX_SEED)
        n = _check_int("n", n, 1, MAX_IMAGES)
        if seed + n - 1 > MAX_SEED:
            raise UserError(f"seed must be at most {MAX_SEED - n + 1} for {n} images")

        def one(s):
            g = torch.Generator(device="cpu").manual_seed(s)
            return torch.randn(self.z_dim, generator=g)

        return torch.stack([self._z_cache.get_or_make(s, lambda s=s: one(s)) for s in range(seed, seed + n)])

    def embed(self, captions):
        """φ(t) [len, E] for captions (cleaned like Reed's code; each embedded on its own)."""
        import torch

        from .text.alphabet import encode, prepare_caption

        encoder = self.models["text_encoder"]
        max_len = int(self.configs["text_encoder"].max_len)
        captions = _caption_list(captions)
        out = []
        for i, text in enumerate(captions):
            try:
                clean, notes = prepare_caption(text, max_len)
            except UserError as exc:
                raise UserError(f"caption {i + 1}: {exc}" if len(captions) > 1 else str(exc)) from None
            for note in notes:
                self._local.notices.append(f"caption {i + 1}: {note}" if len(captions) > 1 else note)

            def make(clean=clean):
                with torch.inference_mode():
                    ids = torch.from_numpy(encode(clean, max_len)).unsqueeze(0)
                    return encoder(ids)[0].float().clone()

            out.append(self._emb_cache.get_or_make(clean, make))
        return torch.stack(out)

    # ------------------------------------------------------------------ networks, one sample at a time
    def _draw(self, z, emb) -> list:
        """G(z_i, h_i) for each row, batch size 1 (bit-identical whatever the call's size)."""
        import torch

        g = self.models["generator"]
        with torch.inference_mode():
            return [to_pil(g(z[i : i + 1], emb[i : i + 1])[0]) for i in range(z.shape[0])]

    def image_tensor(self, image):
        """A PIL image, uint8 array or path → [1, 3, 64, 64] in [-1, 1] (Reed's square resize)."""
        import numpy as np
        import torch

        from .data.images import open_image, resize_square

        size = int(self.configs["generator"].image_size)
        if isinstance(image, np.ndarray):
            image = _array_to_pil(image)
        if image is None:
            raise UserError("no image given")
        im = resize_square(open_image(image, min_size=size), size)
        arr = np.asarray(im, dtype=np.float32)
        return torch.from_numpy(arr / 127.5 - 1.0).permute(2, 0, 1).unsqueeze(0).contiguous()

    # ------------------------------------------------------------------ DESIGN.md §4 methods
    def generate(self, caption: str, n: int = 4, seed: int = 0) -> list:
        """n images of one caption: G(z_seed+i, φ(t))."""
        self._reset_notices()
        z = self.make_z(seed, n)
        emb = self.embed([caption]).expand(z.shape[0], -1)
        return self._draw(z, emb)

    def _text_mix(self, caption_a, caption_b, betas):
        import torch

        emb = self.embed([caption_a, caption_b])
        # §5.3: fixed z, h = (1 − β) φ(t_a) + β φ(t_b), β from 0 (caption a) to 1 (caption b)
        return torch.stack([(1.0 - b) * emb[0] + b * emb[1] for b in betas])

    def interpolate_text(self, caption_a: str, caption_b: str, steps: int = 8, seed: int = 0) -> list:
        """Fixed z (of ``seed``); the text embedding slides from caption a to caption b."""
        self._reset_notices()
        steps = _check_int("steps", steps, 2, MAX_IMAGES)
        betas = [i / (steps - 1) for i in range(steps)]
        emb = self._text_mix(caption_a, caption_b, betas)
        return self._draw(self.make_z(seed, 1).expand(steps, -1), emb)

    def text_frame(self, caption_a: str, caption_b: str, beta: float, seed: int = 0):
        """One frame of ``interpolate_text`` at any β in [0, 1] (cheap: cached φ and z)."""
        self._reset_notices()
        emb = self._text_mix(caption_a, caption_b, [_check_fraction("beta", beta)])
        return self._draw(self.make_z(seed, 1), emb)[0]

    def _noise_mix(self, seed_a, seed_b, alphas):
        import torch

        za, zb = self.make_z(seed_a, 1)[0], self.make_z(seed_b, 1)[0]
        return torch.stack([slerp(za, zb, a) for a in alphas])  # §5.3: fixed caption, z_a → z_b

    def interpolate_noise(self, caption: str, seed_a: int = 0, seed_b: int = 1, steps: int = 8) -> list:
        """Fixed caption; the latent slides (slerp) from seed a's z to seed b's z."""
        self._reset_notices()
        steps = _check_int("steps", steps, 2, MAX_IMAGES)
        z = self._noise_mix(seed_a, seed_b, [i / (steps - 1) for i in range(steps)])
        return self._draw(z, self.embed([caption]).expand(steps, -1))

    def noise_frame(self, caption: str, seed_a: int, seed_b: int, alpha: float):
        """One frame of ``interpolate_noise`` at any α in [0, 1] (cheap: cached φ and z)."""
        self._reset_notices()
        z = self._noise_mix(seed_a, seed_b, [_check_fraction("alpha", alpha)])
        return self._draw(z, self.embed([caption]))[0]

    def style_of(self, image):
        """ŝ = S(x) [1, z_dim] for one image (§4.4)."""
        import torch

        s = self._need("style_encoder", "style transfer")
        x = self.image_tensor(image)
        with torch.inference_mode():
            return s(x).float()

    def transfer_style(self, image, captions, seed: int = 0) -> list:
        """§4.4: ŝ = S(x), then G(ŝ, φ(t)) for each caption. ``seed`` is accepted for a uniform
        signature; S is deterministic, so it does not change the result."""
        self._reset_notices()
        _check_int("seed", seed, 0, MAX_SEED)
        style = self.style_of(image)
        emb = self.embed(captions)
        return self._draw(style.expand(emb.shape[0], -1), emb)

    def match_scores(self, image, captions) -> list[float]:
        """sigmoid(D(x, φ(t))) per caption: how well the matching-aware D thinks each fits (§4.2)."""
        import torch

        d = self._need("discriminator", "match scores")
        self._reset_notices()
        x = self.image_tensor(image)
        emb = self.embed(captions)
        with torch.inference_mode():
            return [float(torch.sigmoid(d(x, emb[i : i + 1]).reshape(-1)[0])) for i in range(emb.shape[0])]

    def describe(self) -> dict:
        """A small summary for the app's About tab and the CLI."""
        from .config import to_dict

        return {"source": self.source, "random_weights": self.random_weights,
                "components": {n: to_dict(c) for n, c in self.configs.items()},
                **{k: self.extra[k] for k in ("training", "dataset", "evaluation") if k in self.extra}}


def to_pil(x):
    """[3, H, W] in [-1, 1] → RGB PIL image."""
    import torch
    from PIL import Image

    arr = ((x.detach().float().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return Image.fromarray(arr.permute(1, 2, 0).cpu().numpy(), mode="RGB")


def _array_to_pil(arr):
    import numpy as np
    from PIL import Image

    if arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (1, 3, 4)):
        if arr.dtype != np.uint8:
            if arr.dtype.kind == "f" and arr.size and arr.min() >= 0 and arr.max() <= 1:
                arr = arr * 255.0
            arr = np.clip(np.nan_to_num(arr.astype(np.float64)), 0, 255).round().astype(np.uint8)
        return Image.fromarray(arr.squeeze(-1) if arr.ndim == 3 and arr.shape[2] == 1 else arr)
    raise UserError(f"an image array must be H×W, H×W×3 or H×W×4, got shape {arr.shape}")
