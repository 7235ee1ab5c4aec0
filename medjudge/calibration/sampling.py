"""`medjudge sample`: which judged units physicians label, drawn so that their labels correct the judge's figure
with valid intervals (calibration/estimate.py) while spending labels where the judge errs (docs/ESTIMATE.md).

- uniform: n units at random without replacement; each unit's inclusion probability is n / N.
- stratified (stratified PPI, Fisch et al. 2024): the units split into strata by --by (unit/criterion, source or
  tag); stratum h gets n_h labels in proportion to N_h x S_h (Neyman allocation), with at least MIN_PER_STRATUM
  (or all its units), S_h the spread of the judge's error on a labelled pilot (--pilot: the standard deviation of
  expert - judge in the stratum), else the judge's own spread there (the standard deviation of its verdicts);
  units drawn without replacement within each stratum, probability n_h / N_h.
- active (active statistical inference, Zrnic & Candes 2024): each unit drawn on its own (Poisson sampling) with
  probability pi_i = n x (TAU / N + (1 - TAU) x w_i / sum(w)), capped at 1, w_i = sqrt of the judge's uncertainty
  on the unit (panel disagreement: the share of votes away from the majority for categories, the mean distance
  of the votes from their median over the value range otherwise), or with a pilot the root mean squared judge
  error in the unit's band of uncertainty. TAU of the budget is spread evenly, so every unit can be drawn; about n
  units are drawn (their number varies from seed to seed).

Every sample stores each drawn unit's inclusion probability, the strategy, the strata and the seed.
"""

from __future__ import annotations

import numpy as np

from ..errors import MedjudgeError
from ..inputs import last_question
from ..labels.identity import for_run

STRATEGIES = ("uniform", "stratified", "active")
MIN_PER_STRATUM = 10  # labels a stratum gets at least (all its units when it has fewer): as estimate.MIN_LABELS
TAU = 0.7  # share of an active sample's budget spread evenly over the units (the floor of every probability)
BANDS = 4  # bands of uncertainty over which a pilot's errors are averaged (active with --pilot)


def uniform(keys: list, n: int, seed: int) -> tuple[list, float]:
    """n of the (sorted) keys drawn uniformly without replacement (seeded), and each one's inclusion probability."""
    return [keys[i] for i in sorted(np.random.default_rng(seed).choice(len(keys), n, replace=False))], n / len(keys)


def neyman(sizes, spreads, n: int, minimum: int = MIN_PER_STRATUM) -> np.ndarray:
    """Labels per stratum: Neyman allocation n_h = n N_h S_h / sum(N S) within bounds, at least min(minimum, N_h)
    and at most N_h (a stratum pushed to a bound is fixed there, the rest re-allocated among the others), then
    rounded by largest remainders. Strata without spread anywhere share in proportion to their size."""
    sizes = np.asarray(sizes, dtype=int)
    spreads = np.clip(np.nan_to_num(np.asarray(spreads, dtype=float)), 0, None)
    if n > sizes.sum():
        raise MedjudgeError(f"--n {n} is more than the {int(sizes.sum())} units to draw from")
    low_bound = np.minimum(sizes, minimum)
    if low_bound.sum() > n:
        raise MedjudgeError(f"--n {n} cannot give each of the {len(sizes)} strata its {minimum} labels: "
                            f"give --n {int(low_bound.sum())} or more, or fewer strata (--by)")
    weight = sizes * spreads if (sizes * spreads).sum() > 0 else sizes.astype(float)
    ideal = np.zeros(len(sizes))
    fixed = np.zeros(len(sizes), dtype=bool)
    while True:
        free = ~fixed
        remaining = n - ideal[fixed].sum()
        total = weight[free].sum()
        ideal[free] = remaining * weight[free] / total if total > 0 else remaining * sizes[free] / sizes[free].sum()
        low, high = free & (ideal < low_bound), free & (ideal > sizes)
        if not (low.any() or high.any()):
            break
        ideal[low], ideal[high] = low_bound[low], sizes[high]
        fixed |= low | high
    alloc = np.floor(ideal + 1e-9).astype(int)
    for h in np.argsort(-(ideal - alloc), kind="stable"):
        if alloc.sum() >= n:
            break
        if alloc[h] < sizes[h]:
            alloc[h] += 1
    return alloc


