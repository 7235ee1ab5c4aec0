"""Run summaries, computed from the database alone (no LLM calls): scores, breakdowns, unscored, agreement, cost."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field

from .rubrics.scope import by_conversation
from .stored import StoredRun

PARTIAL = ("exclude", "include")


def unit_result(a) -> dict:
    """One unit's verdict as exported: value, scored / expected votes, and why it is unscored."""
    if a is None:
        return {"value": None, "votes": 0, "expected": None, "reason": "not judged yet"}
    return {"value": a.value, "votes": a.votes, "expected": a.expected, "reason": a.reason}


@dataclass
class Coverage:
    """Units expected, scored, unscored by reason, and not judged yet; answers complete and partial; per unit id
    (rubrics with fixed units)."""

    units: int
    scored: int
    unscored: int
    not_judged: int
    share: float | None
    reasons: dict
    answers: int
    answers_complete: int
    answers_partial: int
    by_unit: dict | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        if self.by_unit is None:
            out.pop("by_unit")
        return out


class Tally:
    """Counts coverage as the answers stream past."""

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

    def coverage(self, fixed_units: bool) -> Coverage:
        return Coverage(self.expected, self.scored, sum(self.reasons.values()), self.not_judged,
                        self.scored / self.expected if self.expected else None, dict(self.reasons.most_common(10)),
                        self.answers, self.answers_complete, self.answers - self.answers_complete,
                        {u: {"units": e, "scored": n, "share": n / e if e else None}
                         for u, (e, n) in self.by_unit.items()} if fixed_units else None)


@dataclass
class Summary:
    """A run's summary (docs/SCORING.md). `scores` holds the kind's figures (rubrics.base.Scores); `per_answer`
    (answer id -> [score, detail]) goes to the scores table, not into the JSON. to_dict() is the JSON that
    `grade --json-summary`, `show --json`, the runs table and the report read."""

    run: str
    rubric: str
    kind: str
    mode: str
    judges: list
    samples: int
    answers: int
    status: str
    partial: str
    quorum: str
    program: str | None
    scores: dict
    coverage: Coverage
    errors: int
    error_reasons: dict
    agreement: dict | None
    calls: dict
    per_judge: dict
    cascade: dict | None = None
    systems: dict | None = None  # answers from two or more sources: each system's figures (the kind's keys)
    reasked: int | None = None  # set when a grading pass finishes the run
    per_answer: dict = field(default_factory=dict, repr=False)

    @property
    def not_judged(self) -> int:
        return self.coverage.not_judged

    def to_dict(self) -> dict:
        head = {"run": self.run, "rubric": self.rubric, "kind": self.kind, "mode": self.mode, "judges": self.judges,
                "samples": self.samples, "answers": self.answers, "status": self.status, "partial": self.partial,
                "quorum": self.quorum}
        if self.program:
            head["program"] = self.program  # an optimised judge program (medjudge optimize)
        tail = {"coverage": self.coverage.to_dict(),
                "unscored": {"count": self.coverage.unscored, "reasons": self.coverage.reasons},
                "not_judged": self.coverage.not_judged, "errors": self.errors, "error_reasons": self.error_reasons,
                "agreement": self.agreement, "calls": self.calls, "per_judge": self.per_judge}
        if self.cascade is not None:
            tail["cascade"] = self.cascade
        if self.reasked is not None:
            tail["reasked"] = self.reasked
        clash = set(self.scores) & (set(head) | set(tail) | {"systems"})
        if clash:
            raise ValueError(f"the {self.kind} kind's figures reuse the summary's keys: {', '.join(sorted(clash))}")
        return {**head, **self.scores, **({"systems": self.systems} if self.systems else {}), **tail}


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


def summarize_run(store, run_id, resamples=1000, seed=0, partial: str = "exclude") -> Summary:
    """A run's summary from the database alone. Scores follow docs/SCORING.md: an answer missing any
    verdict is partial; headline figures cover complete answers, and coverage says what was left out."""
    return build(StoredRun(store, run_id), resamples, seed, partial)[0]


def run_summary(store, run_id, resamples=1000, seed=0, partial: str = "exclude") -> tuple[Summary, list[dict]]:
    """The summary and one row per answer with its units' verdicts beside their text."""
    run = StoredRun(store, run_id)
    summary, rows = build(run, resamples, seed, partial, keep_rows=True)
    answers = []
    program = {"program": run.config["program"]} if run.config.get("program") else {}
    for it, units, results in rows:
        score, detail = summary.per_answer[it.id]
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


def build(run: StoredRun, resamples, seed, partial, keep_rows=False) -> tuple[Summary, list | None]:
    """The summary, and with keep_rows the rows as judged (each turn's units for each_turn) for an export. The
    kind's scores read the answers as they stream from the database: memory stays flat in the run's size."""
    if partial not in PARTIAL:
        from .errors import MedjudgeError

        raise MedjudgeError("--partial must be exclude or include")
    rubric = run.rubric
    cov = Tally()
    per_answer, unit_rows, tallies, sources = {}, [] if keep_rows else None, {}, Counter()

    def rows():
        for it, units, results in run.units():
            if it.source:
                sources[it.source] += 1
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
    answers = store.answer_count(run.id)
    scores = rubric.score(Rows(rows(), answers), run, partial, resamples, seed)
    for answer_id, (score, detail) in scores.answers.items():
        per_answer[answer_id][0] = score
        per_answer[answer_id][1].update(detail)

    def system_rows(source):  # one system's answers, read again (coverage and per-answer rows are the run's)
        for it, units, results in run.units(source):
            yield (it, *by_conversation(rubric, it, results)) if rubric.scope == "each_turn" else (it, units, results)

    systems = {s: rubric.score(Rows(system_rows(s), n), run, partial, resamples, seed).figures
               for s, n in sources.items()} if len(sources) > 1 else None
    error_reasons = Counter(store.error_reasons(run.id))
    per_judge = store.calls_by_model(run.id)
    summary = Summary(run.id, f"{rubric.id}@{rubric.version}", rubric.kind, row["mode"], run.models, row["samples"],
                      answers, row["status"], partial, run.config.get("quorum") or "majority",
                      run.config.get("program"), scores.figures, cov.coverage(fixed_units=rubric.fixed_units()),
                      sum(error_reasons.values()), dict(error_reasons.most_common(3)), inter_judge_agreement(run),
                      store.call_totals(run.id), per_judge,
                      cascade_summary(per_judge, row) if run.config.get("cascade") else None, systems,
                      per_answer={k: tuple(v) for k, v in per_answer.items()})
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
