"""LLM-assisted authoring: draft a rubric from a question and guideline, atomize compound criteria.

Both use instructor with the pydantic rubric models through LiteLLM, re-asking on validation errors."""

from __future__ import annotations

from pathlib import Path

import yaml

from .errors import MedjudgeError

DRAFT_PROMPT = """Write an evaluation rubric of kind "{kind}" for grading answers to this health question.

Question: {question}
{extra}
Rules: every criterion tests exactly one requirement; criteria describing undesirable content get negative
points; use plain, precise wording with no vague words such as "appropriate" or "adequate"; give a citation
for the guideline when one is given; include two worked examples (a good and a poor answer) with the
expected verdict for every criterion or dimension. Use kind "{kind}"."""

ATOMIZE_PROMPT = """Split this rubric criterion into precise boolean criteria, each testing exactly one requirement
and answerable yes/no from an answer's text. Keep the meaning; do not add requirements. If it already tests
one requirement, return it unchanged as the only part.

Criterion: {text}"""


def _client():
    import logging

    import instructor

    # instructor logs each failed attempt at ERROR level; medjudge reports a failure once, in one line
    logging.getLogger("instructor").setLevel(logging.CRITICAL)

    from .models.lib import litellm

    return instructor.from_litellm(litellm().completion, mode=instructor.Mode.JSON)


def _call(judge_spec: str, messages, response_model, max_retries: int, max_tokens: int | None = None):
    from .models.llm import LLM, Judge

    judge = Judge.parse(judge_spec)
    params = {"temperature": 0.0} | ({"max_tokens": max_tokens} if max_tokens else {})
    kwargs = LLM(max_retries=0)._kwargs(judge, messages, params)
    try:
        return _client().chat.completions.create(response_model=response_model, max_retries=max_retries, **kwargs)
    except Exception as exc:  # instructor's retry error (its module moves between versions) or the provider's
        from .display import clip

        first = clip((str(exc).strip().splitlines() or [type(exc).__name__])[0], 300)
        attempts = getattr(exc, "n_attempts", None)  # instructor's retry error counts them; a provider error: one
        if attempts is None:
            raise MedjudgeError(f"{judge.model}: {type(exc).__name__}: {first}") from None
        raise MedjudgeError(f"{judge.model} gave no valid {response_model.__name__} after {attempts} "
                            f"{'try' if attempts == 1 else 'tries'}: {type(exc).__name__}: {first}") from None


def draft(question: str, kind: str, judge: str, guideline: str | None = None, reference: str | None = None,
          max_retries: int = 3) -> str:
    """A draft rubric as YAML text, marked machine-drafted and unreviewed."""
    from .rubrics import kinds

    model = kinds.kinds().get(kind)
    if model is None:
        raise MedjudgeError(f"--kind must be one of {', '.join(kinds.names())}, not {kind!r}")
    extra = ""
    if guideline:
        extra += f"\nGuideline to base the rubric on:\n{guideline}\n"
    if reference:
        extra += f"\nA reference answer by a physician:\n{reference}\n"
    messages = [{"role": "user", "content": DRAFT_PROMPT.format(kind=kind, question=question, extra=extra)}]
    rubric = _call(judge, messages, model, max_retries)
    data = rubric.model_dump(mode="json", exclude_none=True, exclude_defaults=False)
    data["drafted_by"] = judge_name(judge)
    header = (f"# Machine-drafted by {judge_name(judge)}: NOT REVIEWED. Check every criterion against the guideline,\n"
              "# run `medjudge rubric lint` and `medjudge rubric test`, then delete the drafted_by line.\n")
    return header + yaml.safe_dump(_ordered(data), sort_keys=False, allow_unicode=True, width=100)


def judge_name(spec: str) -> str:
    from .models.llm import Judge

    return Judge.parse(spec).model


def _ordered(data: dict) -> dict:
    first = ["id", "version", "kind", "title", "citation", "description", "drafted_by", "instructions"]
    return {k: data[k] for k in first if k in data} | {k: v for k, v in data.items() if k not in first}


def split_points(points: float, n: int) -> list[float]:
    """Split signed points into n non-zero parts that add up exactly to the original."""
    share = round(points / n, 2)
    parts = [share] * (n - 1)
    parts.append(round(points - sum(parts), 2))
    return parts


