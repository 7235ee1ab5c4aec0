"""grade --batch against a fake provider at the HTTP edge (OpenAI files and batches, Anthropic Message Batches):
the same judgments as an online run, whatever point the process is stopped at; no custom id sent twice."""

import json
import sqlite3

import pytest

from conftest import EXAMPLES
from medjudge.models.fakellm import default_responder, fields_of
from test_grade import db_rows

RUBRIC = EXAMPLES / "chest-pain-checklist.yaml"
ANSWERS = EXAMPLES / "answers.jsonl"


@pytest.fixture(autouse=True)
def fast_polls(monkeypatch):
    monkeypatch.setenv("MEDJUDGE_BATCH_POLL", "0.01")


def verdicts(path, run_id=None):
    rows = db_rows(path, "SELECT answer_id, unit_id, judge, sample, value, status, reason FROM judgments"
                   + (" WHERE run_id = ?" if run_id else "") + " ORDER BY 1, 2, 3, 4", *([run_id] if run_id else []))
    return [tuple(r.values()) for r in rows]


def flaky(request):
    """Unreadable on the first ask of one criterion (a re-ask goes in a follow-up batch), seeded by sample."""
    f = fields_of(request)
    if "aspirin" in f.get("criterion", "").lower() and len(request["messages"]) == 2:
        return "I cannot say."
    reply = default_responder(request)
    if request.get("seed") == 1 and "criteria_met" in reply:  # the second sample reads it the other way
        reply["criteria_met"] = not reply["criteria_met"]
    return reply


def online_then_batch(cli, fake, judge, *extra):
    code, out, err = cli("grade", ANSWERS, "--rubric", RUBRIC, "--judge", judge, "--db", "online.db", "-q", *extra)
    assert code in (0, 5), err
    return verdicts("online.db")


def test_batch_equals_online_with_samples_and_reasks(cli, fake, tmp_path):
    fake.responder = flaky
    online = online_then_batch(cli, fake, fake.judge(), "--samples", "2")
    assert any(r[5] == "scored" for r in online)
    fake.submitted.clear()
    code, out, err = cli("grade", ANSWERS, "--rubric", RUBRIC, "--judge", fake.judge(), "--db", "b.db", "-q",
                         "--samples", "2", "--batch")
    assert code == 3 and "requests in flight" in err  # submitted, not complete: never exit 0
    run_id = db_rows(tmp_path / "b.db", "SELECT id FROM runs")[0]["id"]
    assert db_rows(tmp_path / "b.db", "SELECT state FROM batches") == [{"state": "submitted"}]
    code, out, err = cli("batch", "collect", run_id, "--wait", "--db", "b.db", "-q")
    assert code in (0, 5), err
    assert verdicts(tmp_path / "b.db") == online
    assert max(fake.submitted.values()) == 1  # no custom id sent twice
    states = db_rows(tmp_path / "b.db", "SELECT state, requests FROM batches ORDER BY rowid")
    assert [s["state"] for s in states] == ["collected", "collected"]  # the re-asks went in a follow-up batch
    assert states[0]["requests"] == 24 and states[1]["requests"] == 6


def test_errored_and_expired_requests_are_requeued_under_new_ids(cli, fake, tmp_path):
    online = online_then_batch(cli, fake, fake.judge())
    fake.submitted.clear()
    fake.batch_fail = lambda cid: cid.endswith("-1") and int(cid[:8], 16) % 3 == 0
    expired = set()
    fake.batch_expire = lambda bid: not expired and not expired.add(bid)  # the first batch expires
    code, out, err = cli("grade", ANSWERS, "--rubric", RUBRIC, "--judge", fake.judge(), "--db", "b.db", "-q",
                         "--batch", "--wait")
    assert code == 0, err
    assert verdicts(tmp_path / "b.db") == online
    assert max(fake.submitted.values()) == 1
    attempts = {r["custom_id"][-1] for r in db_rows(tmp_path / "b.db", "SELECT custom_id FROM batch_requests")}
    assert attempts >= {"1", "2"}  # expired / errored requests came back under a new attempt number


