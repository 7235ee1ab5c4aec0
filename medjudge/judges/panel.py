"""The panel: run a judge program on every item, per judge model and sample, with bounded concurrency.

Each finished call is written to SQLite before the next is counted, so an interrupted run keeps every
judgment it finished and a rerun does only what is missing; identical calls are answered from the cache.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field

from ..errors import JudgeError
from ..secrets import redact
from ..models.llm import LLM, Deferred, RequestRefused, TransportError, cache_key, call_identity
from .program import ParseFailure, Vote

LOCAL_MAX_TOKENS = 384
UNREACHABLE_AFTER = 10  # a judge whose first calls all fail is unreachable: stop instead of failing every call
RETRY_PROMPT = ("Your previous reply could not be read ({reason}). Reply again with only the JSON object "
                "with the requested fields, and nothing else.")


@dataclass
class Task:
    item: object
    call_id: str
    units: list
    judge: object
    sample: int
    round: int = 1  # 1 + the runs that asked these units before and got no readable verdict


@dataclass
class Progress:
    total: int = 0
    done: int = 0
    calls: int = 0
    cached: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    errors: int = 0
    listeners: list = field(default_factory=list)

    def update(self):
        for fn in self.listeners:
            fn(self)


class Panel:
    def __init__(self, store, run_id, program, judges, samples=1, params=None, llm: LLM | None = None,
                 concurrency=16, parse_retries=1, seed=None, cascade=False):
        self.store, self.run_id, self.program = store, run_id, program
        self.judges, self.samples = list(judges), samples
        self.params = dict(params or {})
        self.seed = seed
        self.llm = llm or LLM()
        self.concurrency, self.parse_retries = concurrency, parse_retries
        # cascade: the first judge grades everything; the others only what it leaves in doubt
        self.cascade = cascade and len(self.judges) > 1
        self.progress = Progress()
        self.answered = {j.name: 0 for j in self.judges}  # calls that came back, per judge
        self.failed = {j.name: 0 for j in self.judges}  # calls that failed after every retry
        self.schema = program.output_schema() if any(j.in_process for j in self.judges) else None
        self.done: set = set()  # (answer, unit, judge, sample) that need no more asking
        self.rounds: dict = {}  # the same key -> runs that asked it and got no verdict
        self.reasked = 0  # tasks asked again because an earlier run left them unscored
        self.deferred = []  # calls left for a provider batch (batching.py), not made: a list, or a spool with append
        self.inflight: dict = {}  # cache key -> the future of the one request sent for it (single flight)

    def tasks(self, items, done: set, judges=None, only: set | None = None):
        """Tasks not yet done; `only` restricts them to some (answer, unit) pairs (the cascade's second tier)."""
        judges = self.judges[:1] if judges is None and self.cascade else (judges or self.judges)
        for item in items:
            for call_id, units in self.program.calls(item):
                if only is not None:
                    units = [u for u in units if (item.id, u.id) in only]
                    if not units:
                        continue
                for judge in judges:
                    for s in range(self.samples):
                        keys = [(item.id, u.id, judge.name, s) for u in units]
                        if all(k in done for k in keys):
                            continue
                        yield Task(item, call_id, units, judge, s, 1 + max(self.rounds.get(k, 0) for k in keys))

    def escalations(self, items) -> set:
        """(answer, unit) pairs the first judge leaves in doubt: its samples disagree, a vote is unscored
        or failed, or the unit is marked `escalate: always`."""
        votes = self.store.unit_votes(self.run_id, self.judges[0].name)
        out = set()
        for item in items:
            for u in self.program.rubric.units(item):
                v = votes.get((item.id, u.id), [None])
                if getattr(u, "escalate", "never") == "always" or None in v or len(set(v)) > 1:
                    out.add((item.id, u.id))
        return out

    async def run(self, items):
        done = self.done = self.store.done_units(self.run_id)
        self.rounds = self.store.unit_rounds(self.run_id)
        total = reasked = 0
        for t in self.tasks(items, done):
            total += 1
            reasked += t.round > 1
        self.progress.total, self.reasked = total, reasked
        self.progress.update()
        try:
            await self._run_tasks(self.tasks(items, done))
            if self.cascade:
                only = self.escalations(items)
                second = list(self.tasks(items, done, judges=self.judges[1:], only=only))
                self.progress.total += len(second)
                self.progress.update()
                await self._run_tasks(iter(second))
        finally:
            if hasattr(self.llm, "aclose"):
                await self.llm.aclose()

    async def _run_tasks(self, pending):
        # an in-process model runs one call at a time: queueing more would only make them time out
        self.slots = {j.name: asyncio.Semaphore(1 if j.in_process else max(1, self.concurrency)) for j in self.judges}

        async def worker():
            for task in pending:  # a shared generator: each worker takes the next task
                async with self.slots[task.judge.name]:
                    await self.execute(task)

        workers = [asyncio.create_task(worker()) for _ in range(max(1, self.concurrency))]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()

    def per_judge_tasks(self) -> int:
        """About how many calls each judge has in this invocation (at least 1)."""
        asked = 1 if self.cascade else len(self.judges)
        return max(1, self.progress.total // max(1, asked))

    def call_params(self, sample: int) -> dict:
        params = dict(self.params)
        if self.seed is not None:
            params["seed"] = self.seed + sample
        return params

    def request(self, task: Task) -> tuple[list[dict], dict]:
        """The messages and parameters of a task's call."""
        messages = self.program.messages(task.item, task.units)
        params = self.call_params(task.sample)
        if task.judge.in_process:  # constrain a local model's decoding to the reply schema
            params.setdefault("max_tokens", LOCAL_MAX_TOKENS)
            params["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": "judgment", "schema": self.schema}}
        return messages, params

    def plan(self, items) -> dict:
        """What a run of these items still needs, without calling or writing anything (--dry-run): calls by judge,
        the characters of their prompts, and the calls the cache answers. A cascade's second tier is not known
        before the first has answered: only the first judge is counted."""
        done = self.store.done_units(self.run_id)
        self.rounds = self.store.unit_rounds(self.run_id)
        out = {"calls": {}, "chars": {}, "cached": 0}
        for task in self.tasks(items, done):
            messages, params = self.request(task)
            if self.store.cached_call(cache_key(task.judge, messages, params, task.sample, task.round)) is not None:
                out["cached"] += 1
                continue
            name = task.judge.name
            out["calls"][name] = out["calls"].get(name, 0) + 1
            out["chars"][name] = out["chars"].get(name, 0) + sum(len(m["content"]) for m in messages)
        return out

    async def _send(self, key: str, judge, messages, params):
        """One request for this call, shared by every task that asks the same call while it is in flight: they
        await its reply (or its failure) instead of sending their own (single flight)."""
        flight = self.inflight[key] = asyncio.get_running_loop().create_future()
        try:
            reply = await self.llm.complete(judge, messages, params)
        except Exception as exc:
            flight.set_exception(exc)
            flight.exception()  # retrieved here: a flight nobody shared is not an unhandled error
            raise
        except BaseException:
            flight.cancel()
            raise
        else:
            flight.set_result(reply.text)
            return reply
        finally:
            del self.inflight[key]

    async def execute(self, task: Task):
        program, store, p = self.program, self.store, self.progress
        messages, params = self.request(task)
        reason, key, status, attempts = None, None, "ok", 0
        votes: dict[str, Vote] | None = None
        cached_keys = []  # recorded with the judgments, in one transaction
        paid = []  # a paid call not yet written: written with the judgments, or before the next await
        for attempts in range(1, self.parse_retries + 2):
            key, phash = call_identity(task.judge, messages, params, task.sample, task.round)
            hit = store.cached_call(key)
            if hit is not None:
                text = hit["response"]
                cached_keys.append(key)
                p.cached += 1
            else:
                shared = key in self.inflight  # the same call in flight: its one request answers this task too
                if paid:  # a crash during the next await must not lose the reply already paid for
                    store.save_call(*paid.pop())
                try:
                    if shared:
                        text = await asyncio.shield(self.inflight[key])
                    else:
                        reply = await self._send(key, task.judge, messages, params)
                except TransportError as exc:
                    status, reason = "error", str(exc)
                    p.errors += 1
                    if shared:  # its leader counted the request's failure
                        break
                    self.failed[task.judge.name] += 1
                    # a small run whose every call to this judge failed ends as failed too, not "incomplete"
                    limit = min(UNREACHABLE_AFTER, self.per_judge_tasks())
                    if not self.answered[task.judge.name] and self.failed[task.judge.name] >= limit:
                        raise JudgeError(f"judge {task.judge.model} failed its first {limit} calls, "
                                         f"none answered: {redact(reason)}") from None
                    break
                except RequestRefused as exc:
                    reason = str(exc)
                    break
                except Deferred:  # batch mode: the call goes into a provider batch (once); the task waits for it
                    if not shared:
                        self.deferred.append({"key": key, "judge": task.judge, "messages": messages, "params": params})
                    p.done += 1
                    p.update()
                    return
                if shared:
                    cached_keys.append(key)
                    p.cached += 1
                else:
                    paid.append((self.run_id, key, task.judge.model, phash, reply))
                    self.answered[task.judge.name] += 1
                    text = reply.text
                    p.calls += 1
                    p.input_tokens += reply.input_tokens
                    p.output_tokens += reply.output_tokens
                    p.cost += reply.cost or 0.0
            try:
                votes = program.parse(text, task.units, task.item)
                break
            except ParseFailure as exc:
                reason = f"unparseable: {exc}"
                messages = messages + [{"role": "assistant", "content": text},
                                       {"role": "user", "content": RETRY_PROMPT.format(reason=exc)}]
        if votes is None:
            votes = {u.id: Vote(None, None, "", reason) for u in task.units}
        rows = []
        for u in task.units:
            if (task.item.id, u.id, task.judge.name, task.sample) in self.done:
                continue  # scored before (a batched call asked again for its other units): keep that verdict
            v = votes[u.id]
            row_status = "error" if status == "error" else ("scored" if v.value is not None else "unscored")
            rows.append({"run_id": self.run_id, "answer_id": task.item.id, "unit_id": u.id,
                         "judge": task.judge.name, "sample": task.sample, "value": v.value, "label": v.label,
                         "explanation": v.explanation, "reason": redact(v.reason), "status": row_status,
                         "detail": json.dumps(v.detail) if v.detail else None,
                         "call_key": None if status == "error" else key, "attempts": attempts,
                         "rounds": task.round})
        store.save_judgments(rows, self.run_id, cached_keys, paid)
        p.done += 1
        p.update()
