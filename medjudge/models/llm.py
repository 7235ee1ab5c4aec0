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
from urllib.parse import parse_qsl, unquote, urlencode, urlparse, urlsplit, urlunsplit

from ..errors import JudgeError, MedjudgeError
from ..secrets import redact_values
from .lib import litellm


@dataclass(frozen=True)
class Judge:
    """A panel member: a LiteLLM model string, optionally with an API base (`model@http://host:port/v1`)
    and the environment variable holding the key for that base (`model@https://host/v1#KEY_VAR`).

    A custom API base never receives a provider's key from the environment: only the variable it names."""

    model: str
    api_base: str | None = None
    key_env: str | None = None

    def __post_init__(self):
        """Its key variable and any credential in its API base are redacted by value from everything written."""
        from ..secrets import register_value, register_variable

        register_variable(self.key_env)
        if self.api_base:
            try:
                parts = urlsplit(self.api_base)
            except ValueError:
                return
            for v in (parts.username, parts.password):
                register_value(unquote(v) if v else None)
            for k, v in parse_qsl(parts.query):
                if SECRET_PARAMS.search(k):
                    register_value(v)

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
    """Batch mode: the call is not made now but sent in a provider batch (models/batch.py)."""


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
    return call_identity(judge, messages, params, sample, round)[0]


def prompt_hash(messages) -> str:
    return hashlib.sha256(json.dumps(messages, ensure_ascii=False).encode("utf-8")).hexdigest()[:16]


