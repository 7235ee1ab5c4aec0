"""Fields every rubric kind shares."""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkedExample(Strict):
    """An answer with the verdicts a good judge should reach: unit tests for a rubric."""

    prompt: str | list[dict[str, str]]
    answer: str
    fields: dict[str, Any] = Field(default_factory=dict)
    expected: dict[str, Any]


class RubricBase(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    version: str
    title: str
    description: str = ""
    citation: str = ""
    instructions: str = ""
    drafted_by: str | None = None  # set on machine-drafted rubrics until a human reviews them
    # a field of each example holding a source document the answer is judged against
    source_field: str | None = None
    examples: list[WorkedExample] = Field(default_factory=list)
    # what in a conversation is judged (rubrics/scope.py): the last turn, each turn, or the conversation
    scope: Literal["last_turn", "each_turn", "conversation"] = "last_turn"
    turn_rule: Literal["worst", "mean", "last"] | None = None  # each_turn: the conversation's value from its turns

    scopes: ClassVar[tuple[str, ...]] = ("last_turn", "each_turn", "conversation")
    default_turn_rule: ClassVar[str] = "worst"

    @model_validator(mode="after")
    def _scope_fits(self):
        if self.scope not in self.scopes:
            raise ValueError(f"scope {self.scope} does not fit a {self.kind} rubric (scopes: {', '.join(self.scopes)})")
        if self.turn_rule is not None and self.scope != "each_turn":
            raise ValueError("turn_rule needs scope: each_turn")
        return self

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v):
        return str(v) if isinstance(v, (int, float)) else v

    # -- what a kind declares (docs/ARCHITECTURE.md, "Adding a rubric kind"); registered in rubrics/kinds.py --
    program: ClassVar[str]  # "module:Class" of its DSPy judge program (a judges.program.JudgeProgram)
    template: ClassVar[str]  # the kind's part of `medjudge rubric new --kind KIND` (validates as it is)
    aggregation: ClassVar[str] = "majority"  # how a panel's votes on one unit combine (judges/aggregate.py)
    labels: ClassVar[str] = ""  # the words its verdicts and expert labels are written in, for help and errors
    value_type: ClassVar[str | None] = None  # binary | nominal | ordinal | interval | ratio, for calibration

    def units(self, item) -> list:
        """The units the judge rates for one item: the kind's units, at every assistant turn for each_turn."""
        base = self.base_units(item)
        if self.scope != "each_turn" or item is None:
            return base
        from .scope import TurnUnit, turns

        return [TurnUnit(u, t) for t in range(1, turns(item) + 1) for u in base]

    def base_units(self, item) -> list:
        """The criteria or dimensions the judge rates for one item (one answer)."""
        raise NotImplementedError

    def turn_value(self, unit, values: list[float]) -> tuple[float, int | None]:
        """The conversation's value of a unit from its turns' values, and the turn it comes from (each_turn).
        worst: the lowest (kinds where lower is worse; safety and checklists override), mean, or last."""
        rule = self.turn_rule or self.default_turn_rule
        if rule == "mean":
            return sum(values) / len(values), None
        if rule == "last":
            return values[-1], len(values)
        worst = min(values)
        return worst, values.index(worst) + 1

    def describe(self) -> str:
        """One line on what the judge rates."""
        raise NotImplementedError

    def expected_value(self, unit, raw) -> float:
        """A worked example's expected verdict as the stored value; ValueError when it does not fit the unit."""
        raise NotImplementedError

    def values(self, unit) -> list[float]:
        """The stored values a verdict on this unit can take."""
        raise NotImplementedError

    def label_value(self, unit, raw) -> float:
        """An expert's label (a CSV cell or JSON value, in the kind's own words) as the stored value;
        ValueError saying what fits when it does not."""
        return self.expected_value(unit, coerce_label(raw))

    def value_label(self, unit, value: float) -> str:
        """A stored value in the kind's own words (what a physician picks on the review page)."""
        return format(value, "g")

    # -- what `medjudge probe` changes (probing/__init__.py, docs/PROBES.md) --
    def reword(self, unit, text: str):
        """The unit with its wording replaced (the paraphrase probe); None when the kind has no wording to change."""
        for field in ("text", "question"):
            if hasattr(unit, field) and hasattr(unit, "model_copy"):
                return unit.model_copy(update={field: text})
        return None

    def flip_target(self, unit, value: float) -> float:
        """The verdict a must-flip edit of the answer should bring this unit to: the value farthest from the
        current one (met <-> unmet, the far end of a scale, an unsafe level, contradicted)."""
        return max(self.values(unit), key=lambda v: (abs(v - value), -v))

    def read_with(self, item, unit) -> list:
        """What a rater reads beside the prompt and the answer when labelling this unit (part of a label's identity,
        labels/identity.py): the source document, and the unit's own text where units come with each example
        (a HealthBench criterion, an NLI statement)."""
        out = [item.fields.get(self.source_field)] if self.source_field else []
        return out + ([] if self.fixed_units() else [getattr(unit, "text", None)])

    def label_units(self, unit_id: str) -> list[str]:
        """The stored units an expert's label on `unit_id` stands for (a pairwise preference: both orders)."""
        return [unit_id]

    def example_units(self, raw: list[dict]) -> list:
        """Per-example units as stored in the database, back into their models."""
        raise NotImplementedError

    def item_units(self, obj: dict) -> list | None:
        """Per-example units read from one input record (None: the rubric's own units serve every answer).
        UnitsProblem (naming the field) when the record's units are missing or wrong."""
        return None

    def needs_split(self, item) -> bool:
        """True when the item's units must be drafted by an LLM before judging (judges/split.py)."""
        return False

    def estimand(self) -> tuple[str, object]:
        """What `medjudge estimate` corrects: its name and the map from a unit's stored value to the quantity."""
        return "mean value", float

    higher_is_better: ClassVar[bool] = True  # for `medjudge compare`'s ranking

    # -- what `medjudge optimize` tunes a judge for (optimizing/optimizers.py, docs/OPTIMIZE.md) --
    metric_name: ClassVar[str] = "accuracy"
    balanced_metric: ClassVar[bool] = False  # True: every expert class weighs the same (balanced accuracy)

    def gold_value(self, unit, values: list[float]) -> float | None:
        """The experts' label on a unit, the target of optimisation: their majority, None on a tie."""
        from collections import Counter

        top = Counter(values).most_common(2)
        if not top or (len(top) == 2 and top[0][1] == top[1][1]):
            return None
        return top[0][0]

    def unit_score(self, unit, judged: float, gold: float, costs: dict | None = None) -> float:
        """How well one verdict matches the experts' label: 1 right, 0 wrong, between for near misses."""
        return float(judged == gold)

    def compare_label(self) -> str:
        """The name of the per-example number `medjudge compare` compares."""
        return self.estimand()[0]

    def example_value(self, score, units: list[dict]) -> float | None:
        """One number per example for comparing systems: the mean of the estimand over its units, None
        unless every unit is scored."""
        _, transform = self.estimand()
        values = [u["value"] for u in units]
        if not values or any(v is None for v in values):
            return None
        return sum(transform(v) for v in values) / len(values)

    def unit_tag_values(self, units: list[dict]) -> dict[str, float]:
        """Per tag of the units (a checklist's axis:*), one number per example for `medjudge compare`."""
        return {}

    def fixed_units(self) -> bool:
        """True when every answer is rated on the same units (coverage is then shown per unit)."""
        return self.scope != "each_turn"

    def unit_info(self, unit) -> dict:
        """What an export shows beside a unit's verdict: its text and the kind's attributes (points, tags...)."""
        return {"text": getattr(unit, "text", ""), "tags": list(getattr(unit, "tags", []))}

    def show_lines(self) -> list[str]:
        """The units as `medjudge rubric show` prints them."""
        return [f"  {self.describe()}"]

    def lint_units(self, add) -> None:
        """Kind-specific lint findings: add(rule, severity, key path, where, message, fix) (rubrics/lint.py)."""

    def score(self, rows, run, partial, resamples, seed) -> "Scores":
        """The summary's scores. rows: (item, units, {unit id: Aggregate or None}) per answer, streamed from the
        database: iterable once, len(rows) the number of answers (summaries.Rows); run: the stored.StoredRun.
        Returns Scores: the summary's figures, and per answer its score (None unless complete) and details."""
        raise NotImplementedError

    @classmethod
    def headline_rows(cls, summary: dict) -> list[dict]:
        """The figures a gate (grade --fail-under) reads: the first of the report's rows."""
        sections = cls.report_rows(summary)
        return sections[0][1][:1] if sections and sections[0][1] else []

    @staticmethod
    def report_rows(summary: dict) -> list[tuple[str, list[dict]]]:
        """The report's figures: [(title, [{key, label, estimate, ci, n}])]; key names the summary field."""
        return []

    @staticmethod
    def render_summary(summary: dict, console) -> None:
        """Print the scores `score` returned (rich console)."""
        raise NotImplementedError


