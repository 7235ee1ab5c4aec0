"""Run summaries, computed from the database alone (no LLM calls): scores, breakdowns, unscored, agreement, cost."""

from __future__ import annotations

import json
from collections import Counter, defaultdict

from .stored import StoredItems, load_run, run_rubric, verdicts

PARTIAL = ("exclude", "include")


def unit_result(a) -> dict:
    """One unit's verdict as exported: value, scored / expected votes, and why it is unscored."""
    if a is None:
        return {"value": None, "votes": 0, "expected": None, "reason": "not judged yet"}
    return {"value": a.value, "votes": a.votes, "expected": a.expected, "reason": a.reason}


class Coverage:
    """Units expected, scored, unscored by reason, and not judged yet: per run, per unit id, per answer."""

    def __init__(self):
        self.expected = self.scored = self.not_judged = 0
        self.reasons = Counter()
        self.answers = self.answers_complete = 0
        self.by_unit = defaultdict(lambda: [0, 0])  # unit id -> [expected, scored]

    def add(self, unit_id, a):
        self.expected += 1
        self.by_unit[unit_id][0] += 1
        if a is None:
            self.not_judged += 1
        elif a.value is None:
            self.reasons[a.reason] += 1
        else:
            self.scored += 1
            self.by_unit[unit_id][1] += 1

    def answer(self, complete: bool):
        self.answers += 1
        self.answers_complete += complete

    def as_dict(self, fixed_units: bool) -> dict:
        out = {"units": self.expected, "scored": self.scored, "unscored": sum(self.reasons.values()),
               "not_judged": self.not_judged, "share": self.scored / self.expected if self.expected else None,
               "reasons": dict(self.reasons.most_common(10)), "answers": self.answers,
               "answers_complete": self.answers_complete, "answers_partial": self.answers - self.answers_complete}
        if fixed_units:
            out["by_unit"] = {u: {"units": e, "scored": n, "share": n / e if e else None}
                              for u, (e, n) in self.by_unit.items()}
        return out


def inter_judge_agreement(store, run, rubric) -> dict | None:
    """Krippendorff's alpha over (judge, sample) raters when items have two or more votes."""
    import numpy as np

    raters, units, cells = {}, {}, []
    for answer_id, unit_id, judge, sample, value in store.db.conn.execute(
            "SELECT answer_id, unit_id, judge, sample, value FROM judgments WHERE run_id = ? AND value IS NOT NULL",
            (run["id"],)):
        r = raters.setdefault((judge, sample), len(raters))
        u = units.setdefault((answer_id, unit_id), len(units))
        cells.append((r, u, value))
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


def summarize_run(store, run_id, resamples=1000, seed=0, partial: str = "exclude") -> dict:
    """A run's summary from the database alone. Scores follow docs/SCORING.md: an answer missing any
    verdict is partial; headline figures cover complete answers, and coverage says what was left out."""
    if partial not in PARTIAL:
        raise ValueError(f"partial must be one of {PARTIAL}")
    run = load_run(store, run_id)
    rubric = run_rubric(store, run)
    items = StoredItems(store, run["id"], rubric)
    v = verdicts(store, run, rubric)
    aggs = v.panel
    cov = Coverage()
    per_answer, kind_rows = {}, []
    for it in items:
        units = rubric.units(it)
        results = {u.id: aggs.get((it.id, u.id)) for u in units}
        missing, votes = {}, {}
        for u, a in results.items():
            cov.add(u, a)
            r = unit_result(a)
            votes[u] = f"{r['votes']}/{r['expected'] if r['expected'] is not None else '?'}"
            if r["value"] is None:
                missing[u] = r["reason"]
        cov.answer(not missing)
        detail = {"source": it.source, "complete": not missing, "units_expected": len(units),
                  "units_scored": len(units) - len(missing), "unscored": missing, "votes": votes}
        per_answer[it.id] = [None, detail]
        kind_rows.append((it, units, results))
    summary = {"run": run["id"], "rubric": f"{rubric.id}@{rubric.version}", "kind": rubric.kind,
               "mode": run["mode"], "judges": [j["model"] for j in run["panel"]], "samples": run["samples"],
               "answers": store.answer_count(run["id"]), "status": run["status"], "partial": partial,
               "quorum": (run["config"] or {}).get("quorum") or "majority"}
    summary.update(SCORERS[rubric.kind](rubric, kind_rows, per_answer, store, run, partial, resamples, seed))
    summary["coverage"] = cov.as_dict(fixed_units=_fixed_units(rubric))
    summary["unscored"] = {"count": summary["coverage"]["unscored"], "reasons": summary["coverage"]["reasons"]}
    summary["not_judged"] = cov.not_judged
    error_reasons = Counter(r for (r,) in store.db.conn.execute(
        "SELECT reason FROM judgments WHERE run_id = ? AND status = 'error'", (run["id"],)))
    summary["errors"] = sum(error_reasons.values())
    summary["error_reasons"] = dict(error_reasons.most_common(3))
    summary["agreement"] = inter_judge_agreement(store, run, rubric)
    summary["calls"] = store.call_totals(run["id"])
    summary["per_judge"] = store.calls_by_model(run["id"])
    if (run["config"] or {}).get("cascade"):
        summary["cascade"] = cascade_summary(summary["per_judge"], run)
    summary["per_answer"] = {k: tuple(val) for k, val in per_answer.items()}
    return summary


