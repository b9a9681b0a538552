"""The README's and the model card's figures of the bundled model are the ones its config.json
records (``evaluate --write-config``): no stale numbers."""

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = json.loads((ROOT / "weights" / "synthbirds" / "config.json").read_text())
EVAL = CONFIG["evaluation"]

# phrase in the text → key path in config.json's "evaluation"
FIGURES = {
    "attribute match": ("text_match", "per_attribute"),
    "all four right": ("text_match", "all_correct"),
    "hand-written captions": ("human_text_match", "per_attribute"),
    "facing kept by style transfer": ("style_transfer", "facing_kept"),
    "left-facing share": ("diversity", "facing_left_share"),
    "φ zero-shot top-1": ("text_encoder", "zero_shot_top1"),
}


def _figures(text: str) -> dict:
    found = {}
    for phrase in FIGURES:
        words = r"\s+".join(re.escape(w) for w in phrase.split())  # a phrase may wrap
        m = re.search(words + r"\s+(?:of\s+)?(\d+\.\d+)", text)
        if m:
            found[phrase] = m.group(1)
    return found


def _bundled_section(text: str, heading: str) -> str:
    start = text.index(heading)
    end = text.find("\n#", start + len(heading))
    return text[start:end if end > 0 else None]


@pytest.mark.parametrize("doc, heading", [("README.md", "### The bundled model, in numbers"),
                                          ("weights/MODEL_CARD.md", "## In short")])
def test_bundled_model_figures_match_its_config(doc, heading):
    section = _bundled_section((ROOT / doc).read_text(encoding="utf-8"), heading)
    found = _figures(section)
    assert len(found) >= 4, f"{doc}: expected the bundled model's figures in '{heading}', found {found}"
    for phrase, shown in found.items():
        section_key, key = FIGURES[phrase]
        value = EVAL[section_key][key]
        digits = len(shown.split(".")[1])
        assert f"{value:.{digits}f}" == shown, f"{doc}: '{phrase} {shown}' but config.json has {value}"


def test_the_figure_reader_catches_a_stale_number():
    text = "attribute match 0.47, facing kept by style\ntransfer 0.67"
    assert _figures(text) == {"attribute match": "0.47", "facing kept by style transfer": "0.67"}
