"""NLI rubrics: reference statements checked against the answer as entailed / neutral / contradicted (K-QA)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from .base import RubricBase, Scores, Strict, UnitsProblem, coerce_label

TEMPLATE = '''\
# Reference statements per example, judged entailed / neutral / contradicted by the answer (K-QA).
# Comprehensiveness = share of must-have statements entailed; hallucinations = statements contradicted.
must_have_field: Must_have
nice_to_have_field: Nice_to_have
# reference_field: Free_form_answer   # optional: split a reference answer into statements with an LLM
examples:
  - prompt: "Is paracetamol safe in pregnancy?"
    answer: "Paracetamol is the usual first choice for pain in pregnancy."
    fields:
      Must_have: ["Paracetamol is considered safe to use in pregnancy."]
      Nice_to_have: ["The lowest effective dose should be used."]
    expected: {m0: entailed, n0: neutral}
  - prompt: "Is paracetamol safe in pregnancy?"
    answer: "Paracetamol must never be taken in pregnancy."
    fields:
      Must_have: ["Paracetamol is considered safe to use in pregnancy."]
      Nice_to_have: ["The lowest effective dose should be used."]
    expected: {m0: contradicted, n0: neutral}
'''

RELATIONS = ("entailed", "neutral", "contradicted")
RELATION_VALUE = {"entailed": 1.0, "neutral": 0.0, "contradicted": -1.0}
PAIR_UNIT = "nli"  # the unit id of an (answer, statement) pair
SYNONYMS = {"entailment": "entailed", "entails": "entailed", "contradiction": "contradicted", "contradicts": "contradicted"}


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
    # (answer, statement) pairs: each example holds one statement in this field; its unit id is "nli", so
    # expert labels keyed (answer id, "nli") join the run by construction (docs/CALIBRATION.md)
    statement_field: str | None = None
    statement_kind_field: str | None = None  # optional: Must_have / Nice_to_have per pair
    aggregation: ClassVar[str] = "majority"
    scopes: ClassVar[tuple[str, ...]] = ("last_turn",)  # statements are checked against one answer
    program: ClassVar[str] = "medjudge.judges.nli:NliProgram"
    template: ClassVar[str] = TEMPLATE
    value_type: ClassVar[str] = "nominal"
    higher_is_better: ClassVar[bool] = False  # compare and estimate read the hallucination rate
    labels: ClassVar[str] = "entailed / neutral / contradicted (stored as 1 / 0 / -1)"

    @model_validator(mode="after")
    def _reverse_needs_reference(self):
        if self.reverse and not self.reference_field:
            raise ValueError("reverse needs reference_field: the claims are checked against the reference answer")
        return self

    def base_units(self, item):
        return item.criteria or []

    def describe(self):
        if self.statement_field:
            return f"one statement per answer from {self.statement_field} (unit {PAIR_UNIT})"
        ref = f", else split from {self.reference_field}" if self.reference_field else ""
        return f"statements from {self.must_have_field}" + (f" / {self.nice_to_have_field}" if self.nice_to_have_field else "") + ref

    def expected_value(self, unit, raw):
        if raw not in RELATION_VALUE:
            raise ValueError(f"expected relation for {unit.id} must be one of {', '.join(RELATIONS)}")
        return RELATION_VALUE[raw]

    def example_units(self, raw):
        return [Statement(**s) for s in raw]

    def estimand(self):
        return "hallucination rate (statements contradicted)", lambda v: float(v == -1.0)

    def value_label(self, unit, value):
        return {v: k for k, v in RELATION_VALUE.items()}[value]

    def values(self, unit):
        return sorted(RELATION_VALUE.values())

    def label_value(self, unit, raw):
        v = coerce_label(raw)
        v = SYNONYMS.get(v, v) if isinstance(v, str) else v
        if v in RELATION_VALUE:
            return RELATION_VALUE[v]
        raise ValueError(f"not a relation: one of {', '.join(RELATIONS)}")

    def fixed_units(self):
        return False

    def item_units(self, obj):
        if self.statement_field:
            text = obj.get(self.statement_field)
            if not isinstance(text, str) or not text.strip():
                raise UnitsProblem(self.statement_field, f"missing: rubric {self.id} judges one statement per answer")
            kind = str(obj.get(self.statement_kind_field) or "must_have").lower() if self.statement_kind_field else "must_have"
            if kind not in ("must_have", "nice_to_have"):
                raise UnitsProblem(self.statement_kind_field, f"must be Must_have or Nice_to_have, not {kind!r}")
            return [Statement(id=PAIR_UNIT, text=text, kind=kind)]
        try:
            statements = self.statements_from(obj, "")
        except ValueError as exc:
            raise UnitsProblem(self.must_have_field, str(exc)) from None
        if statements is None and not (self.reference_field and isinstance(obj.get(self.reference_field), str)):
            raise UnitsProblem(self.must_have_field, f"missing: rubric {self.id} needs reference statements"
                               + (f" or a reference answer in {self.reference_field}" if self.reference_field else ""))
        return statements

    def needs_split(self, item):
        return not item.criteria or self.reverse

    def unit_info(self, unit):
        return {"text": unit.text, "statement": unit.kind, "tags": list(unit.tags)}

    def score(self, rows, run, partial, resamples, seed):
        counts_all, scores = [], Scores()
        for it, units, results in rows:
            counts = {"must_total": 0, "must_entailed": 0, "contradicted": 0, "statements": 0, "claims": 0,
                      "claims_entailed": 0, "missing": 0, "missing_must": 0, "missing_statements": 0}
            for st in units:
                a = results[st.id]
                if a is None or a.value is None:
                    counts["missing"] += 1
                    counts["missing_must"] += st.kind == "must_have"
                    counts["missing_statements"] += st.kind != "claim"
                    continue
                if st.kind == "claim":
                    counts["claims"] += 1
                    counts["claims_entailed"] += a.value == 1.0
                    continue
                counts["statements"] += 1
                counts["contradicted"] += a.value == -1.0
                if st.kind == "must_have":
                    counts["must_total"] += 1
                    counts["must_entailed"] += a.value == 1.0
            counts_all.append(counts)
            d = scores.answer(it.id)
            d[1].update(counts)
            if not counts["missing"] and counts["must_total"]:
                d[0] = counts["must_entailed"] / counts["must_total"]
            if counts["missing"]:  # the answer's hallucination count is only known as a range
                d[1]["contradicted_bounds"] = [counts["contradicted"],
                                               counts["contradicted"] + counts["missing_statements"]]
        scores.figures = summarize(counts_all, resamples, seed, partial)
        return scores

    @staticmethod
    def report_rows(s):
        names = ("comprehensiveness", "hallucinations", "answers_with_hallucination", "precision", "f1")
        return [("K-QA metrics, 95% CI", [{"key": f"{n}.mean", "label": n.replace("_", " "), "estimate": s[n]["mean"],
                                            "ci": s[n]["ci"], "n": s[n]["n"]} for n in names if n in s])]

    @staticmethod
    def render_summary(s, console):
        from rich.table import Table

        from ..display import bounds, ci, left_out, num

        with_bounds = s.get("partial") == "include"
        t = Table("metric", "mean", "95% CI", "answers", *(["bounds with partial"] if with_bounds else []),
                  title=f"K-QA style NLI metrics (answers with every statement judged{left_out(s)})")
        for name, label in (("comprehensiveness", "comprehensiveness (must-have entailed)"),
                            ("hallucinations", "hallucinations (statements contradicted)"),
                            ("answers_with_hallucination", "answers with a hallucination"),
                            ("precision", "precision (answer claims the reference entails)"),
                            ("f1", "F1 of precision and comprehensiveness")):
            if name in s:
                v = s[name]
                t.add_row(label, num(v["mean"]), ci(v["ci"]), str(v["n"]),
                          *([bounds(v.get("bounds"))] if with_bounds else []))
        console.print(t)

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
