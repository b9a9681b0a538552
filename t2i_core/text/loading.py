"""Load the trained φ (and θ) from a weights folder, a ``train-text`` run folder or a pipeline
weights folder: ``load_text_encoder(path) -> CharCNNRNN`` (eval mode, CPU).

Accepted ``path``:
* a weights folder whose ``config.json`` lists a ``text_encoder`` component;
* a run folder of ``train-text`` or ``train`` (its ``weights/`` sub-folder);
* a ``train-text`` run still in progress (no ``weights/`` yet): its latest ``checkpoints/step_*.pt``.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..checkpoint import load_state_dict_strict, load_training_state, load_weights
from ..config import ImageEncoderConfig, TextEncoderConfig, from_dict
from ..errors import CheckpointError, UserError
from ..files import read_json_object
from ..train.run_folder import latest_checkpoint
from .char_cnn_rnn import CharCNNRNN
from .image_encoder import ImageEncoder


def _weights_dir(path: Path, component: str) -> Path | None:
    for cand in (path, path / "weights"):
        cfg = cand / "config.json"
        if cfg.is_file():
            try:
                files = json.loads(cfg.read_text()).get("files", {})
            except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
                continue
            if component in files:
                return cand
    return None


def _build(component: str, cfg_dict: dict):
    if component == "text_encoder":
        return CharCNNRNN(from_dict(TextEncoderConfig, cfg_dict))
    return ImageEncoder(from_dict(ImageEncoderConfig, cfg_dict))


def _load_component(path, component: str):
    path = Path(path)
    if not path.exists():
        raise UserError(f"text encoder not found: {path} does not exist")
    folder = _weights_dir(path, component)
    if folder is not None:
        config, states = load_weights(folder, [component])
        cfg = config.get("components", {}).get(component)
        if cfg is None:
            raise CheckpointError(f"{folder}/config.json has no config for '{component}'")
        state = states[component]
    elif (latest := latest_checkpoint(path)) is not None and (path / "config.json").is_file():
        run_cfg = read_json_object(path / "config.json")
        cfg = run_cfg.get("components", {}).get(component)
        if cfg is None:
            raise CheckpointError(f"{path}/config.json has no config for '{component}'")
        state = load_training_state(latest).get(component)
        if state is None:
            raise CheckpointError(f"{latest} holds no '{component}'")
    else:
        raise UserError(f"{path} holds no '{component}': give a weights folder or a train-text run folder")
    model = _build(component, cfg)
    load_state_dict_strict(model, state, component)
    return model.eval()


def load_text_encoder(path):
    """φ from ``path`` (see module docstring), in eval mode."""
    return _load_component(path, "text_encoder")


def load_image_encoder(path):
    """θ from ``path`` (a ``train-text`` weights or run folder), in eval mode."""
    return _load_component(path, "image_encoder")
