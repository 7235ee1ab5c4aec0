"""Verdicts: trust / use with care / do not trust, from the CI lower bound and the physician ceiling.

Thresholds (documented in docs/CALIBRATION.md, overridable with --care/--trust):
- ICC (Koo & Li 2016): below 0.5 poor, 0.5-0.75 moderate, 0.75-0.9 good, above 0.9 excellent.
  Use with care from 0.5, trust from 0.75.
- Krippendorff's alpha (Krippendorff 2004): conclusions tentative from 0.667, reliable from 0.8.
- Cohen's / Fleiss' kappa (Landis & Koch 1977): moderate from 0.4, substantial from 0.6, so 0.4 / 0.6.
- Macro-F1: no canonical scale; 0.6 / 0.75, and the physician ceiling matters most.
"""

from __future__ import annotations

import math

THRESHOLDS = {
    "ICC(A,1)": (0.5, 0.75), "ICC(C,1)": (0.5, 0.75), "alpha": (0.667, 0.8), "kappa": (0.4, 0.6),
    "kappa_quadratic": (0.4, 0.6), "macro_f1": (0.6, 0.75),
}
MIN_UNITS = {"item": 10, "system": 5}  # fewer paired items (or systems) give no verdict
TRUST, CARE, NO = "trust", "use with care", "do not trust"
INSUFFICIENT = "insufficient coverage"  # the judge left too many of the experts' items unscored
NO_CI = "no verdict"  # no confidence interval, or one that spans the care line (usable or not: the data cannot say)
MIN_COVERAGE = 0.95


def verdict(stat: str, estimate, ci, n: int, level: str = "item", ceiling=None, care=None, trust=None,
            untrustworthy_judge=False, coverage: float | None = 1.0, min_coverage: float = MIN_COVERAGE):
    """Return (verdict, reasons). A verdict needs the judge to have scored at least `min_coverage` of the
    items the experts rated (else "insufficient coverage") and a confidence interval (else "no verdict")."""
    lo_t, hi_t = THRESHOLDS.get(stat, (0.5, 0.75))
    lo_t = care if care is not None else lo_t
    hi_t = trust if trust is not None else hi_t
    reasons = []
    lower = ci[0] if ci else None
    upper = ci[1] if ci else None
    if untrustworthy_judge:
        return NO, ["the embedded 270M base model proves the pipeline only; it is not a judge to trust"]
    if coverage is not None and coverage < min_coverage:
        return INSUFFICIENT, [f"the judge scored {coverage:.1%} of the items the experts rated (need {min_coverage:.0%}); "
                              f"its figures leave the rest out: see the worst case"]
    if estimate is None or (isinstance(estimate, float) and math.isnan(estimate)):
        return NO, ["statistic undefined (no variation or no paired ratings)"]
    if n < MIN_UNITS[level]:
        what = "systems" if level == "system" else "paired items"
        return NO_CI, [f"only {n} {what} (need {MIN_UNITS[level]})"]
    if lower is None or math.isnan(lower):
        return NO_CI, [f"no confidence interval for {stat} (--resamples 0, or no bootstrap resample defined it)"]
    if lower >= hi_t:
        v = TRUST
        reasons.append(f"CI lower bound {_shown(lower, hi_t)} >= {hi_t:g}")
    elif lower >= lo_t:
        v = CARE
        reasons.append(f"CI lower bound {_shown(lower, lo_t, hi_t)} in [{lo_t:g}, {hi_t:g})")
    elif upper is not None and not math.isnan(upper) and upper < lo_t:
        v = NO
        reasons.append(f"CI upper bound {_shown(upper, lo_t)} < {lo_t:g}")
    else:  # the interval spans the care line: the data cannot say which side the judge is on
        return NO_CI, [f"CI [{_shown(lower, lo_t)}, {_shown(upper, lo_t) if upper is not None else '?'}] spans "
                       f"{lo_t:g}: neither usable nor shown unusable; rate more items"]
    if ceiling and ceiling.get("estimate") is not None and not math.isnan(ceiling["estimate"]):
        c_lo = ceiling["ci"][0] if ceiling.get("ci") and ceiling["ci"][0] is not None else ceiling["estimate"]
        if estimate >= c_lo:
            reasons.append(f"within the physician range (expert-vs-expert {ceiling['estimate']:.2f})")
        else:
            reasons.append(f"below the physician range (expert-vs-expert {ceiling['estimate']:.2f}, CI low {c_lo:.2f})")
            if v == TRUST:
                v = CARE
        if ceiling["estimate"] < lo_t:
            reasons.append("experts disagree with each other here too: the criterion may be ill-defined")
    return v, reasons


def _shown(x: float, *thresholds: float) -> str:
    """x with two decimals, or as many more as it takes not to print a threshold it is not (0.4996, not 0.50)."""
    for digits in range(2, 7):
        if all(round(x, digits) != t for t in thresholds):
            return f"{x:.{digits}f}"
    return repr(x)
