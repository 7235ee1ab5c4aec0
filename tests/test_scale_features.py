"""Cascades, rate limits, worker processes: behaviour (not speed; speed is measured in benchmarks/)."""

import asyncio
import json

import pytest

from conftest import write
from medjudge.models.fakellm import Fault, fields_of
from test_grade import TRUTH, db_rows, grade_args, scripted, which

CASCADE_RUBRIC = """\
id: cascade
version: 1
kind: checklist
title: Cascade
criteria:
  - {id: emergency, text: Advises calling emergency services, points: 10}
  - {id: aspirin, text: Mentions chewing aspirin, points: 4}
  - {id: symptoms, text: Lists warning symptoms, points: 5}
  - {id: reassure, text: Falsely reassures, points: -8, escalate: always}
"""


def cascade_responder(request):
    """cheap: its a1/aspirin samples disagree, a3/emergency unreadable, a2/symptoms wrong; strong: the truth."""
    f = fields_of(request)
    a = which(f)
    crit = next(c for c in TRUTH[a] if c in f["criterion"].lower() or
                {"emergency": "emergency", "aspirin": "aspirin", "symptoms": "warning", "reassure": "reassures"}[c]
                in f["criterion"].lower())
    truth = TRUTH[a][crit]
    if request["model"] == "cheap":
        if a == "a1" and crit == "aspirin":  # its two samples disagree
            return {"explanation": "x", "criteria_met": request["seed"] % 2 == 0}
        if a == "a3" and crit == "emergency":
            return "not json at all"  # unparseable, twice
        return {"explanation": "x", "criteria_met": not truth if crit == "symptoms" and a == "a2" else truth}
    return {"explanation": "strong", "criteria_met": truth}


def test_cascade_escalates_only_doubtful_items(cli, fake, answers_file, tmp_path):
    rubric = write(tmp_path / "c.yaml", CASCADE_RUBRIC)
    fake.responder = cascade_responder
    code, out, err = cli("grade", answers_file, "--rubric", rubric, "--judge", fake.judge("cheap"), "--judge",
                         fake.judge("strong"), "--samples", "2", "--cascade", "--db", "t.db", "-q",
                         "--json-summary", "s.json")
    assert code == 0, err
    rows = db_rows("t.db", "SELECT * FROM judgments")
    strong = {(r["answer_id"], r["unit_id"]) for r in rows if r["judge"] == "openai/strong"}
    # escalated: a1/aspirin (disagreement), a3/emergency (unparseable), every reassure (escalate: always)
    assert strong == {("a1", "aspirin"), ("a3", "emergency"), ("a1", "reassure"), ("a2", "reassure"), ("a3", "reassure")}
    cheap = {(r["answer_id"], r["unit_id"]) for r in rows if r["judge"] == "openai/cheap"}
    assert len(cheap) == 12
    s = json.loads((tmp_path / "s.json").read_text())
    c = s["cascade"]
    assert c["tier1_calls"] == 12 * 2 + 2 * 1  # 24 first tries + 2 re-asks for the unparseable replies
    assert c["tier2_calls"] == 5 * 2 and c["calls_avoided"] == 26 - 10
    # the strong judge decides escalated items; the cheap one's (wrong) a2/symptoms stands: it was confident
    scores = {r["answer_id"]: json.loads(r["detail"])["met"] for r in db_rows("t.db", "SELECT * FROM scores")}
    assert scores["a1"]["aspirin"] is True and scores["a3"]["emergency"] is True
    assert scores["a2"]["symptoms"] is True
    assert "cascade:" in out and "calls avoided" in out
    code, _, err = cli("grade", answers_file, "--rubric", rubric, "--judge", fake.judge("cheap"), "--cascade",
                       "--db", "t.db")
    assert code == 2 and "two or more judges" in err


def test_token_bucket_spaces_requests(monkeypatch):
    from medjudge.models import llm

    clock = {"t": 0.0}
    monkeypatch.setattr(llm.time, "monotonic", lambda: clock["t"])

    async def fake_sleep(seconds):
        clock["t"] += seconds

    monkeypatch.setattr(llm.asyncio, "sleep", fake_sleep)
    bucket = llm.TokenBucket(per_minute=120)  # 2 per second, burst 2
    starts = []

    async def go():
        for _ in range(7):
            await bucket.acquire(1)
            starts.append(clock["t"])

    asyncio.run(go())
    # the burst, then one every half second: never more than 120 in a minute
    assert starts[:2] == [0.0, 0.0] and starts[-1] == pytest.approx(2.5)
    assert all(b - a == pytest.approx(0.5) for a, b in zip(starts[1:], starts[2:]))


