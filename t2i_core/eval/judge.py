"""The attribute judge: a small CNN that reads a procedural domain's attributes off a 64×64 image.

For SynthBirds it predicts the content attributes ``crown``, ``wing``, ``belly`` (10 colours
each), ``beak`` (short/long) and the style attributes ``facing`` (left/right) and
``background_rgb`` (a regression to the scene's background colour); for SynthFlowers ``petal``,
``center``, ``shape``, ``count``, ``blooms`` (one/several) and ``background_rgb``
(``data/domains.py``). It is trained on renders drawn on the fly (``judge_train.train_judge``),
so it never sees the same image twice, and is the referee for every generated-image metric in
``evaluate``.

The bundled judges live in ``weights/judge/`` (birds) and ``weights/judge_flowers/`` (a weights
folder with one component ``judge``; its config sits under ``components.judge``; held-out
accuracy under ``evaluation``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from ..checkpoint import load_state_dict_strict, load_weights, save_weights
from ..config import from_dict, to_dict
from ..data.domains import get_domain
from ..errors import CheckpointError, UserError

FACINGS = ("left", "right")
COLOR_KEYS = ("crown", "wing", "belly")
CATEGORICAL = ("crown", "wing", "belly", "beak", "facing")


def default_judge_dir(domain: str = "birds") -> Path:
    """The bundled judge of ``domain``: ``weights/judge`` (birds), ``weights/judge_flowers``."""
    return Path(__file__).resolve().parents[2] / "weights" / ("judge" if domain == "birds" else f"judge_{domain}")


@dataclass
class JudgeConfig:
    """Conv trunk (stride 2 at each ``downsample`` layer) → 4×4 map → MLP → one head per attribute."""
    image_size: int = 64
    channels: tuple = (32, 48, 64, 96, 128, 128)
    downsample: tuple = (True, False, True, False, True, True)
    squeeze: int = 32  # 1×1 conv before flattening the 4×4 map
    hidden: int = 128
    domain: str = "birds"  # whose attributes it reads (data/domains.py)


def class_values(domain: str = "birds") -> dict:
    """The label set of each categorical head, in the order of its logits: the domain's content
    attributes, then its categorical style attribute."""
    d = get_domain(domain)
    return {**{k: tuple(d.values[k]) for k in d.content_keys}, d.style_key: tuple(d.style_values)}


def build_model(cfg: JudgeConfig, values: dict):
    """The judge network: ``forward(x [B,3,H,W] in [−1,1]) -> {attr: logits, "background": [B,3] in [0,1]}``."""
    if len(cfg.channels) != len(cfg.downsample):
        raise UserError("JudgeConfig: channels and downsample must have the same length")
    if cfg.image_size // 2 ** sum(cfg.downsample) != 4:
        raise UserError(f"JudgeConfig: image_size {cfg.image_size} does not reach a 4×4 map")

    class AttributeJudge(nn.Module):
        def __init__(self):
            super().__init__()
            layers, c_in = [], 3
            for i, (c, down) in enumerate(zip(cfg.channels, cfg.downsample)):
                k = 5 if i == 0 else 3
                layers += [nn.Conv2d(c_in, c, k, 2 if down else 1, k // 2, bias=False),
                           nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
                c_in = c
            layers += [nn.Conv2d(c_in, cfg.squeeze, 1, bias=False), nn.BatchNorm2d(cfg.squeeze),
                       nn.ReLU(inplace=True)]
            self.trunk = nn.Sequential(*layers)
            # state size: squeeze x 4 x 4
            self.mlp = nn.Sequential(nn.Flatten(), nn.Linear(cfg.squeeze * 16, cfg.hidden),
                                     nn.ReLU(inplace=True))
            self.heads = nn.ModuleDict({k: nn.Linear(cfg.hidden, len(v)) for k, v in values.items()})
            self.background = nn.Linear(cfg.hidden, 3)

        def forward(self, x, features: bool = False):
            h = self.mlp(self.trunk(x))
            if features:  # penultimate layer, for Fréchet distances
                return h
            out = {k: head(h) for k, head in self.heads.items()}
            out["background"] = torch.sigmoid(self.background(h))
            return out

    return AttributeJudge()


class Judge:
    """A trained judge: ``predict(list[PIL.Image]) -> list[dict]`` (DESIGN.md §4)."""

    def __init__(self, model, cfg: JudgeConfig, values: dict, evaluation: dict | None = None):
        self.model = model.eval()
        self.cfg = cfg
        self.values = values
        self.evaluation = dict(evaluation or {})

    def _batches(self, images, batch_size: int):
        """The judge's input batches of a float tensor [B, 3, H, W] in [−1, 1]."""
        if images.ndim != 4 or images.shape[1] != 3:
            raise UserError(f"the judge needs images shaped [B, 3, H, W], got {tuple(images.shape)}")
        for start in range(0, len(images), batch_size):
            x = images[start:start + batch_size].float()
            if x.shape[-2:] != (self.cfg.image_size,) * 2:
                x = F.interpolate(x, size=self.cfg.image_size, mode="bilinear",
                                  align_corners=False, antialias=True)
            yield x.clamp(-1, 1)

    def predict_tensor(self, images, batch_size: int = 256) -> list[dict]:
        """Judge a float tensor [B, 3, H, W] in [−1, 1] (what the generator returns)."""
        out = []
        with torch.no_grad():
            for x in self._batches(images, batch_size):
                out += self._decode(self.model(x))
        return out

    def features(self, images, batch_size: int = 256):
        """Penultimate-layer features [B, hidden] (numpy float64) of a float tensor in [−1, 1]:
        the space of ``metrics.frechet_distance`` ("FID in judge features")."""
        with torch.no_grad():
            rows = [self.model(x, features=True).double().numpy() for x in self._batches(images, batch_size)]
        return np.concatenate(rows) if rows else np.zeros((0, self.cfg.hidden))

    def _decode(self, raw) -> list[dict]:
        n = len(raw["background"])
        labels = {k: raw[k].argmax(1).tolist() for k in self.values}
        bg = (raw["background"] * 255).round().clamp(0, 255).int().tolist()
        return [{**{k: self.values[k][labels[k][i]] for k in self.values},
                 "background_rgb": bg[i]} for i in range(n)]

    def predict(self, images) -> list[dict]:
        """Judge PIL images (any size, converted to RGB and resized to 64×64)."""
        return self.predict_tensor(pil_to_tensor(images))


