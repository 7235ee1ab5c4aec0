"""Run summaries, computed from the database alone (no LLM calls): scores, breakdowns, unscored, agreement, cost."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from .inputs import Item
from .judges.aggregate import aggregate
from .rubrics import parse_rubric


def run_rubric(store, run):
    return parse_rubric(store.rubric_text(run["rubric_hash"]), f"run {run['id']}").rubric


def stored_items(store, run_id, rubric):
    for row in store.answers(run_id):
        yield Item(id=row["answer_id"], prompt=row["prompt"], answer=row["answer"], source=row["source"],
                   tags=row["tags"] or [], fields=row["fields"] or {},
                   criteria=rubric.example_units(row["criteria"]) if row["criteria"] else None)


class StoredItems:
    """A run's answers read back from the database each time they are iterated: memory stays flat
    however many answers a run has."""

    def __init__(self, store, run_id, rubric):
        self.store, self.run_id, self.rubric = store, run_id, rubric

    def __iter__(self):
        return stored_items(self.store, self.run_id, self.rubric)


def aggregates(store, run, rubric):
    """{(answer_id, unit_id): Aggregate} over every judge and sample of the run. In a cascade, the stronger
    judges' votes replace the first judge's wherever they were asked."""
    votes, strong = defaultdict(list), defaultdict(list)
    first = run["panel"][0]["model"]
    cascade = (run["config"] or {}).get("cascade")
    for j in store.judgments(run["id"]):
        if j["status"] != "error":
            key = (j["answer_id"], j["unit_id"])
            (strong if cascade and j["judge"] != first else votes)[key].append((j["value"], j["reason"]))
    votes.update(strong)
    tie = (run["config"] or {}).get("tie")
    return {k: aggregate(rubric.aggregation, v, tie) for k, v in votes.items()}


def inter_judge_agreement(store, run, rubric) -> dict | None:
    """Krippendorff's alpha over (judge, sample) raters when items have two or more votes."""
    import numpy as np

    raters, units, cells = {}, {}, []
    for j in store.judgments(run["id"]):
        if j["value"] is None:
            continue
        r = raters.setdefault((j["judge"], j["sample"]), len(raters))
        u = units.setdefault((j["answer_id"], j["unit_id"]), len(units))
        cells.append((r, u, j["value"]))
    if len(raters) < 2 or not units:
        return None
    data = np.full((len(raters), len(units)), np.nan)
    for r, u, v in cells:
        data[r, u] = v
    paired = int((np.sum(~np.isnan(data), axis=0) >= 2).sum())
    level = "ordinal" if rubric.aggregation in ("median", "worst") else "nominal"
    import krippendorff

    try:
        alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
    except (ValueError, ZeroDivisionError) as exc:
        return {"alpha": None, "level": level, "raters": len(raters), "items": paired, "note": str(exc)}
    return {"alpha": alpha, "level": level, "raters": len(raters), "items": paired}


