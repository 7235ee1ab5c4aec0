"""Split a reference answer into self-contained statements with an LLM (typed DSPy extraction).

The call goes through the same LiteLLM path and cache as judging, so the same text and model are never
split twice; the statements are stored with the run's answers."""

from __future__ import annotations

import asyncio

import dspy
from dspy.adapters import JSONAdapter

from ..errors import MedjudgeError
from ..rubrics.nli import Statement
from .llm import cache_key, prompt_hash
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


def fill_statements(store, run_id, items, rubric, judge, llm, concurrency=8):
    """Give every item without statements the statements of its reference answer (must-have)."""
    todo = [it for it in items if not it.criteria]
    if not todo:
        return 0

    by_text = {}
    for it in todo:  # the same reference is split once
        by_text.setdefault(str(it.fields[rubric.reference_field]), []).append(it)

    async def run():
        sem = asyncio.Semaphore(concurrency)

        async def one(text, same):
            async with sem:
                texts = await split_one(store, run_id, llm, judge, text)
            for it in same:
                it.criteria = [Statement(id=f"m{i}", text=t, kind="must_have") for i, t in enumerate(texts)]

        await asyncio.gather(*(one(text, same) for text, same in by_text.items()))

    asyncio.run(run())
    return len(todo)
