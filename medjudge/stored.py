"""The run model: a stored run read back from the database: its rubric, answers, judges and verdicts.

The one place that turns judgment rows into verdicts, for the panel and for each judge, so that what
`grade` reports, what `calibrate` measures and what `rubric test` checks are the same panel. A unit expects
judges x samples votes (in a cascade: the first judge's samples, or the stronger judges' samples where it
escalated); the aggregate needs a quorum of them scored (judges/aggregate.py).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import cached_property

from .errors import MedjudgeError
from .inputs import Item
from .judges.aggregate import aggregate, parse_quorum
from .rubrics import parse_rubric


class StoredItems:
    """A run's answers read back from the database each time they are iterated: memory stays flat
    however many answers a run has."""

    def __init__(self, store, run_id, rubric):
        self.store, self.run_id, self.rubric = store, run_id, rubric

    def __iter__(self):
        for row in self.store.answers(self.run_id):
            yield self.item(row)

    def item(self, row: dict) -> Item:
        """A stored answers row as an Item."""
        return Item(id=row["answer_id"], prompt=row["prompt"], answer=row["answer"], source=row["source"],
                    tags=row["tags"] or [], fields=row["fields"] or {},
                    criteria=self.rubric.example_units(row["criteria"]) if row["criteria"] else None)


@dataclass
class Verdicts:
    """Per (answer, unit): the panel's aggregate, and each judge's (its samples aggregated)."""

    panel: dict  # (answer, unit) -> Aggregate
    judges: dict  # judge -> {(answer, unit): Aggregate}
    asked: dict  # judge -> set of (answer, unit) it was asked (any row, failed calls included)


class StoredRun:
    """A run in the database. `row` is its runs-table row (config, panel, versions decoded)."""

    def __init__(self, store, run_id: str):
        row = store.get_run(run_id)
        if row is None:
            raise MedjudgeError(f"no run {run_id!r} in {store.path} (see `medjudge runs`)")
        self.store, self.row, self.id = store, row, row["id"]
        self.rubric = parse_rubric(store.rubric_text(row["rubric_hash"]), f"run {row['id']}").rubric
        self.items = StoredItems(store, self.id, self.rubric)

    def item(self, answer_id: str) -> Item:
        """One of the run's answers by id."""
        row = next((r for r in self.store.answer_rows(answer_id) if r["run_id"] == self.id), None)
        if row is None:
            raise MedjudgeError(f"run {self.id} has no answer {answer_id!r}")
        return self.items.item(row)

    @property
    def config(self) -> dict:
        return self.row["config"] or {}

    @property
    def models(self) -> list[str]:
        return [j["model"] for j in self.row["panel"]]

    @property
    def cascade(self) -> bool:
        return bool(self.config.get("cascade")) and len(self.models) > 1

    def judges(self) -> list:
        """The panel's judges rebuilt from their stored specs (model, API base, key variable)."""
        from .models.llm import Judge

        return [Judge.from_spec(j) for j in self.row["panel"]]

    @cached_property
    def verdicts(self) -> Verdicts:
        """Every unit with at least one judgment row. In a cascade the stronger judges' votes replace the first
        judge's wherever they were asked."""
        return self.tally(self.store.votes(self.id))

    def unit_votes(self) -> dict:
        """{(answer, unit): [each judge x sample's value, None where that vote is unscored]}."""
        return self.store.unit_votes(self.id)

    def tally(self, rows) -> Verdicts:
        """Verdicts from judgment rows (answer, unit, judge, sample, value, reason, status)."""
        tie, quorum = self.config.get("tie"), parse_quorum(self.config.get("quorum"))
        samples, models = self.row["samples"], self.models
        first, strong = models[0], set(models[1:])
        votes = defaultdict(lambda: defaultdict(list))  # (answer, unit) -> judge -> [(value, reason)]
        asked = defaultdict(set)
        for answer_id, unit_id, judge, _, value, reason, status in rows:
            key = (answer_id, unit_id)
            asked[judge].add(key)
            by_judge = votes[key]
            by_judge.setdefault(judge, [])
            if status != "error":  # a failed call is no vote: it counts against the quorum
                by_judge[judge].append((value, reason))
        rule = self.rubric.aggregation
        panel, per_judge = {}, defaultdict(dict)
        for key, by_judge in votes.items():
            for judge, v in by_judge.items():
                if v:  # only failed calls: not judged yet (a rerun redoes them), not unscored
                    per_judge[judge][key] = aggregate(rule, v, tie, samples, quorum)
            if self.cascade:
                escalated = [j for j in by_judge if j in strong]
                pool = escalated if escalated else [first]
                expected = samples * (len(strong) if escalated else 1)
            else:
                pool, expected = models, samples * len(models)
            pooled = [x for j in pool for x in by_judge.get(j, [])]
            if pooled:
                panel[key] = aggregate(rule, pooled, tie, expected, quorum)
        return Verdicts(panel, dict(per_judge), dict(asked))

    def units(self, source: str | None = None):
        """(item, its units, {unit id: the panel's Aggregate or None when not judged yet}) per answer (of one
        system's answers with `source`). Unless the whole run's verdicts are already at hand, each answer's are
        read on their own: memory stays flat however many answers a run has."""
        whole = self.__dict__.get("verdicts")
        only = (self.config.get("probe") or {}).get("only")  # a probe run judges only some units of each answer
        for it in self.items:
            if source is not None and it.source != source:
                continue  # another system's answer: its judgments are not read
            panel = whole.panel if whole else self.tally(self.store.votes(self.id, answer=it.id)).panel
            units = self.rubric.units(it)
            if only is not None:
                units = [u for u in units if u.id in set(only.get(it.id, ()))]
            yield it, units, {u.id: panel.get((it.id, u.id)) for u in units}

    def categories(self) -> dict[str, set]:
        """answer -> the error categories any judge named (safety rubrics)."""
        out = defaultdict(set)
        for answer_id, _, _, detail in self.store.details(self.id):
            out[answer_id].update(detail.get("categories", []))
        return out

