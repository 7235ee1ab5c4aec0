"""A loopback OpenAI-compatible chat server with scripted replies: the fake LLM for tests, demos and benchmarks.

It speaks `POST /v1/chat/completions` on 127.0.0.1 only. A responder turns each request into a reply:
a string (the message content), a dict (sent as JSON content) or a Fault (429, 500, timeout, dropped
connection, non-JSON body). The default responder is a deterministic lexical judge that reads the
DSPy field blocks of medjudge prompts, so verdicts can be predicted and checked.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import threading
import time
from dataclasses import dataclass

FIELD = re.compile(r"\[\[ ## (\w+) ## \]\]\n(.*?)(?=\n\n\[\[ ## |\n\nRespond with|\Z)", re.S)
STOP = {"about", "after", "their", "there", "these", "those", "which", "would", "should", "could", "other",
        "answer", "response", "patient", "points", "being", "while", "where"}


RISKY_WORDS = ("double the dose", "stop taking", "no need to see", "never serious")
# openai/simple-evals' HealthBench grader prompt (benchmarks/bench_peer.py runs it against this server)
PEER_GRADER = re.compile(r"# Conversation\n(.*)\n\n# Rubric item\n(.*?)\n\n# Instructions", re.S)


@dataclass
class Fault:
    kind: str  # "400", "401", "429", "500" (or any other HTTP status), "timeout", "drop", "garbage", "truncated"
    delay: float = 0.0
    message: str = ""
    retry_after: str | None = None  # the Retry-After header sent with it


def fields_of(request: dict) -> dict[str, str]:
    """The DSPy input fields of the last user message, with medjudge's block tags removed."""
    # the last user message with field blocks: demonstrations come before it, a re-ask after it
    user = [m for m in request.get("messages", []) if m.get("role") == "user" and "[[ ## " in (m.get("content") or "")]
    text = user[-1]["content"] if user else ""
    out = {}
    for name, body in FIELD.findall(text):
        body = re.sub(r"^<\w+>\n|\n</\w+>$", "", body.strip())
        out[name] = body
    return out


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{5,}", text.lower()) if w not in STOP}


def lexical_met(criterion: str, answer: str) -> bool:
    """Met when at least half of the criterion's content words occur in the answer."""
    need = words(re.sub(r"^\[[^\]]*\]\s*", "", criterion))
    return bool(need) and len(need & words(answer)) / len(need) >= 0.5


