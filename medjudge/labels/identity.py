"""Which answer a label belongs to: the one way every command reads expert labels for a run's answers.

A label is stored under the item id the user gave and a `label_key`: a hash of what the rater read (the prompt
or conversation, the answer, and what the rubric shows beside them: a source document, the unit's own text
where units come with each example, the second answer of a pair in its order). A label joins every answer
with the same key, in any run (two judges or panels on one answer share its labels), and never another answer
to the same prompt. A label whose key is '' (imported by item id alone, or stored before labels had keys) joins
an answer by id only where the database holds one answer under that id; elsewhere it is counted as ambiguous.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from ..errors import MedjudgeError
from ..store import dumps


def label_key(rubric, item, unit) -> str:
    """The identity of what a rater read when labelling `unit` of `item` under `rubric`."""
    base = getattr(unit, "base", unit)  # a turn unit: its turn is in the unit id, its text is the base unit's
    read = [item.prompt, item.answer, rubric.read_with(item, base)]
    return "k" + hashlib.sha256(dumps(read).encode("utf-8")).hexdigest()[:15]


def labelled_units(rubric, item) -> list:
    """The units a label on this item can name: the judged ones, and for each_turn rubrics also the
    conversation's units (a label on the whole conversation)."""
    units = list(rubric.units(item))
    return units + list(rubric.base_units(item)) if rubric.scope == "each_turn" else units


def unit_keys(rubric, items) -> dict[tuple, list]:
    """{(label key, unit id): [(answer id, unit id)]} for every unit a label on the items can name."""
    out = defaultdict(list)
    for it in items:
        for u in labelled_units(rubric, it):
            out[(label_key(rubric, it, u), u.id)].append((it.id, u.id))
    return out


@dataclass
class Label:
    answer_id: str  # the answer of the run (or items) it joined
    unit_id: str
    rater: str
    kind: str  # expert | llm_judge
    value: float | None  # None: a label that could not be read (with `problem`)
    source: str | None = None
    tags: tuple = ()
    rationale: str | None = None
    value_type: str | None = None
    file: str | None = None
    problem: str | None = None
    row: dict = field(default_factory=dict, repr=False)  # the annotations row


@dataclass
class Labels:
    """Labels joined to a set of answers, and what was left out."""

    labels: list[Label]
    counts: dict  # joined, by_id (of them, joined by item id alone), ambiguous, other_answers, never_judged
    unjudged: list[Label] = field(default_factory=list)  # labels on answers no run holds (item id@key as answer id)

    def values(self, transform=float) -> dict:
        """{(answer, unit): the mean over raters of the transformed label}."""
        sums = defaultdict(list)
        for lab in self.labels:
            if lab.value is not None:
                sums[(lab.answer_id, lab.unit_id)].append(transform(lab.value))
        return {k: sum(v) / len(v) for k, v in sums.items()}

    def left_out(self) -> str:
        """One line on the labels that did not join, or ''."""
        c = self.counts
        parts = []
        if c["ambiguous"]:
            parts.append(f"{c['ambiguous']} by an item id that names several answers in the database (import them "
                         "again with --run RUN_ID or --answers FILE)")
        if c["never_judged"]:
            parts.append(f"{c['never_judged']} on items this run never judged")
        return "; ".join(parts)


def read(store, rubric, items, raters=None, experts_only: bool = False, valid: bool | None = True) -> Labels:
    """The labels on these answers (a stored run's items, or an answers file's) by `raters` (default every
    rater; `experts_only` keeps rater kind expert unless raters are named): valid ones, those that could not be
    read (valid=False: value None, with the problem), or both (valid=None)."""
    keys = unit_keys(rubric, items)
    ids = {pair for targets in keys.values() for pair in targets}
    rows = [r for r in store.label_rows(raters, valid) if raters or not experts_only or r["rater_kind"] == "expert"]
    by_id = {r["item_id"] for r in rows if not r["label_key"] and (r["item_id"], r["unit_id"]) in ids}
    versions = store.answer_versions(by_id)
    joined, counts, elsewhere = [], Counter(), []
    for r in rows:
        if r["label_key"]:
            targets = keys.get((r["label_key"], r["unit_id"]))
        elif (r["item_id"], r["unit_id"]) in ids:
            if versions.get(r["item_id"], 1) > 1:
                counts["ambiguous"] += 1
                continue
            targets = [(r["item_id"], r["unit_id"])]
            counts["by_id"] += len(targets)
        else:
            targets = None
        if not targets:
            elsewhere.append(r)
            continue
        joined += [_label(r, answer_id, unit_id) for answer_id, unit_id in targets]
    counts["joined"] = len(joined)
    unjudged = [_label(r, r["item_id"] + (f"@{r['label_key']}" if r["label_key"] else ""), r["unit_id"])
                for r in _unjudged(store, rubric, ids, elsewhere)]
    counts["never_judged"] = len(unjudged)
    counts["other_answers"] = len(elsewhere) - len(unjudged)
    return Labels(joined, {k: counts.get(k, 0) for k in ("joined", "by_id", "ambiguous", "other_answers",
                                                          "never_judged")}, unjudged)