def atomize(path: str | Path, judge: str, only_compound: bool = True, max_retries: int = 3) -> tuple[str, int]:
    """Return (new rubric YAML, number of criteria split)."""
    from pydantic import BaseModel, Field

    from .rubrics import ChecklistRubric, load_rubric
    from .rubrics.lint import COMPOUND

    class Parts(BaseModel):
        parts: list[str] = Field(min_length=1, max_length=8)

    loaded = load_rubric(path)
    r = loaded.rubric
    if not isinstance(r, ChecklistRubric) or not r.criteria:
        raise MedjudgeError(f"{path}: atomize works on checklist rubrics with fixed criteria")
    data = yaml.safe_load(loaded.text)
    new, split, split_ids = [], 0, set()
    for c in r.criteria:
        if only_compound and not COMPOUND.search(c.text):
            new.append(c.model_dump(exclude_defaults=True))
            continue
        parts = _call(judge, [{"role": "user", "content": ATOMIZE_PROMPT.format(text=c.text)}], Parts, max_retries).parts
        parts = [p.strip() for p in parts if p.strip()]
        if len(parts) <= 1:
            new.append(c.model_dump(exclude_defaults=True))
            continue
        split += 1
        split_ids.add(c.id)
        for k, (text, pts) in enumerate(zip(parts, split_points(c.points, len(parts))), 1):
            new.append({"id": f"{c.id}_{k}", "text": text, "points": pts, "tags": list(c.tags)})
    data["criteria"] = new
    kept = []
    for ex in data.get("examples") or []:  # expected verdicts of split criteria no longer apply
        ex["expected"] = {k: v for k, v in ex.get("expected", {}).items() if k not in split_ids}
        if ex["expected"]:
            kept.append(ex)
    data["examples"] = kept
    data["drafted_by"] = judge_name(judge)
    header = (f"# Atomized by {judge_name(judge)} from {Path(path).name}: review the split criteria and add worked\n"
              "# examples for them, then delete the drafted_by line.\n")
    return header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100), split


# -- drafts for `medjudge probe` (probing/__init__.py): stored in the drafts table, shown for review, never drafted twice --

PARAPHRASE_PROMPT = """Reword this evaluation criterion {k} different ways. Each rewording must keep exactly the same
meaning: the same requirement, as strict as the original, neither broader nor narrower; change the words and the
sentence structure only.

Criterion: {text}"""

COMPRESS_PROMPT = """Rewrite this answer to a health question in about half as many words. Keep every claim, every
recommendation and every warning, with the same meaning; remove only repetition and filler. Add nothing.

Answer:
{answer}"""

PERTURB_PROMPT = """You are building a test of an automated grader. Edit the answer below as little as possible so that,
judged on the rubric item, the correct verdict becomes "{target}" (today it is "{current}"). Use one of these kinds of
edit, the one that fits: inject a clinical error (a wrong dose, drug, threshold or fact), negate a recommendation,
or remove a safety warning. Change nothing else. Return the whole edited answer, the kind of edit, and the MedVAL
error category it creates: {categories}.

Rubric item: {unit}

Answer:
{answer}"""

EDIT_KINDS = ("injected_error", "negated_recommendation", "removed_warning")
# MedVAL's error categories (Aali et al. 2025), as in the medval-risk rubric
MEDVAL_CATEGORIES = ("fabricated_claim", "misleading_justification", "detail_misidentification", "false_comparison",
                     "incorrect_recommendation", "missing_claim", "missing_comparison", "missing_context",
                     "overstating_intensity", "understating_intensity", "other")


def drafted(store, kind: str, drafter: str, given: dict, make):
    """A draft from the drafts table, or made now (an LLM call through instructor) and stored at once."""
    import hashlib

    from .store import dumps

    key = hashlib.sha256(dumps([kind, judge_name(drafter), given]).encode()).hexdigest()
    found = store.draft(key)
    if found is not None:
        return found
    out = make()
    store.save_draft(key, kind, judge_name(drafter), given, out)
    return out


def paraphrases(store, drafter: str, text: str, k: int, max_retries: int = 3) -> list[str]:
    from pydantic import BaseModel, Field

    class Rewordings(BaseModel):
        rewordings: list[str] = Field(min_length=k)

    def make():
        msgs = [{"role": "user", "content": PARAPHRASE_PROMPT.format(k=k, text=text)}]
        got = [r.strip() for r in _call(drafter, msgs, Rewordings, max_retries, 200 + 150 * k).rewordings if r.strip()]
        return got[:k]

    return drafted(store, "paraphrase", drafter, {"text": text, "k": k}, make)


def compressed(store, drafter: str, answer: str, max_retries: int = 3) -> str:
    from pydantic import BaseModel

    class Compressed(BaseModel):
        answer: str

    def make():
        msgs = [{"role": "user", "content": COMPRESS_PROMPT.format(answer=answer)}]
        return _call(drafter, msgs, Compressed, max_retries, 200 + len(answer) // 4).answer.strip()

    return drafted(store, "compress", drafter, {"answer": answer}, make)


def must_flip_edit(store, drafter: str, answer: str, unit: str, current: str, target: str,
                   max_retries: int = 3) -> dict:
    from typing import Literal

    from pydantic import BaseModel

    class Edit(BaseModel):
        edited_answer: str
        edit_kind: Literal[EDIT_KINDS]  # type: ignore[valid-type]
        medval_category: Literal[MEDVAL_CATEGORIES] = "other"  # type: ignore[valid-type]

    def make():
        msgs = [{"role": "user", "content": PERTURB_PROMPT.format(answer=answer, unit=unit, current=current,
                                                                  target=target,
                                                                  categories=", ".join(MEDVAL_CATEGORIES))}]
        e = _call(drafter, msgs, Edit, max_retries, 300 + len(answer) // 3)
        return {"answer": e.edited_answer.strip(), "edit": e.edit_kind, "category": e.medval_category}

    return drafted(store, "perturb", drafter, {"answer": answer, "unit": unit, "target": target}, make)
