"""`medjudge sample` and `medjudge estimate`: draw units for physicians, then correct the judge's figure
with their labels (prediction-powered inference, calibration/ppi.py; docs/ESTIMATE.md)."""

from __future__ import annotations

import numpy as np

from ..errors import MedjudgeError
from ..labels.identity import for_run
from . import ppi, sampling
from .sampling import judged_units, stratum_of
from .stats import clopper_pearson

RECOMMEND_SAVING = 0.15  # --plan recommends another strategy than uniform where it saves this share of the labels
MIN_LABELS = 10  # a group with fewer expert labels gets no experts-only or corrected interval (docs/ESTIMATE.md)


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
    design = store.sample_design(run.id, labels)
    uniform = len(set(sample.values())) == 1
    strategy = design.get("strategy") or ("uniform" if uniform else "weighted")
    if strategy == "stratified":
        stratum = {k: stratum_of(k, units[k], design["strata"]) for k in f}
    groups = {"all": list(f)}
    if by != "none":
        split = {}
        for k in f:
            g = stratum_of(k, units[k], by)
            split.setdefault(f"{by} all" if g == "all" else g, []).append(k)  # a unit named "all" keeps its row
        if len(split) > 1:  # one group is "all" again
            groups.update(split)
    bounds = value_bounds(run.rubric, transform, units)
    rows = []
    for g, keys in groups.items():
        lab = [k for k in keys if k in labelled]
        unl = [k for k in keys if k not in labelled]
        judge_only = within(ppi.classical_mean([f[k] for k in keys], alpha, "judge only"), bounds)
        if strategy == "stratified":
            parts = [(len(ks), [y[k] for k in ks if k in labelled], [f[k] for k in ks if k in labelled],
                      [f[k] for k in ks if k not in labelled])
                     for ks in sampling.group_by(keys, stratum.__getitem__).values()]
            experts_only = ppi.stratified_mean(parts, alpha, 0.0, "experts only (stratified)")
            corrected = ppi.stratified_mean(parts, alpha)
        elif uniform:
            experts_only = ppi.classical_mean([y[k] for k in lab], alpha, "experts only")
            corrected = ppi.ppi_mean([y[k] for k in lab], [f[k] for k in lab], [f[k] for k in unl], alpha)
        else:  # active, or any unequal probabilities: each label weighted by 1 / its probability
            args = ([f[k] for k in keys], [k in labelled for k in keys],
                    [y.get(k, np.nan) if k in labelled else np.nan for k in keys], [sample.get(k, 1.0) for k in keys])
            experts_only = ppi.ipw_mean(*args, alpha, 0.0, "experts only (weighted)")
            corrected = ppi.ipw_mean(*args, alpha)
        experts_only = checked(experts_only, [y[k] for k in lab], bounds, alpha)
        corrected = checked(corrected, [y[k] for k in lab], bounds, alpha, exact=False)
        rows.append({"group": g, "units": len(keys), "labelled": len(lab), "judge_only": judge_only.to_dict(),
                     "experts_only": experts_only.to_dict(), "corrected": corrected.to_dict(),
                     "labels_worth": ppi.effective_labels(corrected, experts_only)})
    return {"run": run.id, "labels": labels, "estimand": name, "by": by, "alpha": alpha, "uniform": uniform,
            "strategy": strategy, "strata": design.get("strata"),
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
         alpha: float = 0.05, by: str | None = None) -> dict:
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
        if any(sample[k] is None for k in lab):
            raise MedjudgeError(f"sample {labels!r} was targeted, not drawn at random: its errors say nothing of the "
                                "other units, so it cannot be a pilot for --plan")
        room = (half_width / ppi.z_value(alpha)) ** 2 - lam ** 2 * float(np.var(list(f.values()), ddof=1)) / len(f)
        if room > 0:
            designs = sampling.compare_designs(run, units, f, {k: y[k] - lam * f[k] for k in lab},
                                               {k: 1 / sample[k] for k in lab}, room,
                                               by or sampling.default_strata(units))
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
    out = {"run": run.id, "estimand": name, "half_width": half_width, "alpha": alpha, "from": source, "lam": lam,
           "labels_needed": len(f) if every else needed, "label_every_unit": every, "judged": len(f),
           "strategies": None, "recommended": None}
    if labels and not every and room > 0:
        out["strategies"] = designs
        out["recommended"] = recommend(designs)
    return out


def recommend(designs: dict) -> str:
    """The strategy needing the fewest labels, uniform unless another saves at least RECOMMEND_SAVING of them
    (a pilot's estimate of the saving is itself noisy; uniform is the simplest to run and to explain)."""
    base = designs["uniform"]["labels"]
    best = min((d["labels"], s) for s, d in designs.items() if d.get("labels") is not None)
    return best[1] if best[0] <= (1 - RECOMMEND_SAVING) * base else "uniform"
