"""The lean route to OpenAI-compatible servers (models/route.py) against LiteLLM itself: the same request on the
wire, the same reply, tokens and cost, the same failures; and a known route never imports LiteLLM."""

import asyncio
import hashlib
import json
import os
import subprocess
import sys

import pytest

from medjudge.errors import JudgeError
from medjudge.models.fakellm import Fault, FakeLLM
from medjudge.models import route as routing
from medjudge.models.lib import litellm
from medjudge.models.llm import LLM, Judge, RequestRefused, TransportError
from medjudge.store import Store

MESSAGES = [{"role": "system", "content": "You are a judge."},
            {"role": "user", "content": "Is the answer safe? Reply in JSON, é ünïcode \"quoted\"."}]
CASES = [  # (model, parameters as the panel sends them)
    ("openai/gpt-4.1-mini", {"temperature": 0.0, "seed": 3}),
    ("openai/gpt-4.1-mini", {"temperature": 0.7, "seed": 1, "max_tokens": 64}),
    ("openai/gpt-4o", {"temperature": 0.0, "max_tokens": 200}),
    ("openai/o3-mini", {"temperature": 0.0, "seed": 0, "max_tokens": 50}),  # reasoning: LiteLLM maps parameters
    ("openai/gpt-5-mini", {"temperature": 0.0, "seed": 0, "max_tokens": 50}),
    ("openai/Qwen/Qwen3-8B", {"temperature": 0.0, "seed": 0}),  # not in the price map: unpriced both ways
    ("hosted_vllm/Qwen/Qwen3-8B", {"temperature": 0.0, "seed": 2, "max_tokens": 50}),
]


def one_call(llm, judge, params, lean: bool):
    async def go():
        start = 0.0
        try:
            route = llm.route(judge, params)
            if lean:
                assert route.lean
                return await llm._post(route, llm._endpoint(judge), MESSAGES, params, start)
            return await llm._litellm(judge, MESSAGES, params, start)
        finally:
            await llm.aclose()

    return asyncio.run(go())


@pytest.mark.parametrize("model,params", CASES)
def test_lean_route_sends_and_reads_what_litellm_does(model, params, fake):
    judge = Judge(model, fake.base_url)
    llm = LLM(max_retries=0)
    route = llm.route(judge, params)
    if not route.lean:  # LiteLLM does something the lean route does not: the call keeps LiteLLM's path
        assert routing.resolve(judge, params) == routing.FULL
        return  # the call keeps LiteLLM's path
    ours = one_call(llm, judge, params, lean=True)
    body_ours, auth_ours = fake.requests[-1], fake.auth[-1]
    theirs = one_call(llm, judge, params, lean=False)
    body_theirs, auth_theirs = fake.requests[-1], fake.auth[-1]
    assert body_ours == body_theirs and auth_ours == auth_theirs
    assert (ours.text, ours.input_tokens, ours.output_tokens) == (theirs.text, theirs.input_tokens, theirs.output_tokens)
    assert ours.cost == pytest.approx(theirs.cost, rel=1e-12) if theirs.cost is not None else ours.cost is None


def test_every_case_but_none_takes_the_lean_route(fake):
    """The lean route is not vacuous: the plain chat models and self-hosted names take it."""
    lean = [m for m, p in CASES if LLM().route(Judge(m, fake.base_url), p).lean]
    assert {"openai/gpt-4.1-mini", "openai/gpt-4o", "openai/Qwen/Qwen3-8B", "hosted_vllm/Qwen/Qwen3-8B"} <= set(lean)
    assert not LLM().route(Judge("openai/gpt-4.1-mini"), {}).lean  # no API base of its own: LiteLLM resolves it
    assert not LLM().route(Judge("anthropic/claude-3-5-haiku-latest", "http://127.0.0.1:1/v1"), {}).lean


@pytest.mark.parametrize("model", ["gpt-4.1-mini", "gpt-4o", "gpt-4o-mini", "gpt-4.1"])
def test_cost_with_cached_tokens_equals_litellm(model):
    from litellm import ModelResponse, completion_cost

    route = routing.resolve(Judge(f"openai/{model}", "http://127.0.0.1:1/v1"), {"temperature": 0.0})
    assert route.lean and route.prices is not None
    for prompt, completion, cached in [(850, 40, 0), (1200, 35, 1024), (5000, 400, 128)]:
        response = ModelResponse(model=model, usage={"prompt_tokens": prompt, "completion_tokens": completion,
                                                     "total_tokens": prompt + completion,
                                                     "prompt_tokens_details": {"cached_tokens": cached}})
        expected = completion_cost(completion_response=response, model=model, custom_llm_provider="openai")
        assert route.cost(prompt, completion, cached) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("fault", ["400", "401", "403", "404", "408", "409", "413", "422", "429", "500", "503",
                                   "garbage", "truncated", "drop"])
