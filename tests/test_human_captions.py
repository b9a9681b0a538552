"""Hand-written, CUB-style captions (``tests/data/human_captions.jsonl``) and ``human_text_match``."""

import os

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import json  # noqa: E402
import re  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from t2i_core.errors import UserError  # noqa: E402

FILE = Path(__file__).resolve().parent / "data" / "human_captions.jsonl"
# colour words people use that are not one of the ten base names (nor "gray")
SYNONYMS = {"scarlet", "crimson", "ruby", "cherry", "vermilion", "brick", "cardinal", "tangerine",
            "pumpkin", "apricot", "rusty", "rust", "burnt", "lemon", "golden", "canary", "mustard",
            "butter", "sunny", "olive", "emerald", "lime", "moss", "jade", "cobalt", "azure", "navy",
            "sapphire", "sky", "royal", "violet", "lavender", "plum", "lilac", "mauve", "amethyst",
            "chestnut", "chocolate", "tan", "cinnamon", "tawny", "ebony", "jet", "sooty", "coal",
            "raven", "inky", "snowy", "snow", "ivory", "cream", "creamy", "pearly", "chalk", "milky",
            "slate", "ash", "silver", "silvery", "charcoal", "smoky", "pewter", "dove"}


@pytest.mark.parametrize("name", ["human_captions.jsonl", "human_captions_heldout.jsonl"])
def test_human_caption_files_are_distinct_and_valid(name):
    from t2i_core.eval.evaluate import load_human_captions

    captions, wants = load_human_captions(FILE.with_name(name))
    assert len(captions) >= 90 and len(set(captions)) == len(captions)
    assert all(wants)
    other = set(load_human_captions(FILE.with_name("human_captions.jsonl"))[0])
    if name != FILE.name:  # the held-out file shares no caption with the first
        assert not other & set(captions)


def test_human_captions_file_is_varied_and_covers_every_value():
    from t2i_core.data.synthbirds import COLORS, VALUES
    from t2i_core.eval.evaluate import HUMAN_CAPTIONS, load_human_captions

    assert HUMAN_CAPTIONS == FILE
    lines = FILE.read_text(encoding="utf-8").splitlines()
    assert len(lines) >= 150
    for n, line in enumerate(lines, start=1):
        row = json.loads(line)
        assert set(row) == {"caption", "attributes"}, n
        assert row["attributes"] and all(v in VALUES[k] for k, v in row["attributes"].items()), n
    captions, wants = load_human_captions(FILE)
    assert len(captions) == len(lines) and len(set(captions)) == len(captions)
    for part in ("crown", "wing", "belly"):
        assert {w[part] for w in wants if part in w} == set(COLORS), part
    assert {w["beak"] for w in wants if "beak" in w} == {"short", "long"}
    with_synonym = [c for c in captions if SYNONYMS & set(re.findall(r"[a-z]+", c.lower()))]
    assert len(with_synonym) >= 50


@pytest.mark.parametrize("line, words", [
    ("{not json", "not valid JSON"),
    ('["a list"]', "expected an object"),
    ('{"attributes": {"crown": "red"}}', '"caption"'),
    ('{"caption": "a red bird"}', '"attributes"'),
    ('{"caption": "a red bird", "attributes": {"tail": "red"}}', "unknown part 'tail'"),
    ('{"caption": "a bird", "attributes": {"crown": "scarlet"}}', "unknown crown value 'scarlet'"),
    ('{"caption": "a bird", "attributes": {"beak": "medium"}}', "unknown beak value 'medium'"),
])
def test_loader_names_the_file_and_line(tmp_path, line, words):
    from t2i_core.eval.evaluate import load_human_captions

    path = tmp_path / "bad.jsonl"
    good = '{"caption": "a bird with a grey crown", "attributes": {"crown": "gray"}}'
    path.write_text(f"{good}\n\n{line}\n", encoding="utf-8")
    with pytest.raises(UserError) as err:
        load_human_captions(path)
    assert str(path) in str(err.value) and "line 3" in str(err.value) and words in str(err.value)
    path.write_text(good + "\n", encoding="utf-8")
    assert load_human_captions(path) == (["a bird with a grey crown"], [{"crown": "grey"}])
    with pytest.raises(UserError, match="not found"):
        load_human_captions(tmp_path / "missing.jsonl")


