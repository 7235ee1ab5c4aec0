"""Checklist rubrics: boolean criteria with signed points (HealthBench)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from .base import RubricBase, Strict, unique_ids


class Criterion(Strict):
    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    points: float
    tags: list[str] = Field(default_factory=list)
    escalate: Literal["never", "always"] = "never"

    @field_validator("points")
    @classmethod
    def _nonzero(cls, v):
        if v == 0:
            raise ValueError("points must be non-zero (positive for desirable, negative for undesirable)")
        return v


class ChecklistRubric(RubricBase):
    kind: Literal["checklist"]
    criteria: list[Criterion] | None = None
    # when criteria are not fixed, each example brings its own under this field (HealthBench: rubrics)
    criteria_field: str = "rubrics"

    @field_validator("criteria")
    @classmethod
    def _criteria_ok(cls, v):
        if v is None:
            return v
        if not v:
            raise ValueError("criteria is empty: list criteria or remove the key to take them from each example")
        unique_ids(v, "criterion")
        if not any(c.points > 0 for c in v):
            raise ValueError("at least one criterion needs positive points")
        return v

    def units(self, item):
        return self.criteria if self.criteria is not None else item.criteria

    def describe(self):
        if self.criteria is None:
            return f"criteria from each example's {self.criteria_field} field"
        return f"{len(self.criteria)} criteria, {sum(c.points for c in self.criteria if c.points > 0):g} positive points"

    def expected_value(self, unit, raw):
        if not isinstance(raw, bool):
            raise ValueError(f"expected verdict for {unit.id} must be true or false")
        return 1.0 if raw else 0.0

    def example_units(self, raw):
        return [Criterion(**c) for c in raw]


def parse_example_criteria(raw, where):
    """Per-example criteria as HealthBench writes them: [{criterion, points, tags}]; ids default to c0, c1..."""
    if not isinstance(raw, list) or not raw:
        raise ValueError(f"{where} must be a non-empty list of criteria")
    out = []
    for i, c in enumerate(raw):
        if not isinstance(c, dict):
            raise ValueError(f"{where}[{i}] must be an object with criterion and points")
        text = c.get("criterion", c.get("text"))
        out.append(Criterion(id=str(c.get("id", f"c{i}")), text=text, points=c.get("points"), tags=c.get("tags", [])))
    unique_ids(out, "criterion")
    return out


# -- scoring (HealthBench, openai/simple-evals healthbench_eval.py) ---------------------------------

def answer_score(criteria, met: dict) -> float | None:
    """Sum of points of met criteria / sum of positive points; unscored criteria (absent from met) excluded.

    Not clipped per answer (it can be negative); None when no positive points were scored."""
    scored = [c for c in criteria if met.get(c.id) is not None]
    possible = sum(c.points for c in scored if c.points > 0)
    if possible <= 0:
        return None
    return sum(c.points for c in scored if met[c.id]) / possible


def clipped_stats(values, resamples=1000, seed=0) -> dict:
    """HealthBench aggregate: clip(mean, 0, 1) and the std of clipped bootstrap means."""
    from ..bootstrap import bootstrap_means

    if not values:
        return {"score": None, "std": None, "n": 0}
    mean = min(1.0, max(0.0, sum(values) / len(values)))
    std = float(bootstrap_means(values, resamples, seed, clip=(0.0, 1.0)).std())
    return {"score": mean, "std": std, "n": len(values)}


def summarize(answers, resamples=1000, seed=0) -> dict:
    """answers: [(criteria, met map, example tags)]. Overall, per criterion tag (axis:*) and per example tag."""
    overall, by_tag = [], {}
    for criteria, met, example_tags in answers:
        score = answer_score(criteria, met)
        if score is None:
            continue
        overall.append(score)
        for tag in example_tags:
            by_tag.setdefault(tag, []).append(score)
        for tag in sorted({t for c in criteria for t in c.tags}):
            tagged = [c for c in criteria if tag in c.tags]
            tag_score = answer_score(tagged, met)
            if tag_score is not None:
                by_tag.setdefault(tag, []).append(tag_score)
    return {
        "overall": clipped_stats(overall, resamples, seed),
        "tags": {t: clipped_stats(v, resamples, seed) for t, v in sorted(by_tag.items())},
        "answers_scored": len(overall),
    }