def call_identity(judge: Judge, messages, params: dict, sample: int, round: int = 1) -> tuple[str, str]:
    """cache_key and prompt_hash of one call, the messages encoded once for both: the key hashes the JSON list
    [model, public API base, messages, sorted parameters, sample(, round)]."""
    encoded = json.dumps(messages, ensure_ascii=False)
    head = json.dumps([judge.model, judge.public_base], ensure_ascii=False)[:-1]
    tail = json.dumps([sorted(params.items()), sample] + ([round] if round > 1 else []), ensure_ascii=False)[1:]
    blob = f"{head}, {encoded}, {tail}"
    return (hashlib.sha256(blob.encode("utf-8")).hexdigest(),
            hashlib.sha256(encoded.encode("utf-8")).hexdigest()[:16])


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
                 rpm: dict | None = None, tpm: dict | None = None, routes=None):
        self.timeout, self.max_retries, self.backoff, self.backoff_cap = timeout, max_retries, backoff, backoff_cap
        self.retries = 0  # retries made, over all calls
        self.rpm, self.tpm = rpm or {}, tpm or {}
        self.buckets: dict[tuple, TokenBucket] = {}
        self.paused_until: dict[str, float] = {}  # model -> monotonic time its 429 back-off ends
        self._errors = None  # LiteLLM's exception classes, looked up on the first call (import is slow)
        from .route import Routes

        self.routing = Routes(routes)  # routes remembered in the Store (or None)
        self._sessions: dict = {}  # event loop -> aiohttp session (OpenAI-compatible servers)
        self._endpoints: dict = {}  # judge -> (URL, headers, proxy, proxy auth, TLS), for the lean route
        self.slowest: dict[str, float] = {}  # in-process model -> its slowest reply so far, in seconds

    SLOW_FACTOR = 3.0  # an in-process model may take this many times its slowest reply on this machine

    def timeout_for(self, judge: Judge) -> float:
        """The per-call timeout: --timeout, and for an in-process model at least SLOW_FACTOR times the slowest
        reply it gave in this run (a loaded machine slows every generation alike: a timeout then is the machine,
        not the call)."""
        if not judge.in_process:
            return self.timeout
        return max(self.timeout, self.SLOW_FACTOR * self.slowest.get(judge.model, 0.0))

    def route(self, judge: Judge, params: dict):
        """How this judge's calls with these parameters go on the wire (route.py)."""
        return self.routing.get(judge, params)

    def session(self):
        """One aiohttp session per event loop: its connection pool is shared by every call."""
        import aiohttp

        loop = asyncio.get_running_loop()
        found = self._sessions.get(loop)
        if found is None or found.closed:
            connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300, enable_cleanup_closed=True)
            # trust_env would look up the proxy and ~/.netrc in a thread for every request: the proxy is looked
            # up once per judge instead (_endpoint), and the key travels in the Authorization header
            found = self._sessions[loop] = aiohttp.ClientSession(connector=connector)
        return found

    async def complete_once(self, judge: Judge, messages, params: dict) -> Reply:
        """One call on an event loop of its own (doctor's test call): the session is closed after it."""
        try:
            return await self.complete(judge, messages, params)
        finally:
            await self.aclose()

    async def aclose(self):
        """Close this loop's session (the end of a run's loop)."""
        found = self._sessions.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found.close()

    def errors(self):
        if self._errors is None:
            lib = litellm()
            fatal = ("AuthenticationError", "NotFoundError", "PermissionDeniedError")
            refused = ("BadRequestError", "UnsupportedParamsError")
            self._errors = (tuple(getattr(lib, n) for n in fatal if hasattr(lib, n)),
                            tuple(getattr(lib, n) for n in refused if hasattr(lib, n)))
        return self._errors

    def _kwargs(self, judge: Judge, messages, params):
        kw = dict(model=judge.model, messages=messages, timeout=self.timeout_for(judge), num_retries=0, **params)
        if judge.api_base:
            kw["api_base"] = judge.api_base
            # never the provider's key from the environment: a custom host gets only the key named for it
            key = os.environ.get(judge.key_env) if judge.key_env else None
            if judge.key_env and not key:
                raise JudgeError(f"judge {judge.model}@{judge.public_base}: the key variable {judge.key_env} is not set")
            kw["api_key"] = key or "no-key"  # OpenAI-compatible local servers need a placeholder
        return kw

    async def complete(self, judge: Judge, messages, params: dict) -> Reply:
        route = self.route(judge, params)
        endpoint = self._endpoint(judge) if route.lean else None  # a missing key fails here, never retried
        attempt = 0
        while True:
            await self._wait_turn(judge.model, messages, params)
            start = time.perf_counter()
            try:
                if route.lean:
                    reply = await self._post(route, endpoint, messages, params, start)
                else:
                    reply = await self._litellm(judge, messages, params, start)
                reply.text = redact_values(reply.text)  # a server that echoes the key never puts it in the database
                if judge.in_process:
                    self.slowest[judge.model] = max(self.slowest.get(judge.model, 0.0), reply.latency)
                return reply
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                name = _kind(exc)
                said = _first_line(exc, judge) or (f"no reply within {self.timeout:g} s (--timeout changes it)"
                                                   if name == "Timeout" else name)
                if isinstance(exc, HTTPFailure):
                    fatal, refused = exc.fatal, exc.refused
                elif route.lean:  # a connection error or timeout on the lean route
                    fatal, refused = False, False
                else:  # LiteLLM's exception: the same status, the same outcome as on the lean route
                    fatal, refused = self._litellm_kind(exc)
                if fatal:
                    raise JudgeError(f"judge {judge.model}: {name}: {said}") from None
                if refused:
                    raise RequestRefused(f"request refused by {judge.model}: {said}") from None
                if attempt >= self.max_retries:
                    raise TransportError(f"{name} after {attempt + 1} attempts: {said}") from None
                rate_limited = "RateLimit" in name
                wait = retry_after_of(exc)
            attempt += 1
            self.retries += 1
            delay = min(self.backoff_cap, self.backoff * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
            if wait is not None:  # the server said when: honoured, within the cap
                delay = min(self.backoff_cap, max(wait, 0.0))
            if rate_limited:  # the whole model backs off; other models go on
                self.paused_until[judge.model] = max(self.paused_until.get(judge.model, 0.0), time.monotonic() + delay)
            await asyncio.sleep(delay)

    def _litellm_kind(self, exc) -> tuple[bool, bool]:
        """(fatal, refused) of a LiteLLM exception: by its HTTP status where it has one (the lean route's table:
        HTTPFailure.outcome), else by its class."""
        status = getattr(exc, "status_code", None)
        if isinstance(status, int) and status >= 400:
            return HTTPFailure.outcome(status)
        fatal, refused = self.errors()
        return isinstance(exc, fatal), isinstance(exc, refused)

    async def _litellm(self, judge: Judge, messages, params: dict, start: float) -> Reply:
        lib = litellm()
        kw = self._kwargs(judge, messages, params)
        if judge.in_process:  # the model stops itself at the timeout (models/local.py): never abandoned
            resp = await lib.acompletion(**kw)
        else:
            resp = await asyncio.wait_for(lib.acompletion(**kw), self.timeout + 5)
        return self._reply(lib, resp, time.perf_counter() - start)

    def _endpoint(self, judge: Judge) -> tuple:
        """Where and how a lean call to this judge goes, worked out once: the chat completions URL, the headers,
        the proxy the environment names for it (HTTPS_PROXY / HTTP_PROXY, else ALL_PROXY, unless NO_PROXY
        covers the host), and the TLS setting (wire.tls)."""
        found = self._endpoints.get(judge)
        if found is None:
            from .wire import env_base, proxy_for, tls

            url = (judge.api_base or env_base(judge)).rstrip("/")
            url = url if url.endswith("/chat/completions") else url + "/chat/completions"
            try:
                proxy = proxy_for(url)
            except ValueError as exc:
                raise JudgeError(f"judge {judge.model}@{judge.public_base}: {exc}") from None
            found = self._endpoints[judge] = (url, self._headers(judge), *proxy, tls(url))
        return found

    def _headers(self, judge: Judge) -> dict:
        """What LiteLLM sends such a server: the key named for it (or a placeholder), as a bearer token, and the
        OpenAI organisation and project the environment names. A user and password in the API base (a proxy
        with basic authentication) are sent instead of the key, by aiohttp."""
        from .wire import org_headers

        extra = org_headers()
        if not judge.api_base:  # the API base came from the environment: so does the key, as LiteLLM reads it
            key = os.environ.get("OPENAI_API_KEY")
            if not key:
                raise JudgeError(f"judge {judge.model}: OPENAI_API_KEY is not set (the key for OPENAI_API_BASE)")
            return {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **extra}
        key = self._kwargs(judge, (), {})["api_key"]
        if urlparse(judge.api_base).username is not None:
            if judge.key_env:
                raise JudgeError(f"judge {judge.model}@{judge.public_base}: a user in the URL and a key "
                                 f"(#{judge.key_env}) cannot both be sent: one Authorization header")
            return {"Content-Type": "application/json", **extra}
        return {"Authorization": f"Bearer {key}", "Content-Type": "application/json", **extra}

    async def _post(self, route, endpoint: tuple, messages, params: dict, start: float) -> Reply:
        """One call to an OpenAI-compatible server on the route LiteLLM worked out (route.py)."""
        import aiohttp

        url, headers, proxy, proxy_auth, tls = endpoint
        data = json.dumps(route.body(messages, params.get("seed")), ensure_ascii=False).encode("utf-8")
        async with self.session().post(url, data=data, headers=headers, proxy=proxy, proxy_auth=proxy_auth, ssl=tls,
                                       timeout=aiohttp.ClientTimeout(total=self.timeout)) as resp:
            raw = await resp.read()
            status = resp.status
            retry_after = resp.headers.get("Retry-After")
        if status >= 400:
            raise HTTPFailure.of(status, raw, retry_after)
        try:
            body = json.loads(raw)
            choice = body["choices"][0]
            text = choice["message"].get("content") or ""
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):
            raise HTTPFailure("APIError", "the reply is not a chat completion: " + raw[:200].decode("utf-8", "replace"))
        usage = body.get("usage") or {}
        tokens_in, tokens_out = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
        cached = (usage.get("prompt_tokens_details") or {}).get("cached_tokens") or 0
        return Reply(text=text, input_tokens=tokens_in, output_tokens=tokens_out,
                     cost=route.cost(tokens_in, tokens_out, cached), latency=time.perf_counter() - start)

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
            from .cost import prompt_tokens, reply_tokens

            await bucket.acquire(prompt_tokens(messages) + reply_tokens(params.get("max_tokens")))

    @staticmethod
    def _reply(lib, resp, latency) -> Reply:
        if resp is None:  # LiteLLM's acompletion answers an HTTP 422 with no response (after asking again)
            raise HTTPFailure("UnprocessableEntityError", "UnprocessableEntityError: LiteLLM returned no response "
                              "(the server refused the request as unprocessable)", 422)
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


