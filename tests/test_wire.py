"""The lean route honours the user's network settings like LiteLLM (issue 31): proxies used or refused, never
bypassed; SSL_VERIFY, SSL_CERT_FILE and REQUESTS_CA_BUNDLE; Retry-After; the OpenAI organisation and project
headers. Each point lean against litellm.acompletion, at a loopback fake."""

import asyncio
import shutil
import subprocess
import time

import pytest

from medjudge.errors import JudgeError
from medjudge.models.fakellm import Fault, FakeLLM
from medjudge.models import route as routing
from medjudge.models.llm import LLM, Judge, TransportError

MESSAGES = [{"role": "user", "content": "Is the answer safe? Reply in JSON."}]


def call(fake, lean: bool, **llm_options):
    """(outcome, requests at the fake, seconds) of one call on the lean route or through LiteLLM."""
    judge = Judge("openai/gpt-4.1-mini", fake.base_url)
    llm = LLM(**{"max_retries": 0, "backoff": 0.01, "timeout": 5, **llm_options})
    if not lean:
        llm.routing.known[(judge, ())] = routing.FULL
    before, start = fake.count, time.perf_counter()
    try:
        asyncio.run(llm.complete_once(judge, MESSAGES, {}))
        outcome = "answered"
    except (JudgeError, TransportError) as exc:
        outcome = type(exc).__name__ + ": " + str(exc)
    return outcome, fake.count - before, time.perf_counter() - start


def test_a_dead_proxy_in_all_proxy_is_used_not_bypassed(fake, monkeypatch):
    monkeypatch.setenv("ALL_PROXY", "http://127.0.0.1:9")  # nothing listens there
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    lean, theirs = call(fake, True), call(fake, False)
    assert lean[1] == theirs[1] == 0  # neither reached the server directly
    assert lean[0].startswith("TransportError") and theirs[0].startswith("TransportError")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # the user exempts the host: both go direct
    assert call(fake, True)[0] == call(fake, False)[0] == "answered"


def test_a_socks_proxy_is_refused_in_one_line(fake, monkeypatch):
    monkeypatch.setenv("ALL_PROXY", "socks5://127.0.0.1:9")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    outcome, sent, _ = call(fake, True)
    assert outcome.startswith("JudgeError") and "socks5" in outcome and "ALL_PROXY" in outcome and sent == 0


@pytest.fixture
def self_signed(tmp_path):
    if not shutil.which("openssl"):
        pytest.skip("no openssl to make a certificate (apt-get install openssl)")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    with FakeLLM(tls=(str(cert), str(key))) as server:
        yield server, cert


def test_tls_settings_are_honoured_on_both_routes(self_signed, monkeypatch):
    server, cert = self_signed
    for var in ("SSL_VERIFY", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "ALL_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(var, raising=False)
    lean = call(server, True)
    assert lean[0].startswith("TransportError") and "certificate" in lean[0].lower()  # verified, and refused
    assert call(server, False)[0].startswith("TransportError")
    monkeypatch.setenv("SSL_VERIFY", "False")
    assert call(server, True)[0] == call(server, False)[0] == "answered"
    monkeypatch.delenv("SSL_VERIFY")
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    assert call(server, True)[0] == call(server, False)[0] == "answered"
    monkeypatch.delenv("SSL_CERT_FILE")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    assert call(server, True)[0] == "answered"


@pytest.mark.parametrize("lean", [True, False])
def test_retry_after_is_honoured_within_the_cap(lean):
    state = {"n": 0}

    def once_limited(body):
        state["n"] += 1
        return Fault("429", retry_after="1") if state["n"] == 1 else {"ok": True}

    with FakeLLM(responder=once_limited) as fake:
        outcome, sent, took = call(fake, lean, max_retries=2, backoff=0.01)
    assert outcome == "answered" and sent == 2 and took >= 1.0  # the backoff alone would wait 0.01 s
    state["n"] = 0
    with FakeLLM(responder=once_limited) as fake:
        outcome, sent, took = call(fake, lean, max_retries=2, backoff=0.01, backoff_cap=0.2)
    assert outcome == "answered" and took < 0.9  # never longer than the cap


def test_organisation_and_project_headers_are_sent_as_litellm_sends_them(fake, monkeypatch):
    monkeypatch.setenv("OPENAI_ORGANIZATION", "org-medjudge")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-42")
    call(fake, True)
    call(fake, False)
    lean, theirs = ({k.lower(): v for k, v in h.items()} for h in fake.headers[-2:])
    for name in ("openai-organization", "openai-project"):
        assert lean.get(name) == theirs.get(name) and lean.get(name)


def test_an_api_base_from_the_environment_takes_the_lean_route(fake, monkeypatch):
    """Issue 31: `openai/gpt-4.1-mini` with OPENAI_API_BASE set (how most vLLM and proxy users configure it) sent
    every call through litellm.acompletion. It now takes the lean route, with the same body and key LiteLLM sends."""
    monkeypatch.setenv("OPENAI_API_BASE", fake.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-env-base-0001")
    judge, params = Judge("openai/gpt-4.1-mini"), {"temperature": 0.0, "seed": 3}
    llm = LLM(max_retries=0)
    assert llm.route(judge, params).lean
    asyncio.run(llm.complete_once(judge, MESSAGES, params))
    theirs = LLM(max_retries=0)
    theirs.routing.known[(judge, routing.shape(params))] = routing.FULL
    asyncio.run(theirs.complete_once(judge, MESSAGES, params))
    assert fake.requests[-2] == fake.requests[-1] and fake.count == 2
    assert fake.auth[-2] == fake.auth[-1] == "Bearer sk-test-env-base-0001"
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(JudgeError, match="OPENAI_API_KEY is not set"):
        asyncio.run(LLM(max_retries=0).complete_once(judge, MESSAGES, params))
