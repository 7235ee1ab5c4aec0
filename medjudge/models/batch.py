"""Provider batch APIs: request lines, chunks within the providers' limits, and the clients.

OpenAI and vLLM's OpenAI server go through the official openai SDK (its list pages, its results stream);
Azure and Mistral through LiteLLM's files and batches functions; Anthropic's Message Batches API, which LiteLLM does not create, is called directly (httpx). A
request's custom id is its cache key plus the attempt, so that its reply lands in the calls table under the key
and no custom id is ever sent twice.
"""

from __future__ import annotations

import io
import json
import os

from ..errors import JudgeError, MedjudgeError
from .lib import litellm
from .llm import Judge

OPENAI_FORMAT = {"openai": "openai", "hosted_vllm": "hosted_vllm", "azure": "azure", "mistral": "mistral"}
LIMITS = {"openai": (50_000, 190 * 1024 * 1024), "anthropic": (100_000, 250 * 1024 * 1024)}  # requests, bytes
ANTHROPIC_VERSION = "2023-06-01"
TERMINAL = {"completed", "failed", "expired", "cancelled", "ended"}


def provider(judge: Judge) -> str:
    prefix = judge.model.split("/", 1)[0]
    if prefix == "anthropic":
        return "anthropic"
    if prefix in OPENAI_FORMAT:
        return "openai"
    raise MedjudgeError(f"judge {judge.model}: no provider batch API for {prefix!r} models (batch works with "
                        f"openai/, azure/, mistral/, hosted_vllm/ and anthropic/ judges; grade it online)")


def model_name(judge: Judge) -> str:
    return judge.model.split("/", 1)[1]


def custom_id(key: str, attempt: int) -> str:
    return f"{key[:56]}-{attempt}"  # 64 characters at most (OpenAI's limit)


def request_line(judge: Judge, cid: str, messages: list[dict], params: dict) -> dict:
    """One batch request: for OpenAI-format providers, exactly the body the online route sends (route.wire_body:
    LiteLLM's mapping of the parameters for this model, no temperature for o-series and gpt-5 models)."""
    body = {k: v for k, v in params.items() if k != "response_format"}
    if provider(judge) == "anthropic":
        system = "\n\n".join(m["content"] for m in messages if m["role"] == "system")
        p = {"model": model_name(judge), "max_tokens": body.pop("max_tokens", None) or 1024,
             "messages": [m for m in messages if m["role"] != "system"]}
        if system:
            p["system"] = system
        if "temperature" in body:
            p["temperature"] = body["temperature"]
        return {"custom_id": cid, "params": p}
    from .route import wire_body

    return {"custom_id": cid, "method": "POST", "url": "/v1/chat/completions", "body": wire_body(judge, messages, body)}


def chunks(records, kind: str, line_of=lambda r: r):
    """Records (a stream) split so that no batch exceeds the provider's request count or file size."""
    max_n, max_bytes = LIMITS[kind]
    out, size = [], 0
    for line in records:
        n = len(json.dumps(line_of(line), ensure_ascii=False).encode()) + 1
        if out and (len(out) >= max_n or size + n > max_bytes):
            yield out
            out, size = [], 0
        out.append(line)
        size += n
    if out:
        yield out


class BatchClient:
    """One judge's batch endpoint. Methods are async; each returns plain dicts. `batch_client(judge)` picks the class of
    the judge's provider: OpenAIBatches (LiteLLM's files and batches functions) or AnthropicBatches (httpx)."""

    kind = ""

    def __init__(self, judge: Judge, timeout: float = 120.0):
        self.judge, self.timeout = judge, timeout
        self.key = (os.environ.get(judge.key_env) if judge.key_env else "no-key") if judge.api_base else \
            os.environ.get(self.key_variable)
        if not self.key:
            raise JudgeError(f"judge {judge.model}: no API key for its batch API (set the provider's key variable)")

    async def find(self, local_id: str) -> str | None:
        """A batch created for this local id, after a crash between create and record (None: not findable)."""
        return None