def active_probabilities(weights, n: float, tau: float = TAU) -> np.ndarray:
    """pi_i = n x (tau / N + (1 - tau) x w_i / sum(w)), capped at 1 with the excess moved to the others, so
    that sum(pi) = n: about n units drawn, every one with a chance of at least tau x n / N."""
    w = np.clip(np.nan_to_num(np.asarray(weights, dtype=float)), 0, None)
    big_n = len(w)
    share = w / w.sum() if w.sum() > 0 else np.full(big_n, 1 / big_n)
    pi = n * (tau / big_n + (1 - tau) * share)
    for _ in range(big_n):
        over = pi > 1
        if not over.any():
            break
        excess = float((pi[over] - 1).sum())
        pi[over] = 1.0
        free = pi < 1
        if not free.any():
            break
        pi[free] += excess * pi[free] / pi[free].sum()
    return np.minimum(pi, 1.0)


def disagreement(values: list, value_type: str, span: float) -> float:
    """A unit's uncertainty from its votes (judges x samples; None: unscored, counted as away from the rest)."""
    if len(values) < 2:
        return 0.0
    scored = [v for v in values if v is not None]
    missing = (len(values) - len(scored)) / len(values)
    if not scored:
        return 1.0
    if value_type in ("binary", "nominal"):
        top = max(scored.count(v) for v in set(scored))
        return missing + (1 - missing) * (1 - top / len(scored))
    median = float(np.median(scored))
    return missing + (1 - missing) * float(np.mean([abs(v - median) for v in scored])) / (span or 1.0)


def uncertainties(run, units: dict, keys: list) -> np.ndarray | None:
    """Each unit's panel disagreement (0 where every vote agrees); None when no unit has two votes."""
    votes = run.unit_votes()
    if not any(len(v) > 1 for v in votes.values()):
        return None
    rubric = run.rubric
    out = []
    for k in keys:
        values = rubric.values(units[k][1])
        span = (max(values) - min(values)) if values else 1.0
        out.append(disagreement(votes.get(k, []), rubric.value_type, span))
    return np.array(out)


def stratum_of(key, unit_triplet, by: str) -> str:
    """The stratum (or reporting group) of a unit: its unit id, its answer's source, or its first tag."""
    it, u, _ = unit_triplet
    if by in ("unit", "criterion", "dimension"):
        return key[1]
    if by == "source":
        return it.source or "(none)"
    if by == "tag":
        tags = list(getattr(u, "tags", [])) + list(it.tags)
        return tags[0] if tags else "(untagged)"
    raise MedjudgeError(f"--by must be unit, source, tag or none, not {by!r}")


def default_strata(units: dict) -> str:
    """What a stratified draw splits by unless told: the units (criteria, dimensions) where a rubric has several,
    else the answers' source."""
    return "unit" if len({k[1] for k in units}) > 1 else "source"


def judged_units(run) -> dict:
    """{(answer, unit): (item, unit, value)} for every unit the panel scored."""
    out = {}
    for it, units, results in run.units():
        for u in units:
            a = results[u.id]
            if a is not None and a.value is not None:
                out[(it.id, u.id)] = (it, u, a.value)
    return out


def pilot_errors(store, run, pilot: str, f: dict, transform) -> dict:
    """{unit: expert - judge} on the labelled units of a pilot sample (any sample: it only guides allocation)."""
    drawn = store.sample(run.id, pilot)
    if not drawn:
        raise MedjudgeError(f"run {run.id} has no sample {pilot!r} to use as a pilot")
    y = for_run(store, run, None, experts_only=True).values(transform)
    errors = {k: y[k] - f[k] for k in drawn if k in y and k in f}
    if len(errors) < 2:
        raise MedjudgeError(f"pilot sample {pilot!r} has {len(errors)} labelled units: it needs 2 or more")
    return errors


