"""A stored run read back from the database: its rubric, its answers, and its verdicts per unit.

The one place that turns judgment rows into verdicts, for the panel and for each judge, so that what
`grade` reports and what `calibrate` measures are the same panel. A unit expects judges x samples votes
(in a cascade: the first judge's samples, or the stronger judges' samples where it escalated); the
aggregate needs a quorum of them scored (judges/aggregate.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from .errors import MedjudgeError
from .inputs import Item
from .judges.aggregate import Aggregate, aggregate, parse_quorum
from .rubrics import parse_rubric


def load_run(store, run_id: str) -> dict:
    run = store.get_run(run_id)
    if run is None:
        raise MedjudgeError(f"no run {run_id!r} in {store.path} (see `medjudge runs`)")
    return run


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


@dataclass
class Verdicts:
    """Per (answer, unit): the panel's aggregate, and each judge's (its samples aggregated)."""

    panel: dict  # (answer, unit) -> Aggregate
    judges: dict  # judge -> {(answer, unit): Aggregate}
    asked: dict  # judge -> set of (answer, unit) it was asked (any row, failed calls included)


def verdicts(store, run, rubric) -> Verdicts:
    """Every unit of the run that has at least one judgment row. In a cascade the stronger judges' votes
    replace the first judge's wherever they were asked."""
    config = run["config"] or {}
    tie, quorum = config.get("tie"), parse_quorum(config.get("quorum"))
    samples = run["samples"]
    models = [j["model"] for j in run["panel"]]
    first, strong = models[0], set(models[1:])
    cascade = bool(config.get("cascade")) and len(models) > 1
    votes = defaultdict(lambda: defaultdict(list))  # (answer, unit) -> judge -> [(value, reason)]
    asked = defaultdict(set)
    for answer_id, unit_id, judge, value, reason, status in store.db.conn.execute(
            "SELECT answer_id, unit_id, judge, value, reason, status FROM judgments WHERE run_id = ?", (run["id"],)):
        key = (answer_id, unit_id)
        asked[judge].add(key)
        by_judge = votes[key]
        by_judge.setdefault(judge, [])
        if status != "error":  # a failed call is no vote: it counts against the quorum
            by_judge[judge].append((value, reason))
    rule = rubric.aggregation
    panel, per_judge = {}, defaultdict(dict)
    for key, by_judge in votes.items():
        for judge, v in by_judge.items():
            if v:  # only failed calls: not judged yet (a rerun redoes them), not unscored
                per_judge[judge][key] = aggregate(rule, v, tie, samples, quorum)
        if cascade:
            escalated = [j for j in by_judge if j in strong]
            pool = escalated if escalated else [first]
            expected = samples * (len(strong) if escalated else 1)
        else:
            pool, expected = models, samples * len(models)
        pooled = [x for j in pool for x in by_judge.get(j, [])]
        if pooled:
            panel[key] = aggregate(rule, pooled, tie, expected, quorum)
    return Verdicts(panel, dict(per_judge), dict(asked))


def aggregates(store, run, rubric) -> dict[tuple, Aggregate]:
    """{(answer_id, unit_id): the panel's Aggregate}."""
    return verdicts(store, run, rubric).panel