class OpenAIBatches(BatchClient):
    """OpenAI's Files and Batches APIs (OpenAI itself, and vLLM's OpenAI server) through the official `openai` SDK:
    its list pages through every batch, and the results stream line by line (a batch's output file is never held
    in memory). The network settings are the SDK's (HTTPS_PROXY / ALL_PROXY / NO_PROXY, SSL_CERT_FILE) plus
    SSL_VERIFY and REQUESTS_CA_BUNDLE as LiteLLM reads them (wire.tls); the organisation and project headers."""

    key_variable = "OPENAI_API_KEY"
    kind = "openai"

    def _client(self, retries: int = 2):
        """The SDK's client; retries=0 where a retry could do twice what the provider already did (create)."""
        import httpx
        from openai import AsyncOpenAI

        from .wire import org_headers, tls

        base = self.judge.api_base or "https://api.openai.com/v1"
        verify = tls(base)
        http = httpx.AsyncClient(timeout=self.timeout, verify=True if verify is None else verify)
        return AsyncOpenAI(api_key=self.key, base_url=base, max_retries=retries, timeout=self.timeout, http_client=http,
                           default_headers=org_headers())

    async def submit(self, lines: list[dict], local_id: str, on_file=None) -> dict:
        """Upload and create; `on_file(file id)` is called between the two, so the file id is recorded."""
        data = batch_file(lines)
        async with self._client() as client:
            f = await client.files.create(file=(f"{local_id}.jsonl", data), purpose="batch")
        del data
        if on_file:
            on_file(f.id)
        return await self.create(f.id, local_id)

    async def create(self, file_id: str, local_id: str) -> dict:
        async with self._client(retries=0) as client:  # a batch the provider made is found, never made twice
            b = await client.batches.create(completion_window="24h", endpoint="/v1/chat/completions",
                                            input_file_id=file_id, metadata={"medjudge_batch": local_id})
        return {"provider_id": b.id, "state": "submitted"}

    async def find(self, local_id: str) -> str | None:
        """A batch created for this local id (found by its metadata), after a crash between create and record:
        the SDK's list pages through every batch, so one past the first 100 is still found."""
        async with self._client() as client:
            async for b in client.batches.list(limit=100):
                if (b.metadata or {}).get("medjudge_batch") == local_id:
                    return b.id
        return None

    async def status(self, provider_id: str) -> dict:
        """{state: submitted | completed | failed | expired | cancelled, counts, output/error files}."""
        async with self._client() as client:
            b = await client.batches.retrieve(provider_id)
        return status_of(b)

    async def results(self, provider_id: str, status: dict):
        """(custom id, reply text or None, error or None, input tokens, output tokens) per request answered."""
        async with self._client() as client:
            for file_id in (status.get("output_file"), status.get("error_file")):
                if not file_id:
                    continue
                async with client.files.with_streaming_response.content(file_id) as response:
                    async for line in response.iter_lines():
                        if line.strip():
                            yield result_of(json.loads(line))

    async def cancel(self, provider_id: str):
        async with self._client() as client:
            await client.batches.cancel(provider_id)


def batch_file(lines: list[dict]) -> bytes:
    """An OpenAI-format batch input file: one request per JSON line."""
    return "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines).encode("utf-8")


def status_of(b) -> dict:
    """An OpenAI-format Batch object (the SDK's, or LiteLLM's) as {state, counts, output/error files}."""
    state = b.status if b.status in TERMINAL else "submitted"
    counts = b.request_counts.model_dump() if getattr(b, "request_counts", None) is not None else None
    return {"state": state, "counts": counts, "output_file": b.output_file_id, "error_file": b.error_file_id}


def result_of(rec: dict) -> tuple:
    """One line of an OpenAI-format batch output or error file as (custom id, text or None, error, tokens in, out)."""
    resp = rec.get("response") or {}
    body = resp.get("body") or {}
    if resp.get("status_code") == 200 and body.get("choices"):
        u = body.get("usage") or {}
        return (rec["custom_id"], body["choices"][0]["message"].get("content") or "", None,
                u.get("prompt_tokens", 0), u.get("completion_tokens", 0))
    why = (body.get("error") or {}).get("message") or (rec.get("error") or {}).get("message") or "error"
    return rec["custom_id"], None, why, 0, 0


