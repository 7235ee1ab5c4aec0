"""Every pairwise statistic from C x C contingency tables, for a whole batch of bootstrap resamples at once.

Ratings are categories (booleans, ordinal levels), so a judge-vs-expert comparison is fully described by
the table of (judge value, expert value) counts: a resample only changes the counts. From a batch of
B tables (B x C x C) and the category values this computes, vectorised over B: accuracy, balanced accuracy,
macro-F1, Cohen's kappa (unweighted, linear, quadratic), Krippendorff's alpha (nominal, ordinal),
ICC(C,1) and ICC(A,1) of the n x 2 table, Pearson, Spearman (Pearson of mid-ranks) and Kendall's tau-b.
tests/test_calibration_tables.py checks each against the direct formulas and scipy.
"""

from __future__ import annotations

import numpy as np


def _safe(num, den):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1), np.nan)


def kappa(t: np.ndarray, weights: str | None = None) -> np.ndarray:
    c = t.shape[-1]
    n = t.sum(axis=(1, 2))
    p = t / n[:, None, None]
    expected = p.sum(axis=2)[:, :, None] * p.sum(axis=1)[:, None, :]
    i, j = np.indices((c, c))
    if weights is None:
        w = (i != j).astype(float)
    elif weights == "linear":
        w = np.abs(i - j) / max(c - 1, 1)
    else:
        w = ((i - j) / max(c - 1, 1)) ** 2
    return 1 - _safe((w * p).sum(axis=(1, 2)), (w * expected).sum(axis=(1, 2)))


def alpha(t: np.ndarray, level: str, values: np.ndarray | None = None) -> np.ndarray:
    """Krippendorff's alpha for units that each hold two values (coincidence matrix t + t^T), at the
    nominal, ordinal, interval or ratio level (interval and ratio need the category values)."""
    c = t.shape[-1]
    o = t + np.swapaxes(t, 1, 2)
    n_c = o.sum(axis=2)
    n = n_c.sum(axis=1)
    if level == "nominal":
        d = np.broadcast_to(1.0 - np.eye(c), o.shape)
    elif level in ("interval", "ratio"):
        v = np.asarray(values, dtype=float)
        diff = v[:, None] - v[None, :]
        if level == "ratio":
            total = v[:, None] + v[None, :]
            diff = np.divide(diff, total, out=np.zeros_like(diff), where=total != 0)
        d = np.broadcast_to(diff ** 2, o.shape)
    else:  # ordinal: distance by the counts of the categories between
        cum = np.cumsum(n_c, axis=1)
        i, j = np.indices((c, c))
        lo, hi = np.minimum(i, j), np.maximum(i, j)
        below = np.where(lo > 0, cum[:, np.maximum(lo - 1, 0)], 0)
        d = (cum[:, hi] - below - (n_c[:, i] + n_c[:, j]) / 2) ** 2
    d_o = (o * d).sum(axis=(1, 2)) / n
    d_e = (n_c[:, :, None] * n_c[:, None, :] * d).sum(axis=(1, 2)) / (n * (n - 1))
    return 1 - _safe(d_o, d_e)


def moments(t: np.ndarray, vx: np.ndarray, vy: np.ndarray):
    n = t.sum(axis=(1, 2))
    rx, cy = t.sum(axis=2), t.sum(axis=1)
    sx, sy = rx @ vx, cy @ vy
    sxx, syy = rx @ vx ** 2, cy @ vy ** 2
    sxy = np.einsum("bij,i,j->b", t, vx, vy)
    return n, sx, sy, sxx, syy, sxy


def pearson_from(n, sx, sy, sxx, syy, sxy):
    cov = sxy - sx * sy / n
    return _safe(cov, np.sqrt(np.maximum(sxx - sx ** 2 / n, 0) * np.maximum(syy - sy ** 2 / n, 0)))


def icc_pair(n, sx, sy, sxx, syy, sxy):
    """ICC(C,1) and ICC(A,1) of the n x 2 table (k = 2 raters) from its moments."""
    grand = (sx + sy) / (2 * n)
    ss_rows = 2 * ((sxx + 2 * sxy + syy) / 4 - n * grand ** 2)
    ss_cols = n * ((sx / n - grand) ** 2 + (sy / n - grand) ** 2)
    ss_total = sxx + syy - 2 * n * grand ** 2
    ss_err = ss_total - ss_rows - ss_cols
    msr, msc, mse = ss_rows / (n - 1), ss_cols, ss_err / (n - 1)
    return _safe(msr - mse, msr + mse), _safe(msr - mse, msr + mse + 2 * (msc - mse) / n)


def midranks(counts: np.ndarray) -> np.ndarray:
    """Mid-rank of each category given its counts (B x C)."""
    before = np.cumsum(counts, axis=1) - counts
    return before + (counts + 1) / 2