class HTTPFailure(Exception):
    """A failed call to an OpenAI-compatible server, named as LiteLLM names it (AuthenticationError, ...)."""

    NAMES = {400: "BadRequestError", 401: "AuthenticationError", 403: "PermissionDeniedError", 404: "NotFoundError",
             408: "Timeout", 409: "ConflictError", 413: "BadRequestError", 422: "UnprocessableEntityError",
             429: "RateLimitError",
             503: "ServiceUnavailableError", 504: "Timeout"}

    def __init__(self, name: str, message: str, status: int | None = None, retry_after: str | None = None):
        super().__init__(message)
        self.name, self.status, self.retry_after = name, status, retry_after
        self.fatal, self.refused = self.outcome(status)

    @staticmethod
    def outcome(status: int | None) -> tuple[bool, bool]:
        """(fatal, refused) for an HTTP status, on both routes: 401, 403, 404 stop the judge; 400, 413, 422 refuse
        the request (recorded unscored, with the reason); 408, 409, 429 and 5xx are retried (as the OpenAI SDK
        retries them). tests/test_route.py holds the two routes to the same outcome for each status."""
        return status in (401, 403, 404), status in (400, 413, 422)

    @classmethod
    def of(cls, status: int, raw: bytes, retry_after: str | None = None) -> "HTTPFailure":
        try:
            error = json.loads(raw).get("error")
            message = error.get("message") if isinstance(error, dict) else str(error)
        except (ValueError, AttributeError):
            message = None
        message = message or raw[:200].decode("utf-8", "replace").strip() or f"HTTP {status}"
        name = cls.NAMES.get(status, "InternalServerError" if status >= 500 else "APIError")
        return cls(name, f"{name}: {message}", status, retry_after)


