"""Agreement statistics, vectorised where the bootstrap needs it.

References (each checked against a published example in tests/test_calibration_stats.py):
- ICC: Shrout & Fleiss (1979), McGraw & Wong (1996): one-way, two-way consistency (C) and absolute (A),
  single (1) and average (k) measures, from the ANOVA mean squares of an n targets x k raters table.
- Cohen's kappa (1960), weighted kappa (Cohen 1968) with linear (Cicchetti-Allison) or quadratic
  (Fleiss-Cohen) weights on the ordered categories; Fleiss' kappa (1971).
- Krippendorff's alpha (Krippendorff 2011) through the `krippendorff` package.
- Clopper & Pearson (1934): the exact interval of a binomial proportion (probes and estimates whose bootstrap
  or normal interval has no width).
- HealthBench meta-evaluation (Arora et al. 2025): macro-F1 = mean of the F1 of the positive and of
  the negative class.
"""

from __future__ import annotations

import numpy as np

ICC_FORMS = ("ICC1", "ICC1k", "ICC(C,1)", "ICC(C,k)", "ICC(A,1)", "ICC(A,k)")


def icc(table) -> dict[str, float]:
    """All ICC forms of an n x k table without missing cells (rows targets, columns raters)."""
    out = icc_batch(np.asarray(table, dtype=float)[None])
    return {k: float(v[0]) for k, v in out.items()}


def icc_batch(tables: np.ndarray) -> dict[str, np.ndarray]:
    """ICC forms for a batch of B tables shaped B x n x k (one per bootstrap resample)."""
    t = np.asarray(tables, dtype=float)
    _, n, k = t.shape
    grand = t.mean(axis=(1, 2), keepdims=True)
    row_means = t.mean(axis=2, keepdims=True)
    col_means = t.mean(axis=1, keepdims=True)
    ss_rows = k * ((row_means - grand) ** 2).sum(axis=(1, 2))
    ss_cols = n * ((col_means - grand) ** 2).sum(axis=(1, 2))
    ss_total = ((t - grand) ** 2).sum(axis=(1, 2))
    ss_err = ss_total - ss_rows - ss_cols
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = ss_err / ((n - 1) * (k - 1))
    msw = (ss_cols + ss_err) / (n * (k - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "ICC1": (msr - msw) / (msr + (k - 1) * msw),
            "ICC1k": (msr - msw) / msr,
            "ICC(C,1)": (msr - mse) / (msr + (k - 1) * mse),
            "ICC(C,k)": (msr - mse) / msr,
            "ICC(A,1)": (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n),
            "ICC(A,k)": (msr - mse) / (msr + (msc - mse) / n),
        }


def confusion(a, b, categories=None):
    a, b = np.asarray(a), np.asarray(b)
    cats = np.array(sorted(set(a.tolist()) | set(b.tolist()))) if categories is None else np.asarray(categories)
    index = {c: i for i, c in enumerate(cats.tolist())}
    m = np.zeros((len(cats), len(cats)))
    for x, y in zip(a.tolist(), b.tolist()):
        m[index[x], index[y]] += 1
    return m, cats


def kappa_from_table(table, weights: str | None = None) -> float:
    """Cohen's kappa from a square contingency table; weights None, 'linear' or 'quadratic'."""
    from .tables import kappa

    return float(kappa(np.asarray(table, dtype=float)[None], weights)[0])


def cohen_kappa(a, b, weights: str | None = None) -> float:
    m, _ = confusion(a, b)
    return kappa_from_table(m, weights)


def fleiss_kappa(counts) -> float:
    """Fleiss' kappa from an n subjects x c categories table of rater counts (same raters per subject)."""
    x = np.asarray(counts, dtype=float)
    n_raters = x.sum(axis=1)[0]
    p_j = x.sum(axis=0) / x.sum()
    p_i = ((x * x).sum(axis=1) - n_raters) / (n_raters * (n_raters - 1))
    p_bar, p_e = p_i.mean(), (p_j ** 2).sum()
    return float((p_bar - p_e) / (1 - p_e))


def counts_table(ratings) -> np.ndarray:
    """n subjects x m raters of categories -> n x c counts for fleiss_kappa."""
    r = np.asarray(ratings)
    cats = sorted(set(r.ravel().tolist()))
    return np.stack([(r == c).sum(axis=1) for c in cats], axis=1)


def krippendorff_alpha(reliability_data, level: str = "nominal") -> float:
    """raters x units, NaN for missing; level nominal, ordinal, interval or ratio."""
    import krippendorff

    data = np.asarray(reliability_data, dtype=float)
    try:
        return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
    except (ValueError, ZeroDivisionError):
        return float("nan")


def macro_f1(pred, truth) -> float:
    """Binary macro-F1: the mean of the F1 of the positive class and of the negative class."""
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    scores = []
    for positive in (True, False):
        p, t = pred == positive, truth == positive
        tp = float((p & t).sum())
        denom = float(p.sum() + t.sum())
        scores.append(2 * tp / denom if denom else 1.0)
    return float(np.mean(scores))


def accuracy(pred, truth) -> float:
    return float(np.mean(np.asarray(pred) == np.asarray(truth)))


def balanced_accuracy(pred, truth) -> float:
    """Mean recall over the classes present in truth."""
    pred, truth = np.asarray(pred), np.asarray(truth)
    return float(np.mean([np.mean(pred[truth == c] == c) for c in np.unique(truth)]))


def correlations(a, b) -> dict[str, float]:
    from scipy import stats

    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return {"pearson": float("nan"), "spearman": float("nan"), "kendall": float("nan")}
    return {"pearson": float(stats.pearsonr(a, b)[0]), "spearman": float(stats.spearmanr(a, b)[0]),
            "kendall": float(stats.kendalltau(a, b)[0])}


def mean_bias(judge, expert) -> float:
    """Mean of judge - expert: positive means the judge inflates scores."""
    return float(np.mean(np.asarray(judge, float) - np.asarray(expert, float)))


def percentile_among(value: float, others) -> float:
    """Share of the others' values that `value` exceeds (ties count half), in percent."""
    others = np.asarray(list(others), float)
    if others.size == 0:
        return float("nan")
    return float(100 * ((others < value).sum() + 0.5 * (others == value).sum()) / others.size)


def clopper_pearson(k: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """The Clopper-Pearson interval of k successes in n."""
    from scipy.stats import beta

    if n <= 0:
        return 0.0, 1.0
    lo = 0.0 if k <= 0 else float(beta.ppf(alpha / 2, k, n - k + 1))
    hi = 1.0 if k >= n else float(beta.ppf(1 - alpha / 2, k + 1, n - k))
    return lo, hi
