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


def test_icc_batch_reproduces_the_published_table_for_every_table_of_the_batch():
    # the batch path against Shrout & Fleiss's published values (not against icc(), which calls it):
    # the table, its targets reversed, its judges permuted: ICCs do not depend on either order
    sf = np.array(SF_TABLE, float)
    batch = stats.icc_batch(np.array([sf, sf[::-1], sf[:, [2, 0, 3, 1]]]))
    for b in range(3):
        assert batch["ICC1"][b] == pytest.approx(0.17, abs=0.005)
        assert batch["ICC(A,1)"][b] == pytest.approx(0.29, abs=0.005)
        assert batch["ICC(C,1)"][b] == pytest.approx(0.71, abs=0.005)
        assert batch["ICC(C,k)"][b] == pytest.approx(0.91, abs=0.005)


def hand_kappa(x, y, weights=None):
    """Cohen's (weighted) kappa written out by hand from its definition: an independent reference."""
    cats = sorted(set(list(x)) | set(list(y)))
    k, n = len(cats), len(x)
    idx = {c: i for i, c in enumerate(cats)}

    def w(i, j):
        if weights is None:
            return 1.0 if i == j else 0.0
        d = abs(i - j) / (k - 1)
        return 1 - d if weights == "linear" else 1 - d * d

    po = sum(w(idx[a], idx[b]) for a, b in zip(x, y)) / n
    px = [sum(1 for a in x if a == c) / n for c in cats]
    py = [sum(1 for b in y if b == c) / n for c in cats]
    pe = sum(w(i, j) * px[i] * py[j] for i in range(k) for j in range(k))
    return (po - pe) / (1 - pe)


def test_hand_kappa_reproduces_a_textbook_value():
    # the reference itself against a published value: 50 proposals, yes/yes 20, yes/no 5, no/yes 10,
    # no/no 15 -> p_o = 0.7, p_e = 0.5, kappa = 0.4 (Cohen's kappa, the standard worked example)
    x = [1] * 25 + [0] * 25
    y = [1] * 20 + [0] * 5 + [1] * 10 + [0] * 15
    assert hand_kappa(x, y) == pytest.approx(0.4)
    assert stats.cohen_kappa(np.array(x, float), np.array(y, float)) == pytest.approx(0.4)


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


def test_clopper_pearson_equals_scipys_exact_binomial_interval():
    """Our exact interval (probes and estimates fall back to it) against scipy's independent one."""
    from scipy.stats import binomtest

    from medjudge.calibration.stats import clopper_pearson

    for k, n in ((0, 30), (30, 30), (1, 10), (7, 40), (12, 12), (50, 120)):
        ref = binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
        lo, hi = clopper_pearson(k, n)
        assert abs(lo - ref.low) < 1e-12 and abs(hi - ref.high) < 1e-12, (k, n)
