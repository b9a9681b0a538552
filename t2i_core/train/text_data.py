"""In-memory (image, caption, class) bank and class-balanced batches for DS-SJE training.

Images are 64×64, so a whole split fits in memory as uint8 (20,000 images ≈ 250 MB) and every
caption as uint8 character ids. A batch is ``classes_per_batch`` classes × ``images_per_class``
images, one random caption each: several pairs per class make the class averages of the DS-SJE
terms (Reed et al. CVPR 2016 §3) meaningful.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import UserError
from ..text.alphabet import CHAR_TO_INDEX, encode
from collections import Counter
from ..data.dataset import load_image_array
from ..text.sje import class_means

_LUT = np.zeros(256, dtype=np.uint8)
for _c, _i in CHAR_TO_INDEX.items():
    if ord(_c) < 256:
        _LUT[ord(_c)] = _i


def encode_captions(captions, max_len: int) -> torch.Tensor:
    """Clean captions → uint8 char ids [N, max_len] (same ids as ``alphabet.encode``)."""
    out = np.zeros((len(captions), max_len), dtype=np.uint8)
    for n, cap in enumerate(captions):
        raw = cap.encode("ascii", "ignore")
        if len(raw) != len(cap):  # not plain ASCII: take the reference path
            out[n] = encode(cap, max_len)
            continue
        ids = _LUT[np.frombuffer(raw[:max_len], dtype=np.uint8)]
        out[n, : len(ids)] = ids
    return torch.from_numpy(out)


def _ngrams(caption: str):
    words = caption.replace(",", " ").replace(".", " ").replace(";", " ").split()
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def class_neighbours(class_captions, k: int = 10, max_vocab: int = 20000) -> torch.Tensor:
    """[n_classes, k]: for each class, the classes whose captions use the most similar words
    (cosine of TF-IDF vectors over word unigrams + bigrams). Any captioned dataset works; on
    SynthBirds the nearest classes share most colour–part phrases (the hard negatives)."""
    counts = [Counter(g for cap in caps for g in _ngrams(cap)) for caps in class_captions]
    df = Counter(g for c in counts for g in c)
    vocab = {g: j for j, (g, _) in enumerate(df.most_common(max_vocab))}
    mat = np.zeros((len(counts), len(vocab)), dtype=np.float32)
    for i, c in enumerate(counts):
        for g, n in c.items():
            if g in vocab:
                mat[i, vocab[g]] = n
    idf = np.log(len(counts) / np.array([df[g] for g in vocab], dtype=np.float32)) + 1.0
    mat = np.log1p(mat) * idf
    mat /= np.linalg.norm(mat, axis=1, keepdims=True) + 1e-8
    sim = torch.from_numpy(mat @ mat.T)
    sim.fill_diagonal_(-2.0)
    return sim.topk(min(k, len(counts) - 1), dim=1).indices


class PairBank:
    """One split of a dataset in memory: images, caption ids, class of every image."""
    def __init__(self, index, split: str, *, image_size: int = 64, max_len: int = 201,
                 progress: bool = False, instance: bool = False):
        """``instance``: every image its own class (instance-level matching, MS-COCO)."""
        records = [i for i in index.indices(split) if index.records[i].captions]
        if not records:
            raise UserError(f"the {split!r} split has no captioned images")
        images, ok = load_image_array(index, records, image_size, progress=progress, return_ok=True)
        keep = np.flatnonzero(ok)
        if len(keep) == 0:
            raise UserError(f"no image of the {split!r} split could be read")
        self.record_ids = [records[j] for j in keep]
        recs = [index.records[i] for i in self.record_ids]
        class_of = (lambda r: r.key) if instance else (lambda r: r.class_name)  # noqa: E731
        self.class_names = sorted({class_of(r) for r in recs})
        pos = {n: k for k, n in enumerate(self.class_names)}
        labels = np.array([pos[class_of(r)] for r in recs], dtype=np.int64)
        order = np.argsort(labels, kind="stable")  # images grouped by class
        self.record_ids = [self.record_ids[j] for j in order]
        self.images = torch.from_numpy(np.ascontiguousarray(images[keep][order])).permute(0, 3, 1, 2).contiguous()
        self.labels = torch.from_numpy(labels[order])
        counts = torch.bincount(self.labels, minlength=len(self.class_names))
        self.class_count = counts
        self.class_start = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)[:-1]])
        n_caps = torch.tensor([len(index.records[i].captions) for i in self.record_ids])
        self.cap_count = n_caps
        self.cap_start = torch.cat([torch.zeros(1, dtype=torch.long), n_caps.cumsum(0)[:-1]])
        self.char_ids = encode_captions([c for i in self.record_ids for c in index.records[i].captions], max_len)
        # captions of a class are contiguous too (records are grouped by class)
        self.class_cap_count = torch.zeros(self.n_classes, dtype=torch.long).index_add_(0, self.labels, n_caps)
        self.class_cap_start = torch.cat([torch.zeros(1, dtype=torch.long), self.class_cap_count.cumsum(0)[:-1]])
        self._index = index
        self._neighbours = None

    def neighbours(self, k: int) -> torch.Tensor:
        """Nearest classes by caption words (computed once; see ``class_neighbours``)."""
        if self._neighbours is None or self._neighbours.shape[1] < min(k, self.n_classes - 1):
            caps = [[] for _ in range(self.n_classes)]
            for rid, lab in zip(self.record_ids, self.labels.tolist()):
                caps[lab].extend(self._index.records[rid].captions)
            self._neighbours = class_neighbours(caps, k)
        return self._neighbours[:, :k]

    def pick_classes(self, gen: torch.Generator, n: int, group: int = 1, pool: int = 10,
                     near: torch.Tensor | None = None) -> torch.Tensor:
        """``n`` distinct classes. ``group`` > 1: anchors drawn at random, each joined by
        ``group`` - 1 of its ``pool`` nearest classes (hard negatives for one another); ``near``
        [n_classes, pool] overrides the caption-word neighbours (rows of -1 fall back to them)."""
        n = min(n, self.n_classes)
        order = torch.randperm(self.n_classes, generator=gen)
        if group <= 1 or self.n_classes < 3:
            return order[:n]
        words = self.neighbours(pool)
        near = words if near is None else torch.where(near[:, :1] >= 0, near, words)
        chosen, seen = [], set()
        for anchor in order.tolist():
            if len(chosen) >= n:
                break
            if anchor in seen:
                continue
            cands = near[anchor][torch.randperm(near.shape[1], generator=gen)].tolist()
            members = [anchor] + [c for c in cands if c not in seen][: group - 1]
            for c in members[: n - len(chosen)]:
                chosen.append(c)
                seen.add(c)
        return torch.tensor(chosen, dtype=torch.long)

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.labels)

    def sample(self, gen: torch.Generator, classes_per_batch: int, images_per_class: int,
               captions_per_class: int = 0, group: int = 1, pool: int = 10, near=None):
        """(image rows [B], caption rows [T], image classes [B], caption classes [T]) for one
        balanced batch. ``captions_per_class`` 0: one caption of each sampled image (T = B);
        otherwise that many captions drawn from all captions of each class."""
        classes = self.pick_classes(gen, classes_per_batch, group, pool, near)
        k = len(classes)
        count = self.class_count[classes].unsqueeze(1)                      # [K, 1]
        width = max(int(count.max()), images_per_class)
        score = torch.rand(k, width, generator=gen)
        score = score.masked_fill(torch.arange(width).unsqueeze(0) >= count, -1.0)
        pick = score.topk(images_per_class, dim=1).indices                   # distinct if possible
        pick = torch.where(pick < count, pick, pick % count)
        rows = (self.class_start[classes].unsqueeze(1) + pick).reshape(-1)
        if not captions_per_class:
            caps = self.cap_start[rows] + (torch.rand(len(rows), generator=gen) * self.cap_count[rows]).long()
            return rows, caps, self.labels[rows], self.labels[rows]
        n = self.class_cap_count[classes].unsqueeze(1)
        draw = (torch.rand(k, captions_per_class, generator=gen) * n).long()
        caps = (self.class_cap_start[classes].unsqueeze(1) + draw).reshape(-1)
        return rows, caps, self.labels[rows], classes.repeat_interleave(captions_per_class)

    def batch(self, gen: torch.Generator, classes_per_batch: int, images_per_class: int,
              captions_per_class: int = 0, augment: bool = True, group: int = 1, pool: int = 10,
              near=None):
        """(images float [B, 3, H, W] in [-1, 1], char ids [T, L], image labels [B], text labels [T])."""
        rows, caps, labels, text_labels = self.sample(gen, classes_per_batch, images_per_class,
                                                      captions_per_class, group, pool, near)
        images = self.images[rows].float().div_(127.5).sub_(1.0)
        if augment:
            images = augment_batch(images, gen)
        return images, self.char_ids[caps].long(), labels, text_labels


def augment_batch(images: torch.Tensor, gen: torch.Generator, shift: int = 4) -> torch.Tensor:
    """Random translation by up to ``shift`` pixels (edge pixels repeated) and horizontal flip.
    No colour jitter: colours are what captions describe."""
    b, _, h, w = images.shape
    flip = torch.rand(b, generator=gen) < 0.5
    images = torch.where(flip.view(b, 1, 1, 1), images.flip(-1), images)
    padded = F.pad(images, (shift, shift, shift, shift), mode="replicate")
    offs = torch.randint(0, 2 * shift + 1, (b, 2), generator=gen).tolist()
    return torch.stack([padded[i, :, y : y + h, x : x + w] for i, (y, x) in enumerate(offs)])


class ClassMiner:
    """Online hard-negative class mining: which training classes does the model confuse now?

    Keeps the latest normalised image and text prototype of every class (from the training
    batches, no extra compute); every ``refresh`` updates, each class's ``pool`` nearest classes
    (summed image + text cosine similarity) become its batch companions. Classes that differ in
    one detail the model still ignores (e.g. only the beak) then meet in the same batch, where
    DS-SJE must tell them apart. Rows of ``near`` are -1 until a class has been seen."""
    def __init__(self, n_classes: int, dim: int, pool: int = 10, refresh: int = 25):
        self.pool, self.refresh = pool, refresh
        self.img = torch.zeros(n_classes, dim)
        self.txt = torch.zeros(n_classes, dim)
        self.seen = torch.zeros(n_classes, dtype=torch.bool)
        self.near = torch.full((n_classes, min(pool, n_classes - 1)), -1, dtype=torch.long)
        self.updates = 0

    @torch.no_grad()
    def update(self, image_emb, labels, text_emb, text_labels) -> None:
        classes, inv = torch.unique(labels, return_inverse=True)
        t_inv = torch.searchsorted(classes, text_labels)
        self.img[classes] = F.normalize(class_means(image_emb.detach().float(), inv, len(classes)), dim=1)
        self.txt[classes] = F.normalize(class_means(text_emb.detach().float(), t_inv, len(classes)), dim=1)
        self.seen[classes] = True
        self.updates += 1
        if self.updates % self.refresh == 0:
            sim = self.img @ self.img.t() + self.txt @ self.txt.t()
            sim[:, ~self.seen] = -10.0
            sim.fill_diagonal_(-10.0)
            near = sim.topk(self.near.shape[1], dim=1).indices
            self.near = torch.where(self.seen.unsqueeze(1), near, torch.full_like(near, -1))

    def state_dict(self) -> dict:
        return {"img": self.img, "txt": self.txt, "seen": self.seen, "near": self.near,
                "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.img, self.txt = state["img"].clone(), state["txt"].clone()
        self.seen, self.near = state["seen"].clone(), state["near"].clone()
        self.updates = int(state["updates"])
