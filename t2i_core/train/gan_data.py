"""In-memory training data for the GAN: uint8 images + cached caption embeddings, batched in torch.

Everything a GAN step needs is sampled per batch with tensor ops (no DataLoader workers):

* images: preloaded once as ``uint8 [N, 3, load, load]`` (square resize to 76, like Reed's
  loader); ``augment`` takes a random 64 crop and a random horizontal flip of a whole batch with
  one gather (§5: "random crop and flip").
* text: φ of every caption comes from the cache (``text/cache.py``), so GAN training never runs
  the text encoder; an image's embedding averages ``k`` of its captions drawn at random (§5:
  Reed averages 4).
* wrong text for GAN-CLS: the embedding of a random image of another class (``HardWrong``: for
  a share of the batch, of one of the nearest classes in φ).

All randomness uses the global torch RNG, which the trainer saves and restores for exact resume.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch

from ..errors import UserError
from ..data.dataset import load_image_array
import zlib


@dataclass
class GANData:
    """One rank's training shard. Captions of image i: ``cap_emb[offsets[i]:offsets[i+1]]``."""
    images: torch.Tensor        # uint8 [N, 3, L, L]
    cap_emb: torch.Tensor       # float16 [n_captions, E]
    offsets: torch.Tensor       # int64 [N + 1]
    labels: torch.Tensor        # int64 [N] class index
    n_total: int = 0            # images in the whole split (all ranks), for the epoch count
    grid_emb: torch.Tensor | None = None   # float32 [rows, E]: fixed captions of the sample grid
    grid_captions: list = field(default_factory=list)
    grid_ids: list = field(default_factory=list)   # shard rows whose first caption is on the grid
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def embed_dim(self) -> int:
        return self.cap_emb.shape[1]


def from_arrays(images: np.ndarray | torch.Tensor, cap_emb: torch.Tensor, offsets: torch.Tensor,
                labels, *, n_total: int | None = None, grid_rows: int = 8) -> GANData:
    """Build a ``GANData`` from NHWC/NCHW uint8 images and per-image caption embeddings."""
    images = torch.as_tensor(images)
    if images.dtype != torch.uint8 or images.dim() != 4:
        raise UserError(f"images must be uint8 [N, H, W, 3] or [N, 3, H, W], got {images.dtype} "
                        f"{tuple(images.shape)}")
    if images.shape[1] != 3:
        images = images.permute(0, 3, 1, 2)
    offsets = torch.as_tensor(offsets, dtype=torch.long)
    if offsets.shape[0] != images.shape[0] + 1 or int(offsets[-1]) != cap_emb.shape[0]:
        raise UserError("caption offsets do not match the images / embeddings")
    counts = offsets[1:] - offsets[:-1]
    if len(images) and int(counts.min()) < 1:
        raise UserError(f"{int((counts < 1).sum())} training images have no captions")
    grid_ids = _spread(len(images), torch.as_tensor(labels), grid_rows)
    grid_emb = torch.stack([cap_emb[offsets[i]].float() for i in grid_ids]) if grid_ids else None
    return GANData(images=images.contiguous(), cap_emb=cap_emb.to(torch.float16).contiguous(),
                   offsets=offsets, labels=torch.as_tensor(labels, dtype=torch.long),
                   n_total=int(n_total or len(images)), grid_emb=grid_emb, grid_ids=grid_ids)


def _spread(n: int, labels: torch.Tensor, rows: int) -> list[int]:
    """Up to ``rows`` image ids of distinct classes, spread over the set (deterministic)."""
    seen, out = set(), []
    for i in np.linspace(0, max(n - 1, 0), num=min(n, rows * 4)).astype(int).tolist() if n else []:
        if int(labels[i]) not in seen:
            seen.add(int(labels[i]))
            out.append(i)
        if len(out) == rows:
            break
    return out


# -------------------------------------------------------------------------------------------------
# Per-batch sampling (global torch RNG)
# -------------------------------------------------------------------------------------------------
def augment(images: torch.Tensor, crop: int = 64, *, flip: bool = True) -> torch.Tensor:
    """uint8 [B, 3, L, L] → float [B, 3, crop, crop] in [−1, 1]: random crop + horizontal flip."""
    b, _, h, w = images.shape
    oy = torch.randint(0, h - crop + 1, (b,)).tolist()
    ox = torch.randint(0, w - crop + 1, (b,)).tolist()
    flipped = torch.rand(b) < 0.5
    out = torch.stack([images[i, :, y:y + crop, x:x + crop] for i, (y, x) in enumerate(zip(oy, ox))])
    if flip:
        out = torch.where(flipped.to(out.device)[:, None, None, None], out.flip(3), out)
    return out.float().div_(127.5).sub_(1.0)


def center_crop(images: torch.Tensor, crop: int = 64) -> torch.Tensor:
    """uint8 [B, 3, L, L] → float [B, 3, crop, crop] in [−1, 1], central crop (no randomness)."""
    h, w = images.shape[2:]
    y, x = (h - crop) // 2, (w - crop) // 2
    return images[:, :, y:y + crop, x:x + crop].float().div(127.5).sub(1.0)