def retry_after_of(exc) -> float | None:
    """Seconds the server asked to wait (Retry-After: seconds or an HTTP date), on either route, or None."""
    value = getattr(exc, "retry_after", None)
    if value is None:
        headers = getattr(exc, "litellm_response_headers", None) or getattr(getattr(exc, "response", None),
                                                                             "headers", None)
        try:
            value = headers.get("retry-after") if headers is not None else None
        except AttributeError:
            value = None
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        from email.utils import parsedate_to_datetime

        try:
            return parsedate_to_datetime(str(value)).timestamp() - time.time()
        except (TypeError, ValueError):
            return None


def _kind(exc) -> str:
    """The failure's name as LiteLLM gives it (aiohttp's own errors under LiteLLM's names)."""
    if isinstance(exc, HTTPFailure):
        return exc.name
    if isinstance(exc, asyncio.TimeoutError):
        return "Timeout"
    module = type(exc).__module__ or ""
    if module.startswith("aiohttp"):
        return "APIConnectionError"
    return type(exc).__name__


def _first_line(exc, judge: Judge | None = None) -> str:
    from ..secrets import redact

    text = str(exc).strip()
    if judge is not None and judge.api_base and judge.api_base != judge.public_base:
        text = text.replace(judge.api_base, judge.public_base)  # credentials in the URL never reach a message
    from ..display import clip

    lines = [line for line in text.splitlines() if line.strip()]
    first = re.sub(r"\s*ssl:(<[^>]*>|default|None|True|False)", "", lines[0] if lines else "")  # aiohttp's repr noise
    return clip(redact(first), 300)