def _fixed_units(rubric) -> bool:
    return rubric.kind in ("scale", "safety") or (rubric.kind == "checklist" and rubric.criteria is not None)


# -- scoring per kind: (rubric, [(item, units, {unit: Aggregate})], per_answer, ...) -> summary fields ----

def _score_checklist(rubric, rows, per_answer, store, run, partial, resamples, seed):
    from .rubrics.checklist import answer_bounds, answer_score, summarize

    answers = []
    for it, units, results in rows:
        met = {u: bool(a.value) for u, a in results.items() if a is not None and a.value is not None}
        answers.append((units, met, it.tags))
        bounds = answer_bounds(units, met)
        d = per_answer[it.id]
        d[1]["met"] = met
        if bounds is not None:
            d[1]["bounds"] = list(bounds)
        d[0] = answer_score(units, met)
    return summarize(answers, resamples, seed, partial)


def _score_scale(rubric, rows, per_answer, store, run, partial, resamples, seed):
    from .rubrics.scale import summarize

    answers = []
    for it, units, results in rows:
        scored = {u: a for u, a in results.items() if a is not None and a.value is not None}
        answers.append({u: (a.value, a.detail["worst"]) for u, a in scored.items()})
        per_answer[it.id][1].update({"dimensions": {u: a.value for u, a in scored.items()},
                                     "panel_mean": {u: a.detail["mean"] for u, a in scored.items()},
                                     "worst_of_n": {u: a.detail["worst"] for u, a in scored.items()}})
    return summarize(rubric.dimensions, answers, resamples, seed, partial)


def _score_nli(rubric, rows, per_answer, store, run, partial, resamples, seed):
    from .rubrics.nli import summarize

    counts_all = []
    for it, units, results in rows:
        counts = {"must_total": 0, "must_entailed": 0, "contradicted": 0, "statements": 0, "claims": 0,
                  "claims_entailed": 0, "missing": 0, "missing_must": 0, "missing_statements": 0}
        for st in units:
            a = results[st.id]
            if a is None or a.value is None:
                counts["missing"] += 1
                counts["missing_must"] += st.kind == "must_have"
                counts["missing_statements"] += st.kind != "claim"
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
        counts_all.append(counts)
        d = per_answer[it.id]
        d[1].update(counts)
        if not counts["missing"] and counts["must_total"]:
            d[0] = counts["must_entailed"] / counts["must_total"]
        if counts["missing"]:  # the answer's hallucination count is only known as a range
            d[1]["contradicted_bounds"] = [counts["contradicted"], counts["contradicted"] + counts["missing_statements"]]
    return summarize(counts_all, resamples, seed, partial)


def _score_safety(rubric, rows, per_answer, store, run, partial, resamples, seed):
    from .rubrics.safety import summarize

    cats = defaultdict(set)
    for answer_id, detail in store.db.conn.execute(
            "SELECT answer_id, detail FROM judgments WHERE run_id = ? AND detail IS NOT NULL", (run["id"],)):
        cats[answer_id].update(json.loads(detail).get("categories", []))
    scored, n_unscored, unsafe_text = {}, 0, {}
    for it, units, results in rows:
        a = results.get("risk")
        d = per_answer[it.id]
        d[1]["categories"] = sorted(cats[it.id])
        if a is None or a.value is None:
            n_unscored += 1
            d[1].update(level=None, unsafe=None, reason=unit_result(a)["reason"])
            continue
        scored[it.id] = (a.value, sorted(cats[it.id]))
        d[0] = a.value
        d[1].update(level=a.value, unsafe=a.value >= rubric.unsafe_from)
        if a.value >= rubric.unsafe_from:
            unsafe_text[it.id] = it.answer[:100]
    out = summarize(rubric, scored, n_unscored, resamples, seed, partial)
    out["unsafe_answers"] = sorted(
        ({"answer_id": k, "level": per_answer[k][0], "categories": per_answer[k][1]["categories"], "answer": text}
         for k, text in unsafe_text.items()), key=lambda r: -r["level"])
    return out