def summarize_run(store, run_id, resamples=1000, seed=0) -> dict:
    run = store.get_run(run_id)
    rubric = run_rubric(store, run)
    items = StoredItems(store, run["id"], rubric)
    aggs = aggregates(store, run, rubric)
    unscored = Counter()
    missing = 0  # units with no judgment yet (interrupted, or every call failed): a rerun judges them
    per_answer = {}
    for it in items:
        for u in rubric.units(it):
            a = aggs.get((it.id, u.id))
            if a is None:
                missing += 1
            elif a.value is None:
                unscored[a.reason] += 1
    summary = {"run": run["id"], "rubric": f"{rubric.id}@{rubric.version}", "kind": rubric.kind,
               "mode": run["mode"], "judges": [j["model"] for j in run["panel"]], "samples": run["samples"],
               "answers": store.answer_count(run["id"]), "status": run["status"]}
    if rubric.kind == "checklist":
        from .rubrics.checklist import answer_score, summarize

        rows = []
        for it in items:
            crit = rubric.units(it)
            met = {c.id: aggs[(it.id, c.id)].value for c in crit if (it.id, c.id) in aggs
                   and aggs[(it.id, c.id)].value is not None}
            met = {k: bool(v) for k, v in met.items()}
            rows.append((crit, met, it.tags))
            per_answer[it.id] = (answer_score(crit, met), {"met": met, "source": it.source})
        summary.update(summarize(rows, resamples, seed))
    elif rubric.kind == "scale":
        from .rubrics.scale import summarize

        values, worst = defaultdict(list), defaultdict(list)
        for it in items:
            dims, means, worsts = {}, {}, {}
            for d in rubric.dimensions:
                a = aggs.get((it.id, d.id))
                if a is not None and a.value is not None:
                    values[d.id].append(a.value)
                    worst[d.id].append(a.detail["worst"])
                    dims[d.id], means[d.id], worsts[d.id] = a.value, a.detail["mean"], a.detail["worst"]
            per_answer[it.id] = (None, {"dimensions": dims, "panel_mean": means, "worst_of_n": worsts,
                                        "source": it.source})
        summary.update(summarize(rubric.dimensions, values, resamples, seed, worst))
    elif rubric.kind == "nli":
        from .rubrics.nli import summarize

        rows = []
        for it in items:
            counts = {"must_total": 0, "must_entailed": 0, "contradicted": 0, "statements": 0, "claims": 0,
                      "claims_entailed": 0}
            for st in rubric.units(it):
                a = aggs.get((it.id, st.id))
                if a is None or a.value is None:
                    continue
                if st.kind == "claim":
                    counts["claims"] += 1
                    counts["claims_entailed"] += a.value == 1.0
                    continue
                counts["statements"] += 1
                counts["contradicted"] += a.value == -1.0
                if st.kind == "must_have":
                    counts["must_total"] += 1
                    counts["must_entailed"] += a.value == 1.0
            rows.append(counts)
            comp = counts["must_entailed"] / counts["must_total"] if counts["must_total"] else None
            per_answer[it.id] = (comp, {**counts, "source": it.source})
        summary.update(summarize(rows, resamples, seed))
    elif rubric.kind == "safety":
        from .rubrics.safety import summarize

        cats = defaultdict(set)
        for j in store.judgments(run["id"]):
            if j["detail"]:
                cats[j["answer_id"]].update(json.loads(j["detail"]).get("categories", []))
        scored, n_unscored, unsafe_text = {}, 0, {}
        for it in items:
            a = aggs.get((it.id, "risk"))
            if a is None or a.value is None:
                n_unscored += 1
                per_answer[it.id] = (None, {"level": None, "unsafe": None, "categories": sorted(cats[it.id]),
                                            "source": it.source, "reason": a.reason if a else "not judged yet"})
                continue
            scored[it.id] = (a.value, sorted(cats[it.id]))
            per_answer[it.id] = (a.value, {"level": a.value, "unsafe": a.value >= rubric.unsafe_from,
                                           "categories": sorted(cats[it.id]), "source": it.source})
            if a.value >= rubric.unsafe_from:
                unsafe_text[it.id] = it.answer[:100]
        summary.update(summarize(rubric, scored, n_unscored, resamples, seed))
        summary["unsafe_answers"] = sorted(
            ({"answer_id": k, "level": per_answer[k][0], "categories": per_answer[k][1]["categories"], "answer": text}
             for k, text in unsafe_text.items()), key=lambda r: -r["level"])
    summary["unscored"] = {"count": sum(unscored.values()), "reasons": dict(unscored.most_common(10))}
    summary["not_judged"] = missing
    error_reasons = Counter(j["reason"] for j in store.judgments(run["id"]) if j["status"] == "error")
    summary["errors"] = sum(error_reasons.values())
    summary["error_reasons"] = dict(error_reasons.most_common(3))
    summary["agreement"] = inter_judge_agreement(store, run, rubric)
    summary["calls"] = store.call_totals(run["id"])
    summary["per_judge"] = store.calls_by_model(run["id"])
    if (run["config"] or {}).get("cascade"):
        summary["cascade"] = cascade_summary(summary["per_judge"], run)
    summary["per_answer"] = per_answer
    return summary


def cascade_summary(per_judge: dict, run) -> dict:
    """Calls per tier, and what the strong tier would have cost had it judged everything."""
    first = run["panel"][0]["model"]
    strong = [j["model"] for j in run["panel"][1:]]
    t1 = per_judge.get(first, {"calls": 0, "cost": 0.0})
    t2_calls = sum(per_judge.get(m, {}).get("calls", 0) for m in strong)
    t2_cost = sum(per_judge.get(m, {}).get("cost") or 0.0 for m in strong)
    full = t1["calls"] * len(strong)  # the strong judges' calls without the cascade
    out = {"tier1": first, "tier1_calls": t1["calls"], "tier2": strong, "tier2_calls": t2_calls,
           "escalated_share": t2_calls / full if full else None, "calls_avoided": full - t2_calls}
    if t2_calls and t2_cost:
        out["cost_avoided"] = (full - t2_calls) * t2_cost / t2_calls
    return out


def _fmt(x, spec=".3f"):
    return "—" if x is None else format(x, spec)


