"""``evaluate(pipeline)``: every claim of the paper as a number (DESIGN.md §4 JSON keys).

    from t2i_core.eval.evaluate import evaluate
    result = evaluate(pipe, quick=True, out_dir="runs/eval")   # dict; report.md + PNGs in out_dir

Sections (each its own seed stream, so the result is deterministic for ``seed``):
- ``judge``: the judge's accuracy on real images of the test classes (all categorical attributes).
- ``text_match``: k images per test-class caption, judged; accuracy over the attributes each
  caption mentions (``parse_caption``) and the share of images with all of them right.
- ``human_text_match``: the same on hand-written, CUB-style captions (what a user types) with
  their intended attributes, from a JSONL file (default ``tests/data/human_captions.jsonl``),
  with the captions drawn worst (``hardest``: what was wanted, what the judge saw).
- ``human_text_match_heldout``: the same on a second hand-written file,
  ``tests/data/human_captions_heldout.jsonl``, written after the caption generator's vocabulary
  was last changed and never used to tune it (birds, default file only).
- ``style_transfer`` (§4.4): x̂ = G(S(x), φ(t_B)) for real x; facing kept (flowers: one bloom or
  several kept, ``blooms_kept``), median CIEDE2000 between
  x's true background and the judge's reading of x̂, content accuracy for t_B.
- ``style_transfer_degraded``: the same on the same renders after blur, sensor noise, JPEG at
  quality 30 and a random crop (``data.degrade.degrade_for_eval``): does S read photos?
- ``roc_auc`` (§5.2): k-means of real images by background colour and by pose (birds: facing,
  tilt, x, y; flowers: x, y, scale, squash, blooms; z-scored), ROC AUC of cos(S(x_i), S(x_j)) for "same cluster" over all pairs; the same
  AUC of the true style factors (``oracle_*``) says what a perfect S would score
  (``*_vs_oracle``: the ratio).
- ``diversity``: share of left-facing birds (flowers: single blooms) over many z per caption,
  averaged over captions.
- ``crispness``: Fréchet distance in the judge's features, generated vs real renders, with the
  floor of two halves of the real renders.
- ``text_encoder``: zero-shot top-1 of φ/θ on the test classes (``text.zero_shot``).
A metric that the weights cannot support (no style encoder, no image encoder) is ``None`` with
a ``note`` saying why.

The domain (birds or flowers, ``data/domains.py``) comes from ``data`` or, without it, from the
weights' config (``dataset.domain``); the judge must read the same domain. A model trained on
MS-COCO is evaluated by ``coco_eval.evaluate_coco`` instead (retrieval and a
Fréchet distance in θ's features: COCO has no attributes to judge).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from ..checkpoint import load_weights, save_weights
from ..data.dataset import DataIndex, open_dataset
from ..data.degrade import degrade_for_eval
from ..data.domains import get_domain
from ..errors import CheckpointError, UserError
from ..pipeline_utils import make_z
from ..text.loading import load_image_encoder
from ..text.zero_shot import zero_shot_eval
from . import metrics as M
from .coco_eval import evaluate_coco
from .judge import Judge, load_judge, uint8_to_tensor
from .judge_train import render_fingerprint
from .report import write_outputs
from .sources import EvalSource

FULL = dict(judge_images=1000, captions=200, per_caption=4, transfer=300, roc_images=1000,
            clusters=100, diversity_captions=10, diversity_z=64, zs_classes=None, zs_images=2,
            human_captions=None)
QUICK = dict(judge_images=48, captions=8, per_caption=2, transfer=16, roc_images=48,
             clusters=6, diversity_captions=2, diversity_z=16, zs_classes=6, zs_images=2,
             human_captions=16)
BATCH = 128
# hand-written captions with their intended attributes for ``human_text_match`` (the sizes'
# ``human_captions``: how many of them, None: all)
HUMAN_CAPTIONS = Path(__file__).resolve().parents[2] / "tests" / "data" / "human_captions.jsonl"
# a second hand-written file, kept out of every tuning decision: ``human_text_match_heldout``
HUMAN_CAPTIONS_HELDOUT = HUMAN_CAPTIONS.with_name("human_captions_heldout.jsonl")
HARDEST = 8  # hand-written captions listed by how few of their attributes were drawn


class Nets:
    """Batched access to a ``T2IPipeline`` through its own methods (eval mode, no grad)."""

    def __init__(self, pipeline):
        self.pipe = pipeline
        self.has_style = pipeline.has("style_encoder")
        self.z_dim = int(pipeline.z_dim)

    def embed(self, captions: list[str]):
        return torch.cat([self.pipe.embed(captions[s:s + 64]) for s in range(0, len(captions), 64)])

    def z(self, n: int, seed: int):
        """Rows seeded ``seed``, ``seed + 1``, …: the app's and the pipeline's convention, so image
        i of a section is what the app draws with seed ``seed + i`` (``section_seed``)."""
        return make_z(seed, n, self.z_dim)

    def generate(self, z, emb):
        return self.pipe.draw_batch(z, emb, BATCH)

    def style(self, images_uint8):
        return self.pipe.style_batch(uint8_to_tensor(images_uint8), BATCH)


def section_seed(seed: int, section: int) -> int:
    """The first z seed of a section's images: sections never share a latent (1e5 apart), and
    ``T2IPipeline.generate(caption, seed=section_seed(...) + i)`` redraws image i."""
    return int(seed) * 1_000_000 + section * 100_000


def _rng(seed: int, section: int) -> np.random.Generator:
    return np.random.default_rng([int(seed), section])


def _r(x, nd: int = 4):
    return None if x is None else round(float(x), nd)


# ------------------------------------------------------------------------------------ sections


def judge_section(judge, real, domain) -> dict:
    """The judge's accuracy on real images with known truth (mean over categorical attributes)."""
    if real is None:
        stored = (getattr(judge, "evaluation", None) or {}).get("accuracy_on_real")
        return {"accuracy_on_real": _r(stored), "source": "stored",
                "note": "no real images with ground truth; figure from the judge's training"}
    preds = judge.predict_tensor(uint8_to_tensor(real.images))
    truth = [{**c, domain.style_key: domain.style_label(s)} for c, s in zip(real.contents, real.styles)]
    per = {k: float(np.mean([p[k] == t[k] for p, t in zip(preds, truth)])) for k in judge.values}
    return {"accuracy_on_real": _r(np.mean(list(per.values()))),
            "per_attribute": {k: _r(v) for k, v in per.items()}, "n_images": len(preds)}


