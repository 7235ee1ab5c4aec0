"""Scale rubrics: ordinal dimensions with anchor text per level (MedHELM 1-5, MentalBench)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from .base import RubricBase, Scores, Strict, coerce_label, unique_ids

TEMPLATE = '''\
# Ordinal dimensions with an anchor per level (MedHELM 1-5). Median across the panel.
dimensions:
  - id: accuracy
    question: Are the medical statements in the answer correct?
    min: 1
    max: 5
    anchors:
      1: "Contains errors that could harm."
      3: "Mostly correct, minor inaccuracies."
      5: "Fully correct."
examples:
  - prompt: "What is a normal resting heart rate for adults?"
    answer: "Between 60 and 100 beats per minute."
    expected: {accuracy: 5}
  - prompt: "What is a normal resting heart rate for adults?"
    answer: "Around 150 beats per minute."
    expected: {accuracy: 1}
'''


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
    default_turn_rule: ClassVar[str] = "mean"
    program: ClassVar[str] = "medjudge.judges.scale:ScaleProgram"
    template: ClassVar[str] = TEMPLATE
    value_type: ClassVar[str] = "ordinal"
    metric_name: ClassVar[str] = "1 - quadratic-weighted error"

    def gold_value(self, unit, values):
        """The experts' median level (the lower middle one for an even count), rounded to a level."""
        import statistics

        return float(round(statistics.median_low(values)))

    def unit_score(self, unit, judged, gold, costs=None):
        """1 - the squared distance as a share of the scale's span: one level off on 1-5 scores 0.9375."""
        return 1.0 - ((judged - gold) / max(1, unit.max - unit.min)) ** 2
    labels: ClassVar[str] = "a number within each dimension's min..max"

    @field_validator("dimensions")
    @classmethod
    def _unique(cls, v):
        return unique_ids(v, "dimension")

    def base_units(self, item):
        return self.dimensions

    def expected_value(self, unit, raw):
        if isinstance(raw, bool) or not isinstance(raw, int) or not unit.min <= raw <= unit.max:
            raise ValueError(f"expected score for {unit.id} must be an integer in {unit.min}..{unit.max}")
        return float(raw)

    def estimand(self):
        return "mean level", float

    def value_label(self, unit, value):
        anchor = unit.anchors.get(int(value)) if float(value).is_integer() else None
        return f"{value:g} {anchor}" if anchor else format(value, "g")

    def values(self, unit):
        return [float(v) for v in range(unit.min, unit.max + 1)]

    def label_value(self, unit, raw):
        """Experts' labels may be any number in range (a mean of several readers, say), not only integers."""
        v = coerce_label(raw)
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ValueError(f"not a number (a level of {unit.id}, {unit.min}..{unit.max})")
        if not unit.min <= v <= unit.max:
            raise ValueError(f"out of range {unit.min:g}..{unit.max:g}")
        return float(v)

    def unit_info(self, unit):
        return {"text": unit.question, "min": unit.min, "max": unit.max, "tags": list(unit.tags)}

    def show_lines(self):
        out = []
        for d in self.dimensions:
            out.append(f"  {d.id}  {d.question} ({d.min}..{d.max})")
            out += [f"      {level}: {text}" for level, text in sorted(d.anchors.items())]
        return out

    def lint_units(self, add):
        from .lint import VAGUE

        for i, d in enumerate(self.dimensions):
            loc, where = ("dimensions", i, "anchors"), f"dimensions[{i}] {d.id}"
            if not d.anchors:
                add("S001", "error", ("dimensions", i), where, "levels without anchors",
                    f"describe at least levels {d.min} and {d.max} under anchors")
            elif d.min not in d.anchors or d.max not in d.anchors:
                add("S002", "warning", loc, where, "the lowest or highest level has no anchor",
                    f"add anchors for {d.min} and {d.max}")
            v = VAGUE.search(d.question)
            if v:
                add("C002", "warning", ("dimensions", i, "question"), where,
                    f"vague word '{v.group(1)}' without a definition", "say what counts in the anchors")

    def score(self, rows, run, partial, resamples, seed):
        answers, scores = [], Scores()
        for it, units, results in rows:
            scored = {u: a for u, a in results.items() if a is not None and a.value is not None}
            answers.append({u: (a.value, a.detail["worst"]) for u, a in scored.items()})
            scores.answer(it.id)[1].update({"dimensions": {u: a.value for u, a in scored.items()},
                                         "panel_mean": {u: a.detail["mean"] for u, a in scored.items()},
                                         "worst_of_n": {u: a.detail["worst"] for u, a in scored.items()}})
        scores.figures = summarize(self.dimensions, answers, resamples, seed, partial)
        return scores

    @classmethod
    def headline_rows(cls, summary):
        return cls.report_rows(summary)[0][1]  # every dimension's mean

    @staticmethod
    def report_rows(s):
        return [("Mean level by dimension (median of the panel per answer), 95% CI",
                 [{"key": f"dimensions.{d}.mean", "label": d, "estimate": v["mean"], "ci": v["ci"], "n": v["n"]}
                  for d, v in s["dimensions"].items()])]

    @staticmethod
    def render_summary(s, console):
        from rich.table import Table

        from ..display import bounds, ci, left_out, num

        with_bounds = s.get("partial") == "include"
        t = Table("dimension", "mean", "95% CI", "worst-of-n mean", "n", *(["bounds with partial"] if with_bounds else []),
                  title=f"By dimension (per answer: median of the panel's votes; complete answers{left_out(s)})")
        for dim, v in s["dimensions"].items():
            t.add_row(dim, num(v["mean"], ".2f"), ci(v["ci"], ".2f"), num(v.get("worst_mean"), ".2f"), str(v["n"]),
                      *([bounds(v.get("bounds"), ".2f")] if with_bounds else []))
        console.print(t)

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
