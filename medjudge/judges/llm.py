"""Every model call goes through LiteLLM here: one place for timeouts, capped retries and accounting."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import random
import re
import time
from dataclasses import dataclass
from functools import cached_property
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
    """A panel member: a LiteLLM model string, optionally with an API base (`model@http://host:port/v1`)
    and the environment variable holding the key for that base (`model@https://host/v1#KEY_VAR`).

    A custom API base never receives a provider's key from the environment: only the variable it names."""

    model: str
    api_base: str | None = None
    key_env: str | None = None

    @classmethod
    def parse(cls, spec: str) -> "Judge":
        spec = spec.strip()
        if not spec:
            raise MedjudgeError("empty --judge")
        model, sep, base = spec.partition("@http")
        base = f"http{base}" if sep else None
        key_env = None
        if base and "#" in base:
            base, _, key_env = base.partition("#")
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key_env):
                raise MedjudgeError(f"judge {public_url(spec)!r}: after # comes the name of the variable holding "
                                    f"the key, such as #VLLM_API_KEY")
        if "/" not in model and not model.startswith("local"):
            raise MedjudgeError(f"judge {public_url(spec)!r}: use a LiteLLM model string such as openai/gpt-4.1 "
                                f"or ollama/qwen3:8b")
        return cls(model, base, key_env)

    @classmethod
    def from_spec(cls, spec: dict) -> "Judge":
        """A judge as stored in runs.panel (credentials in its URL were never stored)."""
        return cls(spec["model"], spec.get("api_base"), spec.get("key_env"))

    @cached_property
    def public_base(self) -> str | None:
        """The API base without credentials: what is stored, printed and hashed."""
        return public_url(self.api_base) if self.api_base else None

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
        out = {"model": self.model, "api_base": self.public_base}
        if self.key_env:
            out["key_env"] = self.key_env
        return out


SECRET_PARAMS = re.compile(r"(key|token|secret|password|passwd|pwd|sig|signature|auth|credential|session)", re.I)