def text_match(nets, judge, source, sizes, seed, figures) -> dict:
    captions = source.captions(sizes["captions"], _rng(seed, 1))
    k = sizes["per_caption"]
    emb = nets.embed(captions).repeat_interleave(k, 0)
    images = nets.generate(nets.z(len(emb), section_seed(seed, 1)), emb)
    preds = judge.predict_tensor(images)
    want = [source.mentioned(c) for c in captions for _ in range(k)]
    keep = [i for i, w in enumerate(want) if w]
    if not keep:
        raise UserError("no test caption mentions an attribute the judge can check")
    acc = M.attribute_accuracy([preds[i] for i in keep], [want[i] for i in keep])
    figures["text_match"] = (images[: 8 * k], captions[:8], k)
    return {"split": "test", "per_attribute": _r(acc["per_attribute"]),
            "all_correct": _r(acc["all_correct"]),
            "by_attribute": {a: _r(v) for a, v in acc["by_attribute"].items()},
            "worst_attribute": _r(min(acc["by_attribute"].values())),
            "checked": acc["checked"], "n_captions": len(captions), "images_per_caption": k}


def _no_style(reason: str, keys) -> dict:
    return {**{k: None for k in keys}, "note": reason}


def load_human_captions(path, domain: str = "birds") -> tuple[list[str], list[dict]]:
    """Captions and intended attributes from a JSONL file, one object a line:
    ``{"caption": "...", "attributes": {"crown": "red", "beak": "short"}}`` (blank lines skipped);
    the attributes are ``domain``'s (birds, flowers)."""
    values = get_domain(domain).values
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise UserError(f"human captions file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read human captions file {path}: {e}") from None
    captions, wants = [], []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}, line {n}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise UserError(f"{where}: not valid JSON ({e.msg})") from None
        if not isinstance(row, dict):
            raise UserError(f'{where}: expected an object {{"caption": ..., "attributes": ...}}')
        caption, attrs = row.get("caption"), row.get("attributes")
        if not isinstance(caption, str) or not caption.strip():
            raise UserError(f'{where}: missing "caption" (a non-empty string)')
        if not isinstance(attrs, dict) or not attrs:
            raise UserError(f'{where}: missing "attributes" (an object naming at least one of '
                            f'{", ".join(values)})')
        want = {}
        for part, value in attrs.items():
            if part not in values:
                raise UserError(f"{where}: unknown part {part!r} (one of {', '.join(values)})")
            value = "grey" if value == "gray" and part != "beak" else value
            if value not in values[part]:
                raise UserError(f"{where}: unknown {part} value {value!r} "
                                f"(one of {', '.join(values[part])})")
            want[part] = value
        captions.append(caption)
        wants.append(want)
    if not captions:
        raise UserError(f"human captions file {path} holds no captions")
    return captions, wants


