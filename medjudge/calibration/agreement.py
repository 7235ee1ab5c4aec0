"""Agreement among raters (the experts), as papers publish it: multi-rater figures, not pooled pairs.

Per group (--by), over the items two or more of the raters rated:
- Krippendorff's alpha over all raters at the four levels of measurement (Krippendorff 2011), missing
  ratings allowed (the `krippendorff` package);
- on the items every rater rated: Fleiss' kappa (1971) and the six ICC forms of Shrout & Fleiss (1979):
  ICC(1,1), ICC(2,1) = ICC(A,1), ICC(3,1) = ICC(C,1) and their k-rater (average) forms;
- the unanimous share: items on which every rating is the same;
each with a bootstrap 95% CI that resamples items (seeded). calibrate.py's ceiling is the other reading:
the judge's statistics computed on pooled pairs of experts.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..bootstrap import percentile_ci, resample_indices
from . import stats
from .calibrate import groups_of, infer_type

LEVELS = ("nominal", "ordinal", "interval", "ratio")
CATEGORICAL_STATS = ("alpha_nominal", "fleiss_kappa", "unanimous")
SHROUT_FLEISS = {"ICC(1,1)": "ICC1", "ICC(2,1)": "ICC(A,1)", "ICC(3,1)": "ICC(C,1)",
                 "ICC(1,k)": "ICC1k", "ICC(2,k)": "ICC(A,k)", "ICC(3,k)": "ICC(C,k)"}


def point_stats(data: np.ndarray, domain: np.ndarray) -> dict[str, float | None]:
    """data: raters x items (NaN where a rater did not rate the item). A figure that is 0/0 (one value
    throughout, as a resample can draw) is None."""
    import warnings

    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return _point_stats(data, domain)


def _point_stats(data, domain):
    import krippendorff

    out: dict[str, float | None] = {}
    for level in LEVELS:
        if level == "ratio" and domain.min() < 0:
            out["alpha_ratio"] = None  # ratio distances need values >= 0
            continue
        try:
            out[f"alpha_{level}"] = _finite(krippendorff.alpha(reliability_data=data, level_of_measurement=level,
                                                               value_domain=domain))
        except (ValueError, ZeroDivisionError):
            out[f"alpha_{level}"] = None
    rated = ~np.isnan(data)
    complete = data[:, rated.all(axis=0)].T  # items x raters
    if len(complete) >= 2:
        out["fleiss_kappa"] = _finite(stats.fleiss_kappa(stats.counts_table(complete)))
        forms = stats.icc(complete)
        for name, form in SHROUT_FLEISS.items():
            out[name] = _finite(forms[form])
    values = [col[~np.isnan(col)] for col in data.T]
    out["unanimous"] = float(np.mean([np.all(v == v[0]) for v in values])) if values else None
    return out


def _finite(x):
    return float(x) if x is not None and np.isfinite(x) else None


def agreement(ratings, raters=None, by="unit", value_type=None, resamples=1000, seed=0, items_of=None) -> list[dict]:
    """ratings: calibration Ratings. raters: whose agreement (default: every expert). items_of: keep only the
    items this rater rated (the ceiling on a judge's items). Returns one row per group."""
    by_group = defaultdict(lambda: defaultdict(dict))
    rated_by = defaultdict(set)
    for r in ratings:
        if r.value is None:
            continue
        rated_by[r.rater].add((r.item, r.unit))
        for g in groups_of(r.unit, r.source, r.tags, by):
            by_group[g][r.rater][(r.item, r.unit)] = r.value
    names = sorted(raters) if raters else sorted({r.rater for r in ratings if r.kind == "expert"})
    unknown = [n for n in names if n not in rated_by]
    if unknown:
        raise ValueError(f"no ratings by {', '.join(unknown)} (raters present: {', '.join(sorted(rated_by))})")
    if len(names) < 2:
        raise ValueError(f"agreement needs two or more raters, found {', '.join(names) or 'none'}")
    if items_of is not None and items_of not in rated_by:
        raise ValueError(f"no ratings by {items_of}")
    results = []
    for group in sorted(by_group):
        per = by_group[group]
        keys = sorted({k for n in names for k in per.get(n, {})
                       if sum(k in per.get(m, {}) for m in names) >= 2
                       and (items_of is None or k in rated_by[items_of])})
        if not keys:
            continue
        data = np.array([[per.get(n, {}).get(k, np.nan) for k in keys] for n in names], dtype=float)
        values = data[~np.isnan(data)]
        domain = np.unique(values)
        kind = value_type or infer_type(values)
        point = point_stats(data, domain)
        if kind in ("binary", "nominal"):  # distances and ICCs mean nothing between categories
            point = {k: v for k, v in point.items() if k in CATEGORICAL_STATS}
        draws = defaultdict(list)
        for idx in (resample_indices(len(keys), resamples, seed) if resamples else ()):
            for name, v in point_stats(data[:, idx], domain).items():
                if v is not None and name in point:
                    draws[name].append(v)
        found = {name: {"estimate": est, "ci": list(percentile_ci(draws[name])) if est is not None else [None, None]}
                 for name, est in point.items()}
        complete = int((~np.isnan(data)).all(axis=0).sum())
        results.append({"group": group, "raters": names, "items": len(keys), "items_all_raters": complete,
                        "ratings": int(values.size), "value_type": kind, "primary": primary_stat(kind),
                        "stats": found, "items_of": items_of})
    return results


def primary_stat(value_type: str) -> str:
    """The figure to lead with: alpha at the level the values are measured on."""
    level = {"binary": "nominal"}.get(value_type, value_type)
    return f"alpha_{level}"
