"""Issue 11: what a judge did not say never moves a number. Each test reproduces a defect of 0.1.

The fake judge sits at the HTTP edge; DSPy, LiteLLM, parsing and SQLite behind it are real. Expected
figures are computed by hand in the tests, or by the `krippendorff` package on data built here.
"""

import json

import numpy as np
import pytest

from conftest import write
from medjudge.models.fakellm import fields_of
from test_grade import TRUTH, db_rows, grade_args, scripted, which

ONE_CRITERION = """id: one
version: 1
kind: checklist
title: One criterion
criteria:
  - id: doctor
    text: Advises seeing a doctor about the symptom.
    points: 5
"""


# -- NLI: an answer whose statements are all unjudged is not "free of hallucinations" -----------------

def nli_rows(tmp_path):
    rows = [{"id": "q1", "prompt": "Is it flu?", "answer": "It is a cold. Rest.",
             "Must_have": ["It is a cold.", "Rest helps."], "Nice_to_have": []},
            {"id": "q2", "prompt": "Is it flu?", "answer": "Antibiotics cure it.",
             "Must_have": ["It is viral.", "Antibiotics do not help."], "Nice_to_have": []}]
    return write(tmp_path / "nli.jsonl", "\n".join(json.dumps(r) for r in rows) + "\n")


def test_nli_answer_with_unjudged_statements_never_counts_as_free_of_hallucinations(fake, cli, tmp_path):
    def responder(request):
        f = fields_of(request)
        if "Antibiotics cure it." in f["answer"]:
            return "no idea"  # every statement of q2 unreadable
        return {"explanation": "x", "relation": "contradicted" if "cold" in f["statement"] else "entailed"}

    fake.responder = responder
    code, out, err = cli("grade", nli_rows(tmp_path), "--rubric", "kqa", "--judge", fake.judge(), "--db", "t.db",
                         "-q", "--json-summary", "s.json")
    assert code == 5 and "coverage 50.0%" in err
    s = json.loads((tmp_path / "s.json").read_text())
    # 0.1 averaged hallucinations over both answers: (1 + 0) / 2 = 0.5, q2 counted as "0 hallucinations"
    assert s["hallucinations"] == {"mean": 1.0, "ci": [1.0, 1.0], "n": 1}
    assert s["answers_with_hallucination"]["n"] == 1 and s["answers_with_hallucination"]["mean"] == 1.0
    assert s["comprehensiveness"]["mean"] == pytest.approx(0.5) and s["comprehensiveness"]["n"] == 1
    assert s["answers_partial"] == 1 and s["coverage"]["answers_complete"] == 1
    q2 = json.loads(db_rows("t.db", "SELECT detail FROM scores WHERE answer_id = 'q2'")[0]["detail"])
    assert q2["complete"] is False and q2["contradicted_bounds"] == [0, 2]
    # with --partial include the metrics get the bounds their unjudged statements allow, by hand:
    # hallucinations per answer q1 1, q2 0..2 -> [0.5, 1.5]; comprehensiveness q1 1/2, q2 0..2/2 -> [0.25, 0.75]
    run_id = s["run"]
    code, out, _ = cli("show", run_id, "--db", "t.db", "--json", "--partial", "include")
    inc = json.loads(out)
    assert inc["hallucinations"]["bounds"] == pytest.approx([0.5, 1.5])
    assert inc["comprehensiveness"]["bounds"] == pytest.approx([0.25, 0.75])
    assert inc["answers_with_hallucination"]["bounds"] == pytest.approx([0.5, 1.0])


# -- checklist, batched: one unreadable reply makes one answer partial, and says so ---------------------

def test_batched_unreadable_reply_is_a_counted_partial_answer(fake, cli, answers_file, checklist_file, tmp_path):
    def responder(request):
        f = fields_of(request)
        return "garbage" if which(f) == "a2" else scripted(request)

    fake.responder = responder
    code, out, err = cli(*grade_args(fake, answers_file, checklist_file, "--mode", "batched", "--json-summary", "s.json"))
    assert code == 5, err  # 0.1 said "complete" and exited 0 with a2 silently out of the mean
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["coverage"]["units"] == 12 and s["coverage"]["scored"] == 8 and s["coverage"]["unscored"] == 4
    assert s["answers_partial"] == 1 and s["overall"]["n"] == 2
    # the headline covers a1 and a3 only: a1 (10 + 4 + 5) / 19 = 1, a3 (10 + 5) / 19
    assert s["overall"]["score"] == pytest.approx((1.0 + 15 / 19) / 2)
    assert "2 complete answers; 1 partial answers left out" in out and "coverage: 8 of 12 units scored" in out
    run_id = s["run"]
    code, out, _ = cli("show", run_id, "--db", "t.db", "--json", "--partial", "include")
    inc = json.loads(out)
    # a2 has no verdict at all: its bounds are the whole range, -8/19 (only the negative met) .. 19/19
    lo = (1.0 + 15 / 19 + -8 / 19) / 3
    hi = (1.0 + 15 / 19 + 1.0) / 3
    assert inc["overall"]["bounds"] == pytest.approx([max(0.0, lo), hi])
    # exports carry coverage and vote counts per answer
    code, out, _ = cli("export", run_id, "--db", "t.db")
    rows = {r["answer_id"]: r for r in map(json.loads, out.splitlines())}
    assert rows["a2"]["complete"] is False and rows["a2"]["units_scored"] == 0 and rows["a2"]["score"] is None
    assert rows["a1"]["complete"] is True and rows["a1"]["votes"]["emergency"] == "1/1"


