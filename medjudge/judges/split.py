"""Split a reference answer into self-contained statements with an LLM (typed DSPy extraction).

The call goes through the same LiteLLM path and cache as judging, so the same text and model are never
split twice; the statements are stored with the run's answers."""

from __future__ import annotations

import asyncio

import dspy
from dspy.adapters import JSONAdapter

from ..errors import MedjudgeError
from ..rubrics.nli import Statement
from ..models.llm import cache_key, prompt_hash
from .program import quote


class SplitStatements(dspy.Signature):
    """Split a physician's reference answer into short, self-contained factual statements. Each statement must
    make sense alone (repeat the subject instead of using pronouns) and state one fact or recommendation.
    Keep the wording close to the source; add nothing that it does not say."""

    reference: str = dspy.InputField(desc="the reference answer")
    statements: list[str] = dspy.OutputField(desc="the statements, in the order of the source")


async def split_one(store, run_id, llm, judge, text: str) -> list[str]:
    adapter = JSONAdapter()
    messages = adapter.format(SplitStatements, [], {"reference": quote("reference", text)})
    params = {"temperature": 0.0}
    key = cache_key(judge, messages, params, 0)
    hit = store.cached_call(key)
    if hit is not None:
        reply_text = hit["response"]
        store.use_cached_call(run_id, key)
    else:
        reply = await llm.complete(judge, messages, params)
        store.save_call(run_id, key, judge.model, prompt_hash(messages), reply)
        reply_text = reply.text
    try:
        out = adapter.parse(SplitStatements, reply_text)
    except Exception as exc:
        raise MedjudgeError(f"could not read the statements that {judge.model} split from a reference: {exc}") from None
    return [s.strip() for s in out["statements"] if isinstance(s, str) and s.strip()]


def split_all(store, run_id, texts, judge, llm, concurrency=8) -> dict[str, list[str]]:
    """Each distinct text split once (and never again for the same model: the calls are cached)."""
    distinct = list(dict.fromkeys(texts))

    async def run():
        sem = asyncio.Semaphore(concurrency)

        async def one(text):
            async with sem:
                return await split_one(store, run_id, llm, judge, text)

        try:
            return await asyncio.gather(*(one(t) for t in distinct))
        finally:
            await llm.aclose()

    return dict(zip(distinct, asyncio.run(run()))) if distinct else {}


def fill_statements(store, run_id, items, rubric, judge, llm):
    """Statements from the reference answer for items that have none (must-have); with `reverse`, the
    claims of each answer too (checked against the reference: precision)."""
    todo = [it for it in items if not it.criteria]
    texts = [str(it.fields[rubric.reference_field]) for it in todo]
    if rubric.reverse:
        texts += [it.answer for it in items]
    parts = split_all(store, run_id, texts, judge, llm)
    for it in todo:
        it.criteria = [Statement(id=f"m{i}", text=t, kind="must_have")
                       for i, t in enumerate(parts[str(it.fields[rubric.reference_field])])]
    if rubric.reverse:
        for it in items:
            it.criteria = list(it.criteria or []) + [Statement(id=f"a{i}", text=t, kind="claim")
                                                     for i, t in enumerate(parts[it.answer])]
    return len(todo)
