"""Deep symmetric structured joint embedding loss (DS-SJE; Reed et al. CVPR 2016 §3, used in §3.2).

Compatibility F(v, t) = θ(v)ᵀ φ(t). Within a batch of (image, text, class) triples:

  image side:  classify each image v by the class-averaged text embeddings
               f_v(v) = argmax_y' E_{t∈T(y')} F(v, t)
  text side:   classify each text t by the class-averaged image embeddings
               f_t(t) = argmax_y' E_{v∈V(y')} F(v, t)

Both 0/1 losses Δ(y, f(·)) are replaced by the structured hinge (a convex upper bound):

  ℓ(y) = max_y' [Δ(y, y') + s(y')] − s(y),    Δ(y, y') = 0 if y' = y else 1.

``reduction="max"`` is exactly that bound. ``reduction="mean"`` (default) averages the per-class
hinges max(0, Δ(y, y') + s(y') − s(y)) over the wrong classes y' instead, as Reed's released
Torch code does; every wrong class then gives a gradient, which trains faster early on.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..errors import UserError


def class_means(emb: torch.Tensor, inverse: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Mean embedding per class: [B, E] + class positions [B] → [K, E]."""
    one_hot = F.one_hot(inverse, n_classes).to(emb.dtype)  # [B, K]
    return (one_hot.t() @ emb) / one_hot.sum(0).clamp_min(1.0).unsqueeze(1)


def structured_hinge(scores: torch.Tensor, target: torch.Tensor, *, margin: float = 1.0,
                     reduction: str = "mean") -> torch.Tensor:
    """Hinge surrogate of Δ(y, argmax_y' scores) for scores [B, K] and true class positions [B]."""
    true = scores.gather(1, target.unsqueeze(1))                       # s(y)   [B, 1]
    wrong = torch.ones_like(scores).scatter_(1, target.unsqueeze(1), 0.0)  # Δ(y, y') = 0/1
    violation = (margin * wrong + scores - true) * wrong               # y' = y contributes 0
    if reduction == "max":
        return violation.clamp_min(0.0).amax(dim=1).mean()
    if reduction == "mean":
        n_wrong = (scores.shape[1] - 1)
        return violation.clamp_min(0.0).sum(dim=1).div(n_wrong).mean()
    raise UserError(f"unknown DS-SJE reduction {reduction!r}: use 'mean' or 'max'")


def _check(image_emb, text_emb, labels, text_labels):
    if image_emb.dim() != 2 or text_emb.dim() != 2 or image_emb.shape[1] != text_emb.shape[1]:
        raise UserError(f"image and text embeddings must be [B, E] with the same E; got "
                        f"{tuple(image_emb.shape)} and {tuple(text_emb.shape)}")
    if labels.shape != (image_emb.shape[0],):
        raise UserError(f"labels must be [B] = [{image_emb.shape[0]}], got {tuple(labels.shape)}")
    if text_labels is None:
        if text_emb.shape[0] != image_emb.shape[0]:
            raise UserError("with one label per pair, image and text batches must have the same "
                            f"size; got {image_emb.shape[0]} and {text_emb.shape[0]} (pass text_labels)")
        return labels
    if text_labels.shape != (text_emb.shape[0],):
        raise UserError(f"text_labels must be [{text_emb.shape[0]}], got {tuple(text_labels.shape)}")
    if set(labels.tolist()) != set(text_labels.tolist()):
        raise UserError("every class in the batch needs both images and texts")
    return text_labels


def ds_sje_loss(image_emb: torch.Tensor, text_emb: torch.Tensor, labels: torch.Tensor, *,
                text_labels: torch.Tensor | None = None, margin: float = 1.0,
                reduction: str = "mean", scale: float | None = None, return_parts: bool = False):
    """DS-SJE over a batch: image_emb [B, E] (θ(v)), text_emb [B, E] (φ(t)), labels [B].

    Row i is one matching (image, text) pair of class ``labels[i]``. Images and texts may also
    come in different numbers: give ``text_labels`` [T] for text_emb [T, E] (the loss only uses
    class averages across the two sides, so pairs need not line up). A batch should hold several
    classes and several items per class so the class averages mean something.
    ``scale``: score with scale · cosine instead of the raw inner product (a deviation; see
    ``TextTrainConfig.cosine_scale``). Returns the scalar loss, or ``(loss, {"image": ..., "text": ...})`` with ``return_parts``."""
    text_labels = _check(image_emb, text_emb, labels, text_labels)
    classes, inverse = torch.unique(torch.cat([labels, text_labels]), return_inverse=True)
    k = len(classes)
    if k < 2:  # nothing to discriminate against
        zero = (image_emb.sum() + text_emb.sum()) * 0.0
        return (zero, {"image": zero.detach(), "text": zero.detach()}) if return_parts else zero
    inv_img, inv_txt = inverse[: len(labels)], inverse[len(labels):]
    if scale:  # F(v, t) = scale · cos(θ(v), φ(t)): the margin cannot be met by growing norms
        image_emb = F.normalize(image_emb, dim=1) * math.sqrt(scale)
        text_emb = F.normalize(text_emb, dim=1) * math.sqrt(scale)
    text_protos = class_means(text_emb, inv_txt, k)    # E_{t∈T(y')} φ(t)   [K, E]
    image_protos = class_means(image_emb, inv_img, k)  # E_{v∈V(y')} θ(v)   [K, E]
    # image side: F(v, y') = θ(v)ᵀ mean φ(T(y'))   (CVPR 2016 §3, f_v)
    loss_img = structured_hinge(image_emb @ text_protos.t(), inv_img, margin=margin, reduction=reduction)
    # text side:  F(t, y') = mean θ(V(y'))ᵀ φ(t)   (CVPR 2016 §3, f_t)
    loss_txt = structured_hinge(text_emb @ image_protos.t(), inv_txt, margin=margin, reduction=reduction)
    loss = loss_img + loss_txt
    if return_parts:
        return loss, {"image": loss_img.detach(), "text": loss_txt.detach()}
    return loss