# -- panels: a quorum of the expected votes -------------------------------------------------------------

def test_one_readable_vote_of_three_does_not_decide(fake, cli, answers_file, checklist_file, tmp_path):
    def responder(request):
        f = fields_of(request)
        if "aspirin" in f["criterion"] and request.get("seed") != 0:
            return "unreadable"  # samples 1 and 2 of every aspirin verdict
        return scripted(request)

    fake.responder = responder
    code, out, err = cli(*grade_args(fake, answers_file, checklist_file, "--samples", "3", "--json-summary", "s.json"))
    assert code == 5
    s = json.loads((tmp_path / "s.json").read_text())
    assert s["coverage"]["unscored"] == 3
    assert all(r.startswith("no quorum: 1 of 3 votes scored, 2 needed") for r in s["coverage"]["reasons"])
    code, out, _ = cli("export", s["run"], "--db", "t.db")
    a1 = next(r for r in map(json.loads, out.splitlines()) if r["answer_id"] == "a1")
    assert a1["votes"]["aspirin"] == "1/3" and a1["votes"]["emergency"] == "3/3"
    # a lower quorum is a choice the user makes, and it is part of the run
    code, out, err = cli(*grade_args(fake, answers_file, checklist_file, "--samples", "3", "--quorum", "0.3",
                                     "--json-summary", "q.json"))
    q = json.loads((tmp_path / "q.json").read_text())
    assert code == 0, err
    assert q["run"] != s["run"] and q["quorum"] == "0.3" and q["coverage"]["share"] == 1.0


# -- reruns re-ask units left unscored, in fresh calls, a bounded number of times ----------------------

def test_rerun_asks_unscored_units_again_never_replaying_the_bad_reply(fake, cli, answers_file, checklist_file):
    state = {"fixed": False}

    def responder(request):
        f = fields_of(request)
        if "aspirin" in f.get("criterion", "") and not state["fixed"]:
            return "unreadable"
        return scripted(request)

    fake.responder = responder
    args = grade_args(fake, answers_file, checklist_file)
    assert cli(*args)[0] == 5
    first = fake.count  # 9 readable + 3 x 2 unreadable attempts
    assert first == 15
    # 0.1 answered the rerun from the cache: 0 calls, unscored forever. Now: fresh calls for those units
    code, out, err = cli(*args)
    assert code == 5 and fake.count - first == 6 and "asked again: 3 calls" in out
    rounds = {r["rounds"] for r in db_rows("t.db", "SELECT rounds FROM judgments WHERE unit_id = 'aspirin'")}
    assert rounds == {2}
    state["fixed"] = True  # the judge now answers: the third run scores them
    code, out, err = cli(*args)
    assert code == 0, err
    assert fake.count - first == 6 + 3
    assert all(r["status"] == "scored" for r in db_rows("t.db", "SELECT status FROM judgments"))


def test_reasking_stops_after_three_runs(fake, cli, answers_file, checklist_file):
    fake.responder = lambda r: "unreadable" if "aspirin" in fields_of(r).get("criterion", "") else scripted(r)
    args = grade_args(fake, answers_file, checklist_file)
    counts = []
    for _ in range(4):
        before = fake.count
        assert cli(*args)[0] == 5
        counts.append(fake.count - before)
    assert counts == [15, 6, 6, 0]  # the first run, two more rounds of 3 units x 2 attempts, then no more


# -- calibration: coverage per judge, verdicts need it, the worst case beside ---------------------------

def calibration_setup(tmp_path, n=12, disagree=(2, 5, 9)):
    """n answers; the physician's label per answer; the judge agrees except on `disagree`, where its reply
    cannot be read. 0.1 dropped those items and reported perfect agreement."""
    expert = {f"x{i}": i % 2 for i in range(n)}
    answers = [{"id": f"x{i}", "prompt": "I have a rash.", "answer": f"Answer {i}: " + (
        "see a doctor about it" if expert[f"x{i}"] else "it will pass")} for i in range(n)]
    f = write(tmp_path / "x.jsonl", "\n".join(json.dumps(a) for a in answers) + "\n")
    rubric = write(tmp_path / "one.yaml", ONE_CRITERION)
    labels = write(tmp_path / "labels.csv", "item_id,criterion,rater,value\n" + "".join(
        f"x{i},doctor,dr_a,{expert[f'x{i}']}\n" for i in range(n)))

    def responder(request):
        ans = fields_of(request)["answer"]
        i = int(ans.split("Answer ")[1].split(":")[0])
        if i in disagree:
            return "cannot say"
        return {"explanation": "x", "criteria_met": bool(expert[f"x{i}"])}

    return f, rubric, labels, responder, expert


