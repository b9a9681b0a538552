"""SynthFlowers: the procedural second domain (paper §5.1's Oxford-102 in procedural form),
written in **Reed's Oxford-102 layout** so that the Oxford loader reads it unchanged:

    ROOT/jpg/image_XXXXX.jpg                      the images (JPEG, numbered from 00001)
    ROOT/text_c10/class_XXXXX/image_XXXXX.txt     10 captions per image
    ROOT/allclasses.txt, trainvalclasses.txt, testclasses.txt (and trainclasses, valclasses)
    ROOT/attributes.jsonl                         content and style truth per image
    ROOT/synthflowers.json                        what wrote it (seed, sizes, version)

Content (petal colour, centre colour, petal shape, petal count) is what captions describe;
style (rotation, position, scale, one or several blooms, leaves, backdrop, light) never
appears in captions. A class is one content combination (10 × 6 × 2 × 3 = 360 classes); its
folder is ``class_XXXXX`` (1-based position in ``all_classes``), its readable name
``petal_center_shape_count``. Splits are zero-shot like Reed's: about 20% of the classes are
test classes never seen in training.

Drawing lives in ``flower_render.py``, caption writing in ``flower_captions.py``.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
from PIL import Image

from ..errors import UserError
from .flower_captions import make_captions as _make_captions
from .flower_render import SCALE_RANGE, render_flower
from .flower_vocabulary import (BACKDROP_HSV, BACKDROPS, FLOWER_KEYS, FLOWER_VALUES,
                                check_flower)
from .synthbirds import (_hsv_to_rgb, _write, image_rng, prepare_out, run_tasks,
                         split_classes, write_lists)

MARKER = "synthflowers.json"  # identifies a folder written by make_dataset
DATASET_VERSION = 1
ROTATION_RANGE = 360.0
SQUASH_RANGE = (0.72, 1.0)  # vertical squash: the bloom seen from above or at an angle
LIGHT_RANGE = (0.85, 1.08)
JPEG_QUALITY = 95


# ----------------------------------------------------------------------------- classes
def all_classes() -> list[str]:
    """All 360 readable class names in canonical order (the class index is the position here)."""
    return [class_name(dict(zip(FLOWER_KEYS, combo)))
            for combo in itertools.product(*(FLOWER_VALUES[k] for k in FLOWER_KEYS))]


def class_name(content) -> str:
    """``{"petal": "pink", "center": "yellow", "shape": "round", "count": "five"}``
    → ``"pink_yellow_round_five"`` (petal_center_shape_count)."""
    content = check_flower(content)
    return "_".join(content[k] for k in FLOWER_KEYS)


def parse_class(name: str) -> dict:
    """Inverse of ``class_name``; raises UserError for names that are not SynthFlowers classes."""
    parts = name.split("_") if isinstance(name, str) else []
    if len(parts) != len(FLOWER_KEYS):
        raise UserError(f"not a SynthFlowers class name: {name!r} (expected "
                        "petal_center_shape_count, e.g. pink_yellow_round_five)")
    return check_flower(dict(zip(FLOWER_KEYS, parts)))


def folder_name(class_index: int) -> str:
    """Oxford-102's class folder for a class index (0-based): ``class_00001`` ..."""
    return f"class_{class_index + 1:05d}"


# ----------------------------------------------------------------------------- style
def sample_style(rng) -> dict:
    """Draw a style (never in captions): position, scale, rotation, squash, blooms, leaves,
    backdrop and its mean colour, light; ``detail_seed`` fixes texture, leaves and extra blooms."""
    scale = round(float(rng.uniform(*SCALE_RANGE)), 4)
    margin = 0.5 * scale + 0.08  # keep most of the main bloom in the frame
    x = round(float(rng.uniform(margin, 1 - margin)), 4)
    y = round(float(rng.uniform(margin, 1 - margin)), 4)
    backdrop = BACKDROPS[int(rng.integers(len(BACKDROPS)))]
    hue, sat, val = (float(rng.uniform(*r)) for r in BACKDROP_HSV[backdrop])
    return {"x": x, "y": y, "scale": scale,
            "rotation": round(float(rng.uniform(0, ROTATION_RANGE)), 2),
            "squash": round(float(rng.uniform(*SQUASH_RANGE)), 3),
            "blooms": int(rng.choice([1, 1, 1, 2, 3])), "leaves": int(rng.integers(0, 4)),
            "backdrop": backdrop, "background_rgb": _hsv_to_rgb(hue, sat, val),
            "light": round(float(rng.uniform(*LIGHT_RANGE)), 3),
            "detail_seed": int(rng.integers(2**31))}


