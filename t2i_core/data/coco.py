"""MS-COCO captions (paper §5.4): a COCO root read as a dataset of instances.

    ROOT/annotations/captions_train2014.json  + ROOT/train2014/*.jpg   → split "train"
    ROOT/annotations/captions_val2014.json    + ROOT/val2014/*.jpg     → split "test"
    (or the 2017 names: captions_train2017.json + train2017/, captions_val2017.json + val2017/)

COCO's own train/val split is used as train/test. There are no classes: a COCO image holds many
objects, so every image is its own class (``class_name`` = the record key) and the text encoder
is trained with instance-level matching (``train-text --matching instance``, the paper's §5.4).
Captions (5–7 per image) are cleaned to Reed's alphabet like every other format.

The caption files are read as a stream (``ijson``): the 400k-caption train file is never held as
one parsed tree next to its text. ``max_images`` keeps the first N images of each split (by image
id), for a subset.
"""

from __future__ import annotations

import os
from pathlib import Path

import ijson
from tqdm.auto import tqdm

from ..errors import UserError
from .records import DataIndex, ProblemLog, Record, clean_captions

YEARS = ("2014", "2017")
SPLIT_OF = {"train": "train", "val": "test"}  # COCO's split → ours


def caption_files(root) -> list[tuple[str, Path, Path]]:
    """``(our split, annotation file, image folder)`` for every COCO caption file under ``root``."""
    root = Path(root)
    found = []
    for coco_split, ours in SPLIT_OF.items():
        for year in YEARS:
            ann = root / "annotations" / f"captions_{coco_split}{year}.json"
            if ann.is_file():
                found.append((ours, ann, root / f"{coco_split}{year}"))
                break
    return found


def looks_like_coco(root) -> bool:
    return Path(root).is_dir() and bool(caption_files(root))


def _stream(path: Path, log: ProblemLog):
    """``(images {id: file_name}, captions {id: [raw]})`` of one caption file, read as a stream."""
    images, captions = {}, {}
    try:
        with open(path, "rb") as f:
            for item in ijson.items(f, "images.item"):
                if not isinstance(item, dict) or not isinstance(item.get("id"), int) \
                        or not isinstance(item.get("file_name"), str) or not item["file_name"]:
                    log.add("malformed image entry (skipped)", f"{path.name}: {str(item)[:80]}")
                    continue
                images[item["id"]] = item["file_name"]
        with open(path, "rb") as f:
            for item in ijson.items(f, "annotations.item"):
                if not isinstance(item, dict) or not isinstance(item.get("image_id"), int) \
                        or not isinstance(item.get("caption"), str):
                    log.add("malformed caption entry (skipped)", f"{path.name}: {str(item)[:80]}")
                    continue
                captions.setdefault(item["image_id"], []).append(item["caption"])
    except ijson.JSONError as exc:
        raise UserError(f"{path} is not valid JSON ({exc}); re-download or repair the COCO "
                        "caption file") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None
    if not images:
        raise UserError(f"{path} lists no images (expected COCO's {{\"images\": [...], "
                        "\"annotations\": [...]}})")
    return images, captions


def index_coco(root, *, max_images: int | None = None, progress: bool = False) -> DataIndex:
    """Index a COCO root (see the module docstring); ``max_images`` per split."""
    if max_images is not None and (isinstance(max_images, bool) or not isinstance(max_images, int)
                                   or max_images < 1):
        raise UserError(f"--max-images must be a whole number >= 1, got {max_images!r}")
    root = Path(root)
    log, records, notes = ProblemLog(), [], []
    files = caption_files(root)
    if not files:
        raise UserError(f"no COCO caption file in {root}/annotations (expected captions_train2014.json "
                        "/ captions_val2014.json or the 2017 names)")
    for split, ann, folder in files:
        images, captions = _stream(ann, log)
        try:
            on_disk = {e.name for e in os.scandir(folder) if e.is_file()}
        except OSError:
            on_disk = set()
            log.add("missing image folder", str(folder.relative_to(root)))
        ids = sorted(images)
        if max_images is not None:
            ids = ids[:max_images]
        for image_id in tqdm(ids, desc=f"indexing {ann.name}", disable=not progress, leave=False):
            name = images[image_id]
            key = f"{folder.name}/{Path(name).stem}"
            if name not in on_disk:
                log.add("missing image", key)
                continue
            caps, _ = clean_captions(captions.get(image_id, []), key, log)
            if not caps:
                log.add("image without captions (skipped)", key)
                continue
            records.append(Record(key, key, split, caps, None, str(folder / name)))
        notes.append(f"{ann.name}: {len(images)} images listed, images from {folder.name}/"
                     + (f" (first {max_images} kept)" if max_images is not None else ""))
    if not records:
        raise UserError(f"{root}: no COCO image with captions was found on disk")
    return DataIndex(root, "coco", records, [], log=log, notes=notes)