@pytest.mark.parametrize("stop_at", ["after_upload", "after_create", "after_create_buried", "mid_collect"])
def test_stopped_at_any_point_then_collect_gives_the_online_judgments(cli, fake, tmp_path, monkeypatch, stop_at):
    from medjudge.models.batch import OpenAIBatches
    from medjudge.store import Store

    online = online_then_batch(cli, fake, fake.judge())
    fake.submitted.clear()

    class Stop(KeyboardInterrupt):
        pass

    once = {"done": False}

    def trip():
        if not once["done"]:
            once["done"] = True
            raise Stop()

    if stop_at == "after_upload":
        real = OpenAIBatches.create

        async def create(self, file_id, local_id):
            trip()
            return await real(self, file_id, local_id)
        monkeypatch.setattr(OpenAIBatches, "create", create)
    elif stop_at.startswith("after_create"):
        real = Store.save_batch

        def save_batch(self, row, requests=None):
            if row.get("state") == "submitted":
                trip()  # the provider has the batch; the database does not know its id yet
            return real(self, row, requests)
        monkeypatch.setattr(Store, "save_batch", save_batch)
    else:
        real = Store.finish_batch_requests

        def finish(self, run_id, done, failed):
            trip()  # every reply is in the calls table; the requests are not marked yet
            return real(self, run_id, done, failed)
        monkeypatch.setattr(Store, "finish_batch_requests", finish)
    code, out, err = cli("grade", ANSWERS, "--rubric", RUBRIC, "--judge", fake.judge(), "--db", "b.db", "-q",
                         "--batch", "--wait")
    assert code == 130  # stopped
    run_id = db_rows(tmp_path / "b.db", "SELECT id FROM runs")[0]["id"]
    if stop_at == "after_create_buried":  # 120 other batches since: ours is past the provider's first page
        import time as clock

        for i in range(120):
            bid = fake._new_id("batch_")
            fake.batches[bid] = {"id": bid, "kind": "openai", "endpoint": "/v1/chat/completions", "lines": [],
                                 "input_file_id": "file-x", "status": "completed", "polls": 0,
                                 "created_at": int(clock.time()), "metadata": {}, "total": 0}
    code, out, err = cli("batch", "collect", run_id, "--wait", "--db", "b.db", "-q")
    assert code == 0, err
    assert verdicts(tmp_path / "b.db") == online
    assert max(fake.submitted.values()) == 1 and len(fake.submitted) == 12
    assert len([x for x in fake.batch_log if x[0] == "create"]) == 1  # found, never created again
    if stop_at.startswith("after_create"):  # the found batch's provider id was stored at once, and kept
        assert all(r["provider_id"] for r in db_rows(tmp_path / "b.db", "SELECT provider_id FROM batches"))


def test_a_batch_line_carries_the_body_the_online_route_sends():
    """o3-mini and gpt-5-mini lines carried temperature 0.0, which those models refuse and online LiteLLM never
    sends: one function builds both."""
    from medjudge.models.batch import request_line
    from medjudge.models.lib import litellm
    from medjudge.models.llm import Judge
    from medjudge.models.route import mapped

    params = {"temperature": 0.0, "max_tokens": 50, "seed": 1}
    for model in ("openai/o3-mini", "openai/gpt-5-mini", "openai/gpt-4.1-mini"):
        judge = Judge(model)
        line = request_line(judge, "c-1", [{"role": "user", "content": "q"}], params)
        wire_model, _, sent = mapped(judge, params)
        assert line["body"] == {"model": wire_model, "messages": [{"role": "user", "content": "q"}], **sent}
        if model != "openai/gpt-4.1-mini":
            assert "temperature" not in line["body"] and "max_completion_tokens" in line["body"]
    assert litellm() is not None