def mean_of_captions(cap_emb: torch.Tensor, offsets: torch.Tensor, idx: torch.Tensor, k: int = 4,
                     generator=None) -> torch.Tensor:
    """§5: the embedding of image i = mean of ``k`` of its captions drawn at random (with
    replacement, like Reed's loader drawing one random caption ``k`` times)."""
    start = offsets[idx]
    counts = offsets[idx + 1] - start
    pick = (torch.rand(idx.shape[0], k, generator=generator) * counts[:, None]).long()
    pick = torch.minimum(pick, counts[:, None] - 1)
    return cap_emb[start[:, None] + pick].float().mean(dim=1)


def mean_caption_embedding(data: GANData, idx: torch.Tensor, k: int = 4, generator=None) -> torch.Tensor:
    return mean_of_captions(data.cap_emb, data.offsets, idx, k, generator)


def wrong_indices(data: GANData, idx: torch.Tensor, tries: int = 10) -> torch.Tensor:
    """For each image, a random image of a different class (GAN-CLS 'wrong text', §4.2)."""
    wrong = torch.randint(0, len(data), idx.shape)
    for _ in range(tries):
        same = data.labels[wrong] == data.labels[idx]
        if not bool(same.any()):
            break
        wrong[same] = torch.randint(0, len(data), (int(same.sum()),))
    return wrong


def class_prototypes(data: GANData) -> tuple[torch.Tensor, torch.Tensor]:
    """(prototypes [C, E], row [max label + 1]): the mean caption embedding of every class in
    the shard (DS-SJE's class text representation, Reed et al. 2016a §3) and, for a label, its
    prototype's row (−1 for a label not in the shard)."""
    classes = data.labels.unique()                       # sorted
    row = torch.full((int(classes.max()) + 1,), -1, dtype=torch.long)
    row[classes] = torch.arange(len(classes))
    counts = (data.offsets[1:] - data.offsets[:-1])
    cap_label = row[data.labels].repeat_interleave(counts)
    sums = torch.zeros(len(classes), data.embed_dim).index_add_(0, cap_label, data.cap_emb.float().cpu())
    n = torch.bincount(cap_label, minlength=len(classes)).clamp_min(1)
    return sums / n[:, None], row


class HardWrong:
    """GAN-CLS wrong texts (§4.2) from near classes: for a share ``p`` of the batch, the wrong
    caption belongs to one of the ``k`` classes whose prototypes are nearest (cosine) to the
    image's own, so D must tell apart captions that differ in one small part (off = the paper:
    any other class)."""
    def __init__(self, data: GANData, p: float, k: int = 10):
        protos, self.row = class_prototypes(data)
        unit = torch.nn.functional.normalize(protos, dim=1)
        sim = unit @ unit.t()
        sim.fill_diagonal_(-2.0)
        self.near = sim.topk(min(k, max(len(protos) - 1, 1)), dim=1).indices      # [C, k] rows
        rows = self.row[data.labels]
        order = torch.argsort(rows, stable=True)
        self.members, self.start = order, torch.searchsorted(rows[order], torch.arange(len(protos) + 1))
        self.data, self.p = data, p

    def __call__(self, idx: torch.Tensor) -> torch.Tensor:
        wrong = wrong_indices(self.data, idx)
        if len(self.near[0]) == 0:
            return wrong
        hard = torch.rand(idx.shape) < self.p
        if not bool(hard.any()):
            return wrong
        own = self.row[self.data.labels[idx[hard]]]
        cls = self.near[own, torch.randint(0, self.near.shape[1], own.shape)]
        lo, hi = self.start[cls], self.start[cls + 1]
        pick = lo + (torch.rand(cls.shape) * (hi - lo)).long().clamp_max(hi - lo - 1)
        wrong[hard] = self.members[pick]
        return wrong


