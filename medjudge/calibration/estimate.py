"""`medjudge sample` and `medjudge estimate`: draw units for physicians, then correct the judge's figure
with their labels (prediction-powered inference, calibration/ppi.py; docs/ESTIMATE.md)."""

from __future__ import annotations

import csv

import numpy as np

from ..errors import MedjudgeError
from ..inputs import last_question
from ..labels.identity import for_run
from . import ppi
from .stats import clopper_pearson

MIN_LABELS = 10  # a group with fewer expert labels gets no experts-only or corrected interval (docs/ESTIMATE.md)


def judged_units(run) -> dict:
    """{(answer, unit): (item, unit, value)} for every unit the panel scored."""
    out = {}
    for it, units, results in run.units():
        for u in units:
            a = results[u.id]
            if a is not None and a.value is not None:
                out[(it.id, u.id)] = (it, u, a.value)
    return out


def uniform(keys: list, n: int, seed: int) -> tuple[list, float]:
    """n of the (sorted) keys drawn uniformly without replacement (seeded), and each one's inclusion probability."""
    return [keys[i] for i in sorted(np.random.default_rng(seed).choice(len(keys), n, replace=False))], n / len(keys)


def draw(store, run, n: int, name: str, seed: int = 0, output=None) -> dict:
    """A uniform random sample of n scored units, stored under `name` with its inclusion probability;
    with `output`, a CSV for the physicians (item_id, unit_id, rater, value to fill, the text to judge)."""
    units = judged_units(run)
    keys = sorted(units)
    if not 1 <= n <= len(keys):
        raise MedjudgeError(f"--n must be between 1 and the {len(keys)} scored units of run {run.id}")
    picked, prob = uniform(keys, n, seed)
    store.save_sample(run.id, name, {k: prob for k in picked}, seed)
    if output:
        with open(output, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["item_id", "unit_id", "rater", "value", "unit", "question", "answer"])
            for k in picked:
                it, u, _ = units[k]
                w.writerow([k[0], k[1], "", "", run.rubric.unit_info(u).get("text", ""), last_question(it), it.answer])
    return {"name": name, "units": n, "of": len(keys), "prob": prob, "seed": seed}


def expert_values(store, run, transform, raters=None) -> dict:
    """{(answer, unit): mean over the experts (or the raters named) of the transformed label}, for the labels on
    this run's answers (labels/identity.py)."""
    return for_run(store, run, raters, experts_only=not raters).values(transform)


def corrected(store, run, labels: str, by: str | None = None, alpha: float = 0.05, raters=None) -> dict:
    """Judge-only, experts-only and corrected estimates, overall and per group, with the counts that say
    which labels were used and which were kept out."""
    sample = store.sample(run.id, labels)
    if not sample:
        names = store.sample_names(run.id)
        raise MedjudgeError(f"run {run.id} has no sample {labels!r}" + (f" (samples: {', '.join(names)})" if names else
                            ": draw one with `medjudge sample RUN_ID --n N`, and have physicians label it"))
    if any(p is None for p in sample.values()):
        raise MedjudgeError(f"sample {labels!r} of run {run.id} was targeted (chosen where the judges disagreed or "
                            "flagged harm), not drawn at random: its labels cannot correct an estimate. Label a random "
                            f"sample (medjudge review {run.id} --sample random, or medjudge sample)")
    name, transform = run.rubric.estimand()
    units = judged_units(run)
    f = {k: transform(v) for k, (_, _, v) in units.items()}
    joined = for_run(store, run, raters, experts_only=not raters)
    y = joined.values(transform)
    by = by or ("unit" if run.rubric.fixed_units() else "none")
    labelled = {k for k in sample if k in y and k in f}
    counts = {"judged": len(f), "sampled": len(sample), "labelled": len(labelled),
              "sampled_not_labelled": len([k for k in sample if k not in y]),
              "sampled_not_scored": len([k for k in sample if k not in f]),
              "labels_outside_sample": len([k for k in y if k in f and k not in sample]),
              "labels_ambiguous": joined.counts["ambiguous"]}
    targeted = {k for other in store.sample_names(run.id) for k, p in store.sample(run.id, other).items() if p is None}
    counts["targeted_kept_out"] = len([k for k in y if k not in sample and k in targeted])
    uniform = len(set(sample.values())) == 1
    groups = {"all": list(f)}
    if by != "none":
        split = {}
        for k in f:
            g = _group(k, units[k], by)
            split.setdefault(f"{by} all" if g == "all" else g, []).append(k)  # a unit named "all" keeps its row
        if len(split) > 1:  # one group is "all" again
            groups.update(split)
    bounds = value_bounds(run.rubric, transform, units)
    rows = []
    for g, keys in groups.items():
        lab = [k for k in keys if k in labelled]
        unl = [k for k in keys if k not in labelled]
        judge_only = within(ppi.classical_mean([f[k] for k in keys], alpha, "judge only"), bounds)
        experts_only = ppi.classical_mean([y[k] for k in lab], alpha, "experts only")
        if uniform:
            corrected = ppi.ppi_mean([y[k] for k in lab], [f[k] for k in lab], [f[k] for k in unl], alpha)
        else:
            corrected = ppi.ipw_mean([f[k] for k in keys], [k in labelled for k in keys],
                                     [y.get(k, np.nan) if k in labelled else np.nan for k in keys],
                                     [sample.get(k, 1.0) for k in keys], alpha)
        experts_only = checked(experts_only, [y[k] for k in lab], bounds, alpha)
        corrected = checked(corrected, [y[k] for k in lab], bounds, alpha, exact=False)
        rows.append({"group": g, "units": len(keys), "labelled": len(lab), "judge_only": judge_only.to_dict(),
                     "experts_only": experts_only.to_dict(), "corrected": corrected.to_dict(),
                     "labels_worth": ppi.effective_labels(corrected, experts_only)})
    return {"run": run.id, "labels": labels, "estimand": name, "by": by, "alpha": alpha, "uniform": uniform,
            "min_labels": MIN_LABELS, "bounds": list(bounds), "counts": counts, "rows": rows}