def test_anthropic_batches_equal_an_online_anthropic_run(cli, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("FAKE_KEY", "k")
    judge = f"anthropic/claude-fake@http://127.0.0.1:{fake.port}#FAKE_KEY"
    online = online_then_batch(cli, fake, judge)
    assert len(online) == 12 and all(r[5] == "scored" for r in online)
    code, out, err = cli("grade", ANSWERS, "--rubric", RUBRIC, "--judge", judge, "--db", "b.db", "-q", "--batch")
    assert code == 3
    run_id = db_rows(tmp_path / "b.db", "SELECT id FROM runs")[0]["id"]
    code, out, err = cli("batch", "status", run_id, "--db", "b.db")
    assert code == 0 and "anthropic msgbatch_" in out and "submitted" in out
    code, out, err = cli("batch", "collect", run_id, "--wait", "--db", "b.db", "-q")
    assert code == 0, err
    assert verdicts(tmp_path / "b.db") == online
    assert max(fake.submitted.values()) == 1


def test_cancel_then_collect_sends_the_rest_anew(cli, fake, tmp_path):
    online = online_then_batch(cli, fake, fake.judge())
    fake.submitted.clear()
    fake.batch_polls = 3  # still running when cancelled
    code, out, err = cli("grade", ANSWERS, "--rubric", RUBRIC, "--judge", fake.judge(), "--db", "b.db", "-q", "--batch")
    run_id = db_rows(tmp_path / "b.db", "SELECT id FROM runs")[0]["id"]
    code, out, err = cli("batch", "cancel", run_id, "--db", "b.db")
    assert code == 0 and "cancelled 1 batches" in out
    assert db_rows(tmp_path / "b.db", "SELECT state FROM batches") == [{"state": "collected"}]
    code, out, err = cli("batch", "collect", run_id, "--wait", "--db", "b.db", "-q")
    assert code == 0, err
    assert verdicts(tmp_path / "b.db") == online and max(fake.submitted.values()) == 1


def test_dry_run_counts_calls_and_prices_online_and_batch(cli, fake, tmp_path):
    judge = f"openai/gpt-4.1-mini@{fake.base_url}"
    code, out, err = cli("grade", ANSWERS, "--rubric", RUBRIC, "--judge", judge, "--db", "d.db", "--dry-run",
                         "--json", "plan.json")
    assert code == 0 and fake.count == 0, err
    assert "12 calls" in out and "(new)" in out
    assert not (tmp_path / "d.db").exists()  # it promised not to write: no database file was created
    assert json.loads((tmp_path / "plan.json").read_text())["calls"] == 12
    online, batch = map(float, __import__("re").search(r"cost online \$([\d.]+), batch \$([\d.]+)", out).groups())
    assert online > 0 and batch == pytest.approx(online / 2, rel=0.02)
    assert cli("grade", ANSWERS, "--rubric", RUBRIC, "--judge", judge, "--db", "d.db", "-q")[0] == 0
    code, out, err = cli("grade", ANSWERS, "--rubric", RUBRIC, "--judge", judge, "--db", "d.db", "--dry-run")
    assert code == 0 and "in all: 0 calls" in out and "exists" in out
    # on an existing database it writes nothing either: not the prompt of a program it has not graded with
    before = list(sqlite3.connect(tmp_path / "d.db").iterdump())
    code, out, err = cli("grade", ANSWERS, "--rubric", RUBRIC, "--judge", judge, "--db", "d.db", "--dry-run",
                         "--mode", "batched")
    assert code == 0 and "3 calls" in out, out
    assert list(sqlite3.connect(tmp_path / "d.db").iterdump()) == before


def test_batches_split_at_the_providers_limits(cli, fake, tmp_path, monkeypatch):
    from medjudge.models import batch

    monkeypatch.setitem(batch.LIMITS, "openai", (5, 10**9))
    online = online_then_batch(cli, fake, fake.judge())
    code, out, err = cli("grade", ANSWERS, "--rubric", RUBRIC, "--judge", fake.judge(), "--db", "b.db", "-q",
                         "--batch", "--wait")
    assert code == 0, err
    assert sorted(r["requests"] for r in db_rows(tmp_path / "b.db", "SELECT requests FROM batches")) == [2, 5, 5]
    assert verdicts(tmp_path / "b.db") == online


def test_a_cascade_sends_its_second_stage_after_the_first_is_collected(cli, fake, tmp_path):
    def two_minds(request):  # the cheap judge is unsure about aspirin: two samples disagree
        reply = default_responder(request)
        f = fields_of(request)
        if request["model"] == "cheap" and "aspirin" in f.get("criterion", "").lower() and request.get("seed") == 1:
            reply["criteria_met"] = not reply["criteria_met"]
        return reply

    fake.responder = two_minds
    args = ("--judge", fake.judge("cheap"), "--judge", fake.judge("strong"), "--cascade", "--samples", "2")
    online = online_then_batch(cli, fake, fake.judge("cheap"), *args[2:])
    fake.submitted.clear()
    code, out, err = cli("grade", ANSWERS, "--rubric", RUBRIC, *args, "--db", "b.db", "--batch", "--wait")
    assert code == 0, err
    assert "batch requests:" in out  # a line per poll
    batches = db_rows(tmp_path / "b.db", "SELECT id, judge FROM batches ORDER BY rowid")  # in the order sent
    assert [json.loads(b["judge"])["model"] for b in batches] == ["openai/cheap", "openai/strong"]
    assert verdicts(tmp_path / "b.db") == online and max(fake.submitted.values()) == 1
