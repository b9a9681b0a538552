"""Run-folder bookkeeping for ``train-text``: resolved config, log.jsonl, plot, weights folder."""

from __future__ import annotations

import json
from dataclasses import fields
from pathlib import Path

from ..files import read_json_object
from ..errors import UserError

CONFIG = "config.json"
LOG = "log.jsonl"
PLOT = "training.png"


def _write_json(path: Path, obj) -> None:
    from ..files import atomic_write

    text = json.dumps(obj, indent=2, sort_keys=True)
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))


def resolve_config(run: Path, data, preset: str, overrides: dict, resume: bool) -> dict:
    """The run's config: built from the preset + overrides and written first, or (``resume``)
    read back from RUN/config.json with only the RESUMABLE settings changed."""
    from ..version import __version__
    from ..config import preset as component_preset, to_dict
    from .text_config import RESUMABLE, TextTrainConfig, _override, train_preset

    path = run / CONFIG
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if resume:
        if not path.is_file():
            raise UserError(f"nothing to resume: {path} does not exist (drop --resume to start)")
        config = read_json_object(path, "cannot resume this run")
        if data is not None and Path(data).resolve() != Path(config["data"]):
            raise UserError(f"--resume: this run trained on {config['data']}, not {data}")
        names = {f.name for f in fields(TextTrainConfig)}
        base = TextTrainConfig(**{k: tuple(v) if isinstance(v, list) else v
                                  for k, v in config["training"].items() if k in names})
        changed = sorted(k for k in set(overrides) - RESUMABLE if overrides[k] != getattr(base, k, None))
        if changed:  # repeating the run's own values (a rerun script does) is fine
            raise UserError(f"--resume keeps the run's settings; these cannot change: {changed}")
        config["training"] = to_dict(_override(base, {k: v for k, v in overrides.items() if k in RESUMABLE}))
        _write_json(path, config)
        return config
    if data is None:
        raise UserError("--data is required (a SynthBirds or Reed-layout dataset folder)")
    if not Path(data).exists():
        raise UserError(f"dataset folder not found: {data}")
    if path.exists() or (run / "checkpoints").exists():
        raise UserError(f"{run} already holds a run: add --resume to continue it, or pick a new --out")
    config = {
        "command": "train-text", "preset": preset, "data": str(Path(data).resolve()),
        "package_version": __version__,
        "components": {"text_encoder": to_dict(component_preset(preset, "text")),
                       "image_encoder": to_dict(component_preset(preset, "image"))},
        "training": to_dict(train_preset(preset, **overrides)),
    }
    if config["components"]["text_encoder"]["embed_dim"] != config["components"]["image_encoder"]["embed_dim"]:
        raise UserError("text and image encoders of a preset must share embed_dim")
    run.mkdir(parents=True, exist_ok=True)
    _write_json(path, config)
    return config


def write_dataset_info(run: Path, config: dict, index, bank) -> None:
    """Add a description of the data to RUN/config.json (once the data is loaded)."""
    from ..text.cache import captions_hash

    info = {
        "root": str(index.root), "format": index.format,
        "synthbirds": bool(getattr(index, "synthbirds", False)),
        "classes": {s: len(index.classes[s]) for s in ("train", "val", "test")},
        "train_images": len(bank), "train_captions": int(bank.char_ids.shape[0]),
        "captions_sha256": captions_hash(index),
    }
    if config.get("dataset") != info:
        config["dataset"] = info
        _write_json(run / CONFIG, config)


def append_log(run: Path, row: dict) -> None:
    with open(run / LOG, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")


def read_log(run: Path) -> list[dict]:
    path = run / LOG
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a half-written last line after a crash
    return rows


def truncate_log(run: Path, step: int) -> None:
    """Drop log rows written after the checkpoint we resume from (they will be redone)."""
    rows = [r for r in read_log(run) if r.get("step", 0) <= step and "final" not in r]
    from ..files import atomic_write

    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    atomic_write(run / LOG, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def mean_row(rows: list[dict], **extra) -> dict:
    keys = rows[0].keys() if rows else ()
    return {**{k: sum(r[k] for r in rows) / len(rows) for k in keys}, **extra}


def plot(run: Path) -> Path | None:
    """RUN/training.png: DS-SJE loss and validation zero-shot top-1 against the step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_log(run)
    train = [r for r in rows if "loss" in r]
    val = [r for r in rows if "val" in r]
    if not train:
        return None
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
    ax1.plot([r["step"] for r in train], [r["loss"] for r in train], label="total")
    ax1.plot([r["step"] for r in train], [r["loss_image"] for r in train], label="image side", alpha=0.7)
    ax1.plot([r["step"] for r in train], [r["loss_text"] for r in train], label="text side", alpha=0.7)
    ax1.set(title="DS-SJE loss", xlabel="step")
    ax1.legend()
    if val:
        steps = [r["step"] for r in val]
        ax2.plot(steps, [r["val"]["zero_shot_top1"] for r in val], "o-", label="zero-shot top-1")
        ax2.plot(steps, [r["val"]["caption_top1"] for r in val], "s--", label="caption top-1")
        ax2.plot(steps, [r["val"]["retrieval_ap50"] for r in val], "^:", label="retrieval AP@50")
        ax2.legend()
    ax2.set(title="validation (unseen classes)", xlabel="step", ylim=(0, 1.02))
    fig.tight_layout()
    out = run / PLOT
    fig.savefig(out, dpi=100)
    plt.close(fig)
    return out


def save_weights_folder(trainer, figures: dict, stopped_early: bool) -> Path:
    """RUN/weights/: text_encoder + image_encoder with the full config (checkpoint.save_weights)."""
    from ..checkpoint import save_weights

    config = trainer.config
    main = figures.get("test") or figures.get("val") or {}
    evaluation = {"zero_shot_top1": main.get("zero_shot_top1"), "split": main.get("split"),
                  "text_encoder": figures}
    training = {**config["training"], "steps_done": trainer.step, "stopped_early": stopped_early,
                "wall_minutes": round(trainer.elapsed_s / 60, 2), "cpu_minutes": round(trainer.cpu_s / 60, 2),
                "objective": "DS-SJE (Reed et al. CVPR 2016), image encoder trained jointly"}
    meta = {"components": config["components"], "training": training,
            "dataset": config.get("dataset", {}), "evaluation": evaluation}
    return save_weights(trainer.run / "weights",
                        {"text_encoder": trainer.text_encoder.state_dict(),
                         "image_encoder": trainer.image_encoder.state_dict()}, meta)
