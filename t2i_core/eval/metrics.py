"""Numbers behind the evaluation: k-means, ROC AUC, colour difference, attribute accuracy.

Pure numpy; no scikit-learn or scipy. Every function validates its input and
raises :class:`t2i_core.errors.UserError` with a message that names the problem.

Colour difference: inputs are 8-bit sRGB; they are converted to CIE L*a*b* (D65 white) and
compared with **CIEDE2000** (Sharma, Wu & Dalal 2005), the function behind the reported
``background_delta_e``. CIE76 (plain Euclidean distance in Lab) is also available.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import linalg

from ..errors import UserError

# --------------------------------------------------------------------------------------------
# k-means (Lloyd's algorithm, k-means++ seeding) — §5.2 clusters images by background and pose
# --------------------------------------------------------------------------------------------


def _sq_dists(x: np.ndarray, c: np.ndarray) -> np.ndarray:
    d = (x * x).sum(1)[:, None] - 2.0 * x @ c.T + (c * c).sum(1)[None, :]
    return np.maximum(d, 0.0)


def _kmeans_pp(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: each new centre is drawn with probability ∝ squared distance."""
    centres = [x[rng.integers(len(x))]]
    d2 = _sq_dists(x, centres[0][None])[:, 0]
    for _ in range(1, k):
        total = d2.sum()
        idx = rng.choice(len(x), p=d2 / total) if total > 0 else rng.integers(len(x))
        centres.append(x[idx])
        d2 = np.minimum(d2, _sq_dists(x, x[idx][None])[:, 0])
    return np.stack(centres)


def _lloyd(x, centres, max_iter, tol):
    for _ in range(max_iter):
        d = _sq_dists(x, centres)
        labels = d.argmin(1)
        new = centres.copy()
        for j in range(len(centres)):
            members = x[labels == j]
            if len(members):
                new[j] = members.mean(0)
            else:  # empty cluster: move it to the point worst served by its centre
                far = d[np.arange(len(x)), labels].argmax()
                new[j] = x[far]
        shift = float(np.abs(new - centres).max())
        centres = new
        if shift <= tol:
            break
    d = _sq_dists(x, centres)
    labels = d.argmin(1)
    return labels, centres, float(d[np.arange(len(x)), labels].sum())


def kmeans(x, k: int, *, seed: int = 0, n_init: int = 3, max_iter: int = 100,
           tol: float = 1e-6) -> tuple[np.ndarray, np.ndarray]:
    """Cluster rows of ``x`` (n, d) into ``k`` groups; returns ``(labels (n,), centres (k, d))``.

    k-means++ seeding, ``n_init`` restarts keeping the lowest inertia; deterministic for a seed."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or len(x) == 0:
        raise UserError(f"kmeans needs a non-empty (n, d) array, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise UserError("kmeans input contains NaN or infinite values")
    if not 1 <= int(k) <= len(x):
        raise UserError(f"kmeans: k must be between 1 and the number of points ({len(x)}), got {k}")
    rng = np.random.default_rng(seed)
    best = None
    for _ in range(max(1, n_init)):
        labels, centres, inertia = _lloyd(x, _kmeans_pp(x, int(k), rng), max_iter, tol)
        if best is None or inertia < best[2]:
            best = (labels, centres, inertia)
    return best[0], best[1]


def standardize(x) -> np.ndarray:
    """Z-score each column (a constant column becomes 0), so no factor dominates k-means."""
    x = np.asarray(x, dtype=np.float64)
    sd = x.std(0)
    return (x - x.mean(0)) / np.where(sd > 0, sd, 1.0)


# --------------------------------------------------------------------------------------------
# ROC
# --------------------------------------------------------------------------------------------


def _check_binary(scores, labels):
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels).ravel().astype(bool)
    if scores.shape != labels.shape:
        raise UserError(f"scores ({scores.size}) and labels ({labels.size}) differ in length")
    if not np.isfinite(scores).all():
        raise UserError("ROC scores contain NaN or infinite values")
    if labels.all() or not labels.any():
        raise UserError("ROC AUC needs both positive and negative examples")
    return scores, labels


def average_ranks(x) -> np.ndarray:
    """1-based ranks of ``x``; tied values share the mean of their ranks."""
    x = np.asarray(x, dtype=np.float64).ravel()
    order = np.argsort(x, kind="mergesort")
    s = x[order]
    starts = np.r_[0, np.nonzero(np.diff(s))[0] + 1]
    ends = np.r_[starts[1:], s.size]  # exclusive
    mean_rank = (starts + ends + 1) / 2.0  # mean of ranks starts+1 .. ends
    ranks = np.empty(s.size)
    ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks


def roc_auc(scores, labels) -> float:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties count ½.

    Rank-based (Mann–Whitney U with average ranks for ties)."""
    scores, labels = _check_binary(scores, labels)
    ranks = average_ranks(scores)
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    u = ranks[labels].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def roc_curve(scores, labels) -> tuple[np.ndarray, np.ndarray]:
    """False- and true-positive rates at every distinct threshold, from (0, 0) to (1, 1)."""
    scores, labels = _check_binary(scores, labels)
    order = np.argsort(-scores, kind="mergesort")
    s, y = scores[order], labels[order]
    last_of_tie = np.r_[np.nonzero(np.diff(s))[0], s.size - 1]
    tp = np.cumsum(y)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    return np.r_[0.0, fp / fp[-1]], np.r_[0.0, tp / tp[-1]]