def human_text_match(nets, judge, human, sizes, seed, missing: str | None = None,
                     hardest: bool = True) -> dict:
    """``text_match`` on hand-written captions, scored against their intended attributes
    (``human`` None: a section of None values whose note is ``missing``); ``hardest``: list the
    captions drawn worst (off for the held-out file, so that nobody tunes on its failures)."""
    keys = ("per_attribute", "all_correct", "by_attribute", "checked", "n_captions",
            "images_per_caption", "source")
    if human is None:
        return _no_style(missing or f"no human captions file ({HUMAN_CAPTIONS} is not here; pass "
                         "human_captions=PATH / --human-captions PATH)", keys)
    path, captions, wants = human
    n = sizes["human_captions"] or len(captions)
    captions, wants = captions[:n], wants[:n]
    k = sizes["per_caption"]
    emb = nets.embed(captions).repeat_interleave(k, 0)
    preds = judge.predict_tensor(nets.generate(nets.z(len(emb), section_seed(seed, 2)), emb))
    acc = M.attribute_accuracy(preds, [w for w in wants for _ in range(k)])
    return {"per_attribute": _r(acc["per_attribute"]), "all_correct": _r(acc["all_correct"]),
            "by_attribute": {a: _r(v) for a, v in acc["by_attribute"].items()},
            "checked": acc["checked"], "n_captions": len(captions), "images_per_caption": k,
            "source": str(path), **({"hardest": hardest_captions(captions, wants, preds, k)} if hardest else {})}


def hardest_captions(captions, wants, preds, k: int, n: int = HARDEST) -> list[dict]:
    """The ``n`` captions whose ``k`` images match the fewest of their intended attributes (none
    that match all of them): each with its share right and, for every attribute missed at least
    once, the wrong value the judge saw most often in its place."""
    rows = []
    for c, (caption, want) in enumerate(zip(captions, wants)):
        if not want:
            continue
        mine = preds[c * k:(c + 1) * k]
        match = M.attribute_accuracy(mine, [want] * k)["per_attribute"]
        if match == 1.0:
            continue
        wrong = {a: Counter(p.get(a) for p in mine if p.get(a) != v) for a, v in want.items()}
        drawn = {a: seen.most_common(1)[0][0] for a, seen in wrong.items() if seen}
        rows.append({"caption": caption, "match": _r(match), "wanted": dict(want), "drawn": drawn})
    return sorted(rows, key=lambda r: r["match"])[:n]


