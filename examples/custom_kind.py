"""An example rubric kind, for contributors: yes/no questions about an answer; the score is the share of yes.

Everything a kind needs is in this one file: the rubric model (schema, template, labels, scoring, display)
and its DSPy judge program. It becomes a kind with one line, either

    from medjudge import register_kind; register_kind(YesNoRubric)

or, from another package, an entry point in its pyproject.toml:

    [project.entry-points."medjudge.kinds"]
    yesno = "custom_kind:YesNoRubric"

A built-in kind is the same: rubrics/<kind>.py, judges/<kind>.py and one line in rubrics/kinds.py.
tests/test_kinds.py runs every kind, this one included, through the same conformance checks.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import dspy
from pydantic import Field, field_validator

from medjudge.judges.program import JudgeProgram, Vote, quote
from medjudge.rubrics.base import RubricBase, Strict, coerce_label, unique_ids


class Question(Strict):
    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    tags: list[str] = Field(default_factory=list)


class YesNoRubric(RubricBase):
    kind: Literal["yesno"]
    questions: list[Question] = Field(min_length=1)

    program: ClassVar[str] = f"{__name__}:YesNoProgram"
    value_type: ClassVar[str] = "binary"
    labels: ClassVar[str] = "yes / no (also true / false, 1 / 0)"
    template: ClassVar[str] = '''\
# Yes/no questions about the answer; the score is the share answered yes.
questions:
  - id: names_dose
    text: Does the answer state a dose?
  - id: sees_doctor
    text: Does the answer advise seeing a doctor?
examples:
  - prompt: "How much paracetamol can I take?"
    answer: "Up to 1 g every 4 to 6 hours, at most 4 g a day; see a doctor if the pain lasts."
    expected: {names_dose: true, sees_doctor: true}
  - prompt: "How much paracetamol can I take?"
    answer: "Take what the box says."
    expected: {names_dose: false, sees_doctor: false}
'''

    @field_validator("questions")
    @classmethod
    def _unique(cls, v):
        return unique_ids(v, "question")

    def base_units(self, item):
        return self.questions

    def describe(self):
        return f"{len(self.questions)} yes/no questions"

    def expected_value(self, unit, raw):
        if not isinstance(raw, bool):
            raise ValueError(f"expected answer to {unit.id} must be true or false")
        return float(raw)

    def values(self, unit):
        return [0.0, 1.0]

    def label_value(self, unit, raw):
        v = coerce_label(raw)
        return self.expected_value(unit, bool(v) if v in (0, 1) and not isinstance(v, bool) else v)

    def unit_info(self, unit):
        return {"text": unit.text, "tags": list(unit.tags)}

    def show_lines(self):
        return [f"  {q.id}  {q.text}" for q in self.questions]

    def score(self, rows, run, partial, resamples, seed):
        from medjudge.bootstrap import bootstrap_means, percentile_ci
        from medjudge.rubrics.base import Scores

        scores, shares = Scores(), []
        for it, units, results in rows:  # rows stream once from the database; len(rows) counts the answers
            values = [a.value for a in results.values() if a is not None and a.value is not None]
            if len(values) == len(units):  # complete answers only (docs/SCORING.md)
                scores.answer(it.id)[0] = sum(values) / len(values)
                shares.append(sum(values) / len(values))
        ci = list(percentile_ci(bootstrap_means(shares, resamples, seed))) if shares else [None, None]
        scores.figures = {"yes_share": {"mean": sum(shares) / len(shares) if shares else None, "ci": ci,
                                        "n": len(shares)},
                          "answers_scored": len(shares), "answers_partial": len(rows) - len(shares)}
        return scores

    @staticmethod
    def render_summary(s, console):
        from medjudge.display import ci, left_out, num

        v = s["yes_share"]
        console.print(f"share of yes {num(v['mean'])} {ci(v['ci'])} over {v['n']} complete answers{left_out(s)}")


class YesNoSignature(dspy.Signature):
    conversation: str = dspy.InputField(desc="the conversation so far")
    answer: str = dspy.InputField(desc="the answer under evaluation")
    question: str = dspy.InputField(desc="a yes/no question about the answer")
    explanation: str = dspy.OutputField(desc="brief reasoning citing the answer")
    yes: bool = dspy.OutputField(desc="true if the answer to the question is yes")


class YesNoProgram(JudgeProgram):
    single_signature = YesNoSignature
    batched_signature = YesNoSignature
    task = "You answer yes/no questions about one answer, the last turn of a health conversation."

    def unit_calls(self, item, units):
        return [(q.id, [q]) for q in units]  # one question a call, in both modes

    def unit_inputs(self, item, units):
        return {"question": quote("question", units[0].text)}

    def read_single(self, out, unit):
        return Vote(1.0 if out["yes"] else 0.0, "yes" if out["yes"] else "no", out.get("explanation") or "")

    def single_reply(self, unit, value):
        return {"explanation": "", "yes": bool(value)}
