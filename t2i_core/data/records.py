"""The dataset index's base types, shared by every format reader (``reed``, ``hdf5``) and by
``dataset.open_dataset``: one record per image (``Record``), the problems found while indexing
(``ProblemLog``), caption cleaning with its messages (``clean_captions``) and the index itself
(``DataIndex``: records, splits, images on demand, problems)."""

from __future__ import annotations

import json
import os
import unicodedata
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ..errors import UserError
from ..text.alphabet import CHAR_TO_INDEX, clean_caption
from .images import open_image, verify_image

SPLITS = ("train", "val", "test")
ALL_SPLITS = SPLITS + ("trainval", "all")
FORMATS = ("cvpr", "icml", "hdf5", "coco")
MAX_NAMED = 20  # problems of one kind named one by one; the rest are counted

_ALLOWED = "".join(CHAR_TO_INDEX) + " \t\n\r\x0b\x0c"
_DELETE_ALLOWED = str.maketrans("", "", _ALLOWED)


@dataclass(eq=False)
class Record:
    """One image with its captions. ``image`` locates the picture: a file path, or
    ``"<group>/<item>"`` inside an hdf5 file."""
    key: str
    class_name: str
    split: str
    captions: list
    embeddings: np.ndarray | None = None
    image: str = ""


class ProblemLog:
    """Counts problems by kind and names the first ``MAX_NAMED`` of each."""

    def __init__(self):
        self.counts: dict[str, int] = defaultdict(int)
        self.named: dict[str, list[str]] = defaultdict(list)

    def add(self, kind: str, name: str) -> None:
        self.counts[kind] += 1
        if len(self.named[kind]) < MAX_NAMED:
            self.named[kind].append(name)

    def lines(self) -> list[str]:
        out = []
        for kind, names in self.named.items():
            out += [f"{kind}: {n}" for n in names]
            extra = self.counts[kind] - len(names)
            if extra > 0:
                out.append(f"{kind}: ... and {extra} more ({self.counts[kind]} in all)")
        return out


def clean_captions(lines, name: str, log: ProblemLog) -> tuple[list[str], list[int]]:
    """Clean raw caption lines (Reed's alphabet, lowercase). Returns (captions, kept line indices);
    blank lines are skipped silently, dropped characters are reported once per file."""
    lines = [r.decode("utf-8", errors="replace") if isinstance(r, bytes) else r for r in lines]
    low = "".join(lines).lower()
    if low.isascii() and not low.translate(_DELETE_ALLOWED):  # fast path: nothing to drop
        cleaned = [" ".join(r.lower().split()) for r in lines]
        kept = [i for i, c in enumerate(cleaned) if c]
        return [cleaned[i] for i in kept], kept
    captions, kept, dropped = [], [], set()
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        low = raw.lower()
        if low.isascii() and not low.translate(_DELETE_ALLOWED):
            clean = " ".join(low.split())  # fast path; same result as clean_caption
        else:
            norm = unicodedata.normalize("NFKD", raw).lower()  # as clean_caption does
            dropped.update(ch for ch in norm if not ch.isspace() and ch not in CHAR_TO_INDEX
                           and not unicodedata.combining(ch))
            clean = clean_caption(raw)
        if clean:
            captions.append(clean)
            kept.append(i)
    if dropped:
        shown = "".join(sorted(dropped))[:20]
        log.add("out-of-alphabet text removed", f"{name} ({ascii(shown)})")
    return captions, kept