def cosine_matrix(v) -> np.ndarray:
    """Pairwise cosine similarity of the rows of ``v`` (a zero row has similarity 0)."""
    v = np.asarray(v, dtype=np.float64)
    if v.ndim != 2:
        raise UserError(f"style vectors must be an (n, d) array, got shape {v.shape}")
    norm = np.linalg.norm(v, axis=1, keepdims=True)
    u = v / np.where(norm > 0, norm, 1.0)
    return u @ u.T


def same_cluster_auc(vectors, clusters) -> dict:
    """§5.2: ROC AUC of cosine similarity of style vectors for "same cluster" over all pairs."""
    clusters = np.asarray(clusters).ravel()
    sim = cosine_matrix(vectors)
    if sim.shape[0] != clusters.size:
        raise UserError(f"{sim.shape[0]} style vectors but {clusters.size} cluster labels")
    iu = np.triu_indices(clusters.size, k=1)
    scores, same = sim[iu], clusters[iu[0]] == clusters[iu[1]]
    fpr, tpr = roc_curve(scores, same)
    return {"auc": roc_auc(scores, same), "fpr": fpr, "tpr": tpr,
            "pairs": int(same.size), "positive_pairs": int(same.sum())}


# --------------------------------------------------------------------------------------------
# Colour: sRGB (8-bit) → CIE L*a*b* (D65) and ΔE
# --------------------------------------------------------------------------------------------

_SRGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                         [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]])
_D65 = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(rgb) -> np.ndarray:
    """8-bit sRGB (..., 3) in 0–255 → CIE L*a*b* (..., 3), D65 reference white."""
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.shape[-1:] != (3,):
        raise UserError(f"colours must have 3 channels (R, G, B), got shape {rgb.shape}")
    if not np.isfinite(rgb).all():
        raise UserError("colours contain NaN or infinite values")
    c = np.clip(rgb, 0, 255) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    t = (lin @ _SRGB_TO_XYZ.T) / _D65
    eps = (6 / 29) ** 3
    f = np.where(t > eps, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def delta_e76(lab1, lab2) -> np.ndarray:
    """CIE76 colour difference: Euclidean distance in L*a*b*."""
    return np.linalg.norm(np.asarray(lab1, float) - np.asarray(lab2, float), axis=-1)


def _hue_deg(b, a):
    h = np.degrees(np.arctan2(b, a)) % 360.0
    return np.where((a == 0) & (b == 0), 0.0, h)


def delta_e2000(lab1, lab2) -> np.ndarray:
    """CIEDE2000 colour difference (kL = kC = kH = 1), vectorised over leading axes."""
    L1, a1, b1 = np.moveaxis(np.asarray(lab1, dtype=np.float64), -1, 0)
    L2, a2, b2 = np.moveaxis(np.asarray(lab2, dtype=np.float64), -1, 0)
    c_bar7 = ((np.hypot(a1, b1) + np.hypot(a2, b2)) / 2) ** 7
    g = 0.5 * (1 - np.sqrt(c_bar7 / (c_bar7 + 25.0 ** 7)))
    a1p, a2p = (1 + g) * a1, (1 + g) * a2
    c1p, c2p = np.hypot(a1p, b1), np.hypot(a2p, b2)
    h1p, h2p = _hue_deg(b1, a1p), _hue_deg(b2, a2p)
    zero = c1p * c2p == 0
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(zero, 0.0, dh)
    d_hp = 2 * np.sqrt(c1p * c2p) * np.sin(np.radians(dh / 2))
    l_bar, c_bar = (L1 + L2) / 2, (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_bar = np.where(np.abs(h1p - h2p) <= 180, h_sum / 2,
                     np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2))
    h_bar = np.where(zero, h_sum, h_bar)
    t = (1 - 0.17 * np.cos(np.radians(h_bar - 30)) + 0.24 * np.cos(np.radians(2 * h_bar))
         + 0.32 * np.cos(np.radians(3 * h_bar + 6)) - 0.20 * np.cos(np.radians(4 * h_bar - 63)))
    d_theta = 30 * np.exp(-(((h_bar - 275) / 25) ** 2))
    r_c = 2 * np.sqrt(c_bar ** 7 / (c_bar ** 7 + 25.0 ** 7))
    s_l = 1 + 0.015 * (l_bar - 50) ** 2 / np.sqrt(20 + (l_bar - 50) ** 2)
    s_c, s_h = 1 + 0.045 * c_bar, 1 + 0.015 * c_bar * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    dl, dc, dhh = (L2 - L1) / s_l, (c2p - c1p) / s_c, d_hp / s_h
    return np.sqrt(dl ** 2 + dc ** 2 + dhh ** 2 + r_t * dc * dhh)


def delta_e_rgb(rgb1, rgb2, method: str = "ciede2000") -> np.ndarray:
    """ΔE between 8-bit sRGB colours: ``method`` is ``"ciede2000"`` (default) or ``"cie76"``."""
    lab1, lab2 = srgb_to_lab(rgb1), srgb_to_lab(rgb2)
    if method == "ciede2000":
        return delta_e2000(lab1, lab2)
    if method == "cie76":
        return delta_e76(lab1, lab2)
    raise UserError(f"unknown colour-difference method {method!r}: use 'ciede2000' or 'cie76'")


def median_pairwise_delta_e(rgb) -> float:
    """Median CIEDE2000 between every pair of ``rgb`` colours ([N, 3], 8-bit sRGB, N ≥ 2): the
    spread of backdrop colours within one caption or class (``diversity.background_spread_delta_e``)."""
    rgb = np.asarray(rgb, dtype=float)
    iu = np.triu_indices(len(rgb), k=1)
    return float(np.median(delta_e_rgb(rgb[iu[0]], rgb[iu[1]])))


# --------------------------------------------------------------------------------------------
# Attribute accuracy (text match, style transfer content)
# --------------------------------------------------------------------------------------------


def attribute_accuracy(predicted: list[dict], expected: list[dict]) -> dict:
    """Compare judged attributes with the expected ones, key by key.

    ``expected[i]`` holds only the attributes that matter for item i (e.g. those its caption
    mentions). Returns ``per_attribute`` (correct / checked, pooled over all items and keys),
    ``all_correct`` (share of items whose every expected attribute is right; an item that
    expects nothing is skipped), ``by_attribute`` {key: accuracy} and ``checked`` (count)."""
    if len(predicted) != len(expected):
        raise UserError(f"{len(predicted)} predictions for {len(expected)} expectations")
    hits, totals = {}, {}
    items = all_ok = 0
    for pred, want in zip(predicted, expected):
        if not want:
            continue
        items += 1
        ok = True
        for key, value in want.items():
            right = pred.get(key) == value
            hits[key] = hits.get(key, 0) + int(right)
            totals[key] = totals.get(key, 0) + 1
            ok &= right
        all_ok += int(ok)
    checked = sum(totals.values())
    if checked == 0:
        raise UserError("no attributes to check: every expectation is empty")
    return {"per_attribute": sum(hits.values()) / checked, "all_correct": all_ok / items,
            "by_attribute": {k: hits[k] / totals[k] for k in sorted(totals)}, "checked": checked}


# ------------------------------------------------------------------------------------ Fréchet distance


def frechet_distance(a, b) -> float:
    """Fréchet distance between Gaussians fitted to feature sets ``a`` [N, D] and ``b`` [M, D]
    (Heusel et al. 2017, FID): ‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½). Both covariances get
    1e-6·I (ReLU features have dead units, so Σ is often singular; the FID reference code adds
    the same when the square root fails)."""

    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise UserError("frechet_distance needs two feature sets [N, D] with the same D and N >= 2")
    mu_a, mu_b = a.mean(0), b.mean(0)
    eps = np.eye(a.shape[1]) * 1e-6
    cov_a, cov_b = np.cov(a, rowvar=False) + eps, np.cov(b, rowvar=False) + eps
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2.0 * np.trace(covmean))


def frechet_reference(real_features) -> tuple[np.ndarray, float]:
    """Split real features into a reference set (the first half) and the Fréchet floor: the
    distance between the two halves, what a perfect generator would score at that size."""
    half = len(real_features) // 2
    return real_features[:half], frechet_distance(real_features[:half], real_features[half:2 * half])
