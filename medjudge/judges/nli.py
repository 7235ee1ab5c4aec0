"""NLI judge: is each reference statement entailed, neutral or contradicted by the answer (premise = answer)?"""

from __future__ import annotations

from typing import Literal

import dspy
from pydantic import BaseModel

from ..rubrics.nli import RELATION_VALUE
from .program import JudgeProgram, Vote, quote

TASK = (
    "You check reference statements written by physicians against an answer to a patient's question. "
    "The answer is the premise and each statement a hypothesis: say 'entailed' if the answer states or clearly "
    "implies it, 'contradicted' if the answer says something incompatible with it, and 'neutral' otherwise "
    "(the answer does not address it). Judge only what the answer says, not what is true in general."
)

Relation = Literal["entailed", "neutral", "contradicted"]


class StatementVerdict(BaseModel):
    id: str
    explanation: str
    relation: Relation


class NliSingle(dspy.Signature):
    conversation: str = dspy.InputField(desc="the patient's question")
    answer: str = dspy.InputField(desc="the answer under evaluation (the premise)")
    statement: str = dspy.InputField(desc="a reference statement (the hypothesis)")
    explanation: str = dspy.OutputField(desc="brief reasoning citing the answer")
    relation: Relation = dspy.OutputField(desc="entailed, neutral or contradicted")


class NliBatched(dspy.Signature):
    conversation: str = dspy.InputField(desc="the patient's question")
    answer: str = dspy.InputField(desc="the answer under evaluation (the premise)")
    statements: str = dspy.InputField(desc="reference statements, one per line, each with its id")
    verdicts: list[StatementVerdict] = dspy.OutputField(desc="one verdict per statement id, in order")


class NliProgram(JudgeProgram):
    single_signature = NliSingle
    batched_signature = NliBatched
    task = TASK

    def unit_inputs(self, item, units):
        if self.mode == "batched":
            return {"statements": quote("statements", "\n".join(f"- id: {s.id} | {s.text}" for s in units))}
        return {"statement": quote("statement", units[0].text)}

    @staticmethod
    def _vote(relation, explanation):
        return Vote(RELATION_VALUE[relation], relation, explanation or "")

    def read_single(self, out, unit):
        return self._vote(out["relation"], out.get("explanation"))

    def read_entry(self, entry, unit):
        return self._vote(entry.relation, entry.explanation)
