"""The run folder every trainer shares (``train-text``, ``train``, ``train-style``)::

    RUN/config.json               resolved settings, written before anything else
    RUN/log.jsonl                 one JSON object per logged step or event
    RUN/checkpoints/step_*.pt     training state (tensors only, atomic), the last ``keep`` kept
    RUN/weights/                  the weights folder the run exports

One life-cycle: ``RunFolder.start`` refuses to overwrite a run unless asked to resume, checks
that a resumed run changes only the settings its trainer lists as resumable, writes the config,
and returns the checkpoint to continue from.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..checkpoint import save_training_state
from ..config import from_dict
from ..errors import UserError
from ..files import atomic_write, read_json_object, write_json

CONFIG = "config.json"
LOG = "log.jsonl"
CHECKPOINTS = "checkpoints"


def check_resumable(old: dict, new: dict, resumable, where) -> None:
    """Raise a UserError naming every setting (outside ``resumable``) that differs between the
    run's stored ``old`` settings and the ``new`` ones."""
    diff = sorted(k for k in new if k not in resumable and k in old and old[k] != new[k])
    if diff:
        changes = ", ".join(f"{k}: {old[k]!r} -> {new[k]!r}" for k in diff)
        raise UserError(f"cannot resume {where} with different settings ({changes})")


def resolve_settings(cls, run_dir, resume: bool, *layers: dict) -> tuple:
    """``cls`` (a training-config dataclass) from its defaults ← the run's stored ``training``
    settings (``resume``) ← each of ``layers`` in turn (None values skipped); and the stored run
    config ({} for a new run)."""
    folder = RunFolder(run_dir)
    folder.check_start(resume)  # before any data is loaded
    stored = (folder.read_config() if resume else None) or {}
    settings = dict(stored.get("training", {}))
    for layer in layers:
        settings.update({k: v for k, v in layer.items() if v is not None})
    return from_dict(cls, settings), stored


def latest_checkpoint(run_dir) -> Path | None:
    """The newest ``checkpoints/step_*.pt`` of a run folder, or None."""
    return RunFolder(run_dir).latest()


class RunLog:
    """Append-only JSON-lines log; one object per logged step or event."""

    def __init__(self, run_dir, enabled: bool = True):
        self.path = Path(run_dir) / LOG
        self.enabled = enabled

    def write(self, record: dict) -> None:
        if not self.enabled:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, sort_keys=True) + "\n")

    def read(self) -> list[dict]:
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
        return out

    def truncate_after(self, step: int) -> None:
        """On resume: drop records past the checkpoint's step, and the final records of an
        earlier finish (they will be logged again)."""
        if not self.enabled or not self.path.is_file():
            return
        kept = [r for r in self.read() if r.get("step", 0) <= step and "final" not in r
                and r.get("event") != "final"]
        text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in kept)
        atomic_write(self.path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


class RunFolder:
    """Paths and life-cycle of one run folder (see the module docstring)."""

    def __init__(self, path, *, enabled: bool = True):
        self.path = Path(path)
        self.log = RunLog(self.path, enabled=enabled)

    @property
    def config_path(self) -> Path:
        return self.path / CONFIG

    @property
    def ckpt_dir(self) -> Path:
        return self.path / CHECKPOINTS

    @property
    def weights_dir(self) -> Path:
        return self.path / "weights"

    def read_config(self) -> dict | None:
        """The stored config, or None when the run has none yet."""
        if not self.config_path.is_file():
            return None
        return read_json_object(self.config_path, "not a valid run config")

    def write_config(self, config: dict) -> None:
        write_json(self.config_path, config)

    def checkpoints(self) -> list[Path]:
        return sorted(self.ckpt_dir.glob("step_*.pt")) if self.ckpt_dir.is_dir() else []

    def latest(self) -> Path | None:
        found = self.checkpoints()
        return found[-1] if found else None

    def checkpoint_path(self, step: int) -> Path:
        return self.ckpt_dir / f"step_{step:08d}.pt"

    def holds_run(self) -> bool:
        return self.config_path.is_file() or bool(self.checkpoints())

    def check_start(self, resume: bool) -> None:
        """Refuse early (before any loading): a new run over an existing one, or resuming nothing."""
        if not resume and self.holds_run():
            raise UserError(f"{self.path} already holds a run: pass --resume to continue it, "
                            "or choose a new --out folder")
        if resume and not self.holds_run():
            raise UserError(f"nothing to resume: {self.config_path} does not exist "
                            "(drop --resume to start a new run)")

    def start(self, config: dict, *, resume: bool, resumable, section: str = "training") -> Path | None:
        """Begin or continue the run: returns the checkpoint to resume from (None: a fresh start
        or a resumed run that had not checkpointed yet). ``config[section]`` is compared with the
        stored one; only keys in ``resumable`` may differ. Writes ``config`` first."""
        self.check_start(resume)
        stored = self.read_config()
        if resume and stored is not None:
            check_resumable(stored.get(section, {}), config.get(section, {}), resumable, self.path)
        self.path.mkdir(parents=True, exist_ok=True)
        for stale in self.ckpt_dir.glob(".step_*.tmp") if self.ckpt_dir.is_dir() else []:
            stale.unlink(missing_ok=True)  # a checkpoint write cut short by a kill
        self.write_config(config)
        return self.latest() if resume else None

    def save_checkpoint(self, step: int, state: dict, keep: int) -> Path:
        """Write ``checkpoints/step_XXXXXXXX.pt`` atomically and keep the last ``keep``."""
        path = self.checkpoint_path(step)
        save_training_state(path, state)
        for old in self.checkpoints()[:-max(int(keep), 1)]:
            old.unlink(missing_ok=True)
        return path
