"""Mixed precision for the training steps: bf16 autocast where the hardware has bf16 units.

``amp`` is one of ``"auto"`` (bf16 on CUDA, fp32 elsewhere), ``"bf16"`` (always; on CPUs without
AVX-512 BF16 / AMX this is far slower than fp32, see benchmarks/README.md) or ``"off"``. Every
trainer (``train-text``, ``train``, ``train-style``) resolves it the same way, so ``--device cuda``
alone gives the fast GPU path, and ``--device cpu --amp bf16`` runs that same code on a CPU (the
tests do, so the GPU path cannot rot on a machine without a GPU).
"""

from __future__ import annotations

import contextlib

import torch

from ..errors import UserError

AMP_CHOICES = ("auto", "bf16", "off")


def resolve_amp(amp: str | None, device: torch.device) -> str:
    """``"bf16"`` or ``"off"`` for ``device``."""
    amp = amp or "off"
    if amp not in AMP_CHOICES:
        raise UserError(f"unknown --amp {amp!r}: choose {', '.join(AMP_CHOICES)}")
    if amp == "auto":
        return "bf16" if device.type == "cuda" else "off"
    return amp


def amp_context(device: torch.device, amp: str):
    """bf16 autocast on ``device`` for ``amp == "bf16"`` (after ``resolve_amp``), else nothing."""
    if resolve_amp(amp, device) == "off":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16)
