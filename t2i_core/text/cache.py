"""Caption-embedding cache: φ of every caption of a dataset, computed once and reused.

GAN training conditions on φ(t) but never trains φ (§4: the text encoder is pre-trained), so the
embeddings are computed once per (encoder weights, dataset captions) and stored as safetensors::

    cache_dir/phi_<encoder hash 16>_<captions hash 16>.safetensors
        emb      float32 [n_captions, E]   captions of all records, in record order
        offsets  int64   [n_records + 1]   captions of record i are emb[offsets[i]:offsets[i+1]]

Either hash changing (new weights, edited captions, a different dataset) gives a new file.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from tqdm import tqdm

from ..config import to_dict
from ..files import atomic_write
from ..train import distributed as du
from ..train.gan_data import record_embeddings
from .loading import load_text_encoder
from .zero_shot import embed_captions

CACHE_VERSION = "1"


def encoder_hash(encoder) -> str:
    """SHA-256 of the encoder's config and every tensor in its state dict."""
    h = hashlib.sha256()
    h.update(json.dumps(to_dict(encoder.cfg), sort_keys=True).encode())
    for name, tensor in sorted(encoder.state_dict().items()):
        t = tensor.detach().cpu().contiguous().reshape(-1)
        h.update(f"{name}|{t.dtype}|{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def captions_hash(index) -> str:
    """SHA-256 of every record's key and captions, in order."""
    h = hashlib.sha256()
    for rec in index.records:
        h.update(rec.key.encode("utf-8", "replace"))
        h.update(b"\x00")
        h.update("\x1f".join(rec.captions).encode("utf-8", "replace"))
        h.update(b"\x1e")
    return h.hexdigest()


def cache_path(encoder, index, cache_dir) -> Path:
    return Path(cache_dir) / f"phi_{encoder_hash(encoder)[:16]}_{captions_hash(index)[:16]}.safetensors"


def _offsets(index) -> torch.Tensor:
    counts = torch.tensor([len(r.captions) for r in index.records], dtype=torch.long)
    return torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])


def _try_load(path: Path, offsets: torch.Tensor, embed_dim: int):
    if not path.is_file():
        return None
    try:
        data = load_file(str(path))
    except (SafetensorError, OSError, ValueError):
        return None  # a broken cache file is recomputed, never trusted
    emb, off = data.get("emb"), data.get("offsets")
    if emb is None or off is None or not torch.equal(off, offsets):
        return None
    if emb.shape != (int(offsets[-1]), embed_dim):
        return None
    return emb


def caption_embeddings(encoder, index, cache_dir, *, batch_size: int = 512,
                       progress: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    """(emb FloatTensor [n_captions, E], offsets LongTensor [n_records + 1]) for ``index``.

    Loaded from ``cache_dir`` when this encoder already embedded these captions, else computed
    (eval mode, no grad) and stored atomically for the next call."""
    path = cache_path(encoder, index, cache_dir)
    offsets = _offsets(index)
    emb = _try_load(path, offsets, encoder.cfg.embed_dim)
    if emb is not None:
        return emb, offsets
    captions = [c for r in index.records for c in r.captions]
    chunks, step = [], max(batch_size * 8, 1)
    bar = None
    if progress:
        bar = tqdm(total=len(captions), desc="embedding captions", unit="cap")
    for s in range(0, len(captions), step):
        chunks.append(embed_captions(encoder, captions[s : s + step], batch_size=batch_size))
        if bar is not None:
            bar.update(len(captions[s : s + step]))
    if bar is not None:
        bar.close()
    emb = torch.cat(chunks).float().contiguous() if chunks else torch.zeros(0, encoder.cfg.embed_dim)
    meta = {"cache_version": CACHE_VERSION, "encoder": encoder_hash(encoder), "captions": captions_hash(index)}
    atomic_write(path, lambda tmp: save_file({"emb": emb, "offsets": offsets}, tmp, metadata=meta))
    return emb, offsets


def default_cache_dir(data_root, cache_dir=None) -> Path:
    """``cache_dir`` when given, else ``<data>/.t2i_cache`` where writable, else ~/.cache/t2i_core."""
    if cache_dir:
        return Path(cache_dir)
    here = Path(data_root) / ".t2i_cache"
    if os.access(here if here.exists() else Path(data_root), os.W_OK):
        return here
    return Path.home() / ".cache" / "t2i_core"


def load_embeddings(text_encoder, index, dist, progress: bool, cache_dir=None):
    """(caption embeddings, offsets, text encoder (config, state) or None, run info, φ module or
    None) for training G: φ's embeddings of every caption (cached), or the dataset's own when
    ``text_encoder`` is None."""
    if not text_encoder:
        emb, offsets = record_embeddings(index)
        return emb, offsets, None, {"embeddings": "shipped with the dataset"}, None
    encoder = load_text_encoder(text_encoder)
    cache = default_cache_dir(index.root, cache_dir)
    if dist.is_main:  # rank 0 fills the cache, the others then read it
        caption_embeddings(encoder, index, cache, progress=progress)
    du.barrier(dist)
    emb, offsets = caption_embeddings(encoder, index, cache)
    te = (to_dict(encoder.cfg), {k: v.detach().cpu() for k, v in encoder.state_dict().items()})
    return emb, offsets, te, {"text_encoder_source": str(text_encoder), "cache_dir": str(cache)}, encoder
