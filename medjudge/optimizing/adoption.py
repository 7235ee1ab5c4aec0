"""Before vs after on held-out items: the gain in the rubric kind's metric with a paired bootstrap CI, per
group, and the rule that adopts an optimised judge program (docs/OPTIMIZE.md).

Only units both programs scored are compared (a missing verdict moves no number); each program's coverage is
shown beside, and an optimised program that leaves more units unscored is not adopted.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..bootstrap import resample_indices
from .optimizers import metric_value

MAX_GROUP_LOSS = 0.02


def gain(rows, rubric, costs=None, resamples: int = 1000, seed: int = 0, group_of=None) -> dict:
    """rows: (labelled unit, value before or None, value after or None). Resampled by question (cluster)."""
    rows = [r for r in rows if r[0].gold is not None]
    both = [r for r in rows if r[1] is not None and r[2] is not None]

    def m(subset, i):
        return metric_value(((r[0].unit, r[i], r[0].gold) for r in subset), rubric, costs)

    out = {"metric": rubric.metric_name, "units": len(rows), "paired": len(both),
           "coverage_before": _share(sum(r[1] is not None for r in rows), len(rows)),
           "coverage_after": _share(sum(r[2] is not None for r in rows), len(rows)),
           "before": m(both, 1), "after": m(both, 2)}
    out["gain"] = None if out["before"] is None else out["after"] - out["before"]
    out["ci"] = _paired_ci(both, m, resamples, seed) if both else [None, None]
    group_of = group_of or (lambda r: r[0].unit.id)
    groups = defaultdict(list)
    for r in both:
        groups[group_of(r)].append(r)
    out["groups"] = [{"group": g, "n": len(rs), "before": m(rs, 1), "after": m(rs, 2),
                      "change": m(rs, 2) - m(rs, 1)} for g, rs in sorted(groups.items())]
    return out


def _share(n, d):
    return n / d if d else None


def _paired_ci(both, m, resamples, seed):
    if resamples <= 0:
        return [None, None]
    clusters = defaultdict(list)
    for r in both:
        clusters[r[0].group].append(r)
    keys = sorted(clusters)
    diffs = []
    for idx in resample_indices(len(keys), resamples, seed):  # whole questions, with replacement
        sample = [r for k in idx for r in clusters[keys[k]]]
        diffs.append(m(sample, 2) - m(sample, 1))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return [float(lo), float(hi)]


def adoption(g: dict) -> tuple[bool, list[str]]:
    """Adopted only when the gain's CI lower bound is above 0, no group loses more than 0.02 and coverage does
    not fall; otherwise the reasons why not."""
    why = []
    lo = g["ci"][0]
    if lo is None:
        why.append("no confidence interval for the gain (no paired units, or --resamples 0)")
    elif lo <= 0:
        why.append(f"the gain's 95% CI [{lo:.3f}, {g['ci'][1]:.3f}] does not exclude 0")
    losers = [x for x in g["groups"] if x["change"] < -MAX_GROUP_LOSS]
    if losers:
        worst = min(losers, key=lambda x: x["change"])
        why.append(f"{len(losers)} group(s) lose more than {MAX_GROUP_LOSS} (worst: {worst['group']} "
                   f"{worst['before']:.3f} -> {worst['after']:.3f}, n={worst['n']})")
    cb, ca = g["coverage_before"], g["coverage_after"]
    if cb is not None and ca is not None and ca < cb:
        why.append(f"coverage falls from {cb:.1%} to {ca:.1%}: the optimised program leaves more units unscored")
    return not why, why