def group_by(keys, of) -> dict:
    """{group: [keys in it, in order]}, groups in the order they first appear; `of(key)` names a key's group."""
    out: dict = {}
    for k in keys:
        out.setdefault(of(k), []).append(k)
    return out


def spreads_by_stratum(strata: dict, f: dict, errors: dict | None) -> dict:
    """S_h: the standard deviation of the pilot's errors in the stratum (2 or more of them; else over the whole
    pilot), or without a pilot the standard deviation of the judge's verdicts in the stratum. strata:
    {stratum: [units]}."""
    out = {}
    for h, members in strata.items():
        if errors is None:
            out[h] = float(np.std([f[k] for k in members]))
        else:
            e = [errors[k] for k in members if k in errors]
            out[h] = float(np.std(e if len(e) >= 2 else list(errors.values())))
    return out


def error_by_band(u: np.ndarray, keys, errors: dict) -> np.ndarray:
    """Root mean squared pilot error in each unit's band of uncertainty (quantile bands; the whole pilot's where a
    band has fewer than 2 labels)."""
    u = np.asarray(u, dtype=float)
    edges = np.unique(np.quantile(u, np.linspace(0, 1, BANDS + 1)[1:-1]))
    band = np.searchsorted(edges, u, side="right")
    index = {k: i for i, k in enumerate(keys)}
    overall = float(np.mean(np.square(list(errors.values()))))
    out = np.empty(len(keys))
    for b in np.unique(band):
        e = [errors[k] ** 2 for k in errors if k in index and band[index[k]] == b]
        out[band == b] = np.mean(e) if len(e) >= 2 else overall
    return np.sqrt(out)


def choose(run, units: dict, f: dict, n: int, seed: int, strategy: str, by: str | None, errors: dict | None) -> dict:
    """{(answer, unit): inclusion probability} for the units drawn, and how (strategy, strata, allocation); f is
    each unit's estimand value."""
    keys = sorted(units)
    rng = np.random.default_rng(seed)
    if strategy == "uniform":
        picked, prob = uniform(keys, n, seed)
        return {"chosen": dict.fromkeys(picked, prob), "by": None, "allocation": None}
    if strategy == "stratified":
        strata = group_by(keys, lambda k: stratum_of(k, units[k], by))
        spread = spreads_by_stratum(strata, f, errors)
        names = list(strata)
        sizes = [len(strata[h]) for h in names]
        alloc = neyman(sizes, [spread[h] for h in names], n)
        chosen = {}
        for h, size, take in zip(names, sizes, alloc):
            members = strata[h]
            for i in sorted(rng.choice(size, int(take), replace=False)):
                chosen[members[i]] = int(take) / size
        return {"chosen": chosen, "by": by, "allocation": {h: [int(t), s] for h, s, t in zip(names, sizes, alloc)}}
    if strategy == "active":
        u = uncertainties(run, units, keys)
        if u is None and errors is None:
            raise MedjudgeError(f"run {run.id} has one vote a unit: active sampling needs the judge's uncertainty "
                                "(two or more judges, or --samples 2 or more when grading) or a labelled --pilot; "
                                "use --strategy stratified or uniform")
        if errors:
            mean = float(np.mean(list(errors.values())))
            weights = error_by_band(u if u is not None else np.zeros(len(keys)), keys,
                                    {k: e - mean for k, e in errors.items()})
        else:
            weights = np.sqrt(u)
        pi = active_probabilities(weights, n)
        drawn = rng.random(len(keys)) < pi
        return {"chosen": {k: float(p) for k, p, d in zip(keys, pi, drawn) if d}, "by": None, "allocation": None}
    raise MedjudgeError(f"--strategy must be one of {', '.join(STRATEGIES)}, not {strategy!r}")


