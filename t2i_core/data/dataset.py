"""One index over every dataset format: ``open_dataset(root) -> DataIndex``.

Formats (detected from what is on disk):
- ``cvpr``: Reed's cvpr2016 ``text_c10/<class>/<image>.txt`` layout with CUB images
  (``images/<class>/*.jpg``) or Oxford-102 images (``jpg/image_XXXXX.jpg``). SynthBirds is this
  layout plus ``attributes.jsonl``; it reports ``format == "cvpr"`` and ``domain == "birds"``.
  SynthFlowers is the Oxford-102 flavour plus ``attributes.jsonl`` (``domain == "flowers"``).
- ``icml``: Reed's icml2016 per-image ``<class>/*.t7`` tables (``img``, ``txt``, ``char``).
- ``hdf5``: the ``birds.hdf5`` / ``flowers.hdf5`` files of the aelnouby PyTorch port.
- ``coco``: an MS-COCO root (``annotations/captions_{train,val}{2014,2017}.json`` + image
  folders), every image its own class (``coco.py``).

Bad data never crashes indexing: missing images, empty caption files, out-of-alphabet text and
unreadable files are skipped or cleaned, counted, and named in ``DataIndex.problems``. Only a
missing or unrecognisable dataset raises ``UserError``. ``PairDataset`` (``pairs.py``) is the torch
view of an index.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..errors import UserError
from .coco import index_coco, looks_like_coco
from .hdf5 import find_hdf5, index_hdf5, is_hdf5
from .images import resize_square
from .reed import index_cvpr, index_icml, looks_like_icml
from .records import (ALL_SPLITS, FORMATS, SPLITS, DataIndex, ProblemLog, Record,  # noqa: F401
                      _map, clean_captions)


def _find_child_dataset(root: Path) -> str | None:
    try:
        for child in sorted(p for p in root.iterdir() if p.is_dir()):
            if (child / "text_c10").is_dir() or any(child.glob("*.hdf5")):
                return str(child)
    except OSError:
        return None
    return None


def detect_format(root) -> str:
    """'cvpr', 'icml', 'hdf5' or 'coco' for ``root``; ``UserError`` with a hint when none fits."""
    root = Path(root)
    if not root.exists():
        raise UserError(f"dataset folder not found: {root}")
    if root.is_file():
        if is_hdf5(root):
            return "hdf5"
        raise UserError(f"{root} is a file but not an HDF5 dataset; give a dataset folder "
                        "or a birds.hdf5 / flowers.hdf5 file")
    if (root / "text_c10").is_dir():
        return "cvpr"
    if looks_like_coco(root):
        return "coco"
    if find_hdf5(root, required=False) is not None:
        return "hdf5"
    if looks_like_icml(root):
        return "icml"
    hint = _find_child_dataset(root)
    raise UserError(f"no dataset found in {root}: expected text_c10/ (Reed's cvpr2016 layout, "
                    "SynthBirds or SynthFlowers), <class>/*.t7 files (Reed's icml2016 layout), "
                    "a .hdf5 file or annotations/captions_*.json (MS-COCO)"
                    + (f"; did you mean {hint}?" if hint else ""))


def open_dataset(root, *, image_dir=None, progress: bool = False, max_images: int | None = None) -> DataIndex:
    """Index the dataset at ``root`` (a folder, or an .hdf5 file). ``image_dir`` overrides where
    pictures are looked for (cvpr/icml); ``max_images`` keeps the first N images of each split
    (MS-COCO). Indexing never opens images; see ``check_images``."""
    fmt = detect_format(root)
    if max_images is not None and fmt != "coco":
        raise UserError("--max-images is for MS-COCO folders (annotations/captions_*.json)")
    if fmt == "coco":
        return index_coco(root, max_images=max_images, progress=progress)
    if fmt == "hdf5":
        return index_hdf5(root, progress=progress)
    fn = index_cvpr if fmt == "cvpr" else index_icml
    return fn(root, image_dir=image_dir, progress=progress)


def load_image_array(index: DataIndex, idxs, size: int, *, workers: int | None = None,
                     progress: bool = True, return_ok: bool = False):
    """Preload records ``idxs`` as ``np.uint8 [N, size, size, 3]`` (square resize, like Reed's
    loader). Unreadable images become mid-grey, go to ``index.bad_images`` and ``problems``;
    with ``return_ok=True`` a bool mask of the good rows is returned too."""
    idxs = [int(i) for i in idxs]
    out = np.full((len(idxs), size, size, 3), 127, dtype=np.uint8)
    ok = np.ones(len(idxs), dtype=bool)

    def load(j):
        i = idxs[j]
        try:
            im = resize_square(index.load_image(i, min_size=size), size)
            out[j] = np.asarray(im, dtype=np.uint8)
            return j, None
        except UserError as exc:
            return j, str(exc)

    for j, err in _map(load, range(len(idxs)), workers, progress, f"loading images ({size}px)"):
        if err:
            ok[j] = False
            index.mark_bad(idxs[j], err)
    return (out, ok) if return_ok else out