def spearman(t: np.ndarray) -> np.ndarray:
    rx, cy = midranks(t.sum(axis=2)), midranks(t.sum(axis=1))
    n = t.sum(axis=(1, 2))
    rows, cols = t.sum(axis=2), t.sum(axis=1)
    sx, sy = (rows * rx).sum(1), (cols * cy).sum(1)
    sxx, syy = (rows * rx ** 2).sum(1), (cols * cy ** 2).sum(1)
    sxy = np.einsum("bij,bi,bj->b", t, rx, cy)
    return pearson_from(n, sx, sy, sxx, syy, sxy)


def kendall_tau_b(t: np.ndarray) -> np.ndarray:
    # cells strictly below-right (i' > i, j' > j) and below-left (i' > i, j' < j) of each cell
    below = np.cumsum(t[:, ::-1, :], axis=1)[:, ::-1, :]  # rows i' >= i
    below = np.concatenate([below[:, 1:, :], np.zeros_like(below[:, :1, :])], axis=1)  # rows i' > i
    right = np.cumsum(below[:, :, ::-1], axis=2)[:, :, ::-1]
    right = np.concatenate([right[:, :, 1:], np.zeros_like(right[:, :, :1])], axis=2)  # cols j' > j
    left = np.cumsum(below, axis=2)
    left = np.concatenate([np.zeros_like(left[:, :, :1]), left[:, :, :-1]], axis=2)  # cols j' < j
    p = (t * right).sum(axis=(1, 2))
    q = (t * left).sum(axis=(1, 2))
    n = t.sum(axis=(1, 2))
    n0 = n * (n - 1) / 2
    rows, cols = t.sum(axis=2), t.sum(axis=1)
    n1 = (rows * (rows - 1) / 2).sum(1)
    n2 = (cols * (cols - 1) / 2).sum(1)
    return _safe(p - q, np.sqrt((n0 - n1) * (n0 - n2)))


def classes(t: np.ndarray) -> dict[str, np.ndarray]:
    """macro-F1 (mean of every category's F1; a category neither rater used in a resample counts 1) and
    balanced accuracy (mean recall over the categories the expert used). Rows: judge, columns: expert.
    For two categories this is HealthBench's macro-F1 of the positive and the negative class."""
    tp = np.diagonal(t, axis1=1, axis2=2)
    judged, truth = t.sum(axis=2), t.sum(axis=1)
    denom = judged + truth
    f1 = np.where(denom == 0, 1.0, _safe(2 * tp, denom))
    recall = _safe(tp, truth)
    present = truth > 0
    bal = _safe(np.where(present, recall, 0).sum(1), present.sum(1))
    return {"macro_f1": f1.mean(axis=1), "balanced_accuracy": bal}


CATEGORICAL = ("binary", "nominal")
NUMERIC = ("ordinal", "interval", "ratio")
VALUE_TYPES = CATEGORICAL + NUMERIC


def all_stats(t: np.ndarray, cats: np.ndarray, value_type: str) -> dict[str, np.ndarray]:
    """t: B x C x C counts (rows: judge, columns: expert); cats: the C category values, ascending.
    binary / nominal: alpha (nominal), kappa, accuracy, macro-F1, balanced accuracy; ordinal / interval /
    ratio: alpha at that level, weighted kappas, ICCs, correlations, bias, accuracy."""
    t = t.astype(float)
    n = t.sum(axis=(1, 2))
    out = {"accuracy": np.trace(t, axis1=1, axis2=2) / n}
    if value_type in CATEGORICAL:
        out["alpha"] = alpha(t, "nominal")
        out["kappa"] = kappa(t)
        out.update(classes(t))
        return out
    v = cats.astype(float)
    out["alpha"] = alpha(t, value_type, v)
    out["kappa_linear"] = kappa(t, "linear")
    out["kappa_quadratic"] = kappa(t, "quadratic")
    m = moments(t, v, v)
    out["ICC(C,1)"], out["ICC(A,1)"] = icc_pair(*m)
    out["pearson"] = pearson_from(*m)
    out["spearman"] = spearman(t)
    out["kendall"] = kendall_tau_b(t)
    out["bias"] = (m[1] - m[2]) / m[0]
    return out


def resampled_tables(pair_code: np.ndarray, key: np.ndarray, n_keys: int, c: int, idx: np.ndarray) -> np.ndarray:
    """Tables for resamples of the keys (items): idx is B x n_keys of drawn key indices."""
    b = idx.shape[0]
    flat = (idx + np.arange(b)[:, None] * n_keys).ravel()
    counts = np.bincount(flat, minlength=b * n_keys).reshape(b, n_keys)
    weights = counts[:, key]  # B x pairs
    tables = np.zeros((b, c * c))
    order = np.argsort(pair_code, kind="stable")
    codes = pair_code[order]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    sums = np.add.reduceat(weights[:, order], starts, axis=1)
    tables[:, codes[starts]] = sums
    return tables.reshape(b, c, c)
