"""T2IPipeline: the one inference entry for the app, the notebooks and the CLI (DESIGN.md §4).

    pipe = T2IPipeline.from_pretrained()            # weights/synthbirds
    pipe = T2IPipeline.from_preset("tiny", seed=0)  # random weights: tests, fast demo
    pipe.generate("this bird has a red crown ...", n=4, seed=0) -> list[PIL.Image] (64×64 RGB)

Determinism: image ``i`` of ``generate(..., seed=s)`` uses the latent of seed ``s + i``
(StyleGAN's ``--seeds`` convention, see ``make_z``), and every network runs one sample at a
time in eval mode, so the same seed gives the same pixels across calls, processes and ``n``.
Caption embeddings, latents and slider frames are kept in small LRU caches guarded by locks, so
one pipeline can serve concurrent app requests; ``notices`` holds the current thread's last caption notices.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import torch

from .checkpoint import load_state_dict_strict, load_weights, read_config, save_weights
from .config import (
    DiscriminatorConfig,
    GeneratorConfig,
    StyleEncoderConfig,
    TextEncoderConfig,
    from_dict,
    preset,
    to_dict,
)
from .data.images import array_to_pil, center_square, open_image, resize_square
from .errors import CheckpointError, UserError
from .models.discriminator import Discriminator
from .models.generator import Generator
from .models.style_encoder import StyleEncoder
from .pipeline_utils import (
    LRU,
    MAX_IMAGES,
    caption_list,
    check_fraction,
    check_int,
    slerp,
    standing_stats,
    to_pil,
    torch_threads,
    z_row,
)
from .text.alphabet import encode, prepare_caption
from .text.char_cnn_rnn import CharCNNRNN

COMPONENTS = ("text_encoder", "generator", "discriminator", "style_encoder")
REQUIRED = ("text_encoder", "generator")
MAX_SEED = 2**63 - 1
CROPS = ("center", "squash")  # how a photo becomes the 64x64 square the networks read
_RESERVED = ("format_version", "package_version", "files", "components")

TRAINING_COMMANDS = (
    "python -m t2i_core make-dataset --out data/synthbirds",
    "python -m t2i_core train-text --data data/synthbirds --out runs/text",
    "python -m t2i_core train --data data/synthbirds --text-encoder runs/text/weights --out runs/gan "
    "--recipe fast",
    "python -m t2i_core train-style --weights runs/gan/weights --out runs/style",
)


def _threads_from_env() -> int:
    """T2I_INFERENCE_THREADS (default 1; 0 = torch's own setting), with a clear error."""
    raw = os.environ.get("T2I_INFERENCE_THREADS", "1").strip() or "1"
    try:
        value = int(raw)
    except ValueError:
        raise UserError(f"T2I_INFERENCE_THREADS must be a whole number of threads (0 = torch's "
                        f"own setting), got {raw!r}") from None
    return check_int("T2I_INFERENCE_THREADS", value, 0, 256)


def default_weights_dir() -> Path:
    """The bundled weights folder: ``<repo>/weights/synthbirds``."""
    return Path(__file__).resolve().parent.parent / "weights" / "synthbirds"


def how_to_get_weights(target=None) -> str:
    """What to do when ``target`` (default: the bundled folder) holds no usable weights."""
    bundled = default_weights_dir()
    train = f"train your own step by step: {'; '.join(TRAINING_COMMANDS)}; the weights land in runs/style/weights"
    if target is None or Path(target).resolve() == bundled:
        return f"rebuild the bundled model with scripts/reproduce_synthbirds.sh (writes {bundled}), or {train}"
    return f"leave out --weights to use the bundled model ({bundled}), or {train}"


def _component_classes():
    return {"text_encoder": (TextEncoderConfig, CharCNNRNN, "text"),
            "generator": (GeneratorConfig, Generator, "generator"),
            "discriminator": (DiscriminatorConfig, Discriminator, "discriminator"),
            "style_encoder": (StyleEncoderConfig, StyleEncoder, "style")}


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
        self._emb_cache = LRU(1024)
        self._z_cache = LRU(4096)
        self._frame_cache = LRU(1024)  # slider frames: dragging back and forth costs nothing
        self._local = threading.local()
        # torch threads of the one-image calls (pipeline_utils.torch_threads); 0 = torch's own
        # setting. Override with T2I_INFERENCE_THREADS or by setting the attribute.
        self.inference_threads = _threads_from_env()

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_pretrained(cls, path=None) -> "T2IPipeline":
        """Load a weights folder (default: ``weights/synthbirds``)."""
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
        seed = check_int("seed", seed, 0, MAX_SEED)
        models, configs = {}, {}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for comp, (_, model_cls, key) in _component_classes().items():
                configs[comp] = preset(name, key)
                models[comp] = model_cls(configs[comp])
            standing_stats(models)
        extra = {"pipeline": {"preset": name, "seed": seed, "random_weights": True}}
        return cls(models, configs, extra=extra, source=f"preset '{name}' (random weights, seed {seed})")

    def save_pretrained(self, path) -> Path:
        """Write a weights folder (safetensors + config.json) that ``from_pretrained`` reads."""
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
        seed = check_int("seed", seed, 0, MAX_SEED)
        n = check_int("n", n, 1, MAX_IMAGES)
        if seed + n - 1 > MAX_SEED:
            raise UserError(f"seed must be at most {MAX_SEED - n + 1} for {n} images")

        return torch.stack([self._z_cache.get_or_make(s, lambda s=s: z_row(s, self.z_dim))
                            for s in range(seed, seed + n)])

    def clean(self, captions) -> list[str]:
        """Captions as the encoder reads them (Reed's cleaning); notices go to ``notices``."""
        max_len = int(self.configs["text_encoder"].max_len)
        captions = caption_list(captions)
        out = []
        for i, text in enumerate(captions):
            try:
                clean, notes = prepare_caption(text, max_len)
            except UserError as exc:
                raise UserError(f"caption {i + 1}: {exc}" if len(captions) > 1 else str(exc)) from None
            if notes:
                if getattr(self._local, "notices", None) is None:
                    self._local.notices = []  # first call on this thread
                for note in notes:
                    self._local.notices.append(f"caption {i + 1}: {note}" if len(captions) > 1 else note)
            out.append(clean)
        return out

    def _embed_clean(self, cleaned: list[str]):
        encoder = self.models["text_encoder"]
        max_len = int(self.configs["text_encoder"].max_len)

        def make(clean):
            with torch.inference_mode(), torch_threads(self.inference_threads):
                return encoder(torch.from_numpy(encode(clean, max_len)).unsqueeze(0))[0].float().clone()

        return torch.stack([self._emb_cache.get_or_make(c, lambda c=c: make(c)) for c in cleaned])

    def embed(self, captions):
        """φ(t) [len, E] for captions (cleaned like Reed's code; each embedded on its own)."""
        return self._embed_clean(self.clean(captions))

    # ------------------------------------------------------------------ networks, one sample at a time
    def _draw(self, z, emb) -> list:
        """G(z_i, h_i) for each row, batch size 1 (bit-identical whatever the call's size)."""
        g = self.models["generator"]
        with torch.inference_mode(), torch_threads(self.inference_threads):
            return [to_pil(g(z[i : i + 1], emb[i : i + 1])[0]) for i in range(z.shape[0])]

    def draw_batch(self, z, emb, batch_size: int = 128):
        """G(z, h) as a float tensor [N, 3, H, W] in [−1, 1], in batches (for evaluation and
        scripts: many images at once; equal to the per-image path up to float rounding)."""
        g = self.models["generator"]
        with torch.inference_mode():
            return torch.cat([g(z[s:s + batch_size], emb[s:s + batch_size]).float()
                              for s in range(0, len(z), batch_size)])

    def style_batch(self, images, batch_size: int = 128):
        """ŝ = S(x) [N, z_dim] for a float tensor of images in [−1, 1], in batches."""
        s = self._need("style_encoder", "style transfer")
        with torch.inference_mode():
            return torch.cat([s(images[i:i + batch_size]).float() for i in range(0, len(images), batch_size)])

    def image_tensor(self, image, crop: str = "center"):
        """A PIL image, uint8 array or path → [1, 3, 64, 64] in [-1, 1]. ``crop="center"``
        takes the largest centred square first (a photo keeps its proportions); ``"squash"``
        resizes the whole image to a square as Reed's loader does."""
        if crop not in CROPS:
            raise UserError(f"unknown crop {crop!r}: choose one of {', '.join(CROPS)}")
        size = int(self.configs["generator"].image_size)
        if isinstance(image, np.ndarray):
            image = array_to_pil(image)
        if image is None:
            raise UserError("no image given")
        im = open_image(image, min_size=size)
        im = resize_square(center_square(im) if crop == "center" else im, size)
        arr = np.asarray(im, dtype=np.float32)
        return torch.from_numpy(arr / 127.5 - 1.0).permute(2, 0, 1).unsqueeze(0).contiguous()

    # ------------------------------------------------------------------ DESIGN.md §4 methods
    def generate(self, caption: str, n: int = 4, seed: int = 0) -> list:
        """n images of one caption: G(z_seed+i, φ(t))."""
        self._reset_notices()
        z = self.make_z(seed, n)
        emb = self.embed([caption]).expand(z.shape[0], -1)
        return self._draw(z, emb)

    @staticmethod
    def _mix(emb_a, emb_b, beta: float):
        return (1.0 - beta) * emb_a + beta * emb_b  # §5.3: h = (1 − β) φ(t_a) + β φ(t_b)

    def interpolate_text(self, caption_a: str, caption_b: str, steps: int = 8, seed: int = 0) -> list:
        """Fixed z (of ``seed``); the text embedding slides from caption a (β = 0) to b (β = 1)."""
        self._reset_notices()
        steps = check_int("steps", steps, 2, MAX_IMAGES)
        emb = self.embed([caption_a, caption_b])
        h = torch.stack([self._mix(emb[0], emb[1], i / (steps - 1)) for i in range(steps)])
        return self._draw(self.make_z(seed, 1).expand(steps, -1), h)

    def text_frame(self, caption_a: str, caption_b: str, beta: float, seed: int = 0):
        """One frame of ``interpolate_text`` at any β in [0, 1]: cheap (cached φ, z and frames)."""
        self._reset_notices()
        a, b = self.clean([caption_a, caption_b])
        beta, seed = check_fraction("beta", beta), check_int("seed", seed, 0, MAX_SEED)

        def make():
            emb = self._embed_clean([a, b])
            return self._draw(self.make_z(seed, 1), self._mix(emb[0], emb[1], beta)[None])[0]

        return self._frame_cache.get_or_make(("text", a, b, beta, seed), make).copy()

    def interpolate_noise(self, caption: str, seed_a: int = 0, seed_b: int = 1, steps: int = 8) -> list:
        """Fixed caption; the latent slides (slerp) from seed a's z to seed b's z (§5.3)."""
        self._reset_notices()
        steps = check_int("steps", steps, 2, MAX_IMAGES)
        emb = self.embed([caption])
        za, zb = self.make_z(seed_a, 1)[0], self.make_z(seed_b, 1)[0]
        z = torch.stack([slerp(za, zb, i / (steps - 1)) for i in range(steps)])
        return self._draw(z, emb.expand(steps, -1))

    def noise_frame(self, caption: str, seed_a: int, seed_b: int, alpha: float):
        """One frame of ``interpolate_noise`` at any α in [0, 1]: cheap (cached φ, z and frames)."""
        self._reset_notices()
        (clean,) = self.clean([caption])
        alpha = check_fraction("alpha", alpha)
        za, zb = self.make_z(seed_a, 1)[0], self.make_z(seed_b, 1)[0]

        def make():
            return self._draw(slerp(za, zb, alpha)[None], self._embed_clean([clean]))[0]

        return self._frame_cache.get_or_make(("noise", clean, int(seed_a), int(seed_b), alpha), make).copy()

    def style_of(self, image, crop: str = "center"):
        """ŝ = S(x) [1, z_dim] for one image (§4.4); ``crop`` as in ``image_tensor``."""
        s = self._need("style_encoder", "style transfer")
        x = self.image_tensor(image, crop)
        with torch.inference_mode(), torch_threads(self.inference_threads):
            return s(x).float()

    def transfer_style(self, image, captions, seed: int = 0, crop: str = "center") -> list:
        """§4.4: ŝ = S(x), then G(ŝ, φ(t)) for each caption. ``seed`` is accepted for a uniform
        signature; S is deterministic, so it does not change the result. ``crop``: "center"
        (default: the largest centred square of the photo) or "squash" (the whole image)."""
        self._reset_notices()
        check_int("seed", seed, 0, MAX_SEED)
        style = self.style_of(image, crop)
        emb = self.embed(captions)
        return self._draw(style.expand(emb.shape[0], -1), emb)

    def match_scores(self, image, captions, crop: str = "center") -> list[float]:
        """sigmoid(D(x, φ(t))) per caption: how well the matching-aware D thinks each fits (§4.2)."""
        d = self._need("discriminator", "match scores")
        self._reset_notices()
        x = self.image_tensor(image, crop)
        emb = self.embed(captions)
        with torch.inference_mode(), torch_threads(self.inference_threads):
            return [float(torch.sigmoid(d(x, emb[i : i + 1]).reshape(-1)[0])) for i in range(emb.shape[0])]

    def describe(self) -> dict:
        """A small summary for the app's About tab and the CLI."""
        return {"source": self.source, "random_weights": self.random_weights,
                "components": {n: to_dict(c) for n, c in self.configs.items()},
                **{k: self.extra[k] for k in ("training", "dataset", "evaluation") if k in self.extra}}