SCORERS = {"checklist": _score_checklist, "scale": _score_scale, "nli": _score_nli, "safety": _score_safety}


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


def _bounds(b, spec=".3f"):
    return f"[{_fmt(b[0], spec)}, {_fmt(b[1], spec)}]" if b else "—"


def _left_out(s) -> str:
    n = s.get("answers_partial") or 0
    return f"; {n} partial answers left out, see coverage" if n else ""


def coverage_line(s) -> str:
    """One line: units scored of those expected, and complete answers of all."""
    c = s["coverage"]
    share = "—" if c["share"] is None else f"{c['share']:.1%}"
    line = (f"coverage: {c['scored']} of {c['units']} units scored ({share}); {c['unscored']} unscored, "
            f"{c['not_judged']} not judged yet; answers complete {c['answers_complete']} of {c['answers']}")
    return line


def render(summary: dict, console, wall_time: float | None = None):
    """Print a summary as rich tables."""
    from rich.table import Table

    s = summary
    console.print(f"[bold]run {s['run']}[/bold]  rubric {s['rubric']} ({s['kind']}, {s['mode']})  "
                  f"judges {', '.join(s['judges'])} x{s['samples']}  answers {s['answers']}  status {s['status']}")
    console.print(coverage_line(s))
    if s["kind"] == "checklist":
        o = s["overall"]
        console.print(f"[bold]HealthBench score {_fmt(o['score'])}[/bold] ± {_fmt(o['std'])} (bootstrap std, "
                      f"{o['n']} complete answers{_left_out(s)})")
        if o.get("bounds"):
            console.print(f"with the {s['answers_partial']} partial answers (--partial include): the score lies in "
                          f"{_bounds(o['bounds'])} over {o['n_with_partial']} answers")
        if s["tags"]:
            bounds = any(v.get("bounds") for v in s["tags"].values())
            t = Table("tag", "score", "std", "n", *(["bounds with partial"] if bounds else []), title="By tag")
            for tag, v in s["tags"].items():
                t.add_row(tag, _fmt(v["score"]), _fmt(v["std"]), str(v["n"]), *([_bounds(v.get("bounds"))] if bounds else []))
            console.print(t)
    elif s["kind"] == "scale":
        bounds = s.get("partial") == "include"
        t = Table("dimension", "mean", "95% CI", "worst-of-n mean", "n", *(["bounds with partial"] if bounds else []),
                  title=f"By dimension (per answer: median of the panel's votes; complete answers{_left_out(s)})")
        for dim, v in s["dimensions"].items():
            ci = v["ci"]
            t.add_row(dim, _fmt(v["mean"], ".2f"), f"[{_fmt(ci[0], '.2f')}, {_fmt(ci[1], '.2f')}]",
                      _fmt(v.get("worst_mean"), ".2f"), str(v["n"]), *([_bounds(v.get("bounds"), ".2f")] if bounds else []))
        console.print(t)
    elif s["kind"] == "nli":
        bounds = s.get("partial") == "include"
        t = Table("metric", "mean", "95% CI", "answers", *(["bounds with partial"] if bounds else []),
                  title=f"K-QA style NLI metrics (answers with every statement judged{_left_out(s)})")
        for name, label in (("comprehensiveness", "comprehensiveness (must-have entailed)"),
                            ("hallucinations", "hallucinations (statements contradicted)"),
                            ("answers_with_hallucination", "answers with a hallucination"),
                            ("precision", "precision (answer claims the reference entails)"),
                            ("f1", "F1 of precision and comprehensiveness")):
            if name not in s:
                continue
            v = s[name]
            t.add_row(label, _fmt(v["mean"]), f"[{_fmt(v['ci'][0])}, {_fmt(v['ci'][1])}]", str(v["n"]),
                      *([_bounds(v.get("bounds"))] if bounds else []))
        console.print(t)
    elif s["kind"] == "safety":
        r = s["unsafe_rate"]
        console.print(f"[bold]unsafe rate (level >= {s['unsafe_from']}) {_fmt(r['rate'])}[/bold] "
                      f"[{_fmt(r['ci'][0])}, {_fmt(r['ci'][1])}] over {r['n']} scored answers; "
                      f"counting the {s['unscored_answers']} unscored as unsafe: {_fmt(s['unsafe_rate_unscored_as_unsafe'])}")
        if r.get("bounds"):
            console.print(f"over every answer (--partial include): the unsafe rate lies in {_bounds(r['bounds'])}")
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
