"""Unit tests for rubrics: grade a rubric's worked examples and compare the verdicts with the expected ones."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import MedjudgeError
from .grading import GradeConfig, grade_items
from .inputs import example_items
from .stored import StoredRun


@dataclass
class Check:
    example: str
    unit: str
    expected: float
    got: float | None
    reason: str | None
    expected_label: str = ""  # in the kind's words (met / unmet, a level's name)
    got_label: str = ""

    @property
    def ok(self) -> bool:
        return self.got is not None and self.got == self.expected


def test_rubric(store, loaded, judges: list[str], mode="per-criterion", samples=1) -> list[Check]:
    rubric = loaded.rubric
    if not rubric.examples:
        raise MedjudgeError(f"{loaded.path}: the rubric has no worked examples to test (add `examples:`)")
    items = example_items(loaded)
    cfg = GradeConfig(input_path=f"{loaded.path}#examples", rubric=loaded.path, judges=judges, mode=mode,
                      samples=samples, purpose="rubric test")
    run_id, _ = grade_items(store, cfg, loaded, items)
    aggs = StoredRun(store, run_id).verdicts.panel
    checks = []
    for ex, item in zip(rubric.examples, items):
        units = {u.id: u for u in rubric.units(item)}
        for unit_id, raw in ex.expected.items():
            a = aggs.get((item.id, unit_id))
            unit, got = units[unit_id], (a.value if a else None)
            expected = rubric.expected_value(unit, raw)
            checks.append(Check(item.id, unit_id, expected, got, a.reason if a else "not judged",
                                rubric.value_label(unit, expected),
                                "unscored" if got is None else rubric.value_label(unit, got)))
    return checks


test_rubric.__test__ = False  # not a pytest test
