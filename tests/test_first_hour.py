"""Issue 14: what hurt a new user in the first hour, each through the CLI."""

import json
import signal
import time

import pytest

from conftest import EXAMPLES, write
from medjudge.models.fakellm import Fault
from test_grade import db_rows, scripted
from test_resume import start_grade


def grade(cli, answers_file, checklist_file, judge, *extra):
    return cli("grade", answers_file, "--rubric", checklist_file, "--judge", judge, "-q", "--db", "t.db", *extra)


@pytest.mark.parametrize("judge,said", [
    ("opanai/gpt-4.1", "unknown provider 'opanai': did you mean openai?"),
    ("openai/gpt-4.1", "set OPENAI_API_KEY"),
    ("anthropic/claude-sonnet-4-5", "set ANTHROPIC_API_KEY"),
    ("local//no/such/model.gguf", "no such GGUF file: /no/such/model.gguf"),
    ("hosted_vllm/qwen@http://127.0.0.1:9/v1", "no server answers at http://127.0.0.1:9/v1"),
    ("hosted_vllm/qwen", "hosted_vllm needs the server's address"),
])
def test_preflight_refuses_an_unusable_judge_before_any_call(judge, said, cli, answers_file, checklist_file,
                                                            tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    code, out, err = grade(cli, answers_file, checklist_file, judge)
    assert code == 4 and said in err, err
    assert len(err.strip().splitlines()) == 1 and "…" not in err  # one line, nothing cut
    assert not (tmp_path / "t.db").exists() or not db_rows(tmp_path / "t.db", "SELECT * FROM runs")


def test_every_unusable_judge_of_a_panel_is_named(cli, answers_file, checklist_file, fake, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    code, _, err = cli("grade", answers_file, "--rubric", checklist_file, "--judge", fake.judge(), "--judge",
                       "opanai/x", "--judge", "openai/gpt-4.1", "--db", "t.db")
    assert code == 4 and "opanai" in err and "OPENAI_API_KEY" in err and len(err.strip().splitlines()) == 2
    assert fake.count == 0


def test_an_authentication_error_is_never_retried(cli, fake, answers_file, checklist_file):
    fake.responder = lambda r: Fault("401")
    code, _, err = grade(cli, answers_file, checklist_file, fake.judge())
    assert code == 4 and "AuthenticationError" in err and len(err.strip().splitlines()) == 1
    sent = [json.dumps(r["messages"]) for r in fake.requests]
    assert len(sent) == len(set(sent)) <= 12  # calls already in flight stop; none is sent twice


def test_batched_mode_is_refused_for_in_process_models(cli, answers_file, checklist_file):
    code, _, err = grade(cli, answers_file, checklist_file, "local/gemma-3-270m", "--mode", "batched")
    assert code == 2 and "--mode batched" in err and "per-criterion" in err


def test_ctrl_c_under_load_exits_with_the_resume_command(fake, tmp_path):
    answers = write(tmp_path / "many.jsonl", "".join(
        json.dumps({"id": f"a{i}", "prompt": "Chest pain?", "answer": f"Call emergency services. {i}"}) + "\n"
        for i in range(100)))
    fake.latency = 30  # every call hangs: the panel is full when Ctrl-C comes
    fake.responder = lambda r: {"explanation": "", "criteria_met": True}
    p = start_grade(["grade", answers, "--rubric", EXAMPLES / "chest-pain-checklist.yaml", "--judge", fake.judge(), "-q",
                     "-c", "64", "--db", tmp_path / "c.db"], tmp_path)
    deadline = time.monotonic() + 60
    while fake.count < 32 and time.monotonic() < deadline:
        time.sleep(0.2)
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=20)  # a hang guard, not a timing: it exits in about 1.5 s (README)
    err = err.decode()
    run_id = db_rows(tmp_path / "c.db", "SELECT id FROM runs")[0]["id"]
    assert p.returncode == 130
    assert f"resume with: medjudge grade --resume {run_id} --db {tmp_path / 'c.db'}" in err


def test_wrong_format_is_refused_before_the_judge_banner(cli, answers_file, checklist_file, monkeypatch):
    monkeypatch.delenv("MEDJUDGE_JUDGE", raising=False)
    code, out, err = cli("grade", answers_file, "--rubric", checklist_file, "--format", "csv", "--db", "t.db")
    assert code == 2 and "--format must be one of answers, healthbench, healthbench-meta, kqa" in err and "embedded" not in out


def test_judges_from_the_environment_are_announced(cli, fake, answers_file, checklist_file, monkeypatch):
    fake.responder = scripted
    monkeypatch.setenv("MEDJUDGE_JUDGE", fake.judge())
    code, out, err = cli("grade", answers_file, "--rubric", checklist_file, "-q", "--db", "t.db")
    assert code == 0, err
    assert f"judges from MEDJUDGE_JUDGE: {fake.judge()}" in out


def test_rubric_test_runs_are_marked_and_the_embedded_judge_announced(cli, fake, checklist_file, tmp_path, monkeypatch):
    fake.responder = scripted
    code, out, err = cli("rubric", "test", checklist_file, "--judge", fake.judge(), "--db", "t.db")
    runs = json.loads(cli("runs", "--json", "--db", "t.db")[1])
    assert [r["purpose"] for r in runs] == ["rubric test"]
    monkeypatch.delenv("MEDJUDGE_JUDGE", raising=False)
    bare = write(tmp_path / "bare.yaml", "id: bare\nversion: 1\nkind: scale\ntitle: t\n"
                 "dimensions: [{id: d, question: q, anchors: {1: a, 5: b}}]\n")
    code, out, err = cli("rubric", "test", bare, "--db", "t.db")
    assert code == 2 and "embedded local judge" in out and "no worked examples" in err


def test_export_csv_has_one_column_per_verdict(cli, fake, answers_file, checklist_file):
    fake.responder = scripted
    assert grade(cli, answers_file, checklist_file, fake.judge())[0] == 0
    run_id = json.loads(cli("runs", "--json", "--db", "t.db")[1])[0]["id"]
    code, out, _ = cli("export", run_id, "--format", "csv", "--db", "t.db")
    header = out.splitlines()[0].split(",")
    assert {"met.emergency", "met.aspirin", "votes.reassure", "unscored"} <= set(header) or "met.emergency" in header
    assert not any(cell.startswith('"{') for line in out.splitlines()[1:] for cell in line.split(","))


def test_calibration_errors_in_plain_words(cli, tmp_path):
    code, _, err = cli("calibrate", "--run", "nosuchrun", "--db", "none.db")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    f = write(tmp_path / "l.csv", "item_id;criterion;rater;rater_kind;value\n"  # a semicolon spreadsheet
              + "".join(f"i{i};c;dr_{r};expert;{i % 2}\n" for i in range(12) for r in "abcde"))
    code, out, err = cli("annotations", "import", f, "--db", "a.db")
    assert code == 0 and "60 valid" in out, err
    code, _, err = cli("calibrate", "--raters", "nobody", "--db", "a.db")
    assert code == 2 and "raters present: dr_a, dr_b, dr_c, dr_d, dr_e" in err
    g = write(tmp_path / "j.csv", "item_id,criterion,rater,rater_kind,value\nother,c,bot,llm_judge,1\n")
    assert cli("annotations", "import", g, "--db", "a.db")[0] == 0
    code, out, err = cli("calibrate", "--raters", "bot", "--db", "a.db")
    assert code == 5 and "no paired ratings" in err
    code, out, _ = cli("annotations", "list", "--json", "--db", "a.db")
    assert {r["rater"] for r in json.loads(out)} == {"dr_a", "dr_b", "dr_c", "dr_d", "dr_e", "bot"}


def test_verdict_bounds_are_never_rounded_onto_the_threshold():
    from medjudge.calibration.verdict import verdict

    v, reasons = verdict("ICC(A,1)", 0.55, [0.4996, 0.6], 50, "item", None)
    assert any("CI [0.4996, 0.60] spans 0.5" in r for r in reasons), reasons
    v, reasons = verdict("ICC(A,1)", 0.45, [0.4, 0.4996], 50, "item", None)
    assert any("CI upper bound 0.4996 < 0.5" in r for r in reasons), reasons