def test_calibration_counts_unscored_items_and_withholds_the_verdict(fake, cli, tmp_path):
    f, rubric, labels, responder, expert = calibration_setup(tmp_path)
    fake.responder = responder
    code, out, err = cli("grade", f, "--rubric", rubric, "--judge", fake.judge(), "--db", "c.db", "-q",
                         "--min-coverage", "0.7")
    assert code == 0, err  # 9 of 12 scored: 75% >= the 70% asked for
    run_id = db_rows("c.db", "SELECT id FROM runs")[0]["id"]
    assert cli("annotations", "import", labels, "--db", "c.db")[0] == 0
    code, out, err = cli("calibrate", "--run", run_id, "--db", "c.db", "--json", "cal.json", "--resamples", "200")
    assert code == 5 and "insufficient coverage" in err
    r = json.loads((tmp_path / "cal.json").read_text())["results"][0]
    assert r["coverage"]["expected"] == 12 and r["coverage"]["scored"] == 9 and r["coverage"]["unscored"] == 3
    assert r["verdict"] == "insufficient coverage"
    assert r["stats"]["alpha"]["estimate"] == pytest.approx(1.0)  # the scored items alone agree perfectly
    # the worst case: the three unscored items counted as disagreements, checked with the krippendorff package
    import krippendorff

    judge = [expert[f"x{i}"] if i not in (2, 5, 9) else 1 - expert[f"x{i}"] for i in range(12)]
    ref = krippendorff.alpha(reliability_data=np.array([judge, [expert[f"x{i}"] for i in range(12)]], float),
                             level_of_measurement="nominal")
    assert r["worst_case"]["stats"]["alpha"]["estimate"] == pytest.approx(ref)
    assert ref < 0.6
    assert "75%" in out and "worst case" in out
    # a lower bar is the user's explicit choice
    code, out, err = cli("calibrate", "--run", run_id, "--db", "c.db", "--resamples", "200", "--min-coverage", "0.7")
    # enough coverage now, but 9 paired items are fewer than a verdict needs: no verdict, said, exit 5
    assert code == 5 and "insufficient coverage" not in out and "only 9 paired items (need 10)" in err


def test_no_verdict_without_a_confidence_interval():
    from medjudge.calibration.verdict import INSUFFICIENT, NO_CI, verdict

    v, reasons = verdict("alpha", 0.95, [None, None], 50)
    assert v == NO_CI and "no confidence interval" in reasons[0]  # 0.1 quoted the estimate as its CI bound
    v, _ = verdict("alpha", 0.95, [0.9, 0.99], 50, coverage=0.94)
    assert v == INSUFFICIENT
    v, _ = verdict("alpha", 0.95, [0.9, 0.99], 50, coverage=0.95)
    assert v == "trust"


def test_calibrate_resamples_zero_gives_no_verdict(fake, cli, tmp_path):
    f, rubric, labels, responder, expert = calibration_setup(tmp_path, disagree=())
    fake.responder = responder
    assert cli("grade", f, "--rubric", rubric, "--judge", fake.judge(), "--db", "c.db", "-q")[0] == 0
    run_id = db_rows("c.db", "SELECT id FROM runs")[0]["id"]
    cli("annotations", "import", labels, "--db", "c.db")
    code, out, err = cli("calibrate", "--run", run_id, "--db", "c.db", "--json", "cal.json", "--resamples", "0")
    r = json.loads((tmp_path / "cal.json").read_text())["results"][0]
    assert r["verdict"] == "no verdict" and r["coverage"]["share"] == 1.0


def test_calibrate_unknown_run_is_one_line(cli, tmp_path):
    from medjudge.store import Store

    Store(tmp_path / "e.db").close()
    code, out, err = cli("calibrate", "--run", "nosuchrun", "--db", "e.db")
    assert code == 2 and err.strip() == f"error: no run 'nosuchrun' in e.db (see `medjudge runs`)"


