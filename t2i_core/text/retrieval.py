"""Instance-level retrieval figures of the joint embedding (paper §5.4, MS-COCO): with no classes,
each image is its own class, and zero-shot class accuracy has no meaning. Instead, on held-out
images:

* **caption → image Recall@K**: each caption ranks all the images by θ(v)ᵀφ(t); a hit when its
  own image is among the top K.
* **image → caption Recall@K**: each image ranks all the captions; a hit when one of its own
  captions is among the top K.

As usual for COCO, the figures are on a fixed subset of held-out images (the first ``n_images``
of the split), since recall falls as the pool grows.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import UserError
from .zero_shot import embed_captions, embed_images, split_images

KS = (1, 5, 10)


def recall_at_k(image_emb: torch.Tensor, caption_emb: torch.Tensor, caption_owner, ks=KS) -> dict:
    """Both directions' Recall@K from embeddings; ``caption_owner[j]`` is caption j's image row."""
    owner = torch.as_tensor(caption_owner, dtype=torch.long)
    scores = caption_emb @ image_emb.t()                                     # [captions, images]
    rank_of_own = (scores > scores.gather(1, owner.unsqueeze(1))).sum(1)     # 0 = first
    out = {f"caption_to_image_r{k}": float((rank_of_own < k).float().mean()) for k in ks}
    # image → caption: the best rank among the image's own captions
    order = scores.t().argsort(dim=1, descending=True)                       # [images, captions]
    own = owner[order] == torch.arange(len(image_emb)).unsqueeze(1)
    first = torch.where(own.any(1), own.float().argmax(1), torch.full((len(image_emb),), len(owner)))
    out.update({f"image_to_caption_r{k}": float((first < k).float().mean()) for k in ks})
    return out


def retrieval_eval(text_encoder, image_encoder, index, split: str = "test", *, images=None,
                   n_images: int = 1000) -> dict:
    """Recall@1/5/10 both ways on the first ``n_images`` captioned images of ``split``."""
    ids = [i for i in index.indices(split) if index.records[i].captions][:n_images]
    if len(ids) < 2:
        raise UserError(f"retrieval needs at least 2 captioned images in the {split!r} split, found {len(ids)}")
    if images is None:
        images = split_images(index, ids, image_encoder.cfg.image_size)
    images = np.asarray(images)[: len(ids)]
    captions, owner = [], []
    for row, i in enumerate(ids):
        for cap in index.records[i].captions:
            captions.append(cap)
            owner.append(row)
    out = recall_at_k(embed_images(image_encoder, images), embed_captions(text_encoder, captions), owner)
    out.update(split=split, n_images=len(ids), n_captions=len(captions))
    return out
