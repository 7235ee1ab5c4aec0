"""Run summaries, computed from the database alone (no LLM calls): scores, breakdowns, unscored, agreement, cost."""

from __future__ import annotations

from collections import Counter, defaultdict

from .display import num
from .stored import StoredRun

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


def inter_judge_agreement(run: StoredRun) -> dict | None:
    """Krippendorff's alpha over (judge, sample) raters when items have two or more votes."""
    if len(run.models) * run.row["samples"] < 2:  # one rater: nothing to agree on (and nothing read)
        return None
    import numpy as np

    raters, units, cells = {}, {}, []
    for answer_id, unit_id, judge, sample, value, _, _ in run.store.votes(run.id):
        if value is None:
            continue
        r = raters.setdefault((judge, sample), len(raters))
        u = units.setdefault((answer_id, unit_id), len(units))
        cells.append((r, u, value))
    if len(raters) < 2 or not units:
        return None
    data = np.full((len(raters), len(units)), np.nan)
    for r, u, v in cells:
        data[r, u] = v
    paired = int((np.sum(~np.isnan(data), axis=0) >= 2).sum())
    level = "ordinal" if run.rubric.aggregation in ("median", "worst") else "nominal"
    import krippendorff

    try:
        alpha = float(krippendorff.alpha(reliability_data=data, level_of_measurement=level))
    except (ValueError, ZeroDivisionError) as exc:
        return {"alpha": None, "level": level, "raters": len(raters), "items": paired, "note": str(exc)}
    return {"alpha": alpha, "level": level, "raters": len(raters), "items": paired}


def summarize_run(store, run_id, resamples=1000, seed=0, partial: str = "exclude") -> dict:
    """A run's summary from the database alone. Scores follow docs/SCORING.md: an answer missing any
    verdict is partial; headline figures cover complete answers, and coverage says what was left out."""
    return _summarize(StoredRun(store, run_id), resamples, seed, partial)[0]


def run_summary(store, run_id, resamples=1000, seed=0, partial: str = "exclude") -> tuple[dict, list[dict]]:
    """The summary (without per_answer) and one row per answer with its units' verdicts beside their text."""
    run = StoredRun(store, run_id)
    summary, rows = _summarize(run, resamples, seed, partial, keep_rows=True)
    per_answer = summary.pop("per_answer")
    answers = []
    program = {"program": run.config["program"]} if run.config.get("program") else {}
    for it, units, results in rows:
        score, detail = per_answer[it.id]
        answers.append({"run_id": run.id, **program, "answer_id": it.id, "source": it.source, "score": score,
                        **{k: v for k, v in detail.items() if k != "source"},
                        "units": [unit_row(run.rubric, u, results[u.id]) for u in units]})
    return summary, answers


def unit_row(rubric, unit, a) -> dict:
    """A unit's verdict beside what the unit says (text, points or range, tags): a paper's table from an export."""
    r = unit_result(a)
    return {"unit_id": unit.id, **rubric.unit_info(unit), "value": r["value"], "votes": r["votes"],
            "votes_expected": r["expected"], "reason": r["reason"]}


def judgment_rows(store, run_id):
    """Every judgment of a run (raw response included) with the unit's text, points or range, and tags."""
    run = StoredRun(store, run_id)
    fixed = {u.id: run.rubric.unit_info(u) for u in run.rubric.units(None)} if run.rubric.fixed_units() else None
    per_answer = None if fixed is not None else {
        it.id: {u.id: run.rubric.unit_info(u) for u in run.rubric.units(it)} for it in run.items}
    program = {"program": run.config["program"]} if run.config.get("program") else {}
    for r in store.judgments(run.id, full=True):
        info = fixed if fixed is not None else per_answer.get(r["answer_id"], {})
        yield {**dict(r), **program, **{f"unit_{k}": v for k, v in info.get(r["unit_id"], {}).items()}}


def by_conversation(rubric, item, results, detail=None):
    """each_turn: the kind's units with the conversation's aggregate of each (its turns by the rubric's
    turn_rule), and per unit its turns' values and the turn that decided (first failing, worst)."""
    from .rubrics.scope import collapse, turns

    n = turns(item)
    base = rubric.base_units(item)
    out = {u.id: collapse(rubric, u, [results.get(f"t{t}.{u.id}") for t in range(1, n + 1)]) for u in base}
    if detail is not None:
        detail["turns"] = {u.id: [None if results.get(f"t{t}.{u.id}") is None else results[f"t{t}.{u.id}"].value
                                  for t in range(1, n + 1)] for u in base}
        detail["decided_by_turn"] = {k: a.detail.get("turn") for k, a in out.items() if a is not None and a.detail}
    return base, out


class Rows:
    """The answers a kind scores, (item, units, {unit id: Aggregate or None}) each, streamed from the database:
    iterable once (keep what the score needs), with len() the number of answers."""

    def __init__(self, stream, count: int):
        self.stream, self.count, self.used = stream, count, False

    def __len__(self):
        return self.count

    def __iter__(self):
        if self.used:
            raise RuntimeError("a kind's score() reads its rows once: keep what it needs as it goes")
        self.used = True
        return iter(self.stream)


