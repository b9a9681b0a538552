"""``PairDataset``: (image, captions, embedding, wrong image/embedding) items for GAN-CLS.

Reed's data loader (icml2016 ``data/donkey_folder_txt.lua``): scale the image to ``loadSize`` 76,
random ``fineSize`` 64 crop, horizontal flip with p = 0.5, map [0, 1] -> [-1, 1]; the text of an
item is ``numCaption`` (4) of its captions, whose embeddings are averaged (§5); the "wrong" image
comes from a different class (§4.2, Alg. 1). Randomness uses torch's global RNG, so
``torch.manual_seed`` (and DataLoader's per-worker seeding) makes items reproducible.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from ..errors import UserError
from ..text.alphabet import encode_batch
from .records import DataIndex
from .images import resize_square

LOAD_RATIO = 76 / 64  # Reed: loadSize 76, fineSize 64


class PairDataset(Dataset):
    """Items of one split of a ``DataIndex`` (see module docstring).

    ``caption_embeddings``: ``(emb FloatTensor[n_captions, E], offsets LongTensor[n_records + 1])``
    from the text-encoder cache; else the format's own embeddings are used when it ships them;
    else the items have no ``embedding`` / ``wrong_embedding`` keys.
    ``images``: optional ``np.uint8 [len(index.indices(split)), S, S, 3]`` preloaded with
    ``load_image_array`` (S = 76 with augment, else ``image_size``) to skip decoding."""

    def __init__(self, index: DataIndex, split: str, *, image_size: int = 64, augment: bool = True,
                 captions_per_item: int = 1, caption_embeddings=None, images=None,
                 max_retries: int = 20):
        if captions_per_item < 1:
            raise UserError(f"captions_per_item must be at least 1, got {captions_per_item}")
        self.index, self.split = index, split
        self.image_size, self.augment = int(image_size), bool(augment)
        self.load_size = round(self.image_size * LOAD_RATIO) if augment else self.image_size
        self.k, self.max_retries = int(captions_per_item), int(max_retries)
        rows = index.indices(split)
        self._row_of = {i: r for r, i in enumerate(rows)}
        self.idx = [i for i in rows if i not in index.bad_images]
        if not self.idx:
            raise UserError(f"the {split} split of {index.root} has no usable images")
        self.class_names = list(index.classes[split])
        if len(self.class_names) < 2:
            raise UserError(f"the {split} split has {len(self.class_names)} class(es); GAN-CLS needs "
                            "at least two to draw wrong-class pairs")
        label_of = {c: n for n, c in enumerate(self.class_names)}
        self.labels = np.array([label_of[index.records[i].class_name] for i in self.idx])
        self._emb, self._offsets = self._setup_embeddings(caption_embeddings)
        self.images = self._check_images(images, len(rows))

    # ------------------------------------------------------------ set-up checks
    def _setup_embeddings(self, caption_embeddings):
        recs = self.index.records
        if caption_embeddings is not None:
            emb, offsets = caption_embeddings
            emb = torch.as_tensor(emb, dtype=torch.float32)
            offsets = torch.as_tensor(offsets, dtype=torch.long)
            counts = np.array([len(r.captions) for r in recs])
            if (offsets.ndim != 1 or len(offsets) != len(recs) + 1 or int(offsets[-1]) != len(emb)
                    or not np.array_equal(np.diff(offsets.numpy()), counts)):
                raise UserError("caption_embeddings do not match this dataset's captions (computed "
                                "for another dataset or version?); recompute the embedding cache")
            return emb, offsets
        if all(recs[i].embeddings is not None for i in self.idx):
            return "records", None
        return None, None

    def _check_images(self, images, n_rows):
        if images is None:
            return None
        images = np.asarray(images)
        if images.ndim != 4 or images.shape[0] != n_rows or images.shape[3] != 3:
            raise UserError(f"preloaded images must be uint8 [{n_rows}, S, S, 3] for the {self.split} "
                            f"split, got shape {tuple(images.shape)}")
        return images

    def __len__(self) -> int:
        return len(self.idx)

    # ------------------------------------------------------------ pieces of an item
    def _pixels(self, i: int) -> np.ndarray:
        """uint8 [load_size, load_size, 3] of record i (``UserError`` when unreadable)."""
        if self.images is not None:
            arr = self.images[self._row_of[i]]
            if arr.shape[0] == self.load_size and arr.shape[1] == self.load_size:
                return arr
            return np.asarray(resize_square(Image.fromarray(arr), self.load_size))
        im = self.index.load_image(i, min_size=self.load_size)
        return np.asarray(resize_square(im, self.load_size), dtype=np.uint8)

    def _augment(self, arr: np.ndarray) -> torch.Tensor:
        s = self.image_size
        if self.augment:
            y, x = (int(v) for v in torch.randint(0, self.load_size - s + 1, (2,)))
            arr = arr[y:y + s, x:x + s]
            if torch.rand(()) < 0.5:
                arr = arr[:, ::-1]
        t = torch.from_numpy(np.array(arr, dtype=np.float32)).permute(2, 0, 1)
        return t.div_(127.5).sub_(1.0)  # [0, 255] -> [-1, 1]

    def _image(self, pos: int) -> tuple[int, torch.Tensor]:
        """Image at position ``pos``; an unreadable one is reported and replaced by another."""
        for _ in range(self.max_retries):
            i = self.idx[pos]
            if i not in self.index.bad_images:
                try:
                    return pos, self._augment(self._pixels(i))
                except UserError as exc:
                    self.index.mark_bad(i, str(exc))
            pos = int(torch.randint(len(self.idx), ()))
        raise UserError(f"gave up after {self.max_retries} unreadable images in {self.index.root}; "
                        "run `python -m t2i_core data-info` on it")

    def _captions(self, i: int) -> list[int]:
        n = len(self.index.records[i].captions)
        if self.k <= n:
            return torch.randperm(n)[: self.k].tolist()
        return torch.randint(n, (self.k,)).tolist()

    def _embedding(self, i: int, which: list[int]):
        if self._emb is None:
            return None
        if self._offsets is not None:
            rows = self._emb[int(self._offsets[i]) + torch.tensor(which)]
        else:
            rows = torch.from_numpy(self.index.records[i].embeddings[which])
        return rows.float().mean(0)

    def _wrong_pos(self, label: int) -> int:
        for _ in range(100):
            pos = int(torch.randint(len(self.idx), ()))
            if self.labels[pos] != label:
                return pos
        others = np.flatnonzero(self.labels != label)
        return int(others[int(torch.randint(len(others), ()))])

    # ------------------------------------------------------------ the item
    def __getitem__(self, pos: int) -> dict:
        pos, image = self._image(int(pos))
        i = self.idx[pos]
        label = int(self.labels[pos])
        which = self._captions(i)
        caps = self.index.records[i].captions
        wpos, wrong_image = self._image(self._wrong_pos(label))
        while int(self.labels[wpos]) == label:  # a replacement may have hit the same class
            wpos, wrong_image = self._image(self._wrong_pos(label))
        w = self.idx[wpos]
        wwhich = self._captions(w)
        item = {
            "image": image,
            "caption_ids": torch.from_numpy(encode_batch([caps[j] for j in which])),
            "label": torch.tensor(label, dtype=torch.long),
            "index": torch.tensor(i, dtype=torch.long),
            "wrong_image": wrong_image,
            "wrong_caption_ids": torch.from_numpy(
                encode_batch([self.index.records[w].captions[j] for j in wwhich])),
            "wrong_label": torch.tensor(int(self.labels[wpos]), dtype=torch.long),
        }
        if self._emb is not None:
            item["embedding"] = self._embedding(i, which)
            item["wrong_embedding"] = self._embedding(w, wwhich)
        return item
