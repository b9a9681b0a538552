"""Reed's 70-symbol alphabet and caption encoding (Reed et al. 2016, §3.2; his char-CNN-RNN code).

Index 0 is padding; symbols are 1-based. '-' is listed twice in Reed's string, so it maps to the
later index (as a Lua table built in order would). The last symbol is a space.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from ..errors import UserError

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+-=<>()[]{} "
assert len(ALPHABET) == 70
MAX_LEN = 201
VOCAB_SIZE = len(ALPHABET) + 1  # + padding index 0

CHAR_TO_INDEX = {}
for _i, _c in enumerate(ALPHABET, start=1):
    CHAR_TO_INDEX[_c] = _i  # a repeated symbol keeps its later index
INDEX_TO_CHAR = {i: c for c, i in CHAR_TO_INDEX.items()}


def clean_caption(text: str) -> str:
    """Lowercase, fold accents (é → e), turn other whitespace into spaces, drop what Reed's
    alphabet lacks (emoji, non-Latin), and collapse repeated spaces."""
    if not isinstance(text, str):
        raise UserError(f"a caption must be text, got {type(text).__name__}")
    text = unicodedata.normalize("NFKD", text).lower()
    text = "".join(" " if ch.isspace() else ch for ch in text)
    text = "".join(ch for ch in text if ch in CHAR_TO_INDEX)
    return " ".join(text.split())


def prepare_caption(text: str, max_len: int = MAX_LEN) -> tuple[str, list[str]]:
    """Clean a user caption for the encoder. Returns (clean text, notices for the user).

    Raises UserError when nothing usable is left (empty, whitespace-only, all emoji...)."""
    notices = []
    if not isinstance(text, str) or not text.strip():
        raise UserError("the caption is empty: describe a bird, e.g. 'a bird with a red crown'")
    clean = clean_caption(text)
    if not clean:
        raise UserError("the caption has no letters or digits the text encoder can read "
                        "(it reads lowercase English letters, digits and punctuation)")
    if len(clean) > max_len:
        notices.append(f"caption truncated to its first {max_len} characters")
        clean = clean[:max_len]
    return clean, notices


def encode(text: str, max_len: int = MAX_LEN) -> np.ndarray:
    """Cleaned text -> int64 array of length ``max_len`` (1-based indices, 0-padded)."""
    clean = clean_caption(text)[:max_len]
    out = np.zeros(max_len, dtype=np.int64)
    out[: len(clean)] = [CHAR_TO_INDEX[c] for c in clean]
    return out


def encode_batch(texts, max_len: int = MAX_LEN) -> np.ndarray:
    return np.stack([encode(t, max_len) for t in texts]) if texts else np.zeros((0, max_len), np.int64)


def decode(indices) -> str:
    """Indices (1-based, 0 = padding) -> text; the inverse of ``encode`` for clean text."""
    return "".join(INDEX_TO_CHAR.get(int(i), "") for i in indices if int(i) != 0)
