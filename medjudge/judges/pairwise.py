"""Pairwise judge: which of two answers is better, asked once in each order; the judge sees no names."""

from __future__ import annotations

from typing import Literal

from .program import In, JudgeProgram, Out, Spec, Vote, quote, render_conversation

TASK = (
    "You compare two answers to the same health conversation, shown as the first and the second answer. "
    "Decide which one is better by the question given, or say tie when neither is better. Judge only what "
    "the answers say; ignore their order and their length as such."
)
Better = Literal["first", "second", "tie"]


PairwiseSignature = Spec("PairwiseSignature",
                         conversation=In("the conversation so far"),
                         first_answer=In("the answer shown first"),
                         second_answer=In("the answer shown second"),
                         question=In("what makes an answer better"),
                         explanation=Out(str, "brief reasoning citing both answers"),
                         better=Out(Better, "first, second or tie"))


class PairwiseProgram(JudgeProgram):
    single_signature = PairwiseSignature
    batched_signature = PairwiseSignature  # one verdict per call: both modes make the two calls
    task = TASK

    def unit_calls(self, item, units):
        return [(u.id, [u]) for u in units]  # the two orders, one call each

    def inputs(self, item, units):
        a, b = item.answer, str(item.fields.get(self.rubric.answer_b_field, ""))
        first, second = (a, b) if units[0].id == "ab" else (b, a)
        return {"conversation": quote("conversation", render_conversation(item.prompt)),
                "first_answer": quote("answer", first), "second_answer": quote("answer", second),
                "question": quote("criterion", self.rubric.question)}

    def read_single(self, out, unit):
        better = out["better"]
        if better == "tie" and not self.rubric.allow_tie:
            return Vote(None, None, out.get("explanation") or "", "a tie, which this rubric does not allow")
        shown_first_wins = {"first": 1.0, "second": -1.0, "tie": 0.0}[better]
        value = shown_first_wins if unit.id == "ab" else -shown_first_wins  # back to A / B, whatever the order
        label = {1.0: "A", -1.0: "B", 0.0: "tie"}[value]
        return Vote(value, label, out.get("explanation") or "")

    def single_reply(self, unit, value):
        shown_first = value if unit.id == "ab" else -value
        return {"explanation": "", "better": {1.0: "first", -1.0: "second", 0.0: "tie"}[shown_first]}

