"""HealthBench's meta-evaluation figures (Arora et al. 2025): the `healthbench` rule set of `medjudge calibrate
--rules healthbench`, defined as openai/simple-evals computes them (healthbench_meta_eval.py, and the per-theme
table of healthbench_scripts/healthbench_analysis.ipynb, plot_model_physician_agreement); docs/CALIBRATION.md.

A row is one completion x criterion that physicians labelled met / not met. A rater's label on a row is paired
with every other label of the row: the judge's with each physician's, a physician's with each of the others'.
Pooled over a rater's pairs in a cluster (the row's category, `cluster:THEME_...`):
- precision of a class: among the pairs where the rater said it, the share where the other said it too;
  recall of a class: among the pairs where the other said it, the share where the rater said it too;
- F1 of a class: 2PR / (P + R) (0 when both are 0), None when either has no pair; its count is the pairs
  behind P plus those behind R less the true positives (P x its pairs), or the two counts when F1 is None;
- balanced F1 (HealthBench's "macro-F1"): the mean of the positive and the negative class's F1, None when
  either is None (where neither side ever used a class: left out, never counted as 1); its count is the sum
  of the two F1 counts.
By theme (the cluster's name after `cluster:` up to the first `_`), a rater's value is the count-weighted mean
of its balanced F1 over the theme's clusters (None left out); the physicians' average is the count-weighted
mean over every physician; the judge's percentile is among the physicians whose count exceeds MIN_COUNT:
(those below + half the ties) / their number x 100. By category: one cluster each. By none: every row pooled.
"""

from __future__ import annotations

from collections import defaultdict

from ..inputs import theme_of

MIN_COUNT = 50  # a physician enters the percentile with a balanced-F1 count above this (the notebook's MIN_SAMPLES)
GROUPINGS = ("theme", "category", "none")
JUDGE = object()  # the judge's key among the raters of a row


def pair_counts(rows) -> dict:
    """rows: [(category, [(physician, label)], judge label or None)] -> {(rater, cluster): counts}, counts per
    class (True, False): [precision agreements, precision pairs, recall agreements, recall pairs]; cluster ""
    pools every row."""
    out = defaultdict(lambda: {True: [0, 0, 0, 0], False: [0, 0, 0, 0]})
    for category, labels, judged in rows:
        raters = [(p, v, [w for j, (_, w) in enumerate(labels) if j != i]) for i, (p, v) in enumerate(labels)]
        if judged is not None:
            raters.append((JUDGE, judged, [v for _, v in labels]))
        for rater, mine, others in raters:
            for cluster in (category, ""):
                c = out[(rater, cluster)]
                for other in others:
                    agree = int(mine == other)
                    c[mine][0] += agree
                    c[mine][1] += 1
                    c[other][2] += agree
                    c[other][3] += 1
    return out


def f1(counts) -> tuple[float | None, float]:
    """(F1 of a class, its count) from [precision agreements, pairs, recall agreements, pairs]."""
    p_agree, p_n, r_agree, r_n = counts
    if p_n == 0 or r_n == 0:
        return None, p_n + r_n
    p, r = p_agree / p_n, r_agree / r_n
    if p == 0 and r == 0:
        return 0.0, p_n + r_n
    return 2 * p * r / (p + r), p_n + r_n - p * p_n


def balanced_f1(counts) -> tuple[float | None, float]:
    pos, n_pos = f1(counts[True])
    neg, n_neg = f1(counts[False])
    return (None if pos is None or neg is None else (pos + neg) / 2), n_pos + n_neg


def weighted(values) -> tuple[float | None, float]:
    """Count-weighted mean of (value, count) pairs, None values left out."""
    kept = [(v, n) for v, n in values if v is not None]
    total = sum(n for _, n in kept)
    return (sum(v * n for v, n in kept) / total if total else None), total


def percentile(value, others) -> float | None:
    if value is None or not others:
        return None
    return (sum(o < value for o in others) + 0.5 * sum(o == value for o in others)) / len(others) * 100


def figures(rows, by: str = "theme") -> list[dict]:
    """HealthBench's table per group: the judge's balanced F1 and count, every physician's, their count-weighted
    average, and the judge's percentile among the physicians with more than MIN_COUNT."""
    if by not in GROUPINGS:
        raise ValueError(f"--by must be {', '.join(GROUPINGS)} under the healthbench rules, not {by!r}")
    counts = pair_counts(rows)
    metric = {key: balanced_f1(c) for key, c in counts.items()}
    clusters = sorted({category for category, _, _ in rows})
    if by == "none":
        groups = {"all": [""]}
    elif by == "category":
        groups = {c: [c] for c in clusters}
    else:
        groups = defaultdict(list)
        for c in clusters:
            groups[theme_of(c)].append(c)
    physicians = sorted({p for _, labels, _ in rows for p, _ in labels}, key=str)
    judged = defaultdict(int)
    total = defaultdict(int)
    for category, _, label in rows:
        for g, members in groups.items():
            if category in members or members == [""]:
                total[g] += 1
                judged[g] += label is not None
    out = []
    for g, members in sorted(groups.items()):
        judge, judge_n = weighted(metric[(JUDGE, c)] for c in members if (JUDGE, c) in metric)
        each = {}
        for p in physicians:
            found = [metric[(p, c)] for c in members if (p, c) in metric]
            if found:
                v, n = weighted(found)
                each[str(p)] = {"value": v, "n": n}
        average, _ = weighted((d["value"], d["n"]) for d in each.values())
        kept = [d["value"] for d in each.values() if d["n"] > MIN_COUNT and d["value"] is not None]
        out.append({"group": g, "clusters": [c for c in members if c], "rows": total[g], "judged_rows": judged[g],
                    "judge_macro_f1": judge, "judge_count": judge_n, "physicians": each,
                    "physician_average": average, "physicians_kept": len(kept),
                    "percentile": percentile(judge, kept), "min_count": MIN_COUNT})
    return out


def rows_from_ratings(ratings, judge: str, experts) -> list:
    """The meta-evaluation rows of calibration Ratings: per item x unit, its category (the experts' tag that is
    not a theme), the experts' labels and the judge's (None where the judge gave no verdict)."""
    experts = set(experts)
    by_key: dict = {}
    for r in ratings:
        entry = by_key.setdefault((r.item, r.unit), {"category": None, "labels": [], "judge": None})
        if r.rater == judge and r.value is not None:
            entry["judge"] = r.value == 1
        elif r.rater in experts and r.value is not None:
            entry["labels"].append((r.rater, r.value == 1))
            if entry["category"] is None:
                entry["category"] = next((t for t in r.tags if not t.startswith("theme:")), None)
    return [(e["category"] or "(no category)", e["labels"], e["judge"]) for e in by_key.values() if e["labels"]]
