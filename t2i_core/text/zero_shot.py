"""Zero-shot evaluation of the joint embedding, as in Reed et al. CVPR 2016 §5 (used by §3.2).

* **Zero-shot top-1** (image side): every image of an unseen class is classified among *all*
  classes of the split by the class-averaged text embeddings, argmax_y θ(v)ᵀ mean φ(T(y)).
* **Retrieval AP@50** (text → image): each class's averaged text embedding ranks all images of
  the split; average precision over the top 50, averaged over classes.
* **Caption top-1** (text side, one caption at a time): each single caption is classified by the
  class-averaged image embeddings. Captions that mention only some attributes cannot always be
  told apart, so this sits below the image-side figure; it tracks robustness to wording.
"""

from __future__ import annotations

import numpy as np
import torch

from ..data.dataset import load_image_array
from ..data.synthbirds import parse_class
from ..errors import UserError
from .alphabet import encode_batch
from .image_encoder import images_to_tensor
from .sje import class_means


def split_images(index, indices, size: int = 64) -> np.ndarray:
    """uint8 [N, size, size, 3] for the given record indices (square resize, like Reed's loader)."""
    return np.asarray(load_image_array(index, list(indices), size, progress=False), dtype=np.uint8)


@torch.no_grad()
def embed_images(image_encoder, images, batch_size: int = 256) -> torch.Tensor:
    """θ of uint8 images [N, H, W, 3] in eval mode → [N, E]."""
    was = image_encoder.training
    image_encoder.eval()
    dev = next(image_encoder.parameters()).device
    try:
        chunks = [image_encoder(images_to_tensor(images[s : s + batch_size]).to(dev)).float().cpu()
                  for s in range(0, len(images), batch_size)]
    finally:
        image_encoder.train(was)
    return torch.cat(chunks) if chunks else torch.zeros(0, image_encoder.cfg.embed_dim)


@torch.no_grad()
def embed_captions(text_encoder, captions, batch_size: int = 512) -> torch.Tensor:
    """φ of already-clean captions in eval mode → [N, E]."""
    was = text_encoder.training
    text_encoder.eval()
    dev = next(text_encoder.parameters()).device
    try:
        chunks = [text_encoder(torch.from_numpy(encode_batch(captions[s : s + batch_size],
                                                             text_encoder.cfg.max_len)).to(dev)).float().cpu()
                  for s in range(0, len(captions), batch_size)]
    finally:
        text_encoder.train(was)
    return torch.cat(chunks) if chunks else torch.zeros(0, text_encoder.cfg.embed_dim)


def _split_captions(index, indices, class_pos, max_per_class, seed):
    """(captions, class position per caption), optionally at most ``max_per_class`` per class."""
    captions, owner = [], []
    for i in indices:
        for cap in index.records[i].captions:
            captions.append(cap)
            owner.append(class_pos[index.records[i].class_name])
    owner = np.asarray(owner, dtype=np.int64)
    if max_per_class:
        rng = np.random.default_rng(seed)
        keep = []
        for k in range(len(class_pos)):
            rows = np.flatnonzero(owner == k)
            keep.extend(rows if len(rows) <= max_per_class else rng.choice(rows, max_per_class, replace=False))
        keep = np.sort(np.asarray(keep, dtype=np.int64))
        captions, owner = [captions[j] for j in keep], owner[keep]
    return captions, owner


def average_precision_at_k(scores: torch.Tensor, query_labels: torch.Tensor,
                           item_labels: torch.Tensor, k: int = 50) -> float:
    """Mean over queries of AP over the top ``k`` ranked items (relevant = same class)."""
    k = min(k, scores.shape[1])
    top = scores.topk(k, dim=1).indices                                  # [Q, k]
    rel = (item_labels[top] == query_labels.unsqueeze(1)).float()
    precision = rel.cumsum(1) / torch.arange(1, k + 1, dtype=torch.float32)
    n_rel = (item_labels.unsqueeze(0) == query_labels.unsqueeze(1)).sum(1).clamp(max=k).clamp_min(1)
    return float(((precision * rel).sum(1) / n_rel).mean())