class LiteLLMBatches(BatchClient):
    """Azure's and Mistral's OpenAI-format batch APIs through LiteLLM's files and batches functions (their
    endpoints and credentials as LiteLLM resolves them). Results are downloaded whole: one batch at a time."""

    key_variable = "OPENAI_API_KEY"

    @property
    def kind(self) -> str:
        return provider(self.judge)

    def _kw(self):
        kw = {"custom_llm_provider": OPENAI_FORMAT[self.judge.model.split("/", 1)[0]], "api_key": self.key}
        if self.judge.api_base:
            kw["api_base"] = self.judge.api_base
        return kw

    async def submit(self, lines: list[dict], local_id: str, on_file=None) -> dict:
        data = batch_file(lines)
        f = await litellm().acreate_file(file=(f"{local_id}.jsonl", data), purpose="batch", **self._kw())
        if on_file:
            on_file(f.id)
        return await self.create(f.id, local_id)

    async def create(self, file_id: str, local_id: str) -> dict:
        b = await litellm().acreate_batch(completion_window="24h", endpoint="/v1/chat/completions",
                                          input_file_id=file_id, metadata={"medjudge_batch": local_id}, **self._kw())
        return {"provider_id": b.id, "state": "submitted"}

    async def status(self, provider_id: str) -> dict:
        b = await litellm().aretrieve_batch(batch_id=provider_id, **self._kw())
        return status_of(b)

    async def results(self, provider_id: str, status: dict):
        for file_id in (status.get("output_file"), status.get("error_file")):
            if not file_id:
                continue
            content = await litellm().afile_content(file_id=file_id, **self._kw())
            data = io.BytesIO(content.content)
            del content
            for line in data:
                if line.strip():
                    yield result_of(json.loads(line))

    async def cancel(self, provider_id: str):
        await litellm().acancel_batch(batch_id=provider_id, **self._kw())


class AnthropicBatches(BatchClient):
    """Anthropic's Message Batches API over httpx (LiteLLM has no function for it). A batch is created in one
    request, so a crash cannot leave one half-made to be found later."""

    kind = "anthropic"
    key_variable = "ANTHROPIC_API_KEY"

    def _base(self) -> str:
        base = (self.judge.api_base or "https://api.anthropic.com").rstrip("/")
        return base[:-3] if base.endswith("/v1") else base

    def _headers(self):
        return {"x-api-key": self.key, "anthropic-version": ANTHROPIC_VERSION, "content-type": "application/json"}

    async def _http(self, method: str, url: str, **kw):
        import httpx

        async with httpx.AsyncClient(timeout=self.timeout) as http:
            r = await http.request(method, url, headers=self._headers(), **kw)
            r.raise_for_status()
            return r

    async def submit(self, lines: list[dict], local_id: str, on_file=None) -> dict:
        r = await self._http("POST", f"{self._base()}/v1/messages/batches", json={"requests": lines})
        return {"provider_id": r.json()["id"], "state": "submitted"}

    async def status(self, provider_id: str) -> dict:
        """{state: submitted | ended, counts, results_url}."""
        b = (await self._http("GET", f"{self._base()}/v1/messages/batches/{provider_id}")).json()
        state = "ended" if b["processing_status"] == "ended" else "submitted"
        return {"state": state, "counts": b.get("request_counts"), "results_url": b.get("results_url")}

    async def results(self, provider_id: str, status: dict):
        r = await self._http("GET", status["results_url"])
        for line in r.text.splitlines():
            if not line.strip():
                continue
            rec = json.loads(line)
            res = rec["result"]
            if res["type"] == "succeeded":
                msg = res["message"]
                text = "".join(c.get("text", "") for c in msg["content"] if c.get("type") == "text")
                u = msg.get("usage") or {}
                yield rec["custom_id"], text, None, u.get("input_tokens", 0), u.get("output_tokens", 0)
            else:
                why = (res.get("error") or {}).get("message") or res["type"]
                yield rec["custom_id"], None, why, 0, 0

    async def cancel(self, provider_id: str):
        await self._http("POST", f"{self._base()}/v1/messages/batches/{provider_id}/cancel")


def batch_client(judge: Judge, timeout: float = 120.0) -> BatchClient:
    """The batch client of the judge's provider: the openai SDK for OpenAI and vLLM, httpx for Anthropic,
    LiteLLM for Azure and Mistral."""
    prefix = judge.model.split("/", 1)[0]
    cls = AnthropicBatches if provider(judge) == "anthropic" else \
        OpenAIBatches if prefix in ("openai", "hosted_vllm") else LiteLLMBatches
    return cls(judge, timeout)
