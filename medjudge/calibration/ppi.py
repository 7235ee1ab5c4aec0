"""Prediction-powered estimates: the judge's verdict on every unit, corrected with expert labels on a random
sample of the units.

- PPI (Angelopoulos, Bates, Fannjiang, Jordan & Zrnic, Science 2023): theta = mean of the judge over the
  unlabelled units + mean of (expert - judge) over the labelled ones (the rectifier).
- PPI++ (Angelopoulos, Duchi & Zrnic 2023, arXiv 2311.01453), the default: theta = lam * mean_unlabelled(f)
  + mean_labelled(y - lam * f), with the power-tuning lam = Cov(y, f) / ((1 + n/N) Var(f)) clipped to
  [0, 1]: lam = 0 is the experts-only mean, lam = 1 is PPI; the variance
  lam^2 Var(f_unlabelled) / N + Var(y - lam f) / n gives a normal CI. Valid whatever the judge's bias,
  when the labelled units are a uniform random sample of the judged ones.
- Stratified samples (calibration/sampling.py): stratified PPI++ (Fisch et al. 2024), each stratum's own PPI++
  weighted by its share of the units.
- With recorded unequal inclusion probabilities pi (active sampling, Poisson), the inverse-probability form
  (Zrnic & Candes, active inference 2024), Hajek-normalised: theta = lam mean(f) + sum(r / pi) / sum(1 / pi).
Every estimate is beside the judge-only mean (no correction: its CI is only sampling noise, blind to bias)
and the experts-only mean (the labels alone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def z_value(alpha: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(1 - alpha / 2))


@dataclass
class Interval:
    method: str
    estimate: float | None
    ci: tuple[float | None, float | None]
    se: float | None
    n: int  # labels used (judge-only: units judged)
    lam: float | None = None
    note: str | None = None  # why there is no interval, or how it was made

    def to_dict(self) -> dict:
        out = {"method": self.method, "estimate": self.estimate, "ci": list(self.ci), "se": self.se, "n": self.n,
               "lam": self.lam}
        return out | ({"note": self.note} if self.note else {})


def _interval(method, point, se, n, alpha, lam=None) -> Interval:
    if point is None or se is None or not math.isfinite(se):
        return Interval(method, point, (None, None), None, n, lam)
    z = z_value(alpha)
    return Interval(method, float(point), (float(point - z * se), float(point + z * se)), float(se), n, lam)


def power_tuning(y, f_lab, f_unl) -> float:
    """PPI++'s lam for a mean: Cov(y, f) / ((1 + n/N) Var(f)), in [0, 1]; Var(f) over every judged unit."""
    n, big_n = len(y), len(f_unl)
    var_f = float(np.var(np.concatenate([f_lab, f_unl]), ddof=1)) if n + big_n > 1 else 0.0
    if var_f <= 0 or n < 2 or big_n == 0:  # every unit labelled: the judge adds nothing
        return 0.0
    cov = float(np.mean((y - y.mean()) * (f_lab - f_lab.mean())))
    return float(np.clip(cov / ((1 + n / big_n) * var_f), 0.0, 1.0))


def weighted_tuning(y, f_lab, w, f_all) -> float:
    """PPI++'s lam with each label weighted by 1 / its inclusion probability: Cov_w(y, f) / ((1 + n/N) Var(f)),
    in [0, 1] (unweighted, labels drawn where the judge errs would make the judge look useless everywhere)."""
    n, big_n = len(y), len(f_all)
    var_f = float(np.var(f_all, ddof=1)) if big_n > 1 else 0.0
    if var_f <= 0 or n < 2:
        return 0.0
    yw, fw = np.sum(w * y) / np.sum(w), np.sum(w * f_lab) / np.sum(w)
    cov = float(np.sum(w * (y - yw) * (f_lab - fw)) / np.sum(w))
    return float(np.clip(cov / ((1 + n / big_n) * var_f), 0.0, 1.0))


def ppi_mean(y, f_lab, f_unl, alpha=0.05, lam=None) -> Interval:
    """The PPI++ mean (lam=None: power-tuned; lam=1: PPI) and its normal CI."""
    y, f_lab, f_unl = (np.asarray(a, dtype=float) for a in (y, f_lab, f_unl))
    n, big_n = len(y), len(f_unl)
    if n < 2 or big_n < 1:
        return Interval("ppi++" if lam is None else f"ppi (lam={lam:g})", None, (None, None), None, n)
    method = "ppi++" if lam is None else f"ppi (lam={lam:g})"
    lam = power_tuning(y, f_lab, f_unl) if lam is None else float(lam)
    point = lam * f_unl.mean() + (y - lam * f_lab).mean()
    se = math.sqrt(lam ** 2 * np.var(f_unl) / big_n + np.var(y - lam * f_lab) / n)
    return _interval(method, point, se, n, alpha, lam)


