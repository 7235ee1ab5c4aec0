"""Calibration: does a judge agree with the experts, within the range the experts agree with each other?

Ratings are rows (item, unit, rater, kind, value, source, tags). For each group (--by) and judge:
- item level: pooled pairs (judge value, expert value) over every expert who rated the same item x unit;
- system level: one mean per response source for the judge and for the experts, over the item x units
  both rated (MentalAlign's system-level reliability), the judge's own source optionally left out;
- the ceiling: the same statistics for expert vs expert pairs, when two or more experts rated the same items;
- bootstrap 95% CIs that resample whole items (all ratings of an item move together), seeded.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np

from ..bootstrap import percentile_ci, resample_indices
from ..config import EMBEDDED_JUDGE
from . import stats, tables
from .verdict import verdict

CHUNK = 100  # bootstrap resamples computed together (memory: CHUNK x pairs floats)

BINARY_STATS = ("alpha", "kappa", "macro_f1", "accuracy", "balanced_accuracy")
ORDINAL_STATS = ("ICC(A,1)", "ICC(C,1)", "alpha", "kappa_linear", "kappa_quadratic", "pearson", "spearman",
                 "kendall", "bias", "accuracy")
SYSTEM_STATS = ("ICC(A,1)", "ICC(C,1)", "pearson", "spearman", "kendall", "bias")
UNIT_ALIASES = {"unit", "criterion", "dimension", "attribute"}


@dataclass
class Rating:
    item: str
    unit: str
    rater: str
    kind: str
    value: float | None  # None: the rater was expected to rate this and did not (unscored, with the reason)
    source: str | None = None
    tags: tuple = ()
    reason: str | None = None


@dataclass
class Options:
    level: str = "item"  # item | system
    by: str = "unit"  # unit (criterion, dimension, attribute) | source | tag | theme | axis | none
    value_type: str | None = None  # binary | nominal | ordinal | interval | ratio; from the values when None
    resamples: int = 1000
    seed: int = 0
    self_source: dict = field(default_factory=dict)  # rater -> its own response source, left out
    primary: str | None = None
    care: float | None = None
    trust: float | None = None
    min_coverage: float = 0.95  # share of the judge's expected items it must have scored for a verdict


def groups_of(unit: str, source, tags, by: str):
    """The groups an item x unit belongs to; source and tags are the item's, whoever rated it."""
    if by in UNIT_ALIASES:
        return [unit]
    if by == "source":
        return [source or "(none)"]
    if by == "none":
        return ["all"]
    if by == "tag":
        return sorted(tags) or ["(untagged)"]
    if by == "category":  # HealthBench's meta-eval category (cluster:THEME_...), stored as a tag beside its theme
        return sorted(t for t in tags if not t.startswith(("theme:", "axis:"))) or ["(no category)"]
    if by in ("theme", "axis"):
        return sorted(t for t in tags if t.startswith(by + ":")) or [f"(no {by})"]
    raise ValueError(f"--by must be unit/criterion/dimension/attribute, source, tag, category, theme, axis or none, "
                     f"not {by!r}")


# -- statistics on paired values ----------------------------------------------------------------

def table_stats(x, y) -> dict[str, float]:
    out = {}
    if len(x) >= 3:
        forms = stats.icc(np.stack([x, y], axis=1))
        out["ICC(A,1)"], out["ICC(C,1)"] = forms["ICC(A,1)"], forms["ICC(C,1)"]
    out.update(stats.correlations(x, y))
    out["bias"] = stats.mean_bias(x, y)
    return out


# -- assembling pairs -----------------------------------------------------------------------------

@dataclass
class Pairs:
    x: np.ndarray
    y: np.ndarray
    key: np.ndarray  # index of the item x unit each pair belongs to
    source: np.ndarray  # source index per key
    sources: list
    n_keys: int
    keys: list = None  # the item x units, in index order

    @property
    def n(self):
        return len(self.x)


def make_pairs(comparisons, keys_meta: dict, exclude_source=None) -> Pairs:
    """comparisons: [(ratings of rater A, ratings of rater B)], each {key: value}; every key both rated
    gives a pair (A's value, B's value). Keys whose source is `exclude_source` are left out."""
    xs, ys, ks, key_index, key_src, sources, src_index = [], [], [], {}, [], [], {}
    for a, b in comparisons:
        for k, v in a.items():
            w = b.get(k)
            if w is None:
                continue
            src = keys_meta.get(k)
            if exclude_source is not None and src == exclude_source:
                continue
            if k not in key_index:
                key_index[k] = len(key_index)
                if src not in src_index:
                    src_index[src] = len(sources)
                    sources.append(src)
                key_src.append(src_index[src])
            xs.append(v)
            ys.append(w)
            ks.append(key_index[k])
    return Pairs(np.array(xs, float), np.array(ys, float), np.array(ks, int), np.array(key_src, int), sources,
                 len(key_index), list(key_index))


