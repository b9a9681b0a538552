"""The ablation's table and its verdicts on the paper's claims, computed from the numbers.

Claims checked (Reed et al. 2016):
- §4.2: the matching-aware discriminator (GAN-CLS) improves text match over plain GAN.
- §4.3 / §5.1: the interpolation term (INT) improves text match ("GAN-INT and GAN-INT-CLS show
  plausible images that usually match all or at least part of the caption"), checked both
  without and with CLS.
- §5.2: the models with INT give the best style disentangling (ROC AUC, pose and background).

A difference counts only when it exceeds the noise: for accuracies, two standard errors of the
difference of two proportions (over the attributes checked); for ROC AUC a fixed margin.
"""

from __future__ import annotations

import math
from pathlib import Path

from ..files import atomic_write
from .report import fmt, markdown_table

VARIANTS = ("gan", "gan-cls", "gan-int", "gan-int-cls")
AUC_MARGIN = 0.02

COLUMNS = (("text match", ("text_match", "per_attribute")),
           ("all correct", ("text_match", "all_correct")),
           ("facing kept", ("style_transfer", "facing_kept")),
           ("bg ΔE00", ("style_transfer", "background_delta_e")),
           ("transfer content", ("style_transfer", "content_per_attribute")),
           ("AUC pose", ("roc_auc", "pose")),
           ("AUC background", ("roc_auc", "background")),
           ("left share", ("diversity", "facing_left_share")),
           ("minority share", ("diversity", "facing_minority_share")))


def value(result: dict | None, path) -> float | None:
    node = result or {}
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, (int, float)) else None


def table_rows(results: dict) -> list[list[str]]:
    return [[name] + [fmt(value(results.get(name), path)) for _, path in COLUMNS]
            for name in VARIANTS if name in results]


def markdown(results: dict) -> str:
    return markdown_table(["variant"] + [c for c, _ in COLUMNS], table_rows(results))


def text_table(results: dict) -> str:
    rows = [["variant"] + [c for c, _ in COLUMNS]] + table_rows(results)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _checked(result) -> int:
    tm = (result or {}).get("text_match", {})
    return int(tm.get("checked") or tm.get("n_captions", 0) * tm.get("images_per_caption", 1) or 0)


def compare_accuracy(results, better: str, worse: str) -> tuple[str | None, str]:
    """Verdict on "``better`` has higher text match than ``worse``" and the evidence."""
    a, b = (value(results.get(v), ("text_match", "per_attribute")) for v in (better, worse))
    if a is None or b is None:
        return None, f"missing figures for {better if a is None else worse}"
    na, nb = max(_checked(results.get(better)), 1), max(_checked(results.get(worse)), 1)
    se = math.sqrt(a * (1 - a) / na + b * (1 - b) / nb)
    se = max(se, 0.5 / max(na, nb))  # both at 0 or 1: one item's worth
    diff = a - b
    verdict = "holds" if diff > 2 * se else "does not hold" if diff < -2 * se else "inconclusive"
    return verdict, f"{better} {a:.3f} vs {worse} {b:.3f} (difference {diff:+.3f}, 2 SE = {2 * se:.3f})"


def compare_auc(results) -> tuple[str | None, str]:
    """Verdict on "a model with INT has the best ROC AUC", per factor; both factors must agree."""
    verdicts, notes = [], []
    for factor in ("pose", "background"):
        best = {grp: max((value(results.get(v), ("roc_auc", factor)) or -1.0) for v in names)
                for grp, names in (("int", ("gan-int", "gan-int-cls")), ("no-int", ("gan", "gan-cls")))}
        if min(best.values()) < 0:
            return None, f"missing ROC AUC ({factor}) for some variants"
        diff = best["int"] - best["no-int"]
        verdicts.append("holds" if diff > AUC_MARGIN else "does not hold" if diff < -AUC_MARGIN
                        else "inconclusive")
        notes.append(f"{factor}: best with INT {best['int']:.3f} vs without {best['no-int']:.3f}")
    verdict = verdicts[0] if verdicts[0] == verdicts[1] else (
        "partly holds" if "holds" in verdicts and "does not hold" not in verdicts else "mixed")
    return verdict, "; ".join(notes) + f" (margin {AUC_MARGIN})"


def claims(results: dict) -> list[dict]:
    """Each paper claim with a verdict (holds / does not hold / inconclusive / ...) and evidence."""
    out = []
    for claim, (better, worse) in (
            ("GAN-CLS improves text match over GAN (§4.2)", ("gan-cls", "gan")),
            ("INT improves text match over GAN (§4.3, §5.1)", ("gan-int", "gan")),
            ("INT improves text match over GAN-CLS (§4.3, §5.1)", ("gan-int-cls", "gan-cls"))):
        verdict, evidence = compare_accuracy(results, better, worse)
        out.append({"claim": claim, "verdict": verdict or "not measured", "evidence": evidence})
    verdict, evidence = compare_auc(results)
    out.append({"claim": "Models with INT disentangle style best (§5.2 ROC AUC)",
                "verdict": verdict or "not measured", "evidence": evidence})
    return out


def claims_text(results: dict) -> str:
    return "\n".join(f"- {c['claim']}: **{c['verdict']}** — {c['evidence']}" for c in claims(results))


def write_markdown(results: dict, out_dir, *, settings: dict, grids: dict,
                   timing: dict | None = None) -> Path:
    """``out_dir/ablation.md``: settings, the table, the verdicts, one sample grid per variant."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# Ablation: GAN, GAN-CLS, GAN-INT, GAN-INT-CLS", "",
             "Same data, text encoder, steps, seeds and evaluation for every variant. "
             "Settings: " + ", ".join(f"{k} `{v}`" for k, v in settings.items()) + ".", "",
             markdown(results), ""]
    if timing:
        lines += ["Wall-clock per variant (train + style + evaluate): "
                  + ", ".join(f"{k} {v:.0f} s" for k, v in timing.items()) + ".", ""]
    lines += ["## Do the paper's claims hold here?", "", claims_text(results),
              "", "Verdicts are computed from the table: an accuracy difference counts when it exceeds "
             "two standard errors; an AUC difference when it exceeds "
              f"{AUC_MARGIN}. Text match = judged attribute accuracy on captions of unseen classes.", ""]
    for name in VARIANTS:
        if name in grids:
            lines += [f"### {name}", "", f"![{name}]({grids[name]})", ""]
    text = "\n".join(lines)
    return atomic_write(Path(out_dir) / "ablation.md", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
