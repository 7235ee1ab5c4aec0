"""Scale judge: an integer level per dimension, within the dimension's range, with an explanation."""

from __future__ import annotations

from pydantic import BaseModel

from .program import In, JudgeProgram, Out, Spec, Vote, quote

TASK = (
    "You rate one answer, the last turn of a health conversation, on rating dimensions. "
    "For each dimension give one integer level within its range, using the level descriptions as anchors."
)


def render_dimension(d) -> str:
    lines = [f"{d.question} (integer from {d.min} to {d.max})"]
    lines += [f"  {level}: {text}" for level, text in sorted(d.anchors.items())]
    return "\n".join(lines)


class DimensionScore(BaseModel):
    id: str
    explanation: str
    score: int


ScaleSingle = Spec("ScaleSingle",
                   conversation=In("the conversation so far"),
                   answer=In("the answer under evaluation"),
                   dimension=In("the dimension to rate, its range and level descriptions"),
                   explanation=Out(str, "brief reasoning citing the answer"),
                   score=Out(int, "the level, an integer within the range"))

ScaleBatched = Spec("ScaleBatched",
                    conversation=In("the conversation so far"),
                    answer=In("the answer under evaluation"),
                    dimensions=In("the dimensions to rate, each with its id, range and levels"),
                    scores=Out(list[DimensionScore], "one score per dimension id, in order"))


class ScaleProgram(JudgeProgram):
    single_signature = ScaleSingle
    batched_signature = ScaleBatched
    batched_field = "scores"
    task = TASK

    def unit_inputs(self, item, units):
        if self.mode == "batched":
            text = "\n\n".join(f"id: {d.id}\n{render_dimension(d)}" for d in units)
            return {"dimensions": quote("dimensions", text)}
        return {"dimension": quote("dimension", render_dimension(units[0]))}

    @staticmethod
    def _vote(score, explanation, d):
        if not d.min <= score <= d.max:
            return Vote(None, None, explanation or "", f"out of range: {score} not in {d.min}..{d.max}")
        return Vote(float(score), str(score), explanation or "")

    def read_single(self, out, unit):
        return self._vote(out["score"], out.get("explanation"), unit)

    def read_entry(self, entry, unit):
        return self._vote(entry.score, entry.explanation, unit)

    def single_reply(self, unit, value):
        return {"explanation": "", "score": int(value)}

    def entry_reply(self, unit, value):
        return {"id": unit.id, "explanation": "", "score": int(value)}
