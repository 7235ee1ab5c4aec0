"""Checklist judge: is each criterion met by the answer? (true/false with an explanation)."""

from __future__ import annotations

from pydantic import BaseModel

from .program import In, JudgeProgram, Out, Spec, Vote, quote

TASK = (
    "You grade one answer, the last turn of a health conversation, against rubric criteria written by physicians. "
    "For each criterion decide whether the answer meets it. Some criteria describe something undesirable "
    "(negative points): such a criterion is met when the answer does the undesirable thing. "
    "Judge only what the answer says; when a criterion lists several requirements, all must hold."
)


def render_criterion(c) -> str:
    return f"[{c.points:+g} points] {c.text}"


class CriterionVerdict(BaseModel):
    id: str
    explanation: str
    met: bool


ChecklistSingle = Spec("ChecklistSingle",
                       conversation=In("the conversation so far"),
                       answer=In("the answer under evaluation"),
                       criterion=In("one rubric criterion, with its points"),
                       explanation=Out(str, "brief reasoning citing the answer"),
                       criteria_met=Out(bool, "true if the answer meets the criterion"))

ChecklistBatched = Spec("ChecklistBatched",
                        conversation=In("the conversation so far"),
                        answer=In("the answer under evaluation"),
                        criteria=In("rubric criteria, one per line, each with its id and points"),
                        verdicts=Out(list[CriterionVerdict], "one verdict per criterion id, in order"))


class ChecklistProgram(JudgeProgram):
    single_signature = ChecklistSingle
    batched_signature = ChecklistBatched
    task = TASK

    def unit_inputs(self, item, units):
        if self.mode == "batched":
            lines = "\n".join(f"- id: {c.id} | {render_criterion(c)}" for c in units)
            return {"criteria": quote("criteria", lines)}
        return {"criterion": quote("criterion", render_criterion(units[0]))}

    @staticmethod
    def _vote(met, explanation):
        return Vote(1.0 if met else 0.0, "met" if met else "unmet", explanation or "")

    def read_single(self, out, unit):
        return self._vote(out["criteria_met"], out.get("explanation"))

    def read_entry(self, entry, unit):
        return self._vote(entry.met, entry.explanation)

    def single_reply(self, unit, value):
        return {"explanation": "", "criteria_met": bool(value)}

    def entry_reply(self, unit, value):
        return {"id": unit.id, "explanation": "", "met": bool(value)}
