"""Markdown report and figures for ``evaluate``: metric table against the shipping bars,
sample grids (PNG), the §5.2 ROC plot (PNG)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..files import atomic_write
from ..viz import save_grid, to_uint8

# The bars the bundled model is held to: key path -> (op, threshold); None: reported in the
# table without a bar
BARS = {
    ("judge", "accuracy_on_real"): (">=", 0.99),
    ("text_match", "per_attribute"): (">=", 0.90),
    ("text_match", "worst_attribute"): (">=", 0.85),        # every part (crown, wing, belly, beak)
    ("text_match", "all_correct"): (">=", 0.60),
    ("human_text_match", "per_attribute"): (">=", 0.85),    # free human phrasing
    ("human_text_match", "all_correct"): None,
    ("human_text_match_heldout", "per_attribute"): (">=", 0.85),  # a file never tuned on
    ("human_text_match_heldout", "all_correct"): None,
    ("style_transfer", "facing_kept"): (">=", 0.90),
    ("style_transfer", "background_delta_e"): ("<=", 12.0),
    ("style_transfer", "content_per_attribute"): (">=", 0.85),
    ("style_transfer_degraded", "facing_kept"): (">=", 0.85),
    ("style_transfer_degraded", "background_delta_e"): None,
    ("roc_auc", "pose_vs_oracle"): (">=", 0.95),            # §5.2 AUC against a perfect S's
    ("roc_auc", "background_vs_oracle"): (">=", 0.95),
    ("diversity", "facing_left_share"): ("in", (0.3, 0.7)),
    ("text_encoder", "zero_shot_top1"): (">=", 0.95),
    ("crispness", "frechet_judge"): None,                   # against the paper recipe's (model card)
    ("crispness", "frechet_judge_floor"): None,
}


def bar_status(value, bar) -> str:
    """``pass`` / ``FAIL`` / ``n/a`` for a value against one bar (``—`` where there is none)."""
    if bar is None:
        return "—"
    if value is None:
        return "n/a"
    op, t = bar
    ok = (value >= t if op == ">=" else value <= t if op == "<=" else t[0] <= value <= t[1])
    return "pass" if ok else "FAIL"


def bar_text(bar) -> str:
    if bar is None:
        return "—"
    op, t = bar
    return f"{t[0]}–{t[1]}" if op == "in" else f"{op} {t}"


def fmt(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.2f}"
    return str(value)


def metric_rows(result: dict) -> list[tuple[str, str, str, str]]:
    """(metric, value, bar, status) for every barred metric in ``result``."""
    rows = []
    for (section, key), bar in BARS.items():
        value = (result.get(section) or {}).get(key)
        rows.append((f"{section}.{key}", fmt(value), bar_text(bar), bar_status(value, bar)))
    return rows


def text_table(result: dict) -> str:
    """The metric table as aligned plain text (for the terminal)."""
    rows = [("metric", "value", "bar", "status")] + metric_rows(result)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def markdown_table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------ figures


def save_roc_plot(curves: dict, path) -> Path:
    """``curves``: {factor: {"fpr", "tpr", "auc"}} → one ROC plot PNG with the chance diagonal."""
    fig = Figure(figsize=(4.2, 4.2), dpi=110)  # no pyplot: no global figure or backend state
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for name, c in curves.items():
        ax.plot(c["fpr"], c["tpr"], label=f"{name} (AUC {c['auc']:.3f})")
    ax.plot([0, 1], [0, 1], "k--", lw=0.8, label="chance")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", xlim=(0, 1), ylim=(0, 1),
           title="§5.2 same-cluster ROC of S(x) cosine")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"))


# ------------------------------------------------------------------------------------ markdown


def _details(result: dict) -> list[str]:
    tm, st, dv = result.get("text_match", {}), result.get("style_transfer", {}), result.get("diversity", {})
    hm = result.get("human_text_match") or {}
    lines = ["## Details", ""]
    if tm.get("by_attribute"):
        lines.append("Text match by attribute: " + ", ".join(f"{k} {fmt(v)}" for k, v in tm["by_attribute"].items()))
    if hm.get("by_attribute"):
        lines.append(f"Human-phrased text match ({hm.get('n_captions')} hand-written captions) by attribute: "
                     + ", ".join(f"{k} {fmt(v)}" for k, v in hm["by_attribute"].items()))
    elif hm.get("note"):
        lines.append(f"Human-phrased text match: not measured ({hm['note']}).")
    if hm.get("hardest"):
        lines += ["", "Hand-written captions drawn worst (share of their attributes right; what the judge "
                  "saw instead, most often):", ""]
        lines += [f"- {fmt(r['match'])} \"{r['caption']}\": "
                  + (", ".join(f"{a} {r['wanted'][a]} → {v}" for a, v in r["drawn"].items()) or "-")
                  for r in hm["hardest"]]
        lines.append("")
    ho = result.get("human_text_match_heldout") or {}
    if ho.get("by_attribute"):
        lines.append(f"Held-out human-phrased text match ({ho.get('n_captions')} captions never used "
                     "for tuning) by attribute: " + ", ".join(f"{k} {fmt(v)}" for k, v in ho["by_attribute"].items()))
    if st.get("content_by_attribute"):
        lines.append("Style-transfer content by attribute: "
                     + ", ".join(f"{k} {fmt(v)}" for k, v in st["content_by_attribute"].items()))
    if "background_delta_e76" in st:
        lines.append(f"Background ΔE (median): CIEDE2000 {fmt(st.get('background_delta_e'))}, "
                     f"CIE76 {fmt(st.get('background_delta_e76'))}.")
    roc = result.get("roc_auc", {})
    if roc.get("oracle_pose") is not None:
        lines.append(f"§5.2 reference: the true style factors themselves (a perfect S) score AUC "
                     f"pose {fmt(roc['oracle_pose'])}, background {fmt(roc.get('oracle_background'))} "
                     f"under the same protocol ({roc.get('clusters')} clusters, {roc.get('n_images')} images).")
    if "facing_minority_share" in dv:
        lines.append(f"Diversity: minority facing share per caption (0.5 = balanced, 0 = collapsed) "
                     f"{fmt(dv['facing_minority_share'])}; background spread (median pairwise ΔE00 "
                     f"within a caption) {fmt(dv.get('background_spread_delta_e'))}.")
    judge = result.get("judge", {})
    if judge.get("per_attribute"):
        lines.append("Judge held-out accuracy: " + ", ".join(f"{k} {fmt(v)}" for k, v in judge["per_attribute"].items()))
    return [ln + "  " if ln and not ln.startswith("#") else ln for ln in lines]


def write_report(result: dict, out_dir, figures=(), title: str = "Evaluation") -> Path:
    """Write ``out_dir/report.md``: the metric table against the bars, details, then figures
    (``figures``: (title, path relative to out_dir, note) triples)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    meta = result.get("meta", {})
    lines = [f"# {title}", "",
             f"Weights: `{meta.get('weights', '?')}` · data: {meta.get('data', '?')} · seed "
             f"{meta.get('seed', '?')} · {'quick' if meta.get('quick') else 'full'} run · "
             f"{meta.get('seconds', '?')} s. Colour differences are CIEDE2000 in CIE L*a*b* (D65).",
             "", markdown_table(("metric", "value", "bar", "status"), metric_rows(result)), ""]
    lines += _details(result)
    for caption, rel, note in figures:
        lines += ["", f"### {caption}", "", f"![{caption}]({rel})", ""] + ([note] if note else [])
    text = "\n".join(lines) + "\n"
    return atomic_write(out_dir / "report.md", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def _caption_list(captions, per_row: str) -> str:
    return f"{per_row}:\n\n" + "\n".join(f"{i + 1}. {c}" for i, c in enumerate(captions))


def write_outputs(result: dict, out_dir, figures: dict, curves: dict) -> Path:
    """Save the sample grids and the ROC plot collected by ``evaluate``, then ``report.md``."""
    out_dir = Path(out_dir)
    items = []
    if "text_match" in figures:
        images, captions, k = figures["text_match"]
        save_grid(images, out_dir / "text_match.png", ncol=k)
        items.append(("Text match: unseen-class captions", "text_match.png",
                      _caption_list(captions, f"One row per caption ({k} noise vectors each)")))
    for key, title in (("style_transfer", "Style transfer G(S(x), φ(t))"),
                       ("style_transfer_degraded", "Style transfer from degraded renders (blur, noise, JPEG 30, crop)")):
        if key in figures:
            real, out, captions = figures[key]
            save_grid(np.concatenate([to_uint8(real), to_uint8(out)]), out_dir / f"{key}.png", ncol=len(real))
            items.append((title, f"{key}.png", _caption_list(captions, "Top row: real x; bottom row: x "
                                                            "redrawn with the caption of its column")))
    if curves:
        save_roc_plot(curves, out_dir / "roc.png")
        items.append(("§5.2 disentangling ROC", "roc.png", None))
    if "diversity" in figures:
        images, caption = figures["diversity"]
        save_grid(images, out_dir / "diversity.png", ncol=8)
        items.append(("Diversity: one caption, many z", "diversity.png", f"Caption: {caption}"))
    text = json_dumps(result)
    atomic_write(out_dir / "evaluation.json", lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
    return write_report(result, out_dir, items)


def json_dumps(result: dict) -> str:
    """The result as JSON (numpy scalars become numbers)."""
    def default(o):
        if isinstance(o, np.generic):
            return o.item()
        if isinstance(o, np.ndarray):
            return o.tolist()
        raise TypeError(f"{type(o).__name__} is not JSON serialisable")

    return json.dumps(result, indent=2, default=default)
