"""A DSPy LM engine whose every call goes the panel's way, for DSPy's optimisers (optimizing/optimizers.py).

DSPy's optimisers call their LM from worker threads. Each call here is looked up in the calls table (the
cache: a rerun of a killed optimisation never pays twice), made through `LLM` (timeouts, capped retries,
rate limits, cost) on one event loop, written to the calls table at once, and counted against the budget,
a hard cap on the calls paid for one optimisation over all its runs.
"""

from __future__ import annotations

import asyncio
import threading

from ..errors import JudgeError
from ..store import Store
from ..models.llm import LLM, Judge, RequestRefused, TransportError, cache_key, prompt_hash


class BudgetExhausted(Exception):
    """The optimisation has paid for as many calls as its budget allows."""


def request_messages(request) -> list[dict]:
    """A DSPy request as OpenAI-style chat messages."""
    out = []
    if request.system is not None:
        system = request.system if isinstance(request.system, str) else "".join(p.text for p in request.system)
        out.append({"role": "system", "content": system})
    out += [{"role": m.role, "content": m.text or ""} for m in request.messages]
    return out


class PanelEngine:
    def __init__(self, db_path: str, owner: str, judge: Judge, params: dict, llm: LLM | None = None,
                 budget: int | None = None, schema: dict | None = None):
        self.db_path, self.owner, self.judge = db_path, owner, judge
        self.params, self.llm, self.budget, self.schema = dict(params), llm or LLM(), budget, schema
        self.local = threading.local()
        self.lock = threading.Lock()
        self.paid = self.store().call_totals(owner)["made"]  # calls paid by earlier runs of this optimisation
        self.made = self.cached = 0  # in this process
        self.exhausted = False
        self.failures: list[str] = []  # calls that failed after every retry
        self.fatal: Exception | None = None  # a judge that cannot be used at all (no key, no such model)
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True, name="medjudge-llm").start()

    def store(self) -> Store:
        if getattr(self.local, "store", None) is None:  # SQLite connections stay in their thread
            self.local.store = Store(self.db_path)
        return self.local.store

    def call_params(self) -> dict:
        params = dict(self.params)
        if self.schema is not None:  # an in-process model decodes under the reply's schema, as in grading
            from ..judges.panel import LOCAL_MAX_TOKENS

            params.setdefault("max_tokens", LOCAL_MAX_TOKENS)
            params["response_format"] = {"type": "json_schema", "json_schema": {"name": "judgment", "schema": self.schema}}
        return params

    def text(self, messages: list[dict]) -> tuple[str, int, int]:
        if self.fatal is not None:
            raise self.fatal
        params = self.call_params()
        key = cache_key(self.judge, messages, params, 0)
        store = self.store()
        hit = store.cached_call(key)
        if hit is not None:
            store.use_cached_call(self.owner, key)
            with self.lock:
                self.cached += 1
            return hit["response"], 0, 0
        with self.lock:
            if self.budget is not None and self.paid >= self.budget:
                self.exhausted = True
                raise BudgetExhausted(f"the budget of {self.budget} calls is spent")
            self.paid += 1  # reserved before the call: threads together never exceed the cap
        try:
            reply = asyncio.run_coroutine_threadsafe(self.llm.complete(self.judge, messages, params), self.loop).result()
        except (TransportError, RequestRefused) as exc:
            with self.lock:
                self.paid -= 1
                self.failures.append(str(exc))
            raise
        except JudgeError as exc:
            with self.lock:
                self.paid -= 1
            self.fatal = exc
            raise
        store.save_call(self.owner, key, self.judge.model, prompt_hash(messages), reply)
        with self.lock:
            self.made += 1
        return reply.text, reply.input_tokens, reply.output_tokens

    # -- the DSPy engine protocol (dspy.clients.engines.base.Engine) --
    def complete(self, request):
        from dspy.lm15 import Message, Response, TextPart, Usage

        text, tokens_in, tokens_out = self.text(request_messages(request))
        return Response(id=None, model=self.judge.model, message=Message.assistant([TextPart(text)]),
                        finish_reason="stop",
                        usage=Usage(input_tokens=tokens_in, output_tokens=tokens_out, total_tokens=tokens_in + tokens_out))

    def stream(self, request):
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self):
        """Stop the event loop, cancelling what LiteLLM left running on it (its logging worker)."""
        async def stop():
            await self.llm.aclose()
            tasks = asyncio.all_tasks() - {asyncio.current_task()}
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        try:
            asyncio.run_coroutine_threadsafe(stop(), self.loop).result(5)
        except Exception:  # a task that does not stop in time: stop the loop anyway
            pass
        self.loop.call_soon_threadsafe(self.loop.stop)

    def lm(self):
        """A dspy.LM over this engine: DSPy's own cache and retries off (the calls table and LLM do both)."""
        import dspy

        return dspy.LM(f"medjudge/{self.judge.model}", engine=self, cache=False, num_retries=0)