def style_transfer(nets, judge, source, real, sizes, seed, figures, degraded: bool = False) -> dict:
    """§4.4 on real renders, or (``degraded``) on the same renders after ``degrade_for_eval``
    (blur, noise, JPEG 30, crop: what a photo looks like next to a render), same captions."""
    d = source.domain
    keys = (f"{d.style_key}_kept", "background_delta_e", "content_per_attribute")
    if not nets.has_style:
        return _no_style("the weights have no style encoder (run train-style)", keys)
    if real is None:
        return _no_style("no real images with ground-truth style", keys)
    n = min(sizes["transfer"], len(real.images))
    captions = source.captions(n, _rng(seed, 2))
    images = degrade_for_eval(real.images[:n], _rng(seed, 5)) if degraded else real.images[:n]
    out = nets.generate(nets.style(images), nets.embed(captions))
    preds = judge.predict_tensor(out)
    kept = np.mean([p[d.style_key] == d.style_label(s) for p, s in zip(preds, real.styles[:n])])
    true_bg = [s["background_rgb"] for s in real.styles[:n]]
    got_bg = [p["background_rgb"] for p in preds]
    want = [source.mentioned(c) for c in captions]
    keep = [i for i, w in enumerate(want) if w]
    acc = M.attribute_accuracy([preds[i] for i in keep], [want[i] for i in keep])
    figures["style_transfer_degraded" if degraded else "style_transfer"] = (images[:8], out[:8], captions[:8])
    extra = {"degradation": "Gaussian blur σ 1 px, noise σ 8/255, JPEG quality 30, random crop "
                            "keeping 85-95% of the side (data/degrade.py)"} if degraded else {}
    return {f"{d.style_key}_kept": _r(kept),
            "background_delta_e": _r(np.median(M.delta_e_rgb(true_bg, got_bg)), 3),
            "background_delta_e76": _r(np.median(M.delta_e_rgb(true_bg, got_bg, "cie76")), 3),
            "content_per_attribute": _r(acc["per_attribute"]),
            "content_all_correct": _r(acc["all_correct"]),
            "content_by_attribute": {a: _r(v) for a, v in acc["by_attribute"].items()},
            "n_images": n, "delta_e": "CIEDE2000 (median); CIE76 alongside", **extra}


def crispness(nets, judge, source, real, sizes, seed) -> dict:
    """Fréchet distance in the judge's penultimate features between G's images for test-class
    captions and real renders of the test classes, with its floor: the same distance between
    two disjoint halves of the real renders (what a perfect G would score at this size)."""
    if real is None or len(real.images) < 4:
        return {"frechet_judge": None, "frechet_judge_floor": None,
                "note": "no real renders to compare with"}
    reference, floor = M.frechet_reference(judge.features(uint8_to_tensor(real.images)))
    half = len(reference)
    captions = source.captions(half, _rng(seed, 6))
    fake = judge.features(nets.generate(nets.z(half, section_seed(seed, 6)), nets.embed(captions)))
    return {"frechet_judge": _r(M.frechet_distance(fake, reference), 3),
            "frechet_judge_floor": _r(floor, 3), "n_images": half}


def pose_features(styles, domain: str = "birds") -> np.ndarray:
    """Pose per image for §5.2 clustering, z-scored per column: birds facing (±1), tilt, x, y;
    flowers (their layout) x, y, scale, squash and one bloom or several (±1)."""
    if domain == "flowers":
        rows = [[float(s["x"]), float(s["y"]), float(s["scale"]), float(s["squash"]),
                 1.0 if int(s["blooms"]) == 1 else -1.0] for s in styles]
    else:
        rows = [[1.0 if s["facing"] == "left" else -1.0, float(s["tilt"]), float(s["x"]), float(s["y"])]
                for s in styles]
    return M.standardize(np.asarray(rows))