def public_url(url: str) -> str:
    """A URL without user info and without query parameters that look like credentials."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
    except ValueError:
        return "[unparseable URL]"
    netloc = parts.netloc.rpartition("@")[2]
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not SECRET_PARAMS.search(k)]
    return urlunsplit((parts.scheme, netloc, parts.path, urlencode(query), parts.fragment))


@dataclass
class Reply:
    text: str
    input_tokens: int
    output_tokens: int
    cost: float | None
    latency: float


class TransportError(Exception):
    """The call failed after every retry (rate limit, timeout, server error): the unit stays to be redone."""


class Deferred(Exception):
    """Batch mode: the call is not made now but sent in a provider batch (judges/batch.py)."""


class DeferLLM:
    """An LLM that makes no call: every call not in the cache is deferred to a batch (or counted, --dry-run)."""

    retries = 0

    async def complete(self, judge, messages, params):
        raise Deferred()


class RequestRefused(Exception):
    """The provider refused this request (too long, bad parameter): recorded unscored, not retried."""


def cache_key(judge: Judge, messages, params: dict, sample: int, round: int = 1) -> str:
    """The call's identity. Round r > 1 (a unit asked again after an unreadable reply) is a distinct entry,
    so that a bad reply is never replayed from the cache as the answer to a new question."""
    parts = [judge.model, judge.public_base, messages, sorted(params.items()), sample] + ([round] if round > 1 else [])
    blob = json.dumps(parts, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def prompt_hash(messages) -> str:
    return hashlib.sha256(json.dumps(messages, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


class TokenBucket:
    """`rate` units per second, at most `burst` at once; `acquire` waits its turn (asyncio, one loop)."""

    def __init__(self, per_minute: float, burst: float | None = None):
        self.rate = per_minute / 60.0
        self.burst = burst if burst is not None else max(1.0, self.rate)
        self.level, self.stamp = self.burst, time.monotonic()

    async def acquire(self, amount: float = 1.0):
        amount = min(amount, self.burst)  # a request larger than the burst waits for a full bucket
        while True:
            now = time.monotonic()
            self.level = min(self.burst, self.level + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.level >= amount:
                self.level -= amount
                return
            await asyncio.sleep((amount - self.level) / self.rate)


def _per_model(limits: dict | None, model: str):
    if not limits:
        return None
    return limits.get(model, limits.get("*"))


class LLM:
    """Calls a judge with a per-call timeout and capped exponential backoff (never retries forever), within
    per-model request and token rates; a 429 pauses that model only, never the others."""

    def __init__(self, timeout: float = 60.0, max_retries: int = 4, backoff: float = 0.5, backoff_cap: float = 20.0,
                 rpm: dict | None = None, tpm: dict | None = None):
        self.timeout, self.max_retries, self.backoff, self.backoff_cap = timeout, max_retries, backoff, backoff_cap
        self.retries = 0  # retries made, over all calls
        self.rpm, self.tpm = rpm or {}, tpm or {}
        self.buckets: dict[tuple, TokenBucket] = {}
        self.paused_until: dict[str, float] = {}  # model -> monotonic time its 429 back-off ends
        self._errors = None  # LiteLLM's exception classes, looked up on the first call (import is slow)

    def errors(self):
        if self._errors is None:
            lib = litellm()
            fatal = ("AuthenticationError", "NotFoundError", "PermissionDeniedError")
            refused = ("BadRequestError", "UnsupportedParamsError")
            self._errors = (tuple(getattr(lib, n) for n in fatal if hasattr(lib, n)),
                            tuple(getattr(lib, n) for n in refused if hasattr(lib, n)))
        return self._errors

    def _kwargs(self, judge: Judge, messages, params):
        kw = dict(model=judge.model, messages=messages, timeout=self.timeout, num_retries=0, **params)
        if judge.api_base:
            kw["api_base"] = judge.api_base
            # never the provider's key from the environment: a custom host gets only the key named for it
            key = os.environ.get(judge.key_env) if judge.key_env else None
            if judge.key_env and not key:
                raise JudgeError(f"judge {judge.model}@{judge.public_base}: the key variable {judge.key_env} is not set")
            kw["api_key"] = key or "no-key"  # OpenAI-compatible local servers need a placeholder
        return kw

    async def complete(self, judge: Judge, messages, params: dict) -> Reply:
        lib = litellm()
        kw = self._kwargs(judge, messages, params)
        attempt = 0
        while True:
            await self._wait_turn(judge.model, messages, params)
            start = time.perf_counter()
            try:
                if judge.in_process:  # the model stops itself at the timeout (judges/local.py): never abandoned
                    resp = await lib.acompletion(**kw)
                else:
                    resp = await asyncio.wait_for(lib.acompletion(**kw), self.timeout + 5)
                return self._reply(lib, resp, time.perf_counter() - start)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                fatal, refused = self.errors()
                said = _first_line(exc, judge)
                if isinstance(exc, fatal):
                    raise JudgeError(f"judge {judge.model}: {type(exc).__name__}: {said}") from None
                if isinstance(exc, refused):
                    raise RequestRefused(f"request refused by {judge.model}: {said}") from None
                if attempt >= self.max_retries:
                    raise TransportError(f"{type(exc).__name__} after {attempt + 1} attempts: {said}") from None
                rate_limited = "RateLimit" in type(exc).__name__
            attempt += 1
            self.retries += 1
            delay = min(self.backoff_cap, self.backoff * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            if rate_limited:  # the whole model backs off; other models go on
                self.paused_until[judge.model] = max(self.paused_until.get(judge.model, 0.0), time.monotonic() + delay)
            await asyncio.sleep(delay)

    async def _wait_turn(self, model: str, messages, params):
        pause = self.paused_until.get(model, 0.0) - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        rpm, tpm = _per_model(self.rpm, model), _per_model(self.tpm, model)
        if rpm:
            bucket = self.buckets.setdefault(("rpm", model), TokenBucket(rpm))
            await bucket.acquire(1)
        if tpm:
            bucket = self.buckets.setdefault(("tpm", model), TokenBucket(tpm, burst=max(tpm / 60.0, 8192)))
            estimate = sum(len(m.get("content") or "") for m in messages) / 4 + (params.get("max_tokens") or 256)
            await bucket.acquire(estimate)

    @staticmethod
    def _reply(lib, resp, latency) -> Reply:
        choice = resp.choices[0]
        text = choice.message.content or ""
        usage = getattr(resp, "usage", None)
        if str(getattr(resp, "model", "")).startswith("local/"):
            cost = 0.0  # in-process model: free
        else:
            # LiteLLM prices every response once already; None when the model is not in its price map
            cost = (getattr(resp, "_hidden_params", None) or {}).get("response_cost")
            cost = float(cost) if cost is not None else None
        return Reply(
            text=text,
            input_tokens=getattr(usage, "prompt_tokens", 0) or 0,
            output_tokens=getattr(usage, "completion_tokens", 0) or 0,
            cost=cost,
            latency=latency,
        )


def _first_line(exc, judge: Judge | None = None) -> str:
    from ..secrets import redact

    text = str(exc).strip()
    if judge is not None and judge.api_base and judge.api_base != judge.public_base:
        text = text.replace(judge.api_base, judge.public_base)  # credentials in the URL never reach a message
    from ..display import clip

    lines = [line for line in text.splitlines() if line.strip()]
    first = re.sub(r"\s*ssl:(<[^>]*>|default|None|True|False)", "", lines[0] if lines else "")  # aiohttp's repr noise
    return clip(redact(first), 300)