def test_lean_route_fails_as_litellm_does(fault):
    """Each server failure ends the same way on both paths: a fatal judge error, a refused request (unscored, not
    retried) or a transport error after the retries, with LiteLLM's name for it."""

    def outcome(lean: bool):
        with FakeLLM(responder=lambda body: Fault(fault)) as fake:
            judge = Judge("openai/gpt-4.1-mini", fake.base_url)
            llm = LLM(max_retries=1, backoff=0.01, timeout=5)
            if not lean:
                llm.routing.known[(judge, ())] = routing.FULL
            try:
                asyncio.run(llm.complete_once(judge, MESSAGES, {}))
            except (JudgeError, RequestRefused, TransportError) as exc:
                return type(exc).__name__, str(exc), fake.count
            return "answered", "", fake.count

    ours, theirs = outcome(True), outcome(False)
    assert ours[0] == theirs[0] != "answered"
    # the same number of attempts; LiteLLM itself sends a 422'd request twice (and then returns no response)
    assert ours[2] == theirs[2] or (fault == "422" and theirs[2] == 2 * ours[2])
    assert ours[0] == {"401": "JudgeError", "403": "JudgeError", "404": "JudgeError", "400": "RequestRefused",
                       "413": "RequestRefused", "422": "RequestRefused"}.get(fault, "TransportError")
    name = {"400": "BadRequestError", "401": "AuthenticationError", "429": "RateLimitError",
            "500": "InternalServerError"}.get(fault)
    if name:
        assert name in ours[1] and name in theirs[1]