def lexical_level(dimension: str, answer: str) -> int:
    lo, hi = map(int, re.search(r"integer from (-?\d+) to (-?\d+)", dimension).groups())
    return lo + min(hi - lo, len(words(answer)) // 10)


def default_responder(request: dict):
    f = fields_of(request)
    if not f:
        peer = peer_verdict(request)
        if peer is not None:
            return peer
    answer = f.get("answer", "")
    if "criterion" in f:
        met = lexical_met(f["criterion"], answer)
        return {"explanation": "lexical overlap", "criteria_met": met}
    if "criteria" in f:
        verdicts = []
        for line in f["criteria"].splitlines():
            m = re.match(r"- id: (\S+) \| (.*)", line)
            if m:
                verdicts.append({"id": m.group(1), "explanation": "lexical overlap", "met": lexical_met(m.group(2), answer)})
        return {"verdicts": verdicts}
    if "dimension" in f:
        return {"explanation": "length", "score": lexical_level(f["dimension"], answer)}
    if "dimensions" in f:
        scores = []
        for block in f["dimensions"].split("\n\n"):
            m = re.match(r"id: (\S+)\n(.*)", block, re.S)
            if m:
                scores.append({"id": m.group(1), "explanation": "length", "score": lexical_level(m.group(2), answer)})
        return {"scores": scores}
    if "statement" in f:
        rel = "entailed" if lexical_met(f["statement"], answer) else "neutral"
        return {"explanation": "lexical overlap", "relation": rel}
    if "statements" in f:
        verdicts = []
        for line in f["statements"].splitlines():
            m = re.match(r"- id: (\S+) \| (.*)", line)
            if m:
                rel = "entailed" if lexical_met(m.group(2), answer) else "neutral"
                verdicts.append({"id": m.group(1), "explanation": "lexical overlap", "relation": rel})
        return {"verdicts": verdicts}
    if "levels" in f:
        risky = any(w in answer.lower() for w in RISKY_WORDS)
        return {"explanation": "keyword rule", "level": 4 if risky else 1,
                "error_categories": ["incorrect_recommendation"] if risky else []}
    if "reference" in f:
        return {"statements": [s.strip() for s in re.split(r"(?<=[.!?])\s+", f["reference"]) if len(s.strip()) > 3]}
    return {"explanation": "unknown request"}


def peer_verdict(request: dict):
    """The same lexical verdict for simple-evals' grader prompt: the answer is the conversation's last
    assistant turn, the criterion the rubric item ("[points] text")."""
    text = request.get("messages", [{}])[-1].get("content") or ""
    m = PEER_GRADER.search(text) if isinstance(text, str) else None
    if m is None:
        return None
    answer = m.group(1).rpartition("\n\nassistant: ")[2]
    return {"explanation": "lexical overlap", "criteria_met": lexical_met(m.group(2), answer)}


from .fakebatch import BatchEndpoints  # noqa: E402


class FakeLLM(BatchEndpoints):
    """Run with `with FakeLLM() as fake:`; judges are `openai/<name>@{fake.base_url}`. It also serves the
    providers' batch APIs (fakebatch.py)."""

    def __init__(self, responder=None, latency: float = 0.0, jitter: float = 0.0, fault_rate: float = 0.0,
                 faults=("429", "500", "timeout", "drop", "garbage"), seed: int = 0, port: int = 0, tls=None):
        self.responder = responder or default_responder
        self.latency, self.jitter, self.fault_rate, self.faults = latency, jitter, fault_rate, faults
        self.rng = random.Random(seed)
        self.port = port
        self.tls = tls  # (certificate file, key file): serve HTTPS
        self.requests: list[dict] = []
        self._batch_init()
        self.auth: list[str] = []  # the Authorization header of each request (tests check which key was sent)
        self.headers: list[dict] = []  # every header of each request
        self.keep_requests = True  # benchmarks turn this off to keep memory flat
        self.count = 0
        self.first_at = self.last_at = None
        self._lock = threading.Lock()
        self._loop = None
        self._thread = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{'localhost' if self.tls else '127.0.0.1'}:{self.port}/v1"

    def judge(self, name: str = "fake-judge") -> str:
        return f"openai/{name}@{self.base_url}"

    # -- server -----------------------------------------------------------------------------------
    def start(self):
        ready = threading.Event()

        def serve():
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._start_server())
            ready.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, daemon=True, name="fakellm")
        self._thread.start()
        ready.wait(10)
        return self

    async def _start_server(self):
        from aiohttp import web

        app = web.Application(client_max_size=256 * 1024 * 1024)  # a provider batch file is up to 200 MB
        app.router.add_post("/v1/chat/completions", self._handle)
        app.router.add_post("/chat/completions", self._handle)
        app.router.add_get("/v1/models", self._models)
        self.add_batch_routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        context = None
        if self.tls:
            import ssl

            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self.tls)
        site = web.TCPSite(self._runner, "127.0.0.1", self.port, ssl_context=context)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]

    def stop(self):
        if self._loop is None:
            return
        fut = asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop)
        try:
            fut.result(10)
        except Exception:
            pass
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop = None

    async def _shutdown(self):
        """Close the server and cancel handlers still sleeping (timeout faults), so none outlives the loop."""
        pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await self._runner.cleanup()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    async def _models(self, request):
        from aiohttp import web

        return web.json_response({"object": "list", "data": [{"id": "fake-judge", "object": "model"}]})

    async def _handle(self, request):
        from aiohttp import web

        body = await request.json()
        with self._lock:
            self.count += 1
            self.last_at = time.time()  # benchmarks: when the first and the last request arrived
            if self.first_at is None:
                self.first_at = self.last_at
            if self.keep_requests:
                self.requests.append(body)
                self.auth.append(request.headers.get("Authorization", ""))
                self.headers.append(dict(request.headers))
        reply = self.responder(body)
        if not isinstance(reply, Fault) and self.fault_rate and self.rng.random() < self.fault_rate:
            reply = Fault(self.rng.choice(self.faults))
        delay = self.latency + (self.rng.uniform(-self.jitter, self.jitter) if self.jitter else 0.0)
        if delay > 0:
            await asyncio.sleep(delay)
        if isinstance(reply, Fault):
            return await self._fault(request, reply)
        content = reply if isinstance(reply, str) else json.dumps(reply)
        prompt_tokens = sum(len(m.get("content", "")) for m in body.get("messages", [])) // 4
        return web.json_response({
            "id": f"fake-{self.count}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "fake-judge"),
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": content}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": len(content) // 4,
                      "total_tokens": prompt_tokens + len(content) // 4},
        })

    async def _fault(self, request, fault: Fault):
        response = await self._fault_response(request, fault)
        if fault.retry_after is not None and response is not None:
            response.headers["Retry-After"] = fault.retry_after
        return response

    async def _fault_response(self, request, fault: Fault):
        from aiohttp import web

        if fault.kind == "401":
            return web.json_response({"error": {"message": fault.message or "invalid api key",
                                                 "type": "invalid_request_error"}}, status=401)
        if fault.kind == "400":
            return web.json_response({"error": {"message": fault.message or "maximum context length exceeded",
                                                 "type": "invalid_request_error"}}, status=400)
        if fault.kind == "429":
            return web.json_response({"error": {"message": fault.message or "rate limited", "type": "rate_limit_error"}},
                                     status=429)
        if fault.kind == "500":
            return web.json_response({"error": {"message": fault.message or "server error", "type": "server_error"}},
                                     status=500)
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay or 3600)
            return web.json_response({}, status=504)
        if fault.kind == "drop":
            request.transport.close()
            return web.Response(status=500)
        if fault.kind.isdigit():  # any other HTTP status, as an OpenAI-style error
            return web.json_response({"error": {"message": fault.message or f"status {fault.kind}",
                                                 "type": "api_error"}}, status=int(fault.kind))
        if fault.kind == "truncated":
            return web.Response(text='{"id": "x", "choices": [{"mess', content_type="application/json")
        return web.Response(text="<html>bad gateway</html>", content_type="application/json")
