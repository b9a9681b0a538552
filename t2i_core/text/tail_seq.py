"""Sequences that end in one repeated vector, so φ need not compute its padding position by position.

A caption padded to 201 characters ends in padding, and each layer of the char-CNN (a 'valid'
convolution, BatchNorm, ReLU, a non-overlapping max pool) turns a run of identical input vectors
into a run of identical output vectors. A ``TailSeq`` holds the part that differs between
captions (``body``, as long as the batch's longest caption needs) and one ``tail`` vector that
stands for every position after it. Each stage below gives the same numbers as the full-length
computation, BatchNorm included: its batch statistics count the tail with its multiplicity.
SynthBirds training batches need ~125 of the 201 positions (``benchmarks/bench_text_encoder.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class TailSeq:
    body: torch.Tensor  # [B, P, C]: positions 0 .. P-1
    tail: torch.Tensor  # [C]: the value of every position P .. length-1
    length: int         # the full sequence length (≥ P)

    def grow(self, size: int) -> "TailSeq":
        """Materialise tail copies so the body holds ``min(size, length)`` positions."""
        extra = min(size, self.length) - self.body.shape[1]
        if extra <= 0:
            return self
        b, _, c = self.body.shape
        return TailSeq(torch.cat([self.body, self.tail.expand(b, extra, c)], dim=1), self.tail, self.length)

    def full(self) -> torch.Tensor:
        return self.grow(self.length).body


def conv(seq: TailSeq, layer: nn.Conv1d) -> TailSeq:
    """A 'valid' Conv1d: output positions whose window lies in the tail share one value."""
    k = layer.kernel_size[0]
    out_len = seq.length - k + 1
    keep = min(seq.body.shape[1], out_len)        # outputs whose window starts in the body
    src = seq.grow(keep + k - 1).body             # exactly keep + k - 1 positions
    out = F.conv1d(src.transpose(1, 2), layer.weight, layer.bias).transpose(1, 2)
    tail = layer.weight.sum(dim=2) @ seq.tail + layer.bias
    return TailSeq(out, tail, out_len)


def batch_norm(seq: TailSeq, norm: nn.Module) -> TailSeq:
    """BatchNorm1d over all ``B × length`` positions (Identity passes through)."""
    if not isinstance(norm, nn.BatchNorm1d):
        return TailSeq(norm(seq.body), norm(seq.tail), seq.length)
    b, p, c = seq.body.shape
    if not norm.training and norm.running_mean is not None:  # running statistics: position-wise
        return TailSeq(norm(seq.body.reshape(b * p, c)).view(b, p, c), norm(seq.tail.view(1, c))[0],
                       seq.length)
    rows, tail_rows = b * seq.length, b * (seq.length - p)
    mean = (seq.body.sum(dim=(0, 1)) + tail_rows * seq.tail) / rows
    var = (((seq.body - mean) ** 2).sum(dim=(0, 1)) + tail_rows * (seq.tail - mean) ** 2) / rows
    if norm.track_running_stats:
        with torch.no_grad():
            norm.num_batches_tracked.add_(1)
            m = norm.momentum if norm.momentum is not None else 1.0 / float(norm.num_batches_tracked)
            norm.running_mean.lerp_(mean, m)
            norm.running_var.lerp_(var * rows / max(rows - 1, 1), m)
    scale = torch.rsqrt(var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight
    shift = -mean * scale + (norm.bias if norm.affine else 0.0)
    return TailSeq(seq.body * scale + shift, seq.tail * scale + shift, seq.length)


def relu(seq: TailSeq) -> TailSeq:
    return TailSeq(F.relu(seq.body), F.relu(seq.tail), seq.length)


def max_pool(seq: TailSeq, size: int) -> TailSeq:
    """MaxPool1d(size) (stride = size, remainder dropped); a window inside the tail is the tail."""
    out_len = seq.length // size
    keep = min(-(-seq.body.shape[1] // size), out_len)  # windows that touch the body
    body = seq.grow(keep * size).body[:, : keep * size]
    b, _, c = body.shape
    return TailSeq(body.reshape(b, keep, size, c).amax(dim=2), seq.tail, out_len)