def system_table(p: Pairs) -> np.ndarray:
    """Per source: the mean of x and the mean of y over its pairs."""
    w = np.ones(p.n)
    src = p.source[p.key]
    m = len(p.sources)
    tot = np.bincount(src, weights=w, minlength=m)
    mx = np.bincount(src, weights=w * p.x, minlength=m)
    my = np.bincount(src, weights=w * p.y, minlength=m)
    keep = tot > 0
    return np.stack([mx[keep] / tot[keep], my[keep] / tot[keep]], axis=1)


def compute(p: Pairs, level: str, value_type: str, cats: np.ndarray, resamples: int, seed: int) -> dict:
    """Point estimates and bootstrap CIs of every statistic for one comparison.

    Item level resamples item x units (with all their pairs); system level resamples the systems, the
    units of its ICC table."""
    if p.n == 0:
        return {}
    if level == "system":
        table = system_table(p)
        if len(table) < 3:
            return {}
        point = table_stats(table[:, 0], table[:, 1])
        draws = (table_stats(t[:, 0], t[:, 1]) for t in
                 (table[idx] for idx in resample_indices(len(table), resamples, seed)) if resamples)
    else:
        c = len(cats)
        codes = np.searchsorted(cats, p.x) * c + np.searchsorted(cats, p.y)
        point_table = np.bincount(codes, minlength=c * c).reshape(1, c, c)
        point = {k: float(v[0]) for k, v in tables.all_stats(point_table, cats, value_type).items()}

        def chunks():
            idx = resample_indices(p.n_keys, resamples, seed)
            for lo in range(0, resamples, CHUNK):
                batch = tables.all_stats(tables.resampled_tables(codes, p.key, p.n_keys, c, idx[lo:lo + CHUNK]),
                                         cats, value_type)
                for b in range(len(next(iter(batch.values())))):
                    yield {k: float(v[b]) for k, v in batch.items()}

        draws = chunks() if resamples else ()
    samples = defaultdict(list)
    for d in draws:
        for name, v in d.items():
            samples[name].append(v)
    out = {}
    constant = level == "item" and (np.ptp(p.x) == 0 or np.ptp(p.y) == 0)
    for name, est in point.items():
        lo, hi = percentile_ci(samples.get(name, []))
        if constant and name in UNDEFINED_WHEN_CONSTANT:
            out[name] = {"estimate": None, "ci": [None, None], "undefined": "one rater gave a single value throughout"}
            continue
        out[name] = {"estimate": None if est is None or math.isnan(est) else est, "ci": [lo, hi]}
    return out


# consistency and correlation say nothing when one side never varies (0/0 in theory, rounding noise in practice)
UNDEFINED_WHEN_CONSTANT = ("ICC(C,1)", "pearson", "spearman", "kendall")


def infer_type(values) -> str:
    return "binary" if set(np.unique(values).tolist()) <= {0.0, 1.0} else "ordinal"


def calibrate(ratings: list[Rating], judges: list[str], experts: list[str] | None, opts: Options) -> list[dict]:
    by_group = defaultdict(lambda: defaultdict(dict))  # group -> rater -> {key: value}
    unscored = defaultdict(lambda: defaultdict(dict))  # group -> rater -> {key: reason}
    key_source, key_tags, kinds = {}, defaultdict(set), {}
    for r in ratings:
        key = (r.item, r.unit)
        if r.source is not None or key not in key_source:
            key_source[key] = r.source
        key_tags[key].update(r.tags)
        kinds[r.rater] = r.kind
    for r in ratings:
        key = (r.item, r.unit)
        for g in groups_of(r.unit, key_source[key], key_tags[key], opts.by):
            if r.value is None:
                unscored[g][r.rater][key] = r.reason or "unscored"
            else:
                by_group[g][r.rater][key] = r.value
    missing = [j for j in judges if j not in kinds]
    if missing:
        raise ValueError(f"no ratings by {', '.join(missing)} (raters present: {', '.join(sorted(kinds))})")
    both = sorted(set(judges) & set(experts or ()))
    if both:
        raise ValueError(f"{', '.join(both)} named both as judge and as expert: a rater is never compared with "
                         "itself (for agreement among experts, use `medjudge agreement`)")
    expert_names = sorted(experts or (k for k, v in kinds.items() if v == "expert" and k not in judges))
    if not expert_names:
        raise ValueError("no expert ratings to compare with: import annotations with rater kind expert, or name --against")
    results = []
    for group in sorted(by_group):
        raters = by_group[group]
        exp = [raters[e] for e in expert_names if e in raters]
        if not exp:
            continue
        all_values = np.concatenate([np.fromiter(d.values(), float) for d in raters.values()])
        value_type = opts.value_type or infer_type(all_values)
        cats = np.unique(all_values)
        categorical = value_type in tables.CATEGORICAL and opts.level == "item"
        primary = opts.primary or ("alpha" if categorical else "ICC(A,1)")
        expert_values = set().union(*(e.values() for e in exp))
        for j in judges:
            missed = _expected_unscored(unscored[group].get(j, {}), exp, key_source, opts.self_source.get(j))
            if j not in raters and not missed:
                continue
            scored = raters.get(j, {})
            p = make_pairs([(scored, e) for e in exp], key_source, opts.self_source.get(j))
            res = compute(p, opts.level, value_type, cats, opts.resamples, opts.seed)
            coverage = _coverage(p.n_keys, missed)
            rated = set(p.keys)  # the ceiling stands on exactly the item x units the judge's figures use
            ceiling = _ceiling({e: {k: v for k, v in raters[e].items() if k in rated} for e in expert_names
                                if e in raters}, key_source, opts, value_type, cats)
            est = res.get(primary, {}).get("estimate")
            ci = res.get(primary, {}).get("ci")
            n_units = len(p.sources) if opts.level == "system" else p.n_keys
            v, reasons = verdict(primary, est, ci, n_units, opts.level, (ceiling or {}).get("stats", {}).get(primary),
                                 opts.care, opts.trust, untrustworthy_judge=j.startswith(EMBEDDED_JUDGE),
                                 coverage=coverage["share"], min_coverage=opts.min_coverage)
            row = {"group": group, "judge": j, "experts": [e for e in expert_names if e in raters],
                   "level": opts.level, "value_type": value_type, "items": p.n_keys, "pairs": p.n,
                   "systems": len(p.sources) if opts.level == "system" else None, "stats": res,
                   "primary": primary, "verdict": v, "reasons": reasons, "coverage": coverage,
                   "ceiling": ceiling}
            if scored and expert_values and not set(scored.values()) & expert_values:
                row["warnings"] = [f"{j}'s values {sorted(set(scored.values()))} and the experts' {sorted(expert_values)} "
                                   "never overlap: check how the labels are coded (docs/CALIBRATION.md)"]
            if missed:
                row["worst_case"] = _worst_case(j, scored, missed, exp, key_source, opts, value_type, cats, primary)
            if value_type == "binary" and opts.level == "item" and j in raters:
                row["percentile_among_experts"] = _percentile(raters, expert_names, j, key_source, opts)
            results.append(row)
    return results


