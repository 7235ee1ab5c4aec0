"""NLI judge: is each reference statement entailed, neutral or contradicted by the answer (premise = answer)?"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from ..rubrics.nli import RELATION_VALUE

RELATION_NAME = {v: k for k, v in RELATION_VALUE.items()}
from ..inputs import Item
from .program import BATCH_SIZE, In, JudgeProgram, Out, Spec, Vote, quote

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


NliSingle = Spec("NliSingle",
                 conversation=In("the patient's question"),
                 answer=In("the answer under evaluation (the premise)"),
                 statement=In("a reference statement (the hypothesis)"),
                 explanation=Out(str, "brief reasoning citing the answer"),
                 relation=Out(Relation, "entailed, neutral or contradicted"))

NliBatched = Spec("NliBatched",
                  conversation=In("the patient's question"),
                  answer=In("the answer under evaluation (the premise)"),
                  statements=In("reference statements, one per line, each with its id"),
                  verdicts=Out(list[StatementVerdict], "one verdict per statement id, in order"))


class NliProgram(JudgeProgram):
    single_signature = NliSingle
    batched_signature = NliBatched
    task = TASK

    def unit_calls(self, item, all_units):
        """Reference statements and the answer's own claims go in separate calls: their premises differ."""
        out = []
        for claims in (False, True):
            units = [u for u in all_units if (u.kind == "claim") == claims]
            if self.mode == "batched":
                out += [(f"{'a' if claims else '*'}{i // BATCH_SIZE}", units[i:i + BATCH_SIZE])
                        for i in range(0, len(units), BATCH_SIZE)]
            else:
                out += [(u.id, [u]) for u in units]
        return out

    def messages(self, item, units):
        if units and units[0].kind == "claim":  # reverse: the reference answer is the premise
            reference = Item(id=item.id, prompt=item.prompt, answer=str(item.fields[self.rubric.reference_field]),
                             fields=item.fields)
            return super().messages(reference, units)
        return super().messages(item, units)

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

    def single_reply(self, unit, value):
        return {"explanation": "", "relation": RELATION_NAME[value]}

    def entry_reply(self, unit, value):
        return {"id": unit.id, "explanation": "", "relation": RELATION_NAME[value]}