def pil_to_tensor(images):
    """list[PIL.Image] → float tensor [B, 3, 64, 64] in [−1, 1] (RGB, antialiased resize)."""
    if isinstance(images, Image.Image):
        images = [images]
    if not isinstance(images, (list, tuple)) or not images:
        raise UserError("the judge needs a non-empty list of PIL images")
    arrays = []
    for img in images:
        if not isinstance(img, Image.Image):
            raise UserError(f"the judge reads PIL images, got {type(img).__name__}")
        img = img.convert("RGB")
        if img.size != (64, 64):
            img = img.resize((64, 64), Image.BILINEAR)
        arrays.append(np.asarray(img, dtype=np.float32))
    x = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2)
    return x / 127.5 - 1.0


def uint8_to_tensor(batch):
    """(B, H, W, 3) uint8 numpy → float tensor [B, 3, H, W] in [−1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float() / 127.5 - 1.0


def save_judge(judge: Judge, folder, *, training: dict | None = None) -> Path:
    """Write the judge as a weights folder (component ``judge``)."""
    config = {"components": {"judge": to_dict(judge.cfg)},
              "labels": {k: list(v) for k, v in judge.values.items()},
              "training": training or {}, "evaluation": judge.evaluation}
    return save_weights(folder, {"judge": judge.model.state_dict()}, config)


def load_judge(path=None, domain: str = "birds") -> Judge:
    """Load the judge from a weights folder (default: the bundled judge of ``domain``)."""
    folder = Path(path) if path is not None else default_judge_dir(domain)
    if not (folder / "config.json").is_file():
        flag = "" if domain == "birds" else f" --domain {domain}"
        raise CheckpointError(f"no attribute judge in {folder}: train one with "
                              f"`python -m t2i_core train-judge{flag} --out {folder}`")
    config, states = load_weights(folder, ["judge"])
    try:
        cfg = from_dict(JudgeConfig, config["components"]["judge"])
        values = {k: tuple(v) for k, v in config["labels"].items()}
    except (KeyError, TypeError) as exc:
        raise CheckpointError(f"{folder}/config.json lacks the judge's settings ({exc})") from None
    model = build_model(cfg, values)
    load_state_dict_strict(model, states["judge"], "judge")
    return Judge(model, cfg, values, config.get("evaluation"))