def test_quick_evaluate_reports_human_text_match(tiny, judge, tmp_path, monkeypatch):
    from t2i_core.eval import evaluate as E

    result = E.evaluate(tiny, judge=judge, quick=True, out_dir=tmp_path / "eval")
    section = result["human_text_match"]
    assert section["n_captions"] == 16 and section["images_per_caption"] == E.QUICK["per_caption"]
    assert section["source"] == str(FILE) and section["checked"] > 0
    for value in (section["per_attribute"], section["all_correct"], *section["by_attribute"].values()):
        assert 0.0 <= value <= 1.0
    report = (tmp_path / "eval" / "report.md").read_text()
    assert "| human_text_match.per_attribute |" in report
    hardest = section["hardest"]
    assert 0 < len(hardest) <= E.HARDEST and [r["match"] for r in hardest] == sorted(r["match"] for r in hardest)
    assert all(r["caption"] in report for r in hardest if r["match"] < 1)
    held = result["human_text_match_heldout"]  # the second, never-tuned-on file
    assert held["source"] == str(E.HUMAN_CAPTIONS_HELDOUT) and held["checked"] > 0
    assert 0.0 <= held["per_attribute"] <= 1.0 and "hardest" not in held  # its failures stay unseen
    assert "| human_text_match_heldout.per_attribute |" in (tmp_path / "eval" / "report.md").read_text()
    # an explicit file; without the default file the section is None-valued with a note
    own = tmp_path / "own.jsonl"
    own.write_text('{"caption": "a bird with scarlet wings", "attributes": {"wing": "red"}}\n')
    with_own = E.evaluate(tiny, judge=judge, quick=True, human_captions=own)
    assert with_own["human_text_match"]["n_captions"] == 1
    assert with_own["human_text_match_heldout"]["per_attribute"] is None  # only beside the default
    monkeypatch.setattr(E, "HUMAN_CAPTIONS", tmp_path / "absent.jsonl")
    missing = E.evaluate(tiny, judge=judge, quick=True)["human_text_match"]
    assert missing["per_attribute"] is None and missing["n_captions"] is None and missing["note"]


def test_hardest_captions_ranks_by_share_right_and_says_what_was_drawn():
    from t2i_core.eval.evaluate import hardest_captions

    captions = ["a red bird", "a bird with a blue crown and a short beak", "a grey bird"]
    wants = [{"wing": "red"}, {"crown": "blue", "beak": "short"}, {}]
    preds = [{"wing": "red"}, {"wing": "purple"},                              # half right
             {"crown": "green", "beak": "short"}, {"crown": "grey", "beak": "long"},
             {"wing": "grey"}, {"wing": "grey"}]                                # wants nothing
    rows = hardest_captions(captions, wants, preds, k=2)
    assert [r["caption"] for r in rows] == [captions[1], captions[0]]  # the empty one is skipped
    assert rows[0]["match"] == 0.25 and rows[0]["drawn"]["beak"] == "long"
    assert rows[0]["drawn"]["crown"] in ("green", "grey")
    assert rows[1] == {"caption": "a red bird", "match": 0.5, "wanted": {"wing": "red"}, "drawn": {"wing": "purple"}}
    assert len(hardest_captions(captions, wants, preds, k=2, n=1)) == 1
    # the wrong value seen most often, not the first one seen; a caption drawn right is not listed
    three = [{"crown": "grey"}, {"crown": "green"}, {"crown": "green"}]
    assert hardest_captions(["a blue crown"], [{"crown": "blue"}], three, k=3)[0]["drawn"] == {"crown": "green"}
    assert hardest_captions(["a red bird"], [{"wing": "red"}], [{"wing": "red"}] * 2, k=2) == []


def test_cli_rejects_a_bad_human_captions_file(tmp_path, capsys):
    from t2i_core.__main__ import main

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"caption": "a bird", "attributes": {"crown": "pink"}}\n', encoding="utf-8")
    assert main(["evaluate", "--preset", "tiny", "--quick", "--human-captions", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "line 1" in err