def estimand_values(rubric, transform, units) -> set:
    """Every value the estimand can take on these units (judged_units' {(answer, unit): (item, unit, value)})."""
    return {transform(v) for _, u, _ in units.values() for v in rubric.values(u)}


def value_bounds(rubric, transform, units) -> tuple[float, float]:
    """The range the estimand can take on these units."""
    values = estimand_values(rubric, transform, units)
    return (min(values), max(values)) if values else (-np.inf, np.inf)


def within(iv: ppi.Interval, bounds) -> ppi.Interval:
    """The interval cut to the range the quantity can take (the truth lies in it, so coverage is kept)."""
    if iv.ci[0] is None:
        return iv
    lo, hi = max(iv.ci[0], bounds[0]), min(iv.ci[1], bounds[1])
    note = iv.note or (f"cut to the range {bounds[0]:g}..{bounds[1]:g}" if (lo, hi) != tuple(iv.ci) else None)
    return ppi.Interval(iv.method, iv.estimate, (lo, hi), iv.se, iv.n, iv.lam, note)


def checked(iv: ppi.Interval, labels: list, bounds, alpha: float, exact: bool = True) -> ppi.Interval:
    """No interval from fewer than MIN_LABELS labels; where the labels are all alike (a zero-width normal
    interval), the exact (Clopper-Pearson) interval for a yes/no quantity, else none; always within bounds."""
    def none(why):
        return ppi.Interval(iv.method, iv.estimate, (None, None), None, iv.n, iv.lam, why)

    if len(labels) < MIN_LABELS:
        return none(f"{len(labels)} labels: too few for an interval (need {MIN_LABELS})")
    if iv.se is not None and iv.se <= 1e-12:
        if not exact or not set(labels) <= {0.0, 1.0}:
            return none("the labels are all alike: no interval has a width to show")
        k = int(round(sum(labels)))
        lo, hi = clopper_pearson(k, len(labels), alpha)
        return ppi.Interval(iv.method, iv.estimate, (lo, hi), None, iv.n, iv.lam,
                            "exact (Clopper-Pearson): the labels are all alike")
    return within(iv, bounds)


def plan(store, run, half_width: float, labels: str | None = None, disagreement: float | None = None,
         alpha: float = 0.05) -> dict:
    """Expert labels needed for a CI half-width, from the judge's spread and the judge-expert disagreement:
    measured on a labelled pilot sample (`labels`), or assumed (`disagreement`, for yes/no quantities)."""
    name, transform = run.rubric.estimand()
    units = judged_units(run)
    f = {k: transform(v) for k, (_, _, v) in units.items()}
    if not f:
        raise MedjudgeError(f"run {run.id} has no scored units to plan labels for")
    if labels:
        sample = store.sample(run.id, labels)
        y = expert_values(store, run, transform)
        lab = [k for k in sample if k in y and k in f]
        if len(lab) < MIN_LABELS:
            raise MedjudgeError(f"sample {labels!r} has {len(lab)} labelled units: a pilot needs {MIN_LABELS} or more "
                                "(or give --disagreement)")
        yl, fl = np.array([y[k] for k in lab]), np.array([f[k] for k in lab])
        lam = ppi.power_tuning(yl, fl, np.array([f[k] for k in f if k not in sample]))
        rect, source = float(np.var(yl - lam * fl)), f"pilot sample {labels!r} ({len(lab)} labels)"
    elif disagreement is not None:
        if not 0 <= disagreement <= 1:
            raise MedjudgeError("--disagreement must be a share between 0 and 1")
        if not estimand_values(run.rubric, transform, units) <= {0.0, 1.0}:
            raise MedjudgeError(f"--disagreement is a rate for yes/no quantities; the {name} of rubric "
                                f"{run.rubric.id} is not one: plan from a labelled pilot (--labels NAME)")
        lam, rect, source = 1.0, disagreement, f"an assumed disagreement rate of {disagreement:.0%}"
    else:
        raise MedjudgeError("--plan needs a pilot (--labels NAME) or an assumed --disagreement rate")
    needed = ppi.labels_needed(half_width, list(f.values()), rect, lam, alpha)
    every = needed is None or needed >= len(f)  # labelling every judged unit gives their mean exactly
    return {"run": run.id, "estimand": name, "half_width": half_width, "alpha": alpha, "from": source, "lam": lam,
            "labels_needed": len(f) if every else needed, "label_every_unit": every, "judged": len(f)}


def _group(key, unit_triplet, by):
    it, u, _ = unit_triplet
    if by in ("unit", "criterion", "dimension"):
        return key[1]
    if by == "source":
        return it.source or "(none)"
    if by == "tag":
        tags = list(getattr(u, "tags", [])) + list(it.tags)
        return tags[0] if tags else "(untagged)"
    raise MedjudgeError(f"--by must be unit, source, tag or none, not {by!r}")
