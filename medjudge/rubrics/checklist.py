"""Checklist rubrics: boolean criteria with signed points (HealthBench)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, ValidationError, field_validator

from .base import RubricBase, Scores, Strict, UnitsProblem, coerce_label, unique_ids

TEMPLATE = '''\
# Boolean criteria with signed points (HealthBench). Score = points of met criteria / positive points.
# Leave out `criteria` to take them from each example's `rubrics` field (criteria_field).
criteria:
  - id: urgent_care
    text: Advises calling emergency services for chest pain with shortness of breath.   # one requirement each
    points: 10
    tags: ["axis:accuracy"]
  - id: false_reassurance
    text: Tells the user the chest pain is harmless without an examination.   # undesirable: negative points
    points: -8
    tags: ["axis:accuracy"]
examples:               # worked examples: an answer and the verdicts a good judge reaches
  - prompt: "I have chest pain and I'm short of breath."
    answer: "Call emergency services now."
    expected: {urgent_care: true, false_reassurance: false}
  - prompt: "I have chest pain and I'm short of breath."
    answer: "It's probably nothing, rest a bit."
    expected: {urgent_care: false, false_reassurance: true}
'''


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

    program: ClassVar[str] = "medjudge.judges.checklist:ChecklistProgram"
    template: ClassVar[str] = TEMPLATE
    value_type: ClassVar[str] = "binary"
    metric_name: ClassVar[str] = "balanced accuracy"
    balanced_metric: ClassVar[bool] = True  # a rare "met" counts as much as the common "unmet"
    labels: ClassVar[str] = "true / false (also met / unmet, yes / no, 1 / 0)"

    def base_units(self, item):
        return self.criteria if self.criteria is not None else item.criteria

    def estimand(self):
        return "share of criteria met", float

    def compare_label(self):
        return "HealthBench score (per example, not clipped)"

    def example_value(self, score, units):
        return score  # the HealthBench formula; None for a partial answer

    def unit_tag_values(self, units):
        """The HealthBench formula over the criteria of each tag (axis:*), as simple-evals scores tags."""
        out = {}
        for tag in sorted({t for u in units for t in u.get("tags", [])}):
            crit = [u for u in units if tag in u.get("tags", [])]
            possible = sum(u["points"] for u in crit if u["points"] > 0)
            if possible > 0 and all(u["value"] is not None for u in crit):
                out[tag] = sum(u["points"] for u in crit if u["value"] == 1.0) / possible
        return out

    def fixed_units(self):
        return self.criteria is not None and self.scope != "each_turn"

    def turn_value(self, unit, values):
        if (self.turn_rule or "worst") != "worst":
            return super().turn_value(unit, values)
        worst = min(values) if unit.points > 0 else max(values)  # unmet for a desirable criterion, met otherwise
        return worst, values.index(worst) + 1

    def item_units(self, obj):
        if self.criteria is not None:
            return None
        name = self.criteria_field
        if name not in obj:
            raise UnitsProblem(name, f"missing: rubric {self.id} takes its criteria from each example")
        try:
            return parse_example_criteria(obj[name], name)
        except ValidationError as exc:
            loc = ".".join(str(p) for p in exc.errors()[0]["loc"])
            raise UnitsProblem(f"{name}{'.' + loc if loc else ''}", exc.errors()[0]["msg"]) from None
        except ValueError as exc:
            raise UnitsProblem(name, str(exc)) from None

    def value_label(self, unit, value):
        return "met" if value else "unmet"

    def values(self, unit):
        return [0.0, 1.0]

    def label_value(self, unit, raw):
        v = coerce_label(raw)
        if isinstance(v, (int, float)) and not isinstance(v, bool) and v in (0, 1):
            v = bool(v)
        return self.expected_value(unit, v)

    def unit_info(self, unit):
        return {"text": unit.text, "points": unit.points, "tags": list(unit.tags)}

    def show_lines(self):
        out = [f"criteria: from each example's `{self.criteria_field}` field"] if self.criteria is None else []
        return out + [f"  {c.id}  [{c.points:+g}] {c.text}  {' '.join(c.tags)}" for c in self.criteria or []]

    def lint_units(self, add):
        from .lint import COMPOUND, NEGATIVE, POSITIVE, VAGUE, words

        seen = []
        for i, c in enumerate(self.criteria or []):
            loc, where = ("criteria", i, "text"), f"criteria[{i}] {c.id}"
            m = COMPOUND.search(c.text)
            if m:
                add("C001", "warning", loc, where, f"joins two requirements ('{m.group(1)} {m.group(2)}')",
                    "split it into one criterion per requirement (`medjudge rubric atomize`)")
            v = VAGUE.search(c.text)
            if v:
                add("C002", "warning", loc, where, f"vague word '{v.group(1)}' without a definition",
                    "say what counts, e.g. name the actions or facts that make it met")
            if NEGATIVE.search(c.text) and c.points > 0:
                add("C003", "error", ("criteria", i, "points"), where,
                    "negatively worded criterion has positive points",
                    "reword it positively, or give it negative points")
            if POSITIVE.search(c.text) and c.points < 0:
                add("C004", "warning", ("criteria", i, "points"), where,
                    "positively worded criterion has negative points",
                    "describe the undesirable behaviour in the text, or make the points positive")
            w = words(c.text)
            for j, (other_id, other) in enumerate(seen):
                if c.text.strip().lower() == self.criteria[j].text.strip().lower():
                    add("C005", "error", loc, where, f"duplicates {other_id}", "delete one of them")
                elif w and other and len(w & other) / len(w | other) >= 0.8:
                    add("C006", "warning", loc, where, f"overlaps {other_id}",
                        "merge them or make each one ask about something different")
            seen.append((c.id, w))

    def score(self, rows, run, partial, resamples, seed):
        scores = Scores()

        def answers():  # streamed: summarize keeps a few numbers per answer, not its criteria
            for it, units, results in rows:
                met = {u: bool(a.value) for u, a in results.items() if a is not None and a.value is not None}
                b = answer_bounds(units, met)
                d = scores.answer(it.id)
                d[1]["met"] = met
                if b is not None:
                    d[1]["bounds"] = list(b)
                d[0] = answer_score(units, met)
                yield units, met, it.tags
        scores.figures = summarize(answers(), resamples, seed, partial)
        return scores

    @staticmethod
    def report_rows(s):
        def row(key, label, v):
            half = 1.96 * v["std"] if v.get("std") is not None else None
            ci = [max(0.0, v["score"] - half), min(1.0, v["score"] + half)] if half is not None else [None, None]
            return {"key": key, "label": label, "estimate": v["score"], "ci": ci, "n": v["n"]}

        rows = [row("overall.score", "overall", s["overall"])]
        rows += [row(f"tags.{t}.score", t, v) for t, v in s["tags"].items()]
        return [("Score (HealthBench formula; interval: score +- 1.96 bootstrap std)", rows)]

    @staticmethod
    def render_summary(s, console):
        from rich.table import Table

        from ..display import bounds, left_out, num

        o = s["overall"]
        rubric_id = s["rubric"].split("@")[0]
        label = "HealthBench score" if rubric_id == "healthbench" else f"{rubric_id} score (HealthBench formula)"
        console.print(f"[bold]{label} {num(o['score'])}[/bold] ± {num(o['std'])} (bootstrap std, "
                      f"{o['n']} complete answers{left_out(s)})")
        if o.get("bounds"):
            console.print(f"with the {s['answers_partial']} partial answers (--partial include): the score lies in "
                          f"{bounds(o['bounds'])} over {o['n_with_partial']} answers")
        if s["tags"]:
            with_bounds = any(v.get("bounds") for v in s["tags"].values())
            t = Table("tag", "score", "std", "n", *(["bounds with partial"] if with_bounds else []), title="By tag")
            for tag, v in s["tags"].items():
                t.add_row(tag, num(v["score"]), num(v["std"]), str(v["n"]),
                          *([bounds(v.get("bounds"))] if with_bounds else []))
            console.print(t)

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


# -- scoring (HealthBench, openai/simple-evals healthbench_eval.py; the policy in docs/SCORING.md) ----

def answer_bounds(criteria, met: dict) -> tuple[float, float] | None:
    """The lowest and highest score an answer can have: its unscored criteria (absent from met) taken
    the worst and the best way. Equal for a complete answer; None when no criterion has positive points.

    HealthBench: sum of points of met criteria / sum of positive points, not clipped per answer."""
    possible = sum(c.points for c in criteria if c.points > 0)
    if possible <= 0:
        return None
    base = sum(c.points for c in criteria if met.get(c.id) is True)
    missing = [c for c in criteria if met.get(c.id) is None]
    lo = base + sum(c.points for c in missing if c.points < 0)
    hi = base + sum(c.points for c in missing if c.points > 0)
    return lo / possible, hi / possible


def answer_score(criteria, met: dict) -> float | None:
    """The HealthBench score of a complete answer; None when a criterion is unscored (the answer is partial)."""
    if any(met.get(c.id) is None for c in criteria):
        return None
    bounds = answer_bounds(criteria, met)
    return None if bounds is None else bounds[0]


def clipped_stats(values, resamples=1000, seed=0) -> dict:
    """HealthBench aggregate: clip(mean, 0, 1) and the std of clipped bootstrap means."""
    from ..bootstrap import bootstrap_means

    if not values:
        return {"score": None, "std": None, "n": 0}
    mean = min(1.0, max(0.0, sum(values) / len(values)))
    means = bootstrap_means(values, resamples, seed, clip=(0.0, 1.0))
    std = float(means.std()) if means.size else None
    return {"score": mean, "std": std, "n": len(values)}


def _clipped_mean(values):
    return min(1.0, max(0.0, sum(values) / len(values))) if values else None


def summarize(answers, resamples=1000, seed=0, partial: str = "exclude") -> dict:
    """answers: [(criteria, met map of the scored criteria, example tags)]. Overall, per criterion tag
    (axis:*) and per example tag, over complete answers; partial answers are counted and, with
    partial="include", bound the mean (lowest and highest clipped mean their missing verdicts allow)."""
    overall, by_tag, partial_n = [], {}, 0
    lo_all, hi_all, tag_bounds = [], [], {}
    for criteria, met, example_tags in answers:
        bounds = answer_bounds(criteria, met)
        if bounds is None:
            continue
        complete = all(met.get(c.id) is not None for c in criteria)
        lo_all.append(bounds[0])
        hi_all.append(bounds[1])
        tagged = {t: [c for c in criteria if t in c.tags] for t in sorted({t for c in criteria for t in c.tags})}
        per_tag = {t: bounds for t in example_tags}
        for t, crit in tagged.items():
            b = answer_bounds(crit, met)
            if b is not None:
                per_tag[t] = b
        for t, b in per_tag.items():
            lo, hi = tag_bounds.setdefault(t, ([], []))
            lo.append(b[0])
            hi.append(b[1])
        if not complete:
            partial_n += 1
            continue
        overall.append(bounds[0])
        for t, b in per_tag.items():
            by_tag.setdefault(t, []).append(b[0])
    out = {
        "overall": clipped_stats(overall, resamples, seed),
        "tags": {t: clipped_stats(by_tag.get(t, []), resamples, seed) for t in sorted(tag_bounds)},
        "answers_scored": len(overall),
        "answers_partial": partial_n,
    }
    if partial == "include":
        out["overall"]["bounds"] = [_clipped_mean(lo_all), _clipped_mean(hi_all)]
        out["overall"]["n_with_partial"] = len(lo_all)
        for t, (lo, hi) in tag_bounds.items():
            out["tags"][t]["bounds"] = [_clipped_mean(lo), _clipped_mean(hi)]
    return out
