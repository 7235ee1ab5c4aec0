"""Every statistic against a published worked example (not values produced by our own code)."""

import numpy as np
import pytest

from medjudge.calibration import stats

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges; Table 4 gives the six ICCs
SF_TABLE = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def test_icc_shrout_fleiss_1979_table_4():
    r = stats.icc(SF_TABLE)
    assert r["ICC1"] == pytest.approx(0.17, abs=0.005)
    assert r["ICC(A,1)"] == pytest.approx(0.29, abs=0.005)  # ICC(2,1)
    assert r["ICC(C,1)"] == pytest.approx(0.71, abs=0.005)  # ICC(3,1)
    assert r["ICC1k"] == pytest.approx(0.44, abs=0.005)
    assert r["ICC(A,k)"] == pytest.approx(0.62, abs=0.005)  # ICC(2,4)
    assert r["ICC(C,k)"] == pytest.approx(0.91, abs=0.005)  # ICC(3,4)


def test_icc_batch_matches_single():
    tables = np.array([SF_TABLE, np.array(SF_TABLE)[::-1]], float)
    batch = stats.icc_batch(tables)
    assert batch["ICC(C,1)"][0] == pytest.approx(stats.icc(SF_TABLE)["ICC(C,1)"])
    assert batch["ICC(C,1)"][1] == pytest.approx(batch["ICC(C,1)"][0])  # row order does not matter


# SAS/STAT PROC FREQ agreement example (3 x 3 table): simple kappa 0.4842, weighted (Cicchetti-Allison) 0.4701
SAS_TABLE = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]


def test_cohen_kappa_sas_example():
    assert stats.kappa_from_table(SAS_TABLE) == pytest.approx(0.4842, abs=5e-5)
    assert stats.kappa_from_table(SAS_TABLE, "linear") == pytest.approx(0.4701, abs=5e-5)


# R package irr, data set `anxiety` (20 subjects, 3 raters); kappa2() of raters 2 and 3:
# unweighted -0.006289308, "equal" (linear) 0.1459075, "squared" (quadratic) 0.2520325
ANXIETY = np.array([
    3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3, 3, 6, 4,
    6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4, 2, 1, 4, 4, 3, 2,
    1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2]).reshape(20, 3, order="F")


@pytest.mark.parametrize("weights,expected", [(None, -0.006289308), ("linear", 0.1459075), ("quadratic", 0.2520325)])
def test_cohen_kappa_irr_anxiety(weights, expected):
    assert stats.cohen_kappa(ANXIETY[:, 1], ANXIETY[:, 2], weights) == pytest.approx(expected, abs=1e-6)


# Fleiss (1971): 30 patients, 6 psychiatrists, 5 diagnoses; kappa = 0.430 (irr kappam.fleiss: 0.4302445)
DIAGNOSES = np.array([
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5], [2, 2, 2, 4, 4, 4],
    [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4], [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5],
    [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4], [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5],
    [3, 3, 3, 3, 3, 5], [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4], [1, 4, 4, 4, 4, 5],
    [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4], [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5]])


def test_fleiss_kappa_fleiss_1971():
    assert stats.fleiss_kappa(stats.counts_table(DIAGNOSES)) == pytest.approx(0.4302445, abs=1e-6)


# Krippendorff (2011), "Computing Krippendorff's alpha-reliability": 4 observers, 12 units, missing data.
# Published: nominal 0.743, ordinal 0.815, interval 0.849, ratio 0.797
NAN = np.nan
KRIPP = [[1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
         [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN]]


@pytest.mark.parametrize("level,expected", [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849),
                                            ("ratio", 0.797)])
def test_krippendorff_alpha_2011_example(level, expected):
    assert stats.krippendorff_alpha(KRIPP, level) == pytest.approx(expected, abs=0.0005)


def test_macro_f1_and_accuracies_by_hand():
    # truth 6 positives / 4 negatives; pred: TP 4, FN 2, FP 1, TN 3
    truth = [1, 1, 1, 1, 1, 1, 0, 0, 0, 0]
    pred = [1, 1, 1, 1, 0, 0, 1, 0, 0, 0]
    f1_pos = 2 * 4 / (2 * 4 + 1 + 2)  # 8/11
    f1_neg = 2 * 3 / (2 * 3 + 2 + 1)  # 6/9
    assert stats.macro_f1(pred, truth) == pytest.approx((f1_pos + f1_neg) / 2)
    assert stats.accuracy(pred, truth) == pytest.approx(0.7)
    assert stats.balanced_accuracy(pred, truth) == pytest.approx((4 / 6 + 3 / 4) / 2)


def test_correlations_bias_percentile():
    # Spearman's textbook example (ranks with no ties): rho = 1 - 6*sum(d^2)/(n(n^2-1))
    a, b = [1, 2, 3, 4, 5], [2, 1, 4, 3, 5]
    r = stats.correlations(a, b)
    assert r["spearman"] == pytest.approx(1 - 6 * 4 / (5 * 24))
    assert r["kendall"] == pytest.approx((8 - 2) / 10)  # 8 concordant, 2 discordant pairs
    assert stats.mean_bias([4, 5, 5], [3, 5, 4]) == pytest.approx(2 / 3)
    assert stats.percentile_among(0.7, [0.5, 0.6, 0.7, 0.9]) == pytest.approx(62.5)