def _summarize(run: StoredRun, resamples, seed, partial, keep_rows=False) -> tuple[dict, list | None]:
    """The summary, and with keep_rows the rows as judged (each turn's units for each_turn) for an export. The
    kind's scores read the answers as they stream from the database: memory stays flat in the run's size."""
    if partial not in PARTIAL:
        from .errors import MedjudgeError

        raise MedjudgeError("--partial must be exclude or include")
    rubric = run.rubric
    cov = Coverage()
    per_answer, unit_rows, tallies = {}, [] if keep_rows else None, {}

    def rows():
        for it, units, results in run.units():
            missing, votes = {}, {}
            for u, a in results.items():
                cov.add(u, a)
                r = unit_result(a)
                tally = (r["votes"], r["expected"])  # one string per distinct tally, not one per unit
                votes[u] = tallies.get(tally) or tallies.setdefault(
                    tally, f"{r['votes']}/{r['expected'] if r['expected'] is not None else '?'}")
                if r["value"] is None:
                    missing[u] = r["reason"]
            cov.answer(not missing)
            detail = {"source": it.source, "complete": not missing, "units_expected": len(units),
                      "units_scored": len(units) - len(missing), "unscored": missing, "votes": votes}
            per_answer[it.id] = [None, detail]
            if keep_rows:
                unit_rows.append((it, units, results))
            if rubric.scope == "each_turn":  # the kind scores the conversation: each unit from its turns
                units, results = by_conversation(rubric, it, results, detail)
            yield it, units, results

    store = run.store
    row = run.row
    summary = {"run": run.id, "rubric": f"{rubric.id}@{rubric.version}", "kind": rubric.kind,
               "mode": row["mode"], "judges": run.models, "samples": row["samples"],
               "answers": store.answer_count(run.id), "status": row["status"], "partial": partial,
               "quorum": run.config.get("quorum") or "majority"}
    if run.config.get("program"):
        summary["program"] = run.config["program"]  # an optimised judge program (medjudge optimize)
    summary.update(rubric.score(Rows(rows(), store.answer_count(run.id)), per_answer, run, partial, resamples, seed))
    summary["coverage"] = cov.as_dict(fixed_units=rubric.fixed_units())
    summary["unscored"] = {"count": summary["coverage"]["unscored"], "reasons": summary["coverage"]["reasons"]}
    summary["not_judged"] = cov.not_judged
    error_reasons = Counter(store.error_reasons(run.id))
    summary["errors"] = sum(error_reasons.values())
    summary["error_reasons"] = dict(error_reasons.most_common(3))
    summary["agreement"] = inter_judge_agreement(run)
    summary["calls"] = store.call_totals(run.id)
    summary["per_judge"] = store.calls_by_model(run.id)
    if run.config.get("cascade"):
        summary["cascade"] = cascade_summary(summary["per_judge"], row)
    summary["per_answer"] = {k: tuple(val) for k, val in per_answer.items()}
    return summary, unit_rows


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


def coverage_line(s) -> str:
    """One line: units scored of those expected, and complete answers of all."""
    c = s["coverage"]
    share = "—" if c["share"] is None else f"{c['share']:.1%}"
    line = (f"coverage: {c['scored']} of {c['units']} units scored ({share}); {c['unscored']} unscored, "
            f"{c['not_judged']} not judged yet; answers complete {c['answers_complete']} of {c['answers']}")
    return line


def render(summary: dict, console, wall_time: float | None = None):
    """Print a summary: the run, its coverage, the kind's own scores, then unscored, agreement and cost."""
    from .rubrics.kinds import get

    s = summary
    console.print(f"[bold]run {s['run']}[/bold]  rubric {s['rubric']} ({s['kind']}, {s['mode']})  "
                  f"judges {', '.join(s['judges'])} x{s['samples']}  answers {s['answers']}  status {s['status']}"
                  + (f"  program {s['program']}" if s.get("program") else ""))
    console.print(coverage_line(s))
    get(s["kind"]).render_summary(s, console)
    u = s["unscored"]
    console.print(f"unscored: {u['count']}" + (f"  not judged yet: {s['not_judged']} (rerun to finish)"
                                                if s.get("not_judged") else ""))
    for reason, n in u["reasons"].items():
        console.print(f"  {n} x {reason}")
    for reason, n in s.get("error_reasons", {}).items():
        console.print(f"  {n} x failed call (redone on rerun): {reason}")
    a = s.get("agreement")
    if a:
        console.print(f"inter-judge agreement: Krippendorff's alpha ({a['level']}) = {num(a['alpha'])} over "
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
               f"({num(cas['escalated_share'], '.0%') if cas['escalated_share'] is not None else '—'} of a full panel), "
               f"{cas['calls_avoided']} calls avoided")
        if cas.get("cost_avoided"):
            msg += f", about ${cas['cost_avoided']:.4f} saved"
        console.print(msg)
