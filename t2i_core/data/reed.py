"""Reed's on-disk layouts (github.com/reedscot/cvpr2016 and reedscot/icml2016).

cvpr2016 (also SynthBirds)::

    ROOT/text_c10/<class>/<image stem>.txt       10 captions, one per line
    ROOT/images/<class>/<image stem>.jpg         CUB images (CUB_200_2011/images), or
    ROOT/jpg/image_XXXXX.jpg                     Oxford-102 (classes from text_c10/class_XXXXX/)
    ROOT/{all,train,val,test,trainval}classes.txt
    ROOT/attributes.jsonl                        SynthBirds only

icml2016 (``CUB_META_DIR`` / ``FLOWERS_META_DIR`` of Reed's CONFIG, e.g. ``cub_icml/``)::

    ROOT/<class>/<image stem>.t7   table: img = image path relative to the image folder
                                   (CUB: "<class>/<stem>.jpg", Oxford: "jpg/image_XXXXX.jpg"),
                                   txt = 10 x 1024 float caption embeddings,
                                   char = 201 x 10 byte, 1-based indices into Reed's alphabet
    ROOT/{all,train,val,test,trainval}classes.txt (+ trainvalids.txt, ids into allclasses.txt)

Reed's CONFIG keeps the images apart (``CUB_IMG_DIR=.../CUB_200_2011/images``); we look in
``image_dir`` if given, else in the usual places next to ROOT (see ``_image_dir_candidates``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torchfile
from tqdm.auto import tqdm

from ..errors import UserError
from ..text.alphabet import decode
from .records import DataIndex, ProblemLog, Record, clean_captions

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
SPLIT_NAMES = ("train", "val", "test", "trainval", "all")


# ---------------------------------------------------------------- class splits

def read_list(path: Path) -> list[str] | None:
    """Lines of a split file (blank lines and '#' comments skipped); None when missing."""
    if not path.is_file():
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        return [ln.strip() for ln in f if ln.strip() and not ln.lstrip().startswith("#")]


def assign_splits(root: Path, classes: list[str], log: ProblemLog) -> tuple[dict, list[str]]:
    """Class -> 'train' / 'val' / 'test' from Reed's split files, tolerating missing or empty
    files. Returns (split of each class, class order: allclasses.txt order, then by name)."""
    lists = {s: read_list(root / f"{s}classes.txt") for s in SPLIT_NAMES}
    sets = {s: set(v) if v else set() for s, v in lists.items()}
    if all(v is None for v in lists.values()):
        log.add("split files", f"no *classes.txt files in {root}: all {len(classes)} classes "
                "are treated as train")
    else:
        for s in ("train", "val", "test"):
            if lists[s] is None or not lists[s]:
                what = "missing" if lists[s] is None else "empty"
                log.add("split files", f"{s}classes.txt is {what}")
    split_of = {}
    for c in classes:
        if c in sets["test"]:
            split_of[c] = "test"
        elif c in sets["val"]:
            split_of[c] = "val"
        elif c in sets["train"]:
            split_of[c] = "train"
        elif c in sets["trainval"]:  # trainval minus a known train list is val
            split_of[c] = "val" if lists["train"] and lists["val"] is None else "train"
        else:
            split_of[c] = "train"
            if any(v is not None for v in lists.values()):
                log.add("class in no split file (treated as train)", c)
        if c in sets["test"] and (c in sets["train"] or c in sets["val"]):
            log.add("class in test and train/val (kept in test)", c)
    on_disk = set(classes)
    for s in ("train", "val", "test"):
        for c in lists[s] or []:
            if c not in on_disk:
                log.add("class listed but has no data", f"{s}classes.txt: {c}")
    order = [c for c in (lists["all"] or []) if c in on_disk]
    order += sorted(on_disk - set(order))
    return split_of, order


# ---------------------------------------------------------------- cvpr2016 text_c10

def _list_dir(path: Path) -> list[os.DirEntry]:
    try:
        with os.scandir(path) as it:
            return sorted(it, key=lambda e: e.name)
    except OSError:
        return []


def _images_in(path: Path) -> dict[str, str]:
    """{stem: file path} of the image files directly in ``path``."""
    out = {}
    for e in _list_dir(path):
        stem, ext = os.path.splitext(e.name)
        if ext.lower() in IMAGE_EXTS and stem not in out:
            out[stem] = e.path
    return out


def _image_dir_candidates(root: Path, image_dir) -> list[Path]:
    if image_dir is not None:
        p = Path(image_dir)
        if not p.is_dir():
            raise UserError(f"image folder not found: {p}")
        return [p]
    names = ["images", "jpg", "CUB_200_2011/images", "CUB_200_2011/CUB_200_2011/images",
             "102flowers/jpg", "oxford102/jpg", "102flowers", "oxford102"]
    return [b / n for b in (root, root.parent) for n in names] + [root.parent]


def _locate_cvpr_images(root: Path, classes: list[str], image_dir):
    """('per-class', folder, None) for images/<class>/*, or ('flat', folder, {stem: path}) for
    jpg/* (accepted only if it holds an image named like a caption file)."""
    sample = set()
    for c in classes[:5]:
        sample |= {os.path.splitext(e.name)[0] for e in _list_dir(root / "text_c10" / c)}
    for cand in _image_dir_candidates(root, image_dir):
        if not cand.is_dir():
            continue
        if any((cand / c).is_dir() for c in classes[:50]):
            return "per-class", cand, None
        flat = _images_in(cand)
        if flat and (sample & flat.keys() or image_dir is not None):
            return "flat", cand, flat
    raise UserError(
        f"found captions in {root / 'text_c10'} but no images: expected {root}/images/<class>/"
        f"*.jpg (CUB, SynthBirds) or {root}/jpg/image_XXXXX.jpg (Oxford-102); or give the "
        "image folder (--image-dir)")


def synthetic_domain(root) -> str | None:
    """"birds" (SynthBirds) or "flowers" (SynthFlowers) for a folder make-dataset wrote (it holds
    ``attributes.jsonl``), else None. Cheap: reads no captions or images."""
    root = Path(root)
    if not (root / "attributes.jsonl").is_file():
        return None
    return "flowers" if (root / "synthflowers.json").is_file() else "birds"


def index_cvpr(root, *, image_dir=None, progress: bool = False) -> DataIndex:
    """Index Reed's cvpr2016 layout (CUB or Oxford-102 flavour) or a SynthBirds folder."""
    root = Path(root)
    log = ProblemLog()
    text_dir = root / "text_c10"
    classes = [e.name for e in _list_dir(text_dir) if e.is_dir()]
    if not classes:
        raise UserError(f"{text_dir} has no class folders (expected text_c10/<class>/*.txt)")
    mode, img_root, flat = _locate_cvpr_images(root, classes, image_dir)
    split_of, order = assign_splits(root, classes, log)
    records, used = [], set()
    for c in tqdm(classes, desc="indexing classes", disable=not progress, leave=False):
        images = flat if flat is not None else _images_in(img_root / c)
        for e in _list_dir(text_dir / c):
            stem, ext = os.path.splitext(e.name)
            if ext != ".txt":
                continue
            rel = f"text_c10/{c}/{e.name}"
            if stem not in images:
                log.add("missing image", f"{c}/{stem} (captions in {rel})")
                continue
            used.add((c, stem))
            caps = _read_captions(e.path, rel, log)
            if caps:
                records.append(Record(f"{c}/{stem}", c, split_of[c], caps, None, images[stem]))
        if flat is None:
            for stem in images:
                if (c, stem) not in used:
                    log.add("image without caption file (skipped)", f"{c}/{stem}")
    attrs = root / "attributes.jsonl"
    notes = [f"images from {img_root} ({mode})"]
    return DataIndex(root, "cvpr", records, order, log=log, notes=notes, domain=synthetic_domain(root),
                     attributes_path=attrs if attrs.is_file() else None)


def _read_captions(path: str, rel: str, log: ProblemLog) -> list[str]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        log.add("unreadable caption file", f"{rel} ({exc.strerror or exc})")
        return []
    text = data.decode("utf-8", errors="replace")
    caps, _ = clean_captions(text.splitlines(), rel, log)
    if not caps:
        kind = "empty caption file" if not text.strip() else "caption file with no usable text"
        log.add(kind, rel)
    return caps


# ---------------------------------------------------------------- icml2016 .t7

def _t7_dirs(root: Path) -> list[os.DirEntry]:
    return [e for e in _list_dir(root) if e.is_dir()]


def looks_like_icml(root: Path) -> bool:
    """A folder of class folders holding .t7 files (checks the first few only)."""
    for e in _t7_dirs(Path(root))[:5]:
        if any(n.name.endswith(".t7") for n in _list_dir(Path(e.path))[:50]):
            return True
    return False


def _get(table, key):
    if isinstance(table, dict):
        return table.get(key.encode(), table.get(key))
    return getattr(table, key, None)


def read_t7(path) -> tuple[str, np.ndarray | None, list[str]]:
    """One icml2016 table -> (img, embeddings [n, E] float32 or None, raw decoded captions)."""
    try:
        t = torchfile.load(str(path))
    except Exception as exc:  # noqa: BLE001 - torchfile raises many kinds on bad files
        raise UserError(f"unreadable .t7 file {path}: {type(exc).__name__}: {exc}") from None
    img = _get(t, "img")
    if isinstance(img, bytes):
        img = img.decode("utf-8", errors="replace")
    if not isinstance(img, str) or not img:
        raise UserError(f"{path} has no 'img' entry (expected Reed's icml2016 table)")
    txt = _get(t, "txt")
    emb = np.ascontiguousarray(txt, dtype=np.float32) if isinstance(txt, np.ndarray) and txt.ndim == 2 else None
    char = _get(t, "char")
    caps = []
    if isinstance(char, np.ndarray) and char.ndim == 2:
        cols = char if char.shape[0] >= char.shape[1] else char.T  # Reed: 201 x n_captions
        caps = [decode(cols[:, j]) for j in range(cols.shape[1])]
    return img, emb, caps


def _resolve_icml_image(img: str, bases: list[Path]) -> tuple[Path | None, Path | None]:
    """(image path, the base folder it was found under) or (None, None)."""
    name = Path(img)
    for b in bases:
        for cand in (b / name, b / name.name, b / "jpg" / name.name):
            if cand.is_file():
                return cand, b
    return None, None


def index_icml(root, *, image_dir=None, progress: bool = False) -> DataIndex:
    """Index Reed's icml2016 caption data (``cub_icml`` / ``flowers_icml``)."""
    root = Path(root)
    log = ProblemLog()
    files = [(e.name, f) for e in _t7_dirs(root)
             for f in _list_dir(Path(e.path)) if f.name.endswith(".t7")]
    classes = list(dict.fromkeys(c for c, _ in files))
    split_of, order = assign_splits(root, classes, log)
    bases = _image_dir_candidates(root, image_dir)
    good_base, records = None, []
    for c, f in tqdm(files, desc="reading .t7 files", disable=not progress, leave=False):
        rel = f"{c}/{f.name}"
        try:
            img, emb, raw = read_t7(f.path)
        except UserError as exc:
            log.add("unreadable .t7 file", f"{rel} ({exc})")
            continue
        path, base = _resolve_icml_image(img, [good_base] if good_base else bases)
        if path is None and good_base is not None:
            path, base = _resolve_icml_image(img, bases)
        if path is None:
            log.add("missing image", f"{img} (from {rel})")
            continue
        good_base = good_base or base
        caps, kept = clean_captions(raw, rel, log)
        if emb is not None and len(emb) == len(raw):
            emb = emb[kept]
        elif emb is not None:
            log.add("captions and embeddings differ in number (embeddings dropped)", rel)
            emb = None
        if not caps:
            log.add("no captions", rel)
            continue
        stem = os.path.splitext(f.name)[0]
        records.append(Record(f"{c}/{stem}", c, split_of[c], caps, emb, str(path)))
    if not files:
        raise UserError(f"no .t7 files found in the class folders of {root}")
    return DataIndex(root, "icml", records, order, log=log,
                     notes=[f"images from {good_base}" if good_base else "no images found"])
