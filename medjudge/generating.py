"""`medjudge generate` (and `grade --model`): the answers of the models under test to a prompts file, through the
machinery judging uses: the call cache (a rerun pays nothing twice and resumes), capped retries with Retry-After,
rate limits, the lean route for OpenAI-compatible servers, cost from LiteLLM's prices. Each model is a system:
its answers carry its name as `source`. A failed generation (after retries, or an empty reply) is an answer
missing, counted and named, never an empty answer graded; the run is then incomplete (exit 3) and a rerun asks
only what is missing. Generation's calls and cost are recorded under a generation id of their own, apart from
any judging run's.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import EXIT_INCOMPLETE, EXIT_OK, InputError, MedjudgeError
from .inputs import read_jsonl
from .store import content_id

FORMATS = ("answers", "healthbench")


@dataclass
class GenerateConfig:
    prompts_path: str
    models: list[str]
    output: str
    format: str = "answers"  # answers JSONL (id, prompt) or HealthBench (prompt_id, prompt conversation)
    temperature: float | None = None  # None: the provider's default
    max_tokens: int | None = None
    seed: int | None = 0
    concurrency: int = 16
    timeout: float = 120.0
    max_retries: int = 4
    limit: int | None = None
    rpm: dict = field(default_factory=dict)
    tpm: dict = field(default_factory=dict)

    def params(self) -> dict:
        return {k: v for k, v in (("temperature", self.temperature), ("max_tokens", self.max_tokens),
                                  ("seed", self.seed)) if v is not None}


@dataclass
class GenerateResult:
    """What `generate` wrote: answers per model, the missing ones with why, calls and cost (generation only)."""

    id: str
    output: str
    answers: dict  # model -> answers written
    missing: list  # [prompt id, model, why]
    calls: dict  # made, cached, input_tokens, output_tokens, cost, unpriced (store.call_totals)
    exit_code: int = EXIT_OK
    reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Prompt:
    id: str
    messages: list
    row: dict  # the input line, kept in the answers file (tags, metadata)


def read_prompts(path, fmt: str, limit: int | None = None) -> list[Prompt]:
    """The prompts of an answers-style JSONL (id, prompt: text or messages) or a HealthBench file."""
    from .inputs import as_messages

    if fmt not in FORMATS:
        raise MedjudgeError(f"--format must be one of {', '.join(FORMATS)} for generate, not {fmt!r}")
    out, seen = [], set()
    for lineno, obj in read_jsonl(path):
        key = "prompt_id" if fmt == "healthbench" else ("id" if "id" in obj else "prompt_id")
        pid = obj.get(key)
        if not isinstance(pid, (str, int)) or isinstance(pid, bool):
            raise InputError(path, lineno, key, "missing or not a string")
        if str(pid) in seen:
            raise InputError(path, lineno, key, f"duplicate {pid!r}")
        seen.add(str(pid))
        if "prompt" not in obj:
            raise InputError(path, lineno, "prompt", "missing")
        if isinstance(obj["prompt"], str) and not obj["prompt"].strip():
            raise InputError(path, lineno, "prompt", "empty")
        out.append(Prompt(str(pid), as_messages(obj["prompt"], path, lineno), obj))
        if limit and len(out) >= limit:
            break
    if not out:
        raise InputError(path, None, None, "no prompts in file")
    return out


def system_name(model: str) -> str:
    """A model under test's name as a system: its model string without API base or key variable."""
    return model.split("@", 1)[0].split("#", 1)[0]


def generate(store, cfg: GenerateConfig, on_answer=None) -> GenerateResult:
    """Every model's answer to every prompt, written to cfg.output; `on_answer(done, total)` after each."""
    from .grading import preflight
    from .models.llm import Judge

    if not cfg.models:
        raise MedjudgeError("give the model(s) to generate with: --model MODEL (repeatable)")
    models = [Judge.parse(m) for m in cfg.models]
    if len({system_name(m) for m in cfg.models}) < len(cfg.models):
        raise MedjudgeError("two --model values name the same system: give each model once")
    prompts = read_prompts(cfg.prompts_path, cfg.format, cfg.limit)  # bad input first: nothing was asked
    preflight(models)
    params = cfg.params()
    gen_id = content_id("g", [[p.id, p.messages] for p in prompts] + [cfg.models, sorted(params.items())])
    results = asyncio.run(_all(store, cfg, models, prompts, params, gen_id, on_answer))
    several = len(models) > 1
    written, missing = {system_name(m): 0 for m in cfg.models}, []
    out = Path(cfg.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        for p in prompts:
            for spec in cfg.models:
                name = system_name(spec)
                text, why = results[(p.id, spec)]
                if why is not None:
                    missing.append([p.id, name, why])
                    continue
                fh.write(json.dumps(_row(cfg.format, p, name, text, several), ensure_ascii=False) + "\n")
                written[name] += 1
    result = GenerateResult(gen_id, str(out), written, missing, store.call_totals(gen_id))
    if missing:
        result.exit_code = EXIT_INCOMPLETE
        result.reason = (f"incomplete: {len(missing)} of {len(prompts) * len(models)} answers not generated (e.g. "
                         f"{missing[0][0]} by {missing[0][1]}: {missing[0][2]}); rerun the same command to ask again")
    return result


def _row(fmt: str, p: Prompt, name: str, text: str, several: bool) -> dict:
    if fmt == "healthbench":
        return {"prompt_id": p.id, "completion": text, "source": name}
    extra = {k: v for k, v in p.row.items() if k not in ("id", "prompt", "answer", "source", "prompt_id")}
    return {"id": f"{p.id}@{name}" if several else p.id, "prompt_id": p.id, "prompt": p.row["prompt"],
            "answer": text, "source": name, **extra}


async def _all(store, cfg, models, prompts, params, gen_id, on_answer) -> dict:
    from .models.llm import LLM, RequestRefused, TransportError, call_identity

    llm = LLM(timeout=cfg.timeout, max_retries=cfg.max_retries, rpm=cfg.rpm, tpm=cfg.tpm, routes=store)
    slots = asyncio.Semaphore(cfg.concurrency)
    results, total = {}, len(prompts) * len(models)

    flights = {}  # call key -> the request in flight: the same prompt twice to one model is one request

    async def ask(key, phash, judge, messages):
        async with slots:
            try:
                reply = await llm.complete(judge, messages, params)
            except (TransportError, RequestRefused) as exc:
                return None, str(exc)
        store.save_call(gen_id, key, judge.model, phash, reply)
        return reply.text, None

    async def one(p: Prompt, spec: str, judge):
        key, phash = call_identity(judge, p.messages, params, 0)
        found = store.cached_call(key)
        if found is not None:
            store.use_cached_call(gen_id, key)
            text, why = found["response"], None
        elif key in flights:  # answered by the request another prompt with the same text sent
            text, why = await flights[key]
            if why is None:
                store.use_cached_call(gen_id, key)
        else:
            flights[key] = asyncio.ensure_future(ask(key, phash, judge, p.messages))
            text, why = await flights[key]
        if why is None and not (text or "").strip():
            text, why = None, "empty reply"
        results[(p.id, spec)] = (text, why)
        if on_answer:
            on_answer(len(results), total)

    try:
        await asyncio.gather(*(one(p, spec, j) for p in prompts for spec, j in zip(cfg.models, models)))
    finally:
        await llm.aclose()
    return results
