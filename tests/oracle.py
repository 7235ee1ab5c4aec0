"""A scripted judge that answers a rubric's worked examples with their expected verdicts (or the opposite)."""

import re

from medjudge.fakellm import fields_of
from medjudge.inputs import example_items


def oracle(loaded, wrong=False):
    rubric = loaded.rubric
    examples = list(zip(rubric.examples, example_items(loaded)))

    def flip(raw):
        if isinstance(raw, bool):
            return not raw
        if isinstance(raw, str):
            return "contradicted" if raw != "contradicted" else "entailed"
        return raw + 1 if raw + 1 <= 4 else raw - 1

    def expected(ex, unit_id):
        raw = ex.expected[unit_id]
        return flip(raw) if wrong else raw

    def responder(request):
        f = fields_of(request)
        ex, item = next((e, it) for e, it in examples if it.answer.strip() in f["answer"])
        units = {u.id: u for u in rubric.units(item)}
        if "levels" in f:
            return {"explanation": "oracle", "level": expected(ex, "risk"), "error_categories": []}
        if "criterion" in f:
            uid = next(u for u, c in units.items() if c.text in f["criterion"])
            return {"explanation": "oracle", "criteria_met": expected(ex, uid)}
        if "dimension" in f:
            uid = next(u for u, d in units.items() if d.question in f["dimension"])
            return {"explanation": "oracle", "score": expected(ex, uid)}
        if "statement" in f:
            uid = next(u for u, s in units.items() if s.text in f["statement"])
            return {"explanation": "oracle", "relation": expected(ex, uid)}
        if "criteria" in f or "statements" in f:
            ids = re.findall(r"- id: (\S+) \|", f.get("criteria", f.get("statements", "")))
            key = "met" if "criteria" in f else "relation"
            return {"verdicts": [{"id": i, "explanation": "oracle", key: expected(ex, i)} for i in ids if i in ex.expected]}
        if "dimensions" in f:
            ids = re.findall(r"^id: (\S+)$", f["dimensions"], re.M)
            return {"scores": [{"id": i, "explanation": "oracle", "score": expected(ex, i)} for i in ids if i in ex.expected]}
        raise AssertionError(f"unexpected request fields {list(f)}")

    return responder
