"""Every model call goes through LiteLLM here: one place for timeouts, capped retries and accounting."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import time
from dataclasses import dataclass
from urllib.parse import urlparse

from ..errors import JudgeError, MedjudgeError

_litellm = None


def litellm():
    """Import LiteLLM once, offline-safe and quiet: local price map, no telemetry, no callbacks."""
    global _litellm
    if _litellm is None:
        import litellm as lib

        lib.telemetry = False
        lib.drop_params = True  # seed and the like are sent only where the provider takes them
        lib.suppress_debug_info = True
        lib.callbacks, lib.success_callback, lib.failure_callback = [], [], []
        from .local import register

        register(lib)
        _litellm = lib
    return _litellm


@dataclass(frozen=True)
class Judge:
    """A panel member: a LiteLLM model string, optionally with an API base (`model@http://host:port/v1`)."""

    model: str
    api_base: str | None = None

    @classmethod
    def parse(cls, spec: str) -> "Judge":
        spec = spec.strip()
        if not spec:
            raise MedjudgeError("empty --judge")
        model, sep, base = spec.partition("@http")
        base = f"http{base}" if sep else None
        if "/" not in model and not model.startswith("local"):
            raise MedjudgeError(f"judge {spec!r}: use a LiteLLM model string such as openai/gpt-4.1 or ollama/qwen3:8b")
        return cls(model, base)

    @property
    def name(self) -> str:
        return self.model

    @property
    def in_process(self) -> bool:
        return self.model.startswith("local/")

    @property
    def is_local(self) -> bool:
        """In-process, or served on a loopback address."""
        if self.model.startswith("local/"):
            return True
        base = self.api_base
        if base is None and self.model.startswith("ollama"):
            base = os.environ.get("OLLAMA_API_BASE", "http://localhost:11434")
        host = urlparse(base).hostname if base else None
        return host in {"localhost", "127.0.0.1", "::1"} or bool(host and host.startswith("127."))

    def spec(self) -> dict:
        return {"model": self.model, "api_base": self.api_base}


@dataclass
class Reply:
    text: str
    input_tokens: int
    output_tokens: int
    cost: float | None
    latency: float


class TransportError(Exception):
    """The call failed after every retry (rate limit, timeout, server error): the unit stays to be redone."""


class RequestRefused(Exception):
    """The provider refused this request (too long, bad parameter): recorded unscored, not retried."""


def cache_key(judge: Judge, messages, params: dict, sample: int) -> str:
    blob = json.dumps([judge.model, judge.api_base, messages, sorted(params.items()), sample], ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def prompt_hash(messages) -> str:
    return hashlib.sha256(json.dumps(messages, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


class LLM:
    """Calls a judge with a per-call timeout and capped exponential backoff (never retries forever)."""

    def __init__(self, timeout: float = 60.0, max_retries: int = 4, backoff: float = 0.5, backoff_cap: float = 20.0):
        self.timeout, self.max_retries, self.backoff, self.backoff_cap = timeout, max_retries, backoff, backoff_cap
        self.retries = 0  # retries made, over all calls
        lib = litellm()
        names = ("AuthenticationError", "NotFoundError", "PermissionDeniedError")
        self._fatal = tuple(getattr(lib, n) for n in names if hasattr(lib, n))
        self._refused = tuple(getattr(lib, n) for n in ("BadRequestError", "UnsupportedParamsError") if hasattr(lib, n))

    def _kwargs(self, judge: Judge, messages, params):
        kw = dict(model=judge.model, messages=messages, timeout=self.timeout, num_retries=0, **params)
        if judge.api_base:
            kw["api_base"] = judge.api_base
            provider = judge.model.split("/", 1)[0].upper()
            if not os.environ.get(f"{provider}_API_KEY"):
                kw["api_key"] = "no-key"  # OpenAI-compatible local servers need a placeholder
        return kw

    async def complete(self, judge: Judge, messages, params: dict) -> Reply:
        lib = litellm()
        kw = self._kwargs(judge, messages, params)
        attempt = 0
        while True:
            start = time.perf_counter()
            try:
                resp = await asyncio.wait_for(lib.acompletion(**kw), self.timeout + 5)
                return self._reply(lib, resp, time.perf_counter() - start)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if isinstance(exc, self._fatal):
                    raise JudgeError(f"judge {judge.model}: {type(exc).__name__}: {_first_line(exc)}") from None
                if isinstance(exc, self._refused):
                    raise RequestRefused(f"request refused by {judge.model}: {_first_line(exc)}") from None
                if attempt >= self.max_retries:
                    raise TransportError(f"{type(exc).__name__} after {attempt + 1} attempts: {_first_line(exc)}") from None
            attempt += 1
            self.retries += 1
            delay = min(self.backoff_cap, self.backoff * 2 ** (attempt - 1))
            await asyncio.sleep(delay * (0.5 + random.random() / 2))

    @staticmethod
    def _reply(lib, resp, latency) -> Reply:
        choice = resp.choices[0]
        text = choice.message.content or ""
        usage = getattr(resp, "usage", None)
        cost = None
        if str(getattr(resp, "model", "")).startswith("local/"):
            cost = 0.0  # in-process model: free
        else:
            try:
                cost = float(lib.completion_cost(completion_response=resp))
            except Exception:
                cost = None  # model missing from the price map: cost unknown, not zero
        return Reply(
            text=text,
            input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            output_tokens=getattr(usage, "completion_tokens", 0) or 0,
            cost=cost,
            latency=latency,
        )


def _first_line(exc) -> str:
    from ..secrets import redact

    text = str(exc).strip().splitlines()
    return redact((text[0] if text else "")[:200])
