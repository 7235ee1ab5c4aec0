"""The vectorised table statistics equal the direct formulas (checked against published examples) and scipy."""

import numpy as np
import pytest
from scipy import stats as sp

from medjudge.calibration import stats, tables
from test_calibration_stats import ANXIETY, hand_kappa


def table_of(x, y, cats):
    t = np.zeros((len(cats), len(cats)))
    for a, b in zip(np.searchsorted(cats, x), np.searchsorted(cats, y)):
        t[a, b] += 1
    return t[None]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ordinal_statistics_match_direct_formulas(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 6, 400).astype(float)
    y = np.clip(x + rng.integers(-2, 3, 400), 1, 5)
    cats = np.unique(np.r_[x, y])
    out = {k: v[0] for k, v in tables.all_stats(table_of(x, y, cats), cats, "ordinal").items()}
    icc = stats.icc(np.stack([x, y], 1))
    assert out["ICC(C,1)"] == pytest.approx(icc["ICC(C,1)"])
    assert out["ICC(A,1)"] == pytest.approx(icc["ICC(A,1)"])
    assert out["pearson"] == pytest.approx(sp.pearsonr(x, y)[0])
    assert out["spearman"] == pytest.approx(sp.spearmanr(x, y)[0])
    assert out["kendall"] == pytest.approx(sp.kendalltau(x, y)[0])
    assert out["kappa_linear"] == pytest.approx(hand_kappa(x, y, "linear"))
    assert out["kappa_quadratic"] == pytest.approx(hand_kappa(x, y, "quadratic"))
    assert out["alpha"] == pytest.approx(stats.krippendorff_alpha([x, y], "ordinal"))
    assert out["bias"] == pytest.approx(np.mean(x - y))
    assert out["accuracy"] == pytest.approx(np.mean(x == y))


def test_irr_anxiety_kappas_through_tables():
    x, y = ANXIETY[:, 1].astype(float), ANXIETY[:, 2].astype(float)
    cats = np.unique(np.r_[x, y])
    out = tables.all_stats(table_of(x, y, cats), cats, "ordinal")
    assert out["kappa_linear"][0] == pytest.approx(0.1459075, abs=1e-6)
    assert out["kappa_quadratic"][0] == pytest.approx(0.2520325, abs=1e-6)


def test_binary_statistics_match_direct_formulas():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 300).astype(float)
    x = np.where(rng.random(300) < 0.2, 1 - y, y)
    cats = np.array([0.0, 1.0])
    out = {k: v[0] for k, v in tables.all_stats(table_of(x, y, cats), cats, "binary").items()}
    assert out["macro_f1"] == pytest.approx(stats.macro_f1(x == 1, y == 1))
    assert out["balanced_accuracy"] == pytest.approx(stats.balanced_accuracy(x, y))
    assert out["kappa"] == pytest.approx(hand_kappa(x, y))
    assert out["alpha"] == pytest.approx(stats.krippendorff_alpha([x, y], "nominal"))


@pytest.mark.parametrize("level", ["interval", "ratio"])
def test_interval_and_ratio_alpha_match_krippendorff(level):
    rng = np.random.default_rng(7)
    x = rng.integers(1, 6, 300).astype(float)
    y = np.clip(x + rng.integers(-1, 2, 300), 1, 5)
    cats = np.unique(np.r_[x, y])
    out = tables.all_stats(table_of(x, y, cats), cats, level)
    assert out["alpha"][0] == pytest.approx(stats.krippendorff_alpha([x, y], level), abs=1e-12)


def test_nominal_statistics_by_hand():
    rng = np.random.default_rng(9)
    y = rng.integers(-1, 2, 300).astype(float)  # NLI-coded: contradicted, neutral, entailed
    x = np.where(rng.random(300) < 0.3, rng.integers(-1, 2, 300), y).astype(float)
    cats = np.array([-1.0, 0.0, 1.0])
    out = {k: v[0] for k, v in tables.all_stats(table_of(x, y, cats), cats, "nominal").items()}
    f1 = [2 * np.sum((x == c) & (y == c)) / (np.sum(x == c) + np.sum(y == c)) for c in cats]
    recall = [np.sum((x == c) & (y == c)) / np.sum(y == c) for c in cats]
    assert out["macro_f1"] == pytest.approx(np.mean(f1), abs=1e-12)
    assert out["balanced_accuracy"] == pytest.approx(np.mean(recall), abs=1e-12)
    assert out["kappa"] == pytest.approx(hand_kappa(x, y), abs=1e-12)
    assert out["alpha"] == pytest.approx(stats.krippendorff_alpha([x, y], "nominal"), abs=1e-12)


def test_resampled_tables_count_pairs_of_drawn_items():
    # 3 items; item 0 has two pairs, items 1 and 2 one each
    pair_code = np.array([0, 3, 3, 1])
    key = np.array([0, 0, 1, 2])
    idx = np.array([[0, 0, 2], [1, 2, 1]])
    t = tables.resampled_tables(pair_code, key, 3, 2, idx)
    assert t[0].ravel().tolist() == [2, 1, 0, 2]  # item 0 twice (codes 0, 3 each twice), item 2 (code 1)
    assert t[1].ravel().tolist() == [0, 1, 0, 2]
