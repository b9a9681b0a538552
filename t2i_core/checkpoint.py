"""Weights folders (safetensors + config.json) and training checkpoints (tensors only).

A weights folder holds ``config.json`` and one ``<component>.safetensors`` per network. The
config records ``format_version``, the package version, every component's config and a SHA-256
of each tensor file, so a mismatched, truncated or tampered folder fails with a clear message.
Training checkpoints (optimizer state, step, RNG) use ``torch.save`` and load with
``weights_only=True``; every write is atomic (temp file + ``os.replace``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .version import __version__
from .errors import CheckpointError
from .files import atomic_write, read_json_object

FORMAT_VERSION = 1
CONFIG_NAME = "config.json"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def save_weights(folder, state_dicts: dict, config: dict) -> Path:
    """Write ``{name: state_dict}`` as safetensors plus ``config.json`` (``config`` is merged in)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    for name, sd in state_dicts.items():
        tensors = {k: v.detach().cpu().contiguous() for k, v in sd.items()}
        target = folder / f"{name}.safetensors"
        atomic_write(target, lambda tmp, t=tensors: save_file(t, tmp))
        files[name] = _sha256(target)
    meta = {**config, "format_version": FORMAT_VERSION, "package_version": __version__, "files": files}
    text = json.dumps(meta, indent=2, sort_keys=True)
    atomic_write(folder / CONFIG_NAME, lambda tmp: Path(tmp).write_text(text))
    return folder


def make_paths_relative(folder, base) -> dict:
    """Rewrite the machine paths a weights folder's ``config.json`` records (``dataset.root``,
    ``text_encoder_source``, the evaluation's data and report paths, …) relative to ``base``
    where they lie inside it, and drop ``cache_dir`` (a cache is rebuilt where it is missing),
    so a shipped folder points at ``data/synthbirds``, not at the machine it was trained on.
    Returns the new config."""
    folder, base = Path(folder), Path(base).resolve()
    prefix = str(base) + os.sep

    def rel(value):
        if isinstance(value, dict):
            return {k: rel(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rel(v) for v in value]
        if isinstance(value, str):
            return "." if value == str(base) else value.replace(prefix, "")
        return value

    config = rel(read_config(folder))
    config.pop("cache_dir", None)
    text = json.dumps(config, indent=2, sort_keys=True)
    atomic_write(folder / CONFIG_NAME, lambda tmp: Path(tmp).write_text(text))
    return config


def read_config(folder) -> dict:
    """Read and check ``config.json`` of a weights folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise CheckpointError(f"weights folder not found: {folder}")
    cfg_path = folder / CONFIG_NAME
    if not cfg_path.is_file():
        raise CheckpointError(f"{folder} is not a weights folder: it has no {CONFIG_NAME}")
    config = read_json_object(cfg_path)
    version = config.get("format_version")
    if version != FORMAT_VERSION:
        raise CheckpointError(f"{folder} has format_version {version!r}; this t2i_core "
                              f"({__version__}) reads format_version {FORMAT_VERSION}")
    return config


def load_weights(folder, names=None) -> tuple[dict, dict]:
    """Return ``(config, {name: state_dict})`` for the listed components (default: all)."""
    folder = Path(folder)
    config = read_config(folder)
    files = config.get("files", {})
    names = list(files) if names is None else list(names)
    out = {}
    for name in names:
        path = folder / f"{name}.safetensors"
        if name not in files:
            raise CheckpointError(f"{folder} has no '{name}' component (it has: {', '.join(files) or 'none'})")
        if not path.is_file():
            raise CheckpointError(f"{path} is missing")
        if _sha256(path) != files[name]:
            raise CheckpointError(f"{path} does not match the checksum in {CONFIG_NAME}: "
                                  "the file is truncated, corrupt or was replaced")
        try:
            out[name] = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{path} cannot be read as safetensors ({exc})") from None
    return config, out


def load_state_dict_strict(module, state_dict, name: str) -> None:
    """``module.load_state_dict`` with a message a user can act on."""
    try:
        module.load_state_dict(state_dict, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(f"'{name}' weights do not fit its config: {first}") from None


def save_training_state(path, state: dict) -> Path:
    """Atomically ``torch.save`` a dict of tensors / numbers / strings (no objects)."""
    return atomic_write(path, lambda tmp: torch.save(state, tmp))


def load_training_state(path) -> dict:
    """Load a training checkpoint with ``weights_only=True`` (never unpickles objects)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated zip, foreign pickle, ...
        raise CheckpointError(f"cannot load checkpoint {path}: {type(exc).__name__}: {exc}") from None
