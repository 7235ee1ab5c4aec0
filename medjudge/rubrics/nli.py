"""NLI rubrics: reference statements checked against the answer as entailed / neutral / contradicted (K-QA)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .base import RubricBase, Strict

RELATIONS = ("entailed", "neutral", "contradicted")
RELATION_VALUE = {"entailed": 1.0, "neutral": 0.0, "contradicted": -1.0}


class Statement(Strict):
    id: str
    text: str = Field(min_length=1)
    kind: Literal["must_have", "nice_to_have", "claim"] = "must_have"  # claim: from the answer (reverse)
    tags: list[str] = Field(default_factory=list)


class NliRubric(RubricBase):
    kind: Literal["nli"]
    must_have_field: str = "Must_have"
    nice_to_have_field: str | None = "Nice_to_have"
    # when an example has no statements, its reference answer is split into statements by an LLM
    reference_field: str | None = None
    # also split each answer into claims and check them against the reference answer (precision, F1)
    reverse: bool = False
    aggregation: ClassVar[str] = "majority"

    @model_validator(mode="after")
    def _reverse_needs_reference(self):
        if self.reverse and not self.reference_field:
            raise ValueError("reverse needs reference_field: the claims are checked against the reference answer")
        return self

    def units(self, item):
        return item.criteria or []

    def describe(self):
        ref = f", else split from {self.reference_field}" if self.reference_field else ""
        return f"statements from {self.must_have_field}" + (f" / {self.nice_to_have_field}" if self.nice_to_have_field else "") + ref

    def expected_value(self, unit, raw):
        if raw not in RELATION_VALUE:
            raise ValueError(f"expected relation for {unit.id} must be one of {', '.join(RELATIONS)}")
        return RELATION_VALUE[raw]

    def example_units(self, raw):
        return [Statement(**s) for s in raw]

    def statements_from(self, fields: dict, where: str) -> list[Statement] | None:
        """Statements listed in an example's fields; None when it has none (to split from a reference)."""
        out = []
        for field, kind, prefix in ((self.must_have_field, "must_have", "m"),
                                    (self.nice_to_have_field, "nice_to_have", "n")):
            if not field or field not in fields:
                continue
            values = fields[field]
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError(f"{field} must be a list of statements (strings)")
            out += [Statement(id=f"{prefix}{i}", text=v, kind=kind) for i, v in enumerate(values) if v.strip()]
        return out or None


def precision_recall(a: dict):
    """Per answer: precision (claims the reference entails), recall (= comprehensiveness) and F1."""
    p = a["claims_entailed"] / a["claims"] if a.get("claims") else None
    r = a["must_entailed"] / a["must_total"] if a["must_total"] else None
    if p is None or r is None:
        return p, r, None
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def summarize(per_answer: list[dict], resamples=1000, seed=0, partial: str = "exclude") -> dict:
    """per_answer: [{must_total, must_entailed, contradicted, claims, claims_entailed, missing, missing_must}]
    counted over the judged statements; `missing` counts the statements left unjudged.

    Every metric counts only answers whose statements were all judged: an answer with an unjudged
    statement is never "free of hallucinations". With partial="include" each metric also gets the
    bounds of its mean over every answer (unjudged statements taken the best way, then the worst way)."""
    from ..bootstrap import bootstrap_means, percentile_ci

    complete = [a for a in per_answer if not a.get("missing")]
    comp = [a["must_entailed"] / a["must_total"] for a in complete if a["must_total"]]
    halluc = [a["contradicted"] for a in complete]
    any_h = [1.0 if a["contradicted"] else 0.0 for a in complete]

    def stat(values):
        if not values:
            return {"mean": None, "ci": [None, None], "n": 0}
        return {"mean": sum(values) / len(values), "ci": list(percentile_ci(bootstrap_means(values, resamples, seed))),
                "n": len(values)}

    out = {"comprehensiveness": stat(comp), "hallucinations": stat(halluc), "answers_with_hallucination": stat(any_h),
           "answers_scored": len(complete), "answers_partial": len(per_answer) - len(complete)}
    if any(a.get("claims") for a in complete):
        prf = [precision_recall(a) for a in complete]
        out["precision"] = stat([p for p, _, _ in prf if p is not None])
        out["f1"] = stat([f for _, _, f in prf if f is not None])
    if partial == "include" and per_answer:
        def mean(xs):
            return sum(xs) / len(xs) if xs else None

        # must-have statements are counted with the unjudged ones: bounds over every answer that has any
        with_must = [a for a in per_answer if a["must_total"] + a.get("missing_must", 0)]
        total = [a["must_total"] + a.get("missing_must", 0) for a in with_must]
        out["comprehensiveness"]["bounds"] = [
            mean([a["must_entailed"] / t for a, t in zip(with_must, total)]),
            mean([(a["must_entailed"] + a.get("missing_must", 0)) / t for a, t in zip(with_must, total)])]
        out["hallucinations"]["bounds"] = [mean([a["contradicted"] for a in per_answer]),
                                           mean([a["contradicted"] + a.get("missing_statements", 0) for a in per_answer])]
        out["answers_with_hallucination"]["bounds"] = [
            mean([1.0 if a["contradicted"] else 0.0 for a in per_answer]),
            mean([1.0 if a["contradicted"] or a.get("missing_statements", 0) else 0.0 for a in per_answer])]
    return out