def render(content, style, size: int = 64) -> np.ndarray:
    """Draw one flower image: uint8 array (size, size, 3). See flower_render.py."""
    return render_flower(content, style, size=size)


def make_captions(content, rng, n: int = 10) -> list[str]:
    """``n`` distinct Oxford-102-like captions of ``content``. See flower_captions.py."""
    return _make_captions(content, rng, n=n)


def make_splits(seed: int = 0) -> dict[str, list[str]]:
    """Zero-shot class splits: ``{"train", "val", "test"}`` → sorted readable names; every
    attribute value appears in the train classes."""
    return split_classes(all_classes(), parse_class, FLOWER_VALUES, seed)


# ----------------------------------------------------------------------------- writing
def jpeg_bytes(pixels: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="JPEG", quality=JPEG_QUALITY)
    return buf.getvalue()


def _render_class(task) -> list[dict]:
    """Worker: render, caption and write every image of one class; return attribute records."""
    class_index, name, n_images, seed, size, out = task
    content = parse_class(name)
    folder = folder_name(class_index)
    txt_dir = Path(out, "text_c10", folder)
    txt_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for j in range(n_images):
        rng = image_rng(seed, class_index, j)
        style = sample_style(rng)
        pixels = render(content, style, size=size)
        captions = make_captions(content, rng, n=10)
        stem = f"image_{class_index * n_images + j + 1:05d}"
        _write(Path(out, "jpg", f"{stem}.jpg"), jpeg_bytes(pixels))
        _write(txt_dir / f"{stem}.txt", ("\n".join(captions) + "\n").encode("utf-8"))
        records.append({"image": f"jpg/{stem}.jpg", "class": folder, "name": name,
                        "content": content, "style": style})
    return records


def make_dataset(out, images_per_class: int = 20, seed: int = 0, size: int = 64,
                 workers: int | None = None, max_classes: int | None = None,
                 progress: bool = True) -> dict:
    """Write SynthFlowers into ``out`` (Oxford-102 layout, see above); return a summary dict.

    Same ``seed`` → same bytes, whatever ``workers`` is. ``max_classes`` writes a deterministic
    subset of classes spread over train/val/test."""
    out, splits, chosen, workers = prepare_out(
        out, MARKER, images_per_class, seed, size, workers, max_classes, make_splits,
        subdirs=("jpg", "text_c10"), parse=parse_class)
    images_per_class, seed, size = int(images_per_class), int(seed), int(size)  # checked above
    index = {name: i for i, name in enumerate(all_classes())}
    (out / "jpg").mkdir(parents=True, exist_ok=True)
    meta = {"dataset": "SynthFlowers", "version": DATASET_VERSION, "seed": seed, "size": size,
            "images_per_class": images_per_class, "max_classes": max_classes,
            "classes": len(chosen), "images": len(chosen) * images_per_class}
    folders = {n: folder_name(index[n]) for n in chosen}
    lists = {"allclasses": chosen, "trainclasses": splits["train"], "valclasses": splits["val"],
             "testclasses": splits["test"], "trainvalclasses": sorted(splits["train"] + splits["val"])}
    write_lists(out, MARKER, meta, {k: sorted(folders[n] for n in v) for k, v in lists.items()})
    tasks = [(index[n], n, images_per_class, seed, size, str(out)) for n in chosen]
    run_tasks(_render_class, tasks, out / "attributes.jsonl", workers, progress, meta["images"],
              desc="SynthFlowers")
    return {"root": str(out), **meta, "splits": {k: len(v) for k, v in splits.items()}}