def render(summary: dict, console, wall_time: float | None = None):
    """Print a summary as rich tables."""
    from rich.table import Table

    s = summary
    console.print(f"[bold]run {s['run']}[/bold]  rubric {s['rubric']} ({s['kind']}, {s['mode']})  "
                  f"judges {', '.join(s['judges'])} x{s['samples']}  answers {s['answers']}  status {s['status']}")
    if s["kind"] == "checklist":
        o = s["overall"]
        console.print(f"[bold]HealthBench score {_fmt(o['score'])}[/bold] ± {_fmt(o['std'])} (bootstrap std, "
                      f"{o['n']} answers scored)")
        if s["tags"]:
            t = Table("tag", "score", "std", "n", title="By tag")
            for tag, v in s["tags"].items():
                t.add_row(tag, _fmt(v["score"]), _fmt(v["std"]), str(v["n"]))
            console.print(t)
    elif s["kind"] == "scale":
        t = Table("dimension", "mean", "95% CI", "worst-of-n mean", "n",
                  title="By dimension (per answer: median of the panel's votes)")
        for dim, v in s["dimensions"].items():
            ci = v["ci"]
            t.add_row(dim, _fmt(v["mean"], ".2f"), f"[{_fmt(ci[0], '.2f')}, {_fmt(ci[1], '.2f')}]",
                      _fmt(v.get("worst_mean"), ".2f"), str(v["n"]))
        console.print(t)
    elif s["kind"] == "nli":
        t = Table("metric", "mean", "95% CI", "answers", title="K-QA style NLI metrics")
        for name, label in (("comprehensiveness", "comprehensiveness (must-have entailed)"),
                            ("hallucinations", "hallucinations (statements contradicted)"),
                            ("answers_with_hallucination", "answers with a hallucination"),
                            ("precision", "precision (answer claims the reference entails)"),
                            ("f1", "F1 of precision and comprehensiveness")):
            if name not in s:
                continue
            v = s[name]
            t.add_row(label, _fmt(v["mean"]), f"[{_fmt(v['ci'][0])}, {_fmt(v['ci'][1])}]", str(v["n"]))
        console.print(t)
    elif s["kind"] == "safety":
        r = s["unsafe_rate"]
        console.print(f"[bold]unsafe rate (level >= {s['unsafe_from']}) {_fmt(r['rate'])}[/bold] "
                      f"[{_fmt(r['ci'][0])}, {_fmt(r['ci'][1])}] over {r['n']} scored answers; "
                      f"counting the {s['unscored_answers']} unscored as unsafe: {_fmt(s['unsafe_rate_unscored_as_unsafe'])}")
        console.print("levels: " + ", ".join(f"{k}: {v}" for k, v in s["levels"].items()))
        if any(s["categories"].values()):
            console.print("error categories: " + ", ".join(f"{k} {v}" for k, v in s["categories"].items() if v))
        if s["unsafe_answers"]:
            t = Table("answer", "level", "categories", "answer text", title="Unsafe answers, worst first")
            for a in s["unsafe_answers"][:20]:
                t.add_row(a["answer_id"], f"{a['level']:g}", ", ".join(a["categories"]), a["answer"])
            console.print(t)
    u = s["unscored"]
    console.print(f"unscored: {u['count']}" + (f"  not judged yet: {s['not_judged']} (rerun to finish)"
                                                if s.get("not_judged") else ""))
    for reason, n in u["reasons"].items():
        console.print(f"  {n} x {reason}")
    for reason, n in s.get("error_reasons", {}).items():
        console.print(f"  {n} x failed call (redone on rerun): {reason}")
    a = s.get("agreement")
    if a:
        console.print(f"inter-judge agreement: Krippendorff's alpha ({a['level']}) = {_fmt(a['alpha'])} over "
                      f"{a['items']} items, {a['raters']} judge x sample raters")
    c = s["calls"]
    cost = f"${c['cost']:.4f}" + (f" ({c['unpriced']} calls unpriced)" if c["unpriced"] else "")
    line = (f"calls: {c['made']} made, {c['cached']} cached  tokens: {c['input_tokens']} in / "
            f"{c['output_tokens']} out  cost: {cost}")
    if wall_time is not None:
        line += f"  wall time: {wall_time:.1f}s"
    console.print(line)
    if len(s.get("per_judge", {})) > 1:
        console.print("per judge: " + "; ".join(
            f"{m} {v['calls']} calls" + (f" ${v['cost']:.4f}" if v.get("cost") else "") for m, v in s["per_judge"].items()))
    cas = s.get("cascade")
    if cas:
        msg = (f"cascade: {cas['tier1']} judged everything ({cas['tier1_calls']} calls); "
               f"{', '.join(cas['tier2'])} were asked {cas['tier2_calls']} times "
               f"({_fmt(cas['escalated_share'], '.0%') if cas['escalated_share'] is not None else '—'} of a full panel), "
               f"{cas['calls_avoided']} calls avoided")
        if cas.get("cost_avoided"):
            msg += f", about ${cas['cost_avoided']:.4f} saved"
        console.print(msg)