class EpochSampler:
    """Shuffled epochs over a shard, fixed-size batches (the last partial batch is dropped)."""
    def __init__(self, n: int, batch_size: int):
        if n < batch_size:
            raise UserError(f"batch size {batch_size} is larger than the {n} training images "
                            "of this process; lower --batch-size")
        self.n, self.batch_size = n, batch_size
        self.perm, self.pos, self.epoch = torch.randperm(n), 0, 0

    def next(self) -> torch.Tensor:
        if self.pos + self.batch_size > self.n:
            self.perm, self.pos, self.epoch = torch.randperm(self.n), 0, self.epoch + 1
        idx = self.perm[self.pos:self.pos + self.batch_size]
        self.pos += self.batch_size
        return idx

    def state_dict(self) -> dict:
        return {"perm": self.perm.clone(), "pos": self.pos, "epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        if state["perm"].shape[0] != self.n:
            raise UserError("the checkpoint was made with a different number of training images")
        self.perm, self.pos, self.epoch = state["perm"].clone(), int(state["pos"]), int(state["epoch"])


def next_batch(data: GANData, sampler: EpochSampler, *, captions_per_image: int = 4,
               crop: int = 64, device="cpu", pick_wrong=None) -> dict:
    """One training batch: real images, right embeddings h, wrong embeddings ĥ (``pick_wrong(idx)``
    picks the wrong images, e.g. ``HardWrong``; default any other class)."""
    idx = sampler.next()
    images = augment(data.images[idx], crop)
    emb = mean_caption_embedding(data, idx, captions_per_image)
    wrong = mean_caption_embedding(data, (pick_wrong or partial(wrong_indices, data))(idx), captions_per_image)
    return {"images": images.to(device), "emb": emb.to(device), "wrong_emb": wrong.to(device),
            "labels": data.labels[idx].to(device)}


def embedding_sampler(data: GANData, captions_per_image: int = 4):
    """``sample(n, k, generator) -> [n, E]``: embeddings of random training images (each the
    mean of ``k`` captions), e.g. for standing statistics and the style encoder."""
    return pool_sampler(data.cap_emb, data.offsets, captions_per_image)


def pool_sampler(cap_emb: torch.Tensor, offsets: torch.Tensor, captions_per_image: int = 4):
    """Like ``embedding_sampler`` over any (caption embeddings, offsets) pool."""
    n_images = offsets.shape[0] - 1

    def sample(n: int, k: int = captions_per_image, generator=None) -> torch.Tensor:
        idx = torch.randint(0, n_images, (n,), generator=generator)
        return mean_of_captions(cap_emb, offsets, idx, k, generator)

    return sample


def subset_pool(cap_emb: torch.Tensor, offsets: torch.Tensor, ids) -> tuple[torch.Tensor, torch.Tensor]:
    """The captions of records ``ids`` only (records without captions are skipped)."""
    rows = [cap_emb[offsets[i]:offsets[i + 1]] for i in ids if offsets[i + 1] > offsets[i]]
    if not rows:
        raise UserError("no captions to sample embeddings from")
    counts = torch.tensor([len(r) for r in rows], dtype=torch.long)
    return torch.cat(rows).float(), torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])


# -------------------------------------------------------------------------------------------------
# Loading a dataset split
# -------------------------------------------------------------------------------------------------
def record_embeddings(index) -> tuple[torch.Tensor, torch.Tensor]:
    """(emb, offsets) from embeddings shipped with the dataset (Reed's icml .t7 / hdf5 files)."""
    arrays = [r.embeddings for r in index.records]
    if any(a is None for a in arrays):
        raise UserError(f"{index.root} ships no caption embeddings: pass --text-encoder")
    counts = torch.tensor([len(a) for a in arrays], dtype=torch.long)
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])
    return torch.from_numpy(np.concatenate(arrays).astype(np.float32)), offsets


def load_split(index, split: str, cap_emb: torch.Tensor, offsets: torch.Tensor, *, rank: int = 0,
               world: int = 1, load_size: int = 76, progress: bool = True) -> GANData:
    """Preload this rank's shard (records ``ids[rank::world]``) of ``split`` into a ``GANData``."""
    ids = [i for i in index.indices(split) if int(offsets[i + 1] - offsets[i]) > 0]
    if not ids:
        raise UserError(f"{index.root}: the {split!r} split has no images with captions")
    classes = {c: k for k, c in enumerate(sorted({index.records[i].class_name for i in ids}))}
    shard = ids[rank::world]
    images, ok = load_image_array(index, shard, load_size, progress=progress, return_ok=True)
    shard = [i for i, good in zip(shard, ok) if good]
    images = images[ok]
    rows = [cap_emb[offsets[i]:offsets[i + 1]].to(torch.float16) for i in shard]
    counts = torch.tensor([len(r) for r in rows], dtype=torch.long)
    offs = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])
    labels = [classes[index.records[i].class_name] for i in shard]
    data = from_arrays(images, torch.cat(rows), offs, labels, n_total=len(ids))
    data.grid_captions = [index.records[shard[g]].captions[0] for g in data.grid_ids]
    data.info.update(split=split, n_images=len(ids), n_classes=len(classes), n_shard=len(shard),
                     skipped_unreadable=int((~ok).sum()))
    return data


def standin_embeddings(index, dim: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """(emb, offsets) like ``text.cache.caption_embeddings`` but without a text encoder: each
    caption is the mean of fixed random vectors of its words (a random projection of a bag of
    words). For tests and for trying the trainer before a text encoder is trained."""
    vocab: dict[str, torch.Tensor] = {}

    def word(w: str) -> torch.Tensor:
        if w not in vocab:
            g = torch.Generator().manual_seed(zlib.crc32(w.encode()) + seed)
            vocab[w] = torch.randn(dim, generator=g)
        return vocab[w]

    rows, counts = [], []
    for rec in index.records:
        counts.append(len(rec.captions))
        for cap in rec.captions:
            words = cap.split() or [""]
            rows.append(torch.stack([word(w) for w in words]).mean(0) * len(words) ** 0.5)
    offsets = torch.cat([torch.zeros(1, dtype=torch.long), torch.tensor(counts, dtype=torch.long).cumsum(0)])
    return (torch.stack(rows) if rows else torch.zeros(0, dim)), offsets