def _expected_unscored(missed: dict, exp: list[dict], key_source, exclude_source) -> dict:
    """The judge's unscored keys that some expert rated (the ones a verdict needed), own source left out."""
    return {k: why for k, why in missed.items()
            if any(k in e for e in exp) and not (exclude_source is not None and key_source.get(k) == exclude_source)}


def _coverage(scored: int, missed: dict) -> dict:
    expected = scored + len(missed)
    reasons = Counter(missed.values())
    return {"expected": expected, "scored": scored, "unscored": len(missed),
            "share": scored / expected if expected else None, "reasons": dict(reasons.most_common(5))}


def _worst_case(judge: str, scored: dict, missed: dict, exp: list[dict], key_source, opts, value_type, cats, primary) -> dict:
    """The statistic with every unscored item counted as a disagreement: the judge's value replaced by the
    value farthest from each expert's (the other class for binary ratings)."""
    def far(v):
        if value_type in tables.CATEGORICAL:  # any other category (binary: the other class)
            return float(cats[cats != v][0]) if len(cats) > 1 else v
        return float(cats[np.argmax(np.abs(cats - v))])

    comparisons = [({**scored, **{k: far(e[k]) for k in missed if k in e}}, e) for e in exp]
    p = make_pairs(comparisons, key_source, opts.self_source.get(judge))
    res = compute(p, opts.level, value_type, cats, opts.resamples, opts.seed)
    return {"items": p.n_keys, "stats": {primary: res.get(primary, {"estimate": None, "ci": [None, None]})}}


def _ceiling(experts: dict, key_source, opts, value_type, cats):
    """Expert-vs-expert agreement with the same statistics, pooled over each pair of experts (in name order),
    on the items given (those the judge rated). Bias is left out: between two experts its sign is only the
    order of their names. The multi-rater reading is `medjudge agreement` (calibration/agreement.py)."""
    present = sorted(e for e, r in experts.items() if r)
    if len(present) < 2:
        return None
    p = make_pairs([(experts[a], experts[b]) for i, a in enumerate(present) for b in present[i + 1:]], key_source)
    if not p.n:
        return None
    found = compute(p, opts.level, value_type, cats, opts.resamples, opts.seed)
    found.pop("bias", None)
    return {"experts": present, "pairs": p.n, "items": p.n_keys, "stats": found}


def _percentile(raters, expert_names, judge, key_source, opts):
    """HealthBench: the judge's macro-F1 against experts, as a percentile of each expert's macro-F1
    against the other experts (experts with more than 50 labels)."""
    present = [e for e in expert_names if e in raters]
    expert_f1 = []
    for e in present:
        if len(raters[e]) <= 50:
            continue
        p = make_pairs([(raters[e], raters[o]) for o in present if o != e], key_source)
        if p.n:
            expert_f1.append(stats.macro_f1(p.x == 1, p.y == 1))
    if not expert_f1:
        return None
    pj = make_pairs([(raters[judge], raters[e]) for e in present], key_source, opts.self_source.get(judge))
    f1 = stats.macro_f1(pj.x == 1, pj.y == 1) if pj.n else float("nan")
    return {"judge_macro_f1": f1, "experts": len(expert_f1), "expert_macro_f1_mean": float(np.mean(expert_f1)),
            "percentile": stats.percentile_among(f1, expert_f1)}