def test_rate_limited_model_does_not_stall_the_other(cli, fake, answers_file, checklist_file):
    order = []
    tried = set()

    def responder(request):
        order.append(request["model"])
        key = json.dumps([request["model"], request["messages"]])
        if request["model"] == "busy" and key not in tried:
            tried.add(key)
            return Fault("429")
        return scripted(request)

    fake.responder = responder
    # enough slots for every task at once: what is tested is the per-model pause, not slot contention
    code, out, err = cli(*grade_args(fake, answers_file, checklist_file, "--max-retries", "3", "--concurrency", "32",
                                     judges=("busy", "free")))
    assert code == 0, err
    assert all(r["status"] == "scored" for r in db_rows("t.db", "SELECT * FROM judgments"))
    # every call of the free model was served before the busy model's last retry
    assert max(i for i, m in enumerate(order) if m == "free") < max(i for i, m in enumerate(order) if m == "busy")


def test_rpm_option_is_parsed_and_refused_when_bad(cli, fake, answers_file, checklist_file):
    fake.responder = scripted
    code, out, err = cli(*grade_args(fake, answers_file, checklist_file, "--rpm", "6000", "--rpm", "openai/j1=6000",
                                     "--tpm", "10000000"))
    assert code == 0, err
    code, out, err = cli(*grade_args(fake, answers_file, checklist_file, "--rpm", "fast"))
    assert code == 2 and "--rpm takes N or MODEL=N" in err


def test_two_worker_processes_grade_the_same_as_one(cli, fake, answers_file, checklist_file):
    fake.responder = scripted
    code, out, err = cli(*grade_args(fake, answers_file, checklist_file, "--samples", "2", "--workers", "2"))
    assert code == 0, err
    assert fake.count == 24
    two = {(r["answer_id"], r["unit_id"], r["sample"]): r["value"] for r in db_rows("t.db", "SELECT * FROM judgments")}
    assert len(two) == 24 and "this invocation: 24 calls made" in out
    code, out, err = cli(*[a if a != "t.db" else "one.db" for a in grade_args(fake, answers_file, checklist_file,
                                                                                "--samples", "2")])
    one = {(r["answer_id"], r["unit_id"], r["sample"]): r["value"] for r in db_rows("one.db", "SELECT * FROM judgments")}
    assert one == two


def test_worker_processes_grade_the_same_as_one_and_share_the_parents_route(fake, answers_file, checklist_file,
                                                                           tmp_path, monkeypatch):
    """Real worker processes (spawned): a self-hosted judge's route is guessed by every process, worked out once
    by LiteLLM in the parent and stored; the judgments equal a one-process run's."""
    from medjudge import grade, grading
    from medjudge.store import Store

    fake.responder = scripted
    judge = fake.judge("medgemma-27b-it")
    monkeypatch.setattr(grading, "MIN_TASKS_PER_WORKER", 2)  # 12 calls: enough for two workers here
    many = grade(answers_file, rubric=checklist_file, db=tmp_path / "w.db", judges=[judge], samples=1, workers=2)
    one = grade(answers_file, rubric=checklist_file, db=tmp_path / "one.db", judges=[judge], samples=1)
    assert many.calls == one.calls == 12 and fake.count == 24
    rows = lambda db: {(r[0], r[1]): r[2] for r in Store(db).db.execute(  # noqa: E731
        "SELECT answer_id, unit_id, value FROM judgments")}
    assert rows(tmp_path / "w.db") == rows(tmp_path / "one.db") and len(rows(tmp_path / "w.db")) == 12
    stored = Store(tmp_path / "w.db").db.execute("SELECT model FROM routes").fetchall()
    assert stored == [("openai/medgemma-27b-it",)]


@pytest.mark.parametrize("workers,tasks,concurrency,cores,expected", [
    ("auto", 3000, 64, 2, 1),  # one process keeps 64 calls in flight
    ("auto", 3000, 256, 2, 2), ("auto", 3000, 256, 1, 1), ("auto", 700, 256, 2, 1),  # too few calls for two
    (3, 3000, 16, 2, 3), (3, 1200, 16, 2, 2), (1, 100000, 512, 8, 1)])
def test_worker_count(workers, tasks, concurrency, cores, expected, monkeypatch):
    from medjudge import grading

    monkeypatch.setattr(grading, "cores", lambda: cores)
    assert grading.worker_count(workers, tasks, concurrency) == expected