def draw(store, run, n: int | None, name: str, seed: int = 0, output=None, strategy: str = "uniform",
         by: str | None = None, pilot: str | None = None, at_most: bool = False) -> dict:
    """Draw units of a run for expert labels and store them under `name` with each one's inclusion probability,
    the strategy and the strata; with `output`, a CSV for the physicians (item_id, unit_id, rater, value to fill,
    the text to judge, and how the unit was drawn). `at_most` (the review page): n is cut to the scored units,
    and None means all of them."""
    import csv

    units = judged_units(run)
    keys = sorted(units)
    if not keys:
        raise MedjudgeError(f"run {run.id} has no scored units to draw from")
    if at_most:
        n = min(n or len(keys), len(keys))
    if n is None or not 1 <= n <= len(keys):
        raise MedjudgeError(f"--n must be between 1 and the {len(keys)} scored units of run {run.id}")
    if strategy == "stratified":
        by = by or default_strata(units)
    elif by:
        raise MedjudgeError(f"--by sets the strata of --strategy stratified; {strategy} has none")
    transform = run.rubric.estimand()[1]
    f = {k: transform(v) for k, (_, _, v) in units.items()}
    errors = pilot_errors(store, run, pilot, f, transform) if pilot else None
    drawn = choose(run, units, f, n, seed, strategy, by, errors)
    chosen = drawn["chosen"]
    if not chosen:
        raise MedjudgeError(f"the {strategy} draw with seed {seed} picked no unit: give a larger --n or another --seed")
    store.save_sample(run.id, name, chosen, seed, strategy=strategy, strata=drawn["by"])
    if output:
        with open(output, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["item_id", "unit_id", "rater", "value", "unit", "question", "answer", "prob"])
            for k in sorted(chosen):
                it, u, _ = units[k]
                w.writerow([k[0], k[1], "", "", run.rubric.unit_info(u).get("text", ""), last_question(it), it.answer,
                            f"{chosen[k]:.6g}"])
    probs = list(chosen.values())
    return {"name": name, "units": len(chosen), "of": len(keys), "prob": probs[0] if len(set(probs)) == 1 else None,
            "seed": seed, "strategy": strategy, "by": drawn["by"], "allocation": drawn["allocation"],
            "prob_range": [min(probs), max(probs)], "pilot": pilot}


def compare_designs(run, units: dict, f: dict, errors: dict, weights: dict, room: float, by: str) -> dict:
    """Labels each strategy needs for a CI whose rectifier variance must fit in `room` ((W / z)^2 less the
    judge's own term), from a pilot's errors (expert - lam judge, each with its weight 1 / probability):
    uniform Var(r) / room; stratified (sum_h W_h S_h)^2 / room (Neyman); active with --pilot
    sum_i m_i / (N^2 q_i) / room, m_i the mean squared centred error in the unit's band of uncertainty and q_i the
    share of the budget active sampling gives it. None where a strategy cannot be drawn (no uncertainty)."""
    import math

    keys = sorted(units)
    big_n = len(keys)
    w = np.array([weights[k] for k in errors])
    r = np.array([errors[k] for k in errors])
    mean = float(np.sum(w * r) / np.sum(w))
    centred = {k: errors[k] - mean for k in errors}

    def need(variance):
        return max(2, int(math.ceil(variance / room)))

    out = {"uniform": {"labels": need(float(np.sum(w * (r - mean) ** 2) / np.sum(w)))}}
    strata = group_by(keys, lambda k: stratum_of(k, units[k], by))
    spread = spreads_by_stratum(strata, f, centred)
    sizes = {h: len(members) for h, members in strata.items()}
    floor = sum(min(MIN_PER_STRATUM, s) for s in sizes.values())
    out["stratified"] = {"labels": max(floor, need(sum(sizes[h] / big_n * spread[h] for h in spread) ** 2)),
                         "by": by, "strata": len(sizes)}
    u = uncertainties(run, units, keys)
    if u is None:
        out["active"] = {"labels": None, "why": "one vote a unit: no uncertainty to draw by (grade with two or more "
                                                "judges, or --samples 2)"}
    else:
        m = error_by_band(u, keys, centred) ** 2
        q = active_probabilities(np.sqrt(m), 1.0)
        out["active"] = {"labels": need(float(np.sum(m / q)) / big_n ** 2)}
    return out