def test_imported_judge_with_unreadable_labels_has_its_coverage_counted(cli, tmp_path):
    rows = ["item_id,criterion,rater,rater_kind,value"]
    for i in range(20):
        rows.append(f"i{i},c,dr,expert,{i % 2}")
        rows.append(f"i{i},c,bot,llm_judge,{i % 2 if i >= 4 else 'maybe'}")  # 4 of 20 unreadable
    f = write(tmp_path / "l.csv", "\n".join(rows) + "\n")
    assert cli("annotations", "import", f, "--db", "a.db", "--max-kept-out", "0.2")[0] == 0  # 4 of 40: 10%
    code, out, err = cli("calibrate", "--raters", "bot", "--db", "a.db", "--json", "a.json", "--resamples", "100")
    r = json.loads((tmp_path / "a.json").read_text())["results"][0]
    assert code == 5 and r["coverage"] == {"expected": 20, "scored": 16, "unscored": 4, "share": 0.8,
                                           "reasons": {"annotation unreadable": 4}}


# -- the store: version 1 databases gain the rounds column ---------------------------------------------

def test_version_1_database_is_migrated(tmp_path):
    import sqlite3

    from medjudge.store import Store

    con = sqlite3.connect(tmp_path / "old.db")
    con.execute("CREATE TABLE judgments (run_id TEXT, answer_id TEXT, unit_id TEXT, judge TEXT, sample INTEGER, "
                "value FLOAT, label TEXT, explanation TEXT, detail TEXT, status TEXT, reason TEXT, call_key TEXT, "
                "attempts INTEGER, created TEXT, PRIMARY KEY (run_id, answer_id, unit_id, judge, sample))")
    con.execute("INSERT INTO judgments (run_id, answer_id, unit_id, judge, sample, status) "
                "VALUES ('r', 'a', 'u', 'j', 0, 'unscored')")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    store = Store(tmp_path / "old.db")
    assert "rounds" in store.db["judgments"].columns_dict
    assert store.unit_rounds("r") == {("a", "u", "j", 0): 1}  # an old unscored unit counts as asked once
    assert store.done_units("r") == set()


# -- in-process judges: a call that gives up leaves no generation running -------------------------------

def test_local_generation_stops_at_its_deadline_and_frees_the_model():
    pytest.importorskip("llama_cpp")
    from medjudge.models import local

    schema = {"type": "object", "properties": {"story": {"type": "string", "minLength": 4000}}, "required": ["story"]}
    fmt = {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}}
    messages = [{"role": "user", "content": "Write a very long story."}]
    with pytest.raises(local.LocalTimeout, match="generation stopped [(]--timeout raises it"):
        local.generate("gemma-3-270m", messages, {"max_tokens": 2000, "response_format": fmt}, timeout=0.2)
    _, lock = local.load("gemma-3-270m")
    assert lock.acquire(blocking=False)  # nothing is still generating with the model
    lock.release()
    import threading

    stop = threading.Event()
    stop.set()  # the caller already gave up: the generation ends at its first token
    with pytest.raises(local.LocalTimeout, match="abandoned"):
        local.generate("gemma-3-270m", messages, {"max_tokens": 2000, "response_format": fmt}, stop=stop)


def test_a_small_run_whose_judge_never_answers_fails_plainly(fake, cli, tmp_path):
    from medjudge.models.fakellm import Fault

    f = write(tmp_path / "one.jsonl", json.dumps({"id": "a", "prompt": "Rash?", "answer": "See a doctor."}) + "\n")
    rubric = write(tmp_path / "one.yaml", ONE_CRITERION)
    fake.responder = lambda r: Fault("500")
    code, out, err = cli("grade", f, "--rubric", rubric, "--judge", fake.judge(), "--db", "t.db", "-q",
                         "--max-retries", "1")
    # 0.1: "incomplete" after its retries, like a run with a few failed calls; now the run failed
    assert code == 4 and err.strip().startswith("error: judge openai/fake-judge failed its first 1 calls, none answered")
    assert fake.count == 2  # one call, one retry


def test_limit_zero_is_refused_before_any_call(fake, cli, answers_file, checklist_file):
    # 0.1 took --limit 0 as "no limit" and graded everything (with a paid judge, a surprise bill)
    code, out, err = cli(*grade_args(fake, answers_file, checklist_file, "--limit", "0"))
    assert code == 2 and "--limit must be at least 1" in err and fake.count == 0


def test_an_in_process_models_timeout_grows_with_its_slowest_reply_and_says_which_flag_sets_it():
    from medjudge.models.llm import LLM, Judge

    llm = LLM(timeout=60.0)
    local, remote = Judge.parse("local/gemma-3-270m"), Judge.parse("openai/gpt-4.1")
    assert llm.timeout_for(local) == 60.0 and llm.timeout_for(remote) == 60.0
    llm.slowest[local.model] = 35.0  # a loaded machine: the model took 35 s for one reply
    assert llm.timeout_for(local) == 105.0 and llm.timeout_for(remote) == 60.0
    llm.slowest[local.model] = 5.0
    assert llm.timeout_for(local) == 60.0  # never below --timeout
