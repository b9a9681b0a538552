"""Run-folder bookkeeping for ``train-text`` (the shared ``run_folder`` layout): the resolved
config, the dataset description and the exported weights folder."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from ..checkpoint import save_weights
from ..config import preset as component_preset, to_dict
from ..errors import UserError
from ..text.cache import captions_hash
from ..version import __version__
from .run_folder import RunFolder
from .text_config import RESUMABLE, TextTrainConfig, _override, train_preset


def resolve_config(folder: RunFolder, data, preset: str, overrides: dict, resume: bool) -> tuple[dict, Path | None]:
    """The run's config and the checkpoint to continue from: built from the preset + overrides
    and written first, or (``resume``) read back from RUN/config.json with only the RESUMABLE
    settings changed (repeating the run's own values, as a rerun script does, is fine)."""
    folder.check_start(resume)  # before any data is loaded
    overrides = {k: v for k, v in overrides.items() if v is not None}
    stored = folder.read_config() if resume else None
    if stored is not None:
        if data is not None and Path(data).resolve() != Path(stored["data"]):
            raise UserError(f"--resume: this run trained on {stored['data']}, not {data}")
        names = {f.name for f in fields(TextTrainConfig)}
        base = TextTrainConfig(**{k: tuple(v) if isinstance(v, list) else v
                                  for k, v in stored["training"].items() if k in names})
        config = {**stored, "training": to_dict(_override(base, overrides))}
    else:
        if not resume:
            if data is None:
                raise UserError("--data is required (a SynthBirds or Reed-layout dataset folder)")
            if not Path(data).exists():
                raise UserError(f"dataset folder not found: {data}")
        config = {
            "command": "train-text", "preset": preset,
            "data": str(Path(data).resolve()) if data is not None else None,
            "package_version": __version__,
            "components": {"text_encoder": to_dict(component_preset(preset, "text")),
                           "image_encoder": to_dict(component_preset(preset, "image"))},
            "training": to_dict(train_preset(preset, **overrides)),
        }
        if config["components"]["text_encoder"]["embed_dim"] != config["components"]["image_encoder"]["embed_dim"]:
            raise UserError("text and image encoders of a preset must share embed_dim")
    latest = folder.start(config, resume=resume, resumable=RESUMABLE)
    return config, latest


def write_dataset_info(folder: RunFolder, config: dict, index, bank) -> None:
    """Add a description of the data to RUN/config.json (once the data is loaded)."""
    info = {
        "root": str(index.root), "format": index.format,
        "synthbirds": bool(getattr(index, "synthbirds", False)),
        "classes": {s: len(index.classes[s]) for s in ("train", "val", "test")},
        "train_images": len(bank), "train_captions": int(bank.char_ids.shape[0]),
        "captions_sha256": captions_hash(index),
    }
    if config.get("dataset") != info:
        config["dataset"] = info
        folder.write_config(config)


def mean_row(rows: list[dict], **extra) -> dict:
    keys = rows[0].keys() if rows else ()
    return {**{k: sum(r[k] for r in rows) / len(rows) for k in keys}, **extra}


def save_weights_folder(trainer, figures: dict, stopped_early: bool) -> Path:
    """RUN/weights/: text_encoder + image_encoder with the full config (checkpoint.save_weights)."""
    config = trainer.config
    main = figures.get("test") or figures.get("val") or {}
    evaluation = {"zero_shot_top1": main.get("zero_shot_top1"), "split": main.get("split"),
                  "text_encoder": figures}
    training = {**config["training"], "steps_done": trainer.step, "stopped_early": stopped_early,
                "wall_minutes": round(trainer.elapsed_s / 60, 2), "cpu_minutes": round(trainer.cpu_s / 60, 2),
                "objective": "DS-SJE (Reed et al. CVPR 2016), image encoder trained jointly"}
    meta = {"components": config["components"], "training": training,
            "dataset": config.get("dataset", {}), "evaluation": evaluation}
    return save_weights(trainer.folder.weights_dir,
                        {"text_encoder": trainer.text_encoder.state_dict(),
                         "image_encoder": trainer.image_encoder.state_dict()}, meta)