def joint_metrics(img_emb, img_labels, cap_emb, cap_labels, n_classes: int) -> dict:
    """The figures of this module from embeddings and class positions (0..n_classes-1)."""
    img_labels = torch.as_tensor(img_labels, dtype=torch.long)
    cap_labels = torch.as_tensor(cap_labels, dtype=torch.long)
    text_protos = class_means(cap_emb, cap_labels, n_classes)  # mean φ over each class's captions
    image_protos = class_means(img_emb, img_labels, n_classes)
    pred = (img_emb @ text_protos.t()).argmax(1)               # argmax_y θ(v)ᵀ mean φ(T(y))
    hit = (pred == img_labels).float()
    per_class = torch.zeros(n_classes).index_add_(0, img_labels, hit) / \
        torch.bincount(img_labels, minlength=n_classes).clamp_min(1)
    present = torch.bincount(img_labels, minlength=n_classes) > 0
    cap_pred = (cap_emb @ image_protos.t()).argmax(1)
    queries = torch.arange(n_classes)[present]
    return {
        "zero_shot_top1": float(hit.mean()),
        "zero_shot_top1_class_mean": float(per_class[present].mean()),
        "retrieval_ap50": average_precision_at_k(text_protos[present] @ img_emb.t(), queries, img_labels, 50),
        "caption_top1": float((cap_pred == cap_labels).float().mean()),
    }


def zero_shot_eval(text_encoder, image_encoder, index, split: str = "test", *, images=None,
                   max_captions_per_class: int | None = None, seed: int = 0) -> dict:
    """Zero-shot figures on ``split`` (classes unseen in training for ``test``/``val``).

    ``images``: the split's uint8 images [N, H, W, 3] in ``index.indices(split)`` order, if
    already in memory. ``max_captions_per_class`` samples captions (fast periodic validation);
    ``None`` uses every caption. Returns a dict with ``zero_shot_top1`` and friends."""
    indices = list(index.indices(split))
    if not indices:
        raise UserError(f"the dataset has no images in the {split!r} split")
    names = sorted({index.records[i].class_name for i in indices})
    class_pos = {n: k for k, n in enumerate(names)}
    if len(names) < 2:
        raise UserError(f"zero-shot evaluation needs at least 2 classes in {split!r}, found {len(names)}")
    if images is None:
        images = split_images(index, indices, image_encoder.cfg.image_size)
    if len(images) != len(indices):
        raise UserError(f"got {len(images)} images for the {len(indices)} records of {split!r}")
    captions, cap_labels = _split_captions(index, indices, class_pos, max_captions_per_class, seed)
    if not captions:
        raise UserError(f"the {split!r} split has no captions")
    img_labels = [class_pos[index.records[i].class_name] for i in indices]
    out = joint_metrics(embed_images(image_encoder, images), img_labels,
                        embed_captions(text_encoder, captions), cap_labels, len(names))
    out.update(split=split, n_classes=len(names), n_images=len(indices), n_captions=len(captions))
    return out


# Free-form wordings that SynthBirds' caption writer never produces (other syntax, word order,
# casing, punctuation): a check that φ reads attributes rather than memorised templates.
PARAPHRASES = (
    "{crown} head, {wing} wings, {belly} belly, {beak} beak",
    "a bird whose head is {crown} and whose wings are {wing}, with a {belly} breast and a {beak} bill.",
    "This little bird has a {CROWN} crown and {WING} wings. Its belly is {belly}; the beak is {beak}!",
    "the wings are {wing}. the crown is {crown}. the chest is {belly}. the beak is {beak}.",
    "{beak} beak and {belly} underparts; {wing} wing feathers and a {crown} cap",
)


def paraphrase_eval(text_encoder, image_encoder, index, split: str = "test", *, images=None) -> dict | None:
    """SynthBirds only: each hand-written paraphrase of a class's content is classified among the
    split's classes by class-averaged image embeddings. ``None`` for other datasets."""
    indices = list(index.indices(split))
    names = sorted({index.records[i].class_name for i in indices})
    try:
        contents = [parse_class(n) for n in names]
    except UserError:
        return None
    if len(names) < 2:
        return None
    if images is None:
        images = split_images(index, indices, image_encoder.cfg.image_size)
    pos = {n: k for k, n in enumerate(names)}
    img_labels = torch.tensor([pos[index.records[i].class_name] for i in indices])
    protos = class_means(embed_images(image_encoder, images), img_labels, len(names))
    texts, labels = [], []
    for k, c in enumerate(contents):
        slots = {**c, **{key.upper(): v.upper() for key, v in c.items()}}
        texts += [p.format(**slots) for p in PARAPHRASES]
        labels += [k] * len(PARAPHRASES)
    emb = text_encoder.embed_texts(texts)
    pred = (emb @ protos.t()).argmax(1)
    hits = (pred == torch.tensor(labels)).float().view(len(names), len(PARAPHRASES))
    return {"paraphrase_top1": float(hits.mean()),
            "per_template": [round(float(x), 4) for x in hits.mean(0)], "n_classes": len(names)}