def ipw_mean(f_all, labelled, y_all, pi, alpha=0.05, lam=None, method="ppi++ (weighted)") -> Interval:
    """Prediction-powered mean for labels drawn with known, unequal probabilities pi (active sampling; Zrnic &
    Candes 2024): theta = lam x mean(f over every judged unit) + the Hajek mean of r = y - lam f over the labelled
    units, each weighted by w = 1 / pi: sum(w r) / sum(w). Variance lam^2 Var(f) / N + sum(w^2 (r - rbar)^2) /
    sum(w)^2 (the linearised Hajek variance, with replacement: no finite-population factor). With equal pi it is
    PPI++ with f's mean over every unit. f_all, labelled (bool), y_all (NaN where unlabelled) and pi are aligned."""
    f_all, y_all, pi = (np.asarray(a, dtype=float) for a in (f_all, y_all, pi))
    labelled = np.asarray(labelled, dtype=bool)
    m, n = len(f_all), int(labelled.sum())
    if n < 2:
        return Interval(method, None, (None, None), None, n)
    w = 1.0 / pi[labelled]
    if lam is None:
        lam = weighted_tuning(y_all[labelled], f_all[labelled], w, f_all) if (~labelled).any() else 0.0
    r = y_all[labelled] - lam * f_all[labelled]
    rbar = float(np.sum(w * r) / np.sum(w))
    var_f = float(np.var(f_all, ddof=1)) if m > 1 else 0.0
    se = math.sqrt(lam ** 2 * var_f / m + float(np.sum(w ** 2 * (r - rbar) ** 2)) / float(np.sum(w)) ** 2)
    return _interval(method, lam * f_all.mean() + rbar, se, n, alpha, lam)


def stratified_mean(strata, alpha=0.05, lam=None, method="stratified ppi++") -> Interval:
    """Stratified PPI++ (Fisch et al. 2024): strata = [(N_h, y_h, f_labelled_h, f_unlabelled_h)], each drawn
    uniformly within; theta = sum (N_h / N) theta_h with each stratum's own PPI++ (its own lam), variance
    sum (N_h / N)^2 se_h^2. A stratum labelled in full contributes its experts' mean. lam=0: the experts-only
    stratified mean. A stratum whose labels show no error at all (its rectifier is constant) is given the variance
    of one disagreement the size of the values' range in n_h + 2 labels (span^2 p0 (1 - p0) / n_h, p0 =
    1 / (n_h + 2)): a few labels that all agree with the judge do not show that it never errs there."""
    big_n = sum(size for size, *_ in strata)
    n = sum(len(y) for _, y, _, _ in strata)
    values = np.concatenate([np.asarray(a, dtype=float) for _, *arrays in strata for a in arrays])
    span = float(values.max() - values.min()) if len(values) else 0.0
    point, var = 0.0, 0.0
    for size, y, f_lab, f_unl in strata:
        part = ppi_mean(y, f_lab, f_unl, alpha, lam) if len(f_unl) else classical_mean(y, alpha)
        if part.estimate is None or part.se is None:
            return Interval(method, None, (None, None), None, n,
                            note=f"a stratum has {len(y)} labels: each needs 2 or more")
        se2 = part.se ** 2
        if len(f_unl):
            p0 = 1 / (len(y) + 2)
            rect = float(np.var(np.asarray(y, float) - (part.lam or 0.0) * np.asarray(f_lab, float)))
            if rect <= 1e-12:  # the labels show no error: not evidence that the judge never errs here
                se2 += span ** 2 * p0 * (1 - p0) / len(y)
        point += size / big_n * part.estimate
        var += (size / big_n) ** 2 * se2
    return _interval(method, point, math.sqrt(var), n, alpha, lam)


def classical_mean(values, alpha=0.05, method="experts only") -> Interval:
    v = np.asarray(values, dtype=float)
    if len(v) < 2:
        return Interval(method, float(v.mean()) if len(v) else None, (None, None), None, len(v))
    return _interval(method, v.mean(), float(np.std(v) / math.sqrt(len(v))), len(v), alpha)  # as PPI (ddof 0)


def effective_labels(corrected: Interval, experts: Interval) -> float | None:
    """How many expert labels alone would give the corrected CI's width: n x (experts' variance / corrected)."""
    if not corrected.se or not experts.se:
        return None
    return experts.n * (experts.se / corrected.se) ** 2


def labels_needed(half_width: float, f_all, rectifier_var: float, lam: float = 1.0, alpha=0.05) -> int | None:
    """Expert labels for a CI half-width W: z^2 (lam^2 Var(f) / N + Var(y - lam f) / n) = W^2, solved for n
    (N: the judged units). None when even infinitely many labels cannot reach W (the judge's own noise)."""
    f_all = np.asarray(f_all, dtype=float)
    z = z_value(alpha)
    floor = lam ** 2 * float(np.var(f_all, ddof=1)) / len(f_all) if len(f_all) > 1 else 0.0
    room = (half_width / z) ** 2 - floor
    if room <= 0:
        return None
    return int(math.ceil(rectifier_var / room))
