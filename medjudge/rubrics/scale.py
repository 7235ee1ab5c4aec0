"""Scale rubrics: ordinal dimensions with anchor text per level (MedHELM 1-5, MentalBench)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from .base import RubricBase, Strict, unique_ids


class Dimension(Strict):
    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    min: int = 1
    max: int = 5
    anchors: dict[int, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    escalate: Literal["never", "always"] = "never"

    @model_validator(mode="after")
    def _range(self):
        if self.min >= self.max:
            raise ValueError(f"min ({self.min}) must be below max ({self.max})")
        bad = [k for k in self.anchors if not self.min <= k <= self.max]
        if bad:
            raise ValueError(f"anchor levels {bad} lie outside {self.min}..{self.max}")
        return self


class ScaleRubric(RubricBase):
    kind: Literal["scale"]
    dimensions: list[Dimension] = Field(min_length=1)
    aggregation: ClassVar[str] = "median"

    @field_validator("dimensions")
    @classmethod
    def _unique(cls, v):
        return unique_ids(v, "dimension")

    def units(self, item):
        return self.dimensions

    def expected_value(self, unit, raw):
        if isinstance(raw, bool) or not isinstance(raw, int) or not unit.min <= raw <= unit.max:
            raise ValueError(f"expected score for {unit.id} must be an integer in {unit.min}..{unit.max}")
        return float(raw)

    def describe(self):
        return f"{len(self.dimensions)} dimensions: " + ", ".join(f"{d.id} {d.min}-{d.max}" for d in self.dimensions)


def summarize(dimensions, answers: list[dict], resamples=1000, seed=0, partial: str = "exclude") -> dict:
    """answers: one {dimension: (panel median, worst vote)} per answer, scored dimensions only.

    Per dimension, over complete answers (every dimension scored): the mean of the panel's medians with a
    bootstrap 95% CI, and the mean of each answer's worst vote (worst-of-n, the pessimistic reading).
    Partial answers are counted; with partial="include" each dimension also gets the bounds of its mean
    over every answer (a missing value taken as the dimension's minimum, then its maximum)."""
    from ..bootstrap import bootstrap_means, percentile_ci

    complete = [a for a in answers if all(d.id in a for d in dimensions)]
    out = {}
    for d in dimensions:
        vals = [a[d.id][0] for a in complete]
        if not vals:
            out[d.id] = {"mean": None, "ci": [None, None], "n": 0}
        else:
            lo, hi = percentile_ci(bootstrap_means(vals, resamples, seed))
            out[d.id] = {"mean": sum(vals) / len(vals), "ci": [lo, hi], "n": len(vals),
                         "worst_mean": sum(a[d.id][1] for a in complete) / len(vals)}
        if partial == "include" and answers:
            n = len(answers)
            out[d.id]["bounds"] = [sum(a[d.id][0] if d.id in a else d.min for a in answers) / n,
                                   sum(a[d.id][0] if d.id in a else d.max for a in answers) / n]
    return {"dimensions": out, "answers_scored": len(complete), "answers_partial": len(answers) - len(complete)}
