"""Evaluation metrics on hand-built cases with a known answer."""

import numpy as np
import pytest

from t2i_core.errors import UserError
from t2i_core.eval import metrics as M

# ---------------------------------------------------------------- k-means


def test_kmeans_recovers_separated_blobs():
    rng = np.random.default_rng(0)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]], float)
    truth = np.repeat(np.arange(4), 50)
    x = centres[truth] + rng.normal(0, 0.5, (200, 2))
    labels, found = M.kmeans(x, 4, seed=1)
    # same partition up to renaming: every true blob maps to exactly one cluster
    for t in range(4):
        assert len(set(labels[truth == t])) == 1
    assert len(set(labels)) == 4
    assert np.allclose(np.sort(found, axis=0), np.sort(centres, axis=0), atol=0.3)


def test_kmeans_is_deterministic_and_validates():
    x = np.random.default_rng(3).normal(size=(60, 3))
    a, _ = M.kmeans(x, 5, seed=7)
    b, _ = M.kmeans(x, 5, seed=7)
    assert (a == b).all()
    with pytest.raises(UserError):
        M.kmeans(x, 61)
    with pytest.raises(UserError):
        M.kmeans(np.zeros((0, 2)), 1)
    with pytest.raises(UserError):
        M.kmeans(np.full((4, 2), np.nan), 2)


def test_kmeans_duplicate_points_no_crash():
    labels, centres = M.kmeans(np.zeros((10, 2)), 3, seed=0)
    assert labels.shape == (10,) and centres.shape == (3, 2)


# ---------------------------------------------------------------- ROC


def test_roc_auc_known_values():
    assert M.roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert M.roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert M.roc_auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]) == 0.5  # ties count one half
    # hand count: positives {0.4, 0.8}, negatives {0.1, 0.4, 0.35}: wins 1+.5+1 + 3 = 5.5 / 6
    assert M.roc_auc([0.4, 0.8, 0.1, 0.4, 0.35], [1, 1, 0, 0, 0]) == pytest.approx(5.5 / 6)


def test_roc_auc_validates():
    with pytest.raises(UserError):
        M.roc_auc([0.1, 0.2], [1, 1])
    with pytest.raises(UserError):
        M.roc_auc([0.1, 0.2, 0.3], [1, 0])


def test_roc_curve_endpoints_and_area():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = y + rng.normal(0, 1, 300)
    fpr, tpr = M.roc_curve(s, y)
    assert fpr[0] == tpr[0] == 0 and fpr[-1] == tpr[-1] == 1
    assert np.all(np.diff(fpr) >= 0) and np.all(np.diff(tpr) >= 0)
    assert np.trapezoid(tpr, fpr) == pytest.approx(M.roc_auc(s, y), abs=1e-9)


def test_same_cluster_auc_identical_vectors_give_one():
    rng = np.random.default_rng(0)
    clusters = rng.integers(0, 10, 200)
    prototypes = rng.normal(size=(10, 16))
    out = M.same_cluster_auc(prototypes[clusters], clusters)  # same cluster -> identical vector
    assert out["auc"] == pytest.approx(1.0)
    assert out["pairs"] == 200 * 199 // 2


def test_same_cluster_auc_shuffled_is_chance():
    rng = np.random.default_rng(1)
    clusters = rng.integers(0, 10, 300)
    prototypes = rng.normal(size=(10, 16))
    shuffled = prototypes[rng.permutation(clusters)]
    assert M.same_cluster_auc(shuffled, clusters)["auc"] == pytest.approx(0.5, abs=0.05)


# ---------------------------------------------------------------- colour


def test_srgb_to_lab_reference_values():
    lab = M.srgb_to_lab([[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255]])
    ref = [[100, 0, 0], [0, 0, 0], [53.2408, 80.0925, 67.2032],
           [87.7347, -86.1827, 83.1793], [32.2970, 79.1875, -107.8602]]
    assert np.allclose(lab, ref, atol=0.01)


# Sharma, Wu & Dalal (2005), "The CIEDE2000 color-difference formula", test data
SHARMA = [((50.0, 2.6772, -79.7751), (50.0, 0.0, -82.7485), 2.0425),
          ((50.0, 3.1571, -77.2803), (50.0, 0.0, -82.7485), 2.8615),
          ((50.0, 0.0, 0.0), (50.0, -1.0, 2.0), 2.3669),
          ((50.0, 2.5, 0.0), (73.0, 25.0, -18.0), 27.1492),
          ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
          ((50.0, 2.49, -0.001), (50.0, -2.49, 0.0011), 7.2195),
          ((2.0776, 0.0795, -1.135), (0.9033, -0.0636, -0.5514), 0.9082)]


def test_ciede2000_matches_sharma_reference():
    lab1 = np.array([p[0] for p in SHARMA])
    lab2 = np.array([p[1] for p in SHARMA])
    want = np.array([p[2] for p in SHARMA])
    assert np.allclose(M.delta_e2000(lab1, lab2), want, atol=1e-4)
    assert np.allclose(M.delta_e2000(lab2, lab1), want, atol=1e-4)  # symmetric


def test_delta_e_rgb_identical_is_zero_and_black_white_is_100():
    c = np.array([[12, 200, 99], [255, 255, 255], [0, 0, 0]])
    assert np.allclose(M.delta_e_rgb(c, c), 0)
    assert np.allclose(M.delta_e_rgb(c, c, method="cie76"), 0)
    assert M.delta_e_rgb([0, 0, 0], [255, 255, 255], method="cie76") == pytest.approx(100, abs=1e-3)
    assert M.delta_e_rgb([0, 0, 0], [255, 255, 255]) == pytest.approx(100, abs=1e-3)
    with pytest.raises(UserError):
        M.delta_e_rgb([1, 2], [3, 4])
    with pytest.raises(UserError):
        M.delta_e_rgb(c, c, method="cie94")


# ---------------------------------------------------------------- attributes


def test_attribute_accuracy_counts_only_mentioned():
    pred = [{"crown": "red", "wing": "blue", "beak": "long"},
            {"crown": "red", "wing": "green", "beak": "long"},
            {"crown": "black"}]
    want = [{"crown": "red", "wing": "blue"}, {"crown": "red", "beak": "short"}, {}]
    out = M.attribute_accuracy(pred, want)
    assert out["per_attribute"] == pytest.approx(3 / 4)
    assert out["all_correct"] == pytest.approx(1 / 2)
    assert out["by_attribute"] == {"beak": 0.0, "crown": 1.0, "wing": 1.0}
    with pytest.raises(UserError):
        M.attribute_accuracy(pred, want[:2])


def test_average_ranks_ties():
    assert M.average_ranks([3.0, 1.0, 3.0, 2.0]).tolist() == [3.5, 1.0, 3.5, 2.0]
    assert M.average_ranks([5, 5, 5]).tolist() == [2.0, 2.0, 2.0]


def test_median_pairwise_delta_e_is_the_median_over_every_pair():
    from t2i_core.eval.metrics import median_pairwise_delta_e

    black, white = [0, 0, 0], [255, 255, 255]
    assert median_pairwise_delta_e([black, black, white]) == pytest.approx(100.0, abs=0.01)  # 0, 100, 100
    assert median_pairwise_delta_e([black] * 4 + [white]) == 0.0                    # six 0s, four 100s