@dataclasses.dataclass
class Scores:
    """What a kind's score() returns: `figures`, the keys it adds to the run summary (overall, tags, pairs...), and
    per answer [its score or None unless complete, the details it adds to the answer's row]."""

    figures: dict = dataclasses.field(default_factory=dict)
    answers: dict = dataclasses.field(default_factory=dict)  # answer id -> [score or None, {detail}]

    def answer(self, answer_id: str) -> list:
        """The answer's [score, details], to fill."""
        return self.answers.setdefault(answer_id, [None, {}])


class UnitsProblem(ValueError):
    """An input record's units are missing or wrong: `field` names the record's field."""

    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field


TRUE = {"true", "yes", "met", "y", "t"}
FALSE = {"false", "no", "unmet", "n", "f"}


def coerce_label(raw):
    """A label as read from a file into a YAML-like value: true/false words to booleans, numbers to numbers,
    other text stripped and lower-cased."""
    if isinstance(raw, (bool, int, float)) or raw is None:
        return raw
    text = str(raw).strip()
    if text.lower() in TRUE:
        return True
    if text.lower() in FALSE:
        return False
    try:
        number = float(text)
    except ValueError:
        return text.lower()
    return int(number) if number.is_integer() else number


def unique_ids(units, what):
    seen = set()
    for u in units:
        if u.id in seen:
            raise ValueError(f"duplicate {what} id {u.id!r}")
        seen.add(u.id)
    return units
