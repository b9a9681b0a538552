"""The ``birds.hdf5`` / ``flowers.hdf5`` files of the aelnouby PyTorch port
(github.com/aelnouby/Text-to-Image-Synthesis, ``convert_cub_to_hd5_script.py``)::

    /train | /valid | /test                      one group per split ('valid' -> our 'val')
      /<image name>_<c>                          one group per (image, caption), c = 0..4
        name        str    image name (file stem), shared by the image's groups
        img         void   the raw JPEG bytes of the image
        embeddings  float  [1024] Reed's char-CNN-RNN embedding of this caption
        class       str    class folder name, e.g. '001.Black_footed_Albatross'
        txt         str    the caption (a line of text_c10, newline included)

The port draws 5 of the 10 captions per image (with replacement in its birds script, so a
caption can repeat). We merge an image's groups into one ``Record`` (captions and embeddings
aligned). Images are read lazily; each process opens its own file handle (h5py handles do not
survive ``fork``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import h5py
import numpy as np
from tqdm.auto import tqdm

from ..errors import UserError
from .records import DataIndex, ProblemLog, Record, clean_captions

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
HDF5_EXTS = (".hdf5", ".h5", ".hdf")
SPLIT_GROUPS = {"train": "train", "valid": "val", "val": "val", "test": "test"}


def is_hdf5(path) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(8) == HDF5_SIGNATURE
    except OSError:
        return False


def find_hdf5(root, *, required: bool = True) -> Path | None:
    """``root`` itself when it is an HDF5 file, else the single .hdf5 file inside it."""
    root = Path(root)
    if root.is_file():
        return root
    found = sorted(p for p in root.iterdir() if p.suffix.lower() in HDF5_EXTS and p.is_file())
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise UserError(f"{root} holds several HDF5 files ({names}); give one of them as ROOT")
    if found:
        return found[0]
    if required:
        raise UserError(f"no .hdf5 file in {root}")
    return None


def _text(value) -> str:
    if isinstance(value, np.ndarray):
        value = value.item() if value.shape == () else value.tolist()
        if isinstance(value, list):
            value = value[0] if value else ""
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


class Hdf5Images:
    """Reads the encoded image bytes of an item; one lazily opened handle per process."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._file = None
        self._pid = None
        self._lock = threading.Lock()

    def __getstate__(self):
        return {"path": self.path}

    def __setstate__(self, state):
        self.__init__(state["path"])

    def read(self, loc: str) -> bytes:
        with self._lock:  # h5py serialises access anyway; this keeps the handle logic safe
            if self._file is None or self._pid != os.getpid():
                self._file = h5py.File(self.path, "r")
                self._pid = os.getpid()
            try:
                data = self._file[loc]["img"][()]
            except (KeyError, OSError, ValueError) as exc:
                raise UserError(f"cannot read image {loc} from {self.path.name}: {exc}") from None
        if isinstance(data, np.void):
            return data.tobytes()
        return np.asarray(data).tobytes()


def _read(gid, name: bytes):
    """Read a small dataset through h5py's low-level API (several times faster than
    ``group[name][()]``, which matters for the ~59,000 items of birds.hdf5). None if absent."""
    try:
        ds = h5py.h5d.open(gid, name)
    except KeyError:  # no such dataset in this item
        return None
    tid = ds.get_type()
    if isinstance(tid, h5py.h5t.TypeStringID):
        dt = h5py.string_dtype() if tid.is_variable_str() else np.dtype(f"S{tid.get_size()}")
    elif isinstance(tid, h5py.h5t.TypeOpaqueID):
        dt = np.dtype(f"V{tid.get_size()}")
    else:
        dt = tid.dtype
    arr = np.empty(ds.get_space().shape, dtype=dt)
    ds.read(h5py.h5s.ALL, h5py.h5s.ALL, arr)
    return arr


def _read_item(group_id, item: str, loc: str, class_of: dict, log: ProblemLog):
    """(image name, class, caption, embedding or None) of one item group, or None if unusable.
    The port names items ``<image name>_<c>``; ``name`` is read only when the key differs."""
    base, sep, c = item.rpartition("_")
    try:
        gid = h5py.h5g.open(group_id, item.encode())
        name = base if sep and c.isdigit() else None
        if name is None:
            raw = _read(gid, b"name")
            name = _text(raw) if raw is not None else item
        cls = class_of.get(name)
        if cls is None:
            raw = _read(gid, b"class")
            if raw is None:
                log.add("item without class (skipped)", loc)
                return None
            cls = class_of[name] = _text(raw)
        txt = _read(gid, b"txt")
        emb = _read(gid, b"embeddings")
    except (KeyError, OSError, ValueError, TypeError, RuntimeError) as exc:
        log.add("unreadable hdf5 item", f"{loc} ({exc})")
        return None
    emb = None if emb is None else np.asarray(emb, dtype=np.float32).reshape(-1)
    return name, cls, "" if txt is None else _text(txt), emb


def _merge(entries, key, split, log) -> Record | None:
    """One image's (loc, caption, embedding) entries -> a Record (or None without captions)."""
    locs = [e[0] for e in entries]
    caps, kept = clean_captions([e[1] for e in entries], locs[0], log)
    if not caps:
        log.add("no captions", locs[0])
        return None
    embs = [entries[k][2] for k in kept]
    emb = None
    if all(e is not None for e in embs) and len({e.shape for e in embs}) == 1:
        emb = np.stack(embs).astype(np.float32)
    elif any(e is not None for e in embs):
        log.add("missing or uneven embeddings (embeddings dropped)", key)
    cls = key.split("/", 1)[0]
    return Record(key, cls, SPLIT_GROUPS[split], caps, emb, locs[0])


def index_hdf5(root, *, progress: bool = False) -> DataIndex:
    """Index an aelnouby-style ``birds.hdf5`` / ``flowers.hdf5`` file."""
    path = find_hdf5(root)
    log = ProblemLog()
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise UserError(f"cannot open {path} as HDF5 (truncated or not HDF5?): {exc}") from None
    groups, order = {}, []
    with f:
        unknown = [g for g in f.keys() if g not in SPLIT_GROUPS]
        for g in unknown:
            log.add("unknown top-level group (skipped)", g)
        for split in (g for g in ("train", "valid", "val", "test") if g in f):
            group, class_of = f[split], {}
            names = list(group.keys())
            for name in tqdm(names, desc=f"indexing {split}", disable=not progress, leave=False):
                loc = f"{split}/{name}"
                got = _read_item(group.id, name, loc, class_of, log)
                if got is None:
                    continue
                img_name, cls, txt, emb = got
                key = f"{cls}/{img_name}"
                if (split, key) not in groups:
                    groups[(split, key)] = []
                    order.append(cls)
                groups[(split, key)].append((loc, txt, emb))
    if not groups:
        raise UserError(f"{path} has no usable items in train/valid/test groups")
    records, seen = [], {}
    for (split, key), entries in groups.items():
        if key in seen and seen[key] != split:
            log.add("image in two splits (kept in both)", key)
            key = f"{key}@{SPLIT_GROUPS[split]}"
        seen.setdefault(key, split)
        rec = _merge(entries, key, split, log)
        if rec is not None:
            records.append(rec)
    return DataIndex(path, "hdf5", records, sorted(set(order)), log=log,
                     image_store=Hdf5Images(path), notes=[f"images from {path.name}"])
