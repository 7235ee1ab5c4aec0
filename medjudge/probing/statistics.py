"""The statistics of `medjudge probe` (docs/PROBES.md): each probe's effect beside the rerun-noise baseline, with a
bootstrap CI over answers (all units of an answer move together), and the rule that names a verdict.

A unit enters only when every verdict it needs is scored; the rest are counted (a missing verdict moves no
number).
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from ..bootstrap import percentile_ci, resample_indices
from ..calibration.stats import clopper_pearson

# The decision rules (docs/PROBES.md, with the simulation that justifies them; tests/test_probe.py runs it). Each
# verdict needs its interval wholly on its side of the line; otherwise "no verdict", with the reason.
MIN_ANSWERS = 10  # fewer answers with usable units: no verdict
FLIP_MARGIN = 0.10  # robust: the probe changes at most 10 points more verdicts than a rerun does, beyond doubt
MISS_LIMIT = 0.10  # perturb: insensitive when the miss rate is above 1 in 10 beyond doubt, sensitive when below
SELF_MARGIN = 0.10  # self-preference: none shown beyond doubt when the excess is under 10% of the value range


def _clusters(rows, columns):
    """Per answer, the sums of each column (and the unit count): arrays [clusters x (1 + columns)]."""
    sums = defaultdict(lambda: np.zeros(1 + len(columns)))
    for r in rows:
        s = sums[r["answer"]]
        s[0] += 1
        for i, c in enumerate(columns, 1):
            s[i] += r[c]
    return np.array(list(sums.values())) if sums else np.zeros((0, 1 + len(columns)))


def _ci(table, stat, resamples, seed):
    if len(table) == 0 or resamples <= 0:
        return [None, None]
    idx = resample_indices(len(table), resamples, seed)
    boot = [stat(table[i].sum(axis=0)) for i in idx]
    return list(percentile_ci(np.array(boot)))


def flip_effect(rows, resamples=1000, seed=0) -> dict:
    """rows: {answer, original, probe, rerun} per unit. The share of verdicts the probe changes minus the share a
    rerun with another seed changes; 'sensitive' when the CI of that difference lies above 0. Also the mean
    shift of the value (probe - original), which says in which direction."""
    used = [r for r in rows if None not in (r["original"], r["probe"], r["rerun"])]
    data = [{"answer": r["answer"], "flip": float(r["probe"] != r["original"]),
             "noise": float(r["rerun"] != r["original"]), "shift": r["probe"] - r["original"]} for r in used]
    table = _clusters(data, ["flip", "noise", "shift"])
    total = table.sum(axis=0) if len(table) else np.zeros(4)

    def effect(s):
        return (s[1] - s[2]) / s[0]

    out = {"units": len(rows), "used": len(used), "unscored": len(rows) - len(used), "answers": len(table),
           "flip_rate": total[1] / total[0] if total[0] else None,
           "noise_flip_rate": total[2] / total[0] if total[0] else None,
           "effect": effect(total) if total[0] else None, "ci": _ci(table, effect, resamples, seed),
           "shift": total[3] / total[0] if total[0] else None,
           "shift_ci": _ci(table, lambda s: s[3] / s[0], resamples, seed + 1)}
    if _zero_width(out["ci"]):  # every answer alike: the exact intervals of the two rates instead
        n = int(total[0])
        flip, noise = clopper_pearson(int(total[1]), n), clopper_pearson(int(total[2]), n)
        out["ci"] = [flip[0] - noise[1], flip[1] - noise[0]]
        out["ci_method"] = "exact (Clopper-Pearson) bounds of the two rates: the bootstrap had no width"
    out["verdict"], out["why"] = decide(out["ci"], len(table), ("sensitive", 0.0), ("robust", FLIP_MARGIN))
    return out


def miss_effect(rows, resamples=1000, seed=0) -> dict:
    """rows: {answer, original, target, probe} per must-flip edit. Detected when the verdict moved toward the
    target; 'insensitive' when the CI of the miss rate lies above MISS_LIMIT."""
    used = [r for r in rows if r["original"] is not None and r["probe"] is not None]
    data = [{"answer": r["answer"], "miss": float(not _toward(r["original"], r["target"], r["probe"]))} for r in used]
    table = _clusters(data, ["miss"])
    total = table.sum(axis=0) if len(table) else np.zeros(2)
    out = {"units": len(rows), "used": len(used), "unscored": len(rows) - len(used), "answers": len(table),
           "miss_rate": total[1] / total[0] if total[0] else None,
           "ci": _ci(table, lambda s: s[1] / s[0], resamples, seed)}
    if _zero_width(out["ci"]):  # every edit caught (or every one missed): the exact interval of the rate
        out["ci"] = list(clopper_pearson(int(total[1]), int(total[0])))
        out["ci_method"] = "exact (Clopper-Pearson): the bootstrap had no width"
    out["verdict"], out["why"] = decide(out["ci"], len(table), ("insensitive", MISS_LIMIT),
                                        ("sensitive to errors", MISS_LIMIT))
    return out


def _toward(original, target, probe) -> bool:
    return probe != original and np.sign(probe - original) == np.sign(target - original)


def self_preference(rows, resamples=1000, seed=0, value_range: float = 1.0) -> dict:
    """rows: {answer, own (the answer comes from the judge's model family), judge, reference} per unit, where
    reference is the experts' (or the other judges') value. How much more the judge over-rates its own family's
    answers than the others': mean(judge - reference | own) - mean(judge - reference | other); 'self-preferring'
    when the CI lies above 0 (resampled within own and other answers)."""
    used = [r for r in rows if r["judge"] is not None and r["reference"] is not None]
    own = _clusters([{"answer": r["answer"], "d": r["judge"] - r["reference"]} for r in used if r["own"]], ["d"])
    other = _clusters([{"answer": r["answer"], "d": r["judge"] - r["reference"]} for r in used if not r["own"]], ["d"])
    out = {"units": len(rows), "used": len(used), "own_units": int(own[:, 0].sum()) if len(own) else 0,
           "other_units": int(other[:, 0].sum()) if len(other) else 0, "effect": None, "ci": [None, None]}
    if len(own) == 0 or len(other) == 0:
        out["verdict"], out["why"] = "no verdict", "no answers of the judge's own family, or none of the others"
        return out
    a, b = own.sum(axis=0), other.sum(axis=0)
    out["own_excess"], out["other_excess"] = a[1] / a[0], b[1] / b[0]
    out["effect"] = out["own_excess"] - out["other_excess"]
    if resamples > 0:
        ia, ib = resample_indices(len(own), resamples, seed), resample_indices(len(other), resamples, seed + 1)
        boot = []
        for x, y in zip(ia, ib):
            sa, sb = own[x].sum(axis=0), other[y].sum(axis=0)
            boot.append(sa[1] / sa[0] - sb[1] / sb[0])
        out["ci"] = list(percentile_ci(np.array(boot)))
    if _zero_width(out["ci"]):  # every unit alike in each group: widen by the exact bound of an unseen difference
        w = value_range * max(clopper_pearson(0, out["own_units"])[1], clopper_pearson(0, out["other_units"])[1])
        out["ci"] = [out["effect"] - w, out["effect"] + w]
        out["ci_method"] = "the exact (Clopper-Pearson) bound of a difference never seen: the bootstrap had no width"
    out["verdict"], out["why"] = decide(out["ci"], min(len(own), len(other)), ("self-preferring", 0.0),
                                        ("no self-preference", SELF_MARGIN * value_range))
    return out


def _zero_width(ci) -> bool:
    return ci[0] is not None and ci[1] is not None and ci[1] - ci[0] < 1e-12


def decide(ci, answers: int, above: tuple[str, float], below: tuple[str, float]) -> tuple[str, str]:
    """(verdict, why). `above` = (name, line) when the whole 95% CI lies above its line; `below` when it lies below
    its line; else no verdict. Too few answers (MIN_ANSWERS) or an interval without width: no verdict."""
    if answers < MIN_ANSWERS:
        return "no verdict", f"{answers} answers with usable units (a verdict needs {MIN_ANSWERS})"
    if ci is None or ci[0] is None:
        return "no verdict", "no confidence interval (--resamples 0)"
    lo, hi = ci
    if hi - lo < 1e-12:
        return "no verdict", "the interval has no width: every answer gave the same value"
    if lo > above[1]:
        return above[0], f"CI lower bound {lo:.3f} > {above[1]:g}"
    if hi < below[1]:
        return below[0], f"CI upper bound {hi:.3f} < {below[1]:g}"
    return "no verdict", (f"the CI [{lo:.3f}, {hi:.3f}] lies neither above {above[1]:g} nor below {below[1]:g}: "
                          "probe more answers")