class DataIndex:
    """Records of one dataset plus its class splits; images are opened lazily."""

    def __init__(self, root, format, records, class_order, *, log=None, notes=(),
                 synthbirds=False, image_store=None, attributes_path=None, domain=None):
        self.root = Path(root)
        self.format = format
        self.records: list[Record] = list(records)
        # which procedural dataset wrote it ("birds": SynthBirds, "flowers": SynthFlowers), else None
        self.domain = domain or ("birds" if synthbirds else None)
        self.synthbirds = self.domain == "birds"
        self.notes: list[str] = list(notes)
        self.bad_images: set[int] = set()
        self._log = log or ProblemLog()
        self._store = image_store  # hdf5 reader; None for files on disk
        self._attributes_path = attributes_path
        self._attributes = None
        self.classes = self._build_classes(class_order)

    def _build_classes(self, class_order) -> dict[str, list[str]]:
        seen = {s: set() for s in SPLITS}
        for r in self.records:
            seen[r.split].add(r.class_name)
        order = list(dict.fromkeys(list(class_order) + sorted({r.class_name for r in self.records})))
        classes = {s: [c for c in order if c in seen[s]] for s in SPLITS}
        classes["trainval"] = list(dict.fromkeys(classes["train"] + classes["val"]))
        classes["all"] = list(dict.fromkeys(classes["trainval"] + classes["test"]))
        return classes

    @property
    def problems(self) -> list[str]:
        return self._log.lines()

    @property
    def problem_counts(self) -> dict[str, int]:
        return dict(self._log.counts)

    def __len__(self) -> int:
        return len(self.records)

    def __repr__(self) -> str:
        sizes = ", ".join(f"{s}={len(self.classes[s])}" for s in SPLITS)
        return (f"DataIndex(format={self.format!r}, root={str(self.root)!r}, "
                f"records={len(self.records)}, classes: {sizes}, problems={len(self.problems)})")

    def indices(self, split: str) -> list[int]:
        if split not in ALL_SPLITS:
            raise UserError(f"unknown split {split!r}; choose one of {', '.join(ALL_SPLITS)}")
        if split == "all":
            return list(range(len(self.records)))
        wanted = {"train", "val"} if split == "trainval" else {split}
        return [i for i, r in enumerate(self.records) if r.split in wanted]

    def image_source(self, i: int):
        """What ``open_image`` takes for record ``i``: a file path, or the encoded bytes."""
        rec = self.records[i]
        return self._store.read(rec.image) if self._store is not None else rec.image

    def load_image(self, i: int, *, min_size: int | None = None):
        """Record ``i``'s picture as an RGB PIL image (``UserError`` if unreadable)."""
        try:
            return open_image(self.image_source(i), min_size=min_size)
        except UserError as exc:
            raise UserError(f"{self.records[i].key}: {exc}") from None

    def attributes(self, i: int) -> dict | None:
        """SynthBirds / SynthFlowers truth for record ``i`` (``attributes.jsonl``), else ``None``."""
        if self._attributes_path is None:
            return None
        if self._attributes is None:
            self._attributes = _read_attributes(self._attributes_path, self._log)
        return self._attributes.get(self.records[i].key)

    def add_problem(self, kind: str, name: str) -> None:
        """Report a problem found outside indexing (``problems`` is derived, not a list to edit)."""
        self._log.add(kind, name)

    def mark_bad(self, i: int, reason: str) -> None:
        if i not in self.bad_images:
            self.bad_images.add(i)
            self._log.add("unreadable image", reason)

    def check_images(self, *, progress: bool = False, workers: int | None = None) -> int:
        """Decode every image cheaply (JPEG at 1/8 scale); name unreadable ones in ``problems``.
        Returns how many are unreadable."""
        def check(i):
            try:
                return i, verify_image(self.image_source(i))
            except UserError as exc:
                return i, str(exc)

        for i, reason in _map(check, range(len(self.records)), workers, progress, "checking images"):
            if reason:
                self.mark_bad(i, f"{self.records[i].key}: {reason}")
        return len(self.bad_images)

    def summary(self) -> dict:
        """The figures ``data-info`` prints."""
        n_caps = [len(r.captions) for r in self.records]
        emb = next((r.embeddings for r in self.records if r.embeddings is not None), None)
        return {
            "root": str(self.root), "format": self.format, "synthbirds": self.synthbirds,
            "domain": self.domain,
            "classes": {s: len(self.classes[s]) for s in ALL_SPLITS},
            "images": len(self.records),
            "images_per_split": {s: sum(r.split == s for r in self.records) for s in SPLITS},
            "captions": int(sum(n_caps)),
            "captions_per_image": {"min": min(n_caps, default=0), "max": max(n_caps, default=0)},
            "embeddings": None if emb is None else int(emb.shape[-1]),
            "unreadable_images": len(self.bad_images),
            "problem_counts": self.problem_counts, "problems": self.problems, "notes": self.notes,
        }


def _read_attributes(path: Path, log: ProblemLog) -> dict[str, dict]:
    """attributes.jsonl -> {record key "<class>/<stem>": row}; bad lines are reported. The class
    is the row's ``class`` (SynthFlowers: images in ``jpg/``) or the image's folder (SynthBirds)."""
    out = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                rel = Path(str(row["image"]))
            except (ValueError, KeyError, TypeError):
                log.add("bad attributes line", f"{path.name}:{n}")
                continue
            out[f"{row.get('class') or rel.parent.name}/{rel.stem}"] = row
    return out


def _map(fn, items, workers, progress, desc):
    """Map with an optional thread pool (PIL and h5py release the GIL) and a tqdm bar."""
    items = list(items)
    workers = min(4, os.cpu_count() or 1) if workers is None else max(1, int(workers))
    bar = tqdm(total=len(items), desc=desc, disable=not progress, unit="img", leave=False)
    try:
        if workers == 1 or len(items) < 64:
            for it in items:
                yield fn(it)
                bar.update()
            return
        with ThreadPoolExecutor(workers) as pool:
            for res in pool.map(fn, items, chunksize=1):
                yield res
                bar.update()
    finally:
        bar.close()