def _label(r, answer_id, unit_id) -> Label:
    return Label(answer_id, unit_id, r["rater"], r["rater_kind"], r["value"] if r["valid"] else None, r["source"],
                 tuple(json.loads(r["tags"])) if r["tags"] else (), r["rationale"], r["value_type"], r["file"],
                 r["problem"], r)


def _unjudged(store, rubric, ids, rows) -> list[dict]:
    """The labels on items no stored run holds (say, past a run's --limit), on this rubric's units (rubrics whose
    units come with each example: labels read with the same value type)."""
    known_units = {u for _, u in ids}
    fixed = rubric.fixed_units()
    present = store.answer_versions({r["item_id"] for r in rows})  # ids some run holds
    return [r for r in rows if r["item_id"] not in present
            and (r["unit_id"] in known_units or (not fixed and r["value_type"] == rubric.value_type))]


def for_run(store, run, raters=None, experts_only: bool = False, valid: bool | None = True) -> Labels:
    """The labels on a stored run's answers (stored.StoredRun)."""
    return read(store, run.rubric, run.items, raters, experts_only, valid)


class Resolver:
    """At import: the label key of each (item id, unit id) a file names. Given a run (`--run`) or an answers file
    (`--answers`), ids are looked up there; otherwise in the database: an id that names one answer there gets its
    key, an id found nowhere is kept by id alone (''), and an id that names several different answers is refused
    (AmbiguousId), never guessed. An answer text given with the label picks among the answers with that id."""

    def __init__(self, store, rubric=None, run_id: str | None = None, answers=None):
        self.store, self.rubric, self.where = store, rubric, None
        self.index: dict | None = None
        self._runs: dict = {}
        self._found: dict = {}
        if run_id is not None:
            from ..stored import StoredRun

            run = StoredRun(store, run_id)
            self.rubric = rubric or run.rubric
            self.index, self.where = self._index(run.rubric, run.items), f"run {run.id}"
        elif answers is not None:
            if rubric is None:
                raise MedjudgeError("--answers needs --rubric: the rubric says what a rater read beside each answer")
            self.index, self.where = self._index(rubric, answers), "the answers file"

    @staticmethod
    def _index(rubric, items) -> dict:
        return {pair: key for (key, _), pairs in unit_keys(rubric, items).items() for pair in pairs}

    def key(self, item_id: str, unit_id: str, answer: str | None = None) -> tuple[str, str | None]:
        """(label key, None) or ('', problem) when the file's run or answers have no such answer and unit."""
        if self.index is not None:
            key = self.index.get((item_id, unit_id))
            return (key, None) if key else ("", f"no answer {item_id!r} with unit {unit_id!r} in {self.where}")
        found = self._found.get((item_id, answer))
        if found is None:
            found = self._found[(item_id, answer)] = self._versions(item_id, answer)
        if not found:
            return "", None  # an answer no run holds (yet): kept by id, joined where the id is unambiguous
        if len(found) > 1:
            raise AmbiguousId(f"item {item_id!r} names {len(found)} different answers in {self.store.path} (runs "
                              f"{', '.join(sorted({r for rows in found.values() for r, _ in rows}))}): say which with "
                              "--run RUN_ID, --answers FILE or an answer column")
        for run_id, row in next(iter(found.values())):
            key = self._key_in_run(run_id, row, unit_id)
            if key:
                return key, None
        return "", None

    def _versions(self, item_id, answer) -> dict:
        out = defaultdict(list)
        for row in self.store.answer_rows(item_id, answer):
            out[dumps([row["prompt"], row["answer"], row["criteria"]])].append((row["run_id"], row))
        return out

    def _key_in_run(self, run_id, row, unit_id) -> str | None:
        from ..stored import StoredRun

        if run_id not in self._runs:
            self._runs[run_id] = StoredRun(self.store, run_id)
        run = self._runs[run_id]
        rubric, item = run.rubric, run.items.item(row)
        unit = next((u for u in labelled_units(rubric, item) if u.id == unit_id), None)
        return label_key(rubric, item, unit) if unit is not None else None


class AmbiguousId(ValueError):
    """An imported label's item id names several answers and nothing says which."""


def stored_value_type(store, raters=None) -> str | None:
    """The value type these raters' labels were read with, when they all agree (None: unrecorded or mixed)."""
    found = {r["value_type"] for r in store.label_rows(raters)}
    return found.pop() if len(found) == 1 else None
