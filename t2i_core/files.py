"""Generic file helpers: atomic writes and JSON files (weights live in checkpoint.py)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import CheckpointError


def atomic_write(path, write) -> Path:
    """Call ``write(tmp_path)`` then move the file into place, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:  # name the file the caller asked for, not the temp name
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; weights are meant to be shared
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def write_json(path, obj, **dumps_kwargs) -> Path:
    """Write ``obj`` as indented, key-sorted JSON (atomic; ``dumps_kwargs`` go to ``json.dumps``)."""
    text = json.dumps(obj, indent=2, sort_keys=True, **dumps_kwargs) + "\n"
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def read_json_object(path, context: str = "") -> dict:
    """Parse a JSON file that must hold an object; anything else is a CheckpointError."""
    suffix = f": {context}" if context else ""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path} is not valid JSON ({exc}){suffix}") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"{path} must hold a JSON object{suffix}")
    return data