def background_features(styles) -> np.ndarray:
    """Background colour per image for §5.2 clustering: mean RGB in [0, 1]."""
    return np.asarray([s["background_rgb"] for s in styles], dtype=np.float64) / 255.0


def roc_section(nets, real, sizes, seed, curves, domain: str = "birds") -> dict:
    if not nets.has_style:
        return _no_style("the weights have no style encoder (run train-style)", ("pose", "background"))
    if real is None:
        return _no_style("no real images with ground-truth pose and background", ("pose", "background"))
    n = min(sizes["roc_images"], len(real.images))
    styles = real.styles[:n]
    vectors = nets.style(real.images[:n]).numpy()
    k = max(2, min(sizes["clusters"], n // 5))
    out, oracle = {}, oracle_style_vectors(styles, domain)
    for name, feats in (("pose", pose_features(styles, domain)), ("background", background_features(styles))):
        labels, _ = M.kmeans(feats, k, seed=seed)
        res = M.same_cluster_auc(vectors, labels)
        curves[name] = res
        out[name] = _r(res["auc"])
        out[f"oracle_{name}"] = _r(M.same_cluster_auc(oracle, labels)["auc"])
        out[f"{name}_vs_oracle"] = _r(res["auc"] / out[f"oracle_{name}"])
    out.update(clusters=k, n_images=n, pairs=int(n * (n - 1) // 2),
               oracle="AUC of the true style factors (pose and background RGB, z-scored) in place "
                      "of S(x): what a perfect S encoding all of them scores")
    return out


def oracle_style_vectors(styles, domain: str = "birds") -> np.ndarray:
    """Reference style code: every true style factor, z-scored (a perfect, untrained S): birds
    facing, tilt, x, y, scale; flowers x, y, scale, squash, blooms; both + background RGB."""
    if domain == "flowers":
        rows = [[float(s["x"]), float(s["y"]), float(s["scale"]), float(s["squash"]),
                 float(s["blooms"]), *(float(v) for v in s["background_rgb"])] for s in styles]
    else:
        rows = [[1.0 if s["facing"] == "left" else -1.0, float(s["tilt"]), float(s["x"]), float(s["y"]),
                 float(s.get("scale", 0.0)), *(float(v) for v in s["background_rgb"])] for s in styles]
    return M.standardize(np.asarray(rows))


def diversity(nets, judge, source, sizes, seed, figures) -> dict:
    captions = source.captions(sizes["diversity_captions"], _rng(seed, 3))
    m = sizes["diversity_z"]
    key, first = source.domain.style_key, source.domain.style_values[0]
    shares, spreads = [], []
    for c, cap in enumerate(captions):
        emb = nets.embed([cap]).expand(m, -1)
        images = nets.generate(nets.z(m, section_seed(seed, 3) + 1000 * c), emb)
        preds = judge.predict_tensor(images)
        shares.append(np.mean([p[key] == first for p in preds]))
        spreads.append(M.median_pairwise_delta_e([p["background_rgb"] for p in preds]))
        if c == 0:
            figures["diversity"] = (images, cap)
    return {f"{key}_{first}_share": _r(np.mean(shares)),
            f"{key}_minority_share": _r(np.mean([min(s, 1 - s) for s in shares])),
            f"{key}_{first}_share_per_caption": [_r(s) for s in shares],
            "background_spread_delta_e": _r(np.mean(spreads), 3),
            "n_captions": len(captions), "z_per_caption": m}


# ------------------------------------------------------------------------------------ text encoder


def _find_key(tree, key, depth: int = 0):
    """The first ``key`` in a nested dict, breadth first (stored zero-shot figures)."""
    if not isinstance(tree, dict) or depth > 4:
        return None
    if isinstance(tree.get(key), (int, float)):
        return tree[key]
    for name in ("evaluation", "text_encoder", *tree):
        found = _find_key(tree.get(name), key, depth + 1)
        if found is not None:
            return found
    return None


def image_encoder_of(pipeline):
    """θ from the pipeline, or from its weights folder when the folder ships ``image_encoder``."""
    enc = pipeline.models.get("image_encoder")
    if enc is not None:
        return enc
    # the weights folder itself, else the train-text run that `train` recorded as its φ source
    for cand in (pipeline.source, pipeline.extra.get("text_encoder_source")):
        if cand and Path(cand).is_dir():
            try:
                return load_image_encoder(cand)
            except CheckpointError:
                raise
            except UserError:
                continue
    return None


def text_encoder_section(pipeline, source, sizes, seed) -> dict:
    encoder = image_encoder_of(pipeline)
    if encoder is None:
        stored = _find_key(pipeline.extra, "zero_shot_top1")
        return {"zero_shot_top1": _r(stored), "source": "stored" if stored is not None else None,
                "note": "the weights ship no image encoder θ; " +
                        ("figure read from their config" if stored is not None else "no stored figure")}
    index, images = source.zero_shot_index(sizes["zs_classes"], sizes["zs_images"], _rng(seed, 4))
    per_class = None if source.procedural else (5 if sizes is QUICK else 20)
    res = zero_shot_eval(pipeline.models["text_encoder"], encoder, index, "test", images=images,
                         max_captions_per_class=per_class, seed=seed)
    return {"zero_shot_top1": _r(res["zero_shot_top1"]), "caption_top1": _r(res.get("caption_top1")),
            "retrieval_ap50": _r(res.get("retrieval_ap50")), "n_classes": res.get("n_classes"),
            "n_images": res.get("n_images"), "source": "computed"}


# ------------------------------------------------------------------------------------ entry point


def _resolve_judge(judge, domain: str = "birds"):
    if judge is None or isinstance(judge, (str, bytes)) or hasattr(judge, "__fspath__"):
        judge = load_judge(judge, domain=domain)
    if not isinstance(judge, Judge) and not hasattr(judge, "predict_tensor"):
        raise UserError("judge must be a Judge (load_judge()), a weights folder or None")
    reads = getattr(getattr(judge, "cfg", None), "domain", domain)
    if reads != domain:
        raise UserError(f"the judge reads {reads} but the model draws {domain}: pass the {domain} "
                        f"judge (train-judge --domain {domain})")
    return judge


def _judge_current(judge, say):
    """Was the judge trained on today's renderer? (``None``: the judge does not record it.)"""
    stored = (getattr(judge, "evaluation", None) or {}).get("render_fingerprint")
    if stored is None:
        return None
    domain = getattr(getattr(judge, "cfg", None), "domain", "birds")
    if stored != render_fingerprint(domain=domain):
        say(f"warning: the {domain} renders changed since the judge was trained; its figures may "
            "be off: retrain it (`python -m t2i_core train-judge --init JUDGE_FOLDER --steps 300`)")
        return False
    return True


def evaluate(pipeline, *, data=None, judge=None, quick: bool = False, out_dir=None, seed: int = 0,
             log=None, human_captions=None) -> dict:
    """Evaluate a ``T2IPipeline`` (see the module docstring); returns the DESIGN.md §4 dict.

    ``data``: None (procedural test classes), a dataset folder or a ``DataIndex``; ``judge``:
    None (bundled), a folder or a loaded judge; ``quick``: small sample sizes (seconds on the
    tiny preset); ``out_dir``: also write ``report.md`` and figures there; ``log(msg)``: progress;
    ``human_captions``: JSONL of hand-written captions (None: ``HUMAN_CAPTIONS`` if present)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise UserError(f"seed must be a whole number >= 0, got {seed!r}")
    if not hasattr(pipeline, "models") or "generator" not in getattr(pipeline, "models", {}):
        raise UserError("evaluate needs a T2IPipeline (T2IPipeline.from_pretrained(...))")
    say = log or (lambda msg: None)
    start, sizes = time.time(), (QUICK if quick else FULL)
    dataset_info = getattr(pipeline, "extra", {}).get("dataset") or {}
    if data is not None or dataset_info.get("format") == "coco":
        if data is None:
            raise UserError("this model was trained on MS-COCO: pass its COCO folder with --data "
                            "(evaluation uses the held-out val images)")
        data = data if isinstance(data, DataIndex) else open_dataset(data)
        if data.format == "coco":
            return evaluate_coco(pipeline, data, image_encoder_of(pipeline), z_seed=section_seed(seed, 6),
                                 batch=BATCH, quick=quick, seed=seed, out_dir=out_dir, log=say)
    source = EvalSource(data, dataset_info=dataset_info)
    domain = source.domain
    judge = _resolve_judge(judge, domain.name)
    heldout = None
    if human_captions is None and HUMAN_CAPTIONS.is_file() and domain.name == "birds":
        human_captions = HUMAN_CAPTIONS  # the bundled hand-written captions are about birds
        if HUMAN_CAPTIONS_HELDOUT.is_file():
            heldout = (HUMAN_CAPTIONS_HELDOUT, *load_human_captions(HUMAN_CAPTIONS_HELDOUT))
    human = (None if human_captions is None
             else (Path(human_captions), *load_human_captions(human_captions, domain.name)))
    nets = Nets(pipeline)
    say(f"real images of test classes from {source.description}")
    real = source.real(max(sizes["judge_images"], sizes["transfer"], sizes["roc_images"]), _rng(seed, 0))
    figures, curves = {}, {}
    steps = [("judge", lambda: judge_section(judge, real, domain)),
             ("text_match", lambda: text_match(nets, judge, source, sizes, seed, figures)),
             ("human_text_match", lambda: human_text_match(nets, judge, human, sizes, seed)),
             ("human_text_match_heldout",
              lambda: human_text_match(nets, judge, heldout, sizes, seed, hardest=False,
                                       missing=f"only beside the default birds file ({HUMAN_CAPTIONS_HELDOUT.name})")),
             ("style_transfer", lambda: style_transfer(nets, judge, source, real, sizes, seed, figures)),
             ("style_transfer_degraded",
              lambda: style_transfer(nets, judge, source, real, sizes, seed, figures, degraded=True)),
             ("roc_auc", lambda: roc_section(nets, real, sizes, seed, curves, domain.name)),
             ("diversity", lambda: diversity(nets, judge, source, sizes, seed, figures)),
             ("crispness", lambda: crispness(nets, judge, source, real, sizes, seed)),
             ("text_encoder", lambda: text_encoder_section(pipeline, source, sizes, seed))]
    result = {}
    for name, fn in steps:
        say(f"{name} ...")
        t = time.time()
        result[name] = fn()
        say(f"{name} done in {time.time() - t:.1f} s")
    result["meta"] = {"seed": seed, "quick": bool(quick), "data": source.description,
                      "domain": domain.name,
                      "judge_matches_renderer": _judge_current(judge, say),
                      "weights": getattr(pipeline, "source", ""), "sizes": dict(sizes),
                      "delta_e": "CIEDE2000", "seconds": round(time.time() - start, 2)}
    if source.warnings:
        result["meta"]["warnings"] = list(source.warnings)
    if out_dir is not None:
        result["meta"]["report"] = str(write_outputs(result, out_dir, figures, curves))
        say(f"report written to {result['meta']['report']}")
    return result


def store_evaluation(folder, result: dict) -> None:
    """Put ``result`` into the weights folder's ``config.json`` ``evaluation`` section, re-saved
    through ``checkpoint.save_weights`` so the SHA-256 bookkeeping stays right."""
    config, states = load_weights(folder)
    evaluation = {**(config.get("evaluation") or {}), **result}
    keep = {k: v for k, v in config.items() if k not in ("files", "format_version", "package_version")}
    save_weights(folder, states, {**keep, "evaluation": evaluation})