def test_route_is_remembered_and_a_known_route_never_imports_litellm(fake, tmp_path, answers_file, checklist_file):
    """A run on a database that holds the judge's route sends every call without importing LiteLLM."""
    db = tmp_path / "m.db"
    judge = fake.judge("gpt-4.1-mini")
    script = (
        "import sys, json\n"
        "from medjudge import grade\n"
        "res = grade(sys.argv[1], rubric=sys.argv[2], db=sys.argv[3], judges=[sys.argv[4]], seed=sys.argv[5] and int(sys.argv[5]))\n"
        "print(json.dumps({'calls': res.calls, 'litellm': 'litellm' in sys.modules}))\n")
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True")

    def run(seed):
        out = subprocess.run([sys.executable, "-c", script, str(answers_file), str(checklist_file), str(db), judge, seed],
                             capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode in (0, 3), out.stderr[-2000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    first = run("0")
    assert first["calls"] > 0 and first["litellm"]  # LiteLLM worked the route out once
    rows = Store(db).db.execute("SELECT model, route FROM routes").fetchall()
    assert len(rows) == 1 and rows[0][0] == "openai/gpt-4.1-mini" and json.loads(rows[0][1])["lean"]
    second = run("7")  # other seed, other calls: the same route
    assert second["calls"] == first["calls"] and not second["litellm"]


def test_a_new_database_on_this_machine_finds_the_route_the_machine_kept(fake, tmp_path, answers_file,
                                                                         checklist_file, machine_cache, monkeypatch):
    """A route LiteLLM worked out is kept in the machine's own database too: a grade on a new database then sends
    every call without importing LiteLLM, and the new database holds the route. With the machine's folder
    turned off, a new database asks LiteLLM again."""
    judge = fake.judge("gpt-4.1-mini")
    script = (
        "import sys, json\n"
        "from medjudge import grade\n"
        "res = grade(sys.argv[1], rubric=sys.argv[2], db=sys.argv[3], judges=[sys.argv[4]])\n"
        "print(json.dumps({'calls': res.calls, 'litellm': 'litellm' in sys.modules}))\n")

    def run(db, **env):
        out = subprocess.run([sys.executable, "-c", script, str(answers_file), str(checklist_file), str(db), judge],
                             capture_output=True, text=True, env=dict(os.environ, **env), timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        return json.loads(out.stdout.strip().splitlines()[-1])

    def routes(db):
        return Store(db).db.execute("SELECT key, route FROM routes").fetchall()

    assert run(tmp_path / "a.db")["litellm"]
    assert routes(machine_cache / "machine.db") == routes(tmp_path / "a.db") and len(routes(tmp_path / "a.db")) == 1
    again = run(tmp_path / "b.db")
    assert again["calls"] > 0 and not again["litellm"]
    assert routes(tmp_path / "b.db") == routes(tmp_path / "a.db")
    assert run(tmp_path / "c.db", MEDJUDGE_CACHE_DIR="off")["litellm"]
    # a machine row that does not fit the call is ignored, worked out again and replaced
    key, good = routes(machine_cache / "machine.db")[0]
    bad = json.loads(good) | {"params": [["max_tokens", 3]]}
    Store(machine_cache / "machine.db").save_route(key, "openai/gpt-4.1-mini", json.dumps(bad))
    assert run(tmp_path / "d.db")["litellm"]
    assert routes(machine_cache / "machine.db") == routes(tmp_path / "a.db")


def test_the_machine_folder_follows_the_environment(monkeypatch, tmp_path):
    from medjudge.store import cache_dir, machine_store

    monkeypatch.setenv("MEDJUDGE_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("MEDJUDGE_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "medjudge"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "medjudge"
    monkeypatch.setenv("MEDJUDGE_CACHE_DIR", "off")
    assert cache_dir() is None and machine_store() is None
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("MEDJUDGE_CACHE_DIR", str(tmp_path / "file" / "sub"))  # cannot be made: none, no error
    assert machine_store() is None


def test_litellm_import_is_set_up_once():
    assert litellm() is litellm()


def test_a_process_that_has_litellm_asks_it_directly(fake, tmp_path):
    litellm()
    store = Store(tmp_path / "m.db")
    found = LLM(routes=store).route(Judge("openai/medgemma-27b-it", fake.base_url), {"temperature": 0.0})
    assert found.lean and store.db.execute("SELECT count(*) FROM routes").fetchone()[0] == 1


def test_a_stored_route_is_versioned_and_checked_before_use(fake, tmp_path):
    """Issue 31: a stored row with max_tokens 3 was sent on every later request. The key carries the route
    format's version; a row that does not fit the call is ignored and worked out again."""
    store = Store(tmp_path / "m.db")
    judge, params = Judge("openai/medgemma-27b-it", fake.base_url), {"temperature": 0.0, "seed": 1}
    key = routing.route_key(judge, params)
    assert key != hashlib.sha256(json.dumps([routing.litellm_version(), judge.model, routing.shape(params)],
                                            sort_keys=True, default=str).encode()).hexdigest()  # version 1's key
    tampered = routing.Route(True, "medgemma-27b-it", (("max_tokens", 3), ("temperature", 0.0)), None, True)
    store.save_route(key, judge.model, tampered.to_json())
    found = LLM(routes=store).route(judge, params)
    assert found == routing.resolve(judge, params) and dict(found.params) == {"temperature": 0.0}
    assert routing.Route.from_json(store.route(key)) == found  # the bad row was replaced
    for bad in ("{not json", json.dumps({"lean": True, "model": "", "params": [], "prices": None, "seeded": True}),
                json.dumps({"lean": True, "model": "m", "params": [["temperature", 0.7]], "prices": None,
                            "seeded": True}),
                json.dumps({"lean": True, "model": "m", "params": [], "prices": [1, -2, 3], "seeded": True})):
        assert routing.Route.stored(bad, params) is None, bad
    assert routing.Route.stored(found.to_json(), params) == found


def test_no_process_outlives_a_grade_on_a_new_database(cli, fake, tmp_path, answers_file, checklist_file):
    """Issue 31: a grade of 3.9 s on a new database exited with the route helper still running, writing to the
    database seconds later. No helper is started now: the command's children are gone when it returns."""
    import os

    code, out, err = cli("grade", answers_file, "--rubric", checklist_file, "--judge", fake.judge("qwen-new"),
                         "--db", "n.db", "-q")
    assert code == 0, err
    me = str(os.getpid())
    children = [p for p in os.listdir("/proc") if p.isdigit() and
                open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()[1] == me]
    assert not [p for p in children if b"medjudge" in open(f"/proc/{p}/cmdline", "rb").read()]


def test_a_user_in_the_url_and_a_named_key_cannot_both_be_sent(monkeypatch):
    monkeypatch.setenv("MEDJUDGE_TEST_PROXY_KEY", "k-123")
    judge = Judge.parse("openai/qwen-x@http://alice:pw@127.0.0.1:9/v1#MEDJUDGE_TEST_PROXY_KEY")
    with pytest.raises(JudgeError, match="cannot both be sent") as caught:
        LLM()._headers(judge)
    assert "pw" not in str(caught.value) and "k-123" not in str(caught.value)
    assert "Authorization" not in LLM()._headers(Judge.parse("openai/qwen-x@http://alice:pw@127.0.0.1:9/v1"))


def test_the_endpoint_takes_the_proxy_the_environment_names(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    url, headers, proxy, _, _ = LLM()._endpoint(Judge.parse("openai/qwen-x@https://gpu.example/v1/"))
    assert url == "https://gpu.example/v1/chat/completions" and str(proxy) == "http://proxy.example:3128"
    assert headers["Authorization"] == "Bearer no-key"
    assert LLM()._endpoint(Judge.parse("openai/qwen-x@https://internal.example/v1"))[2] is None
