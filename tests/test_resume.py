"""A killed or interrupted run keeps every finished judgment; a rerun finishes only what is missing."""

import os
import signal
import subprocess
import sys
import time

import pytest

from test_grade import db_rows, grade_args, scripted


def start_grade(args, cwd):
    """`medjudge ARGS` (the console script's entry point) in a child process that takes Ctrl-C as a terminal
    delivers it: a job started in the background of a shell inherits SIGINT ignored, and Python then never raises
    KeyboardInterrupt."""
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-c", "from medjudge.cli import run; run()", *map(str, args)],
                            cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def wait_for(fake, n, proc, limit=60):
    deadline = time.time() + limit
    while fake.count < n and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)


def votes(db):
    return {(r["answer_id"], r["unit_id"], r["judge"], r["sample"]): (r["value"], r["status"])
            for r in db_rows(db, "SELECT * FROM judgments")}


def test_the_command_leaves_everything_in_the_database_file(fake, answers_file, checklist_file, tmp_path):
    """The console script leaves without the interpreter's teardown collections (cli.run), but closes every
    connection first: no write-ahead log is left beside the database, and the file alone, copied elsewhere,
    holds every judgment; the exit code is the command's."""
    import shutil

    fake.responder = scripted
    proc = start_grade(grade_args(fake, answers_file, checklist_file), tmp_path)
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    assert not (tmp_path / "t.db-wal").exists()
    alone = tmp_path / "copy"
    alone.mkdir()
    shutil.copy(tmp_path / "t.db", alone / "t.db")
    assert len(db_rows(alone / "t.db", "SELECT * FROM judgments")) == fake.count > 0
    bad = start_grade(["grade", tmp_path / "missing.jsonl", "--rubric", checklist_file, "--db", "t.db"], tmp_path)
    assert bad.wait(timeout=120) == 2 and b"missing.jsonl" in bad.stderr.read()


@pytest.mark.parametrize("kill_at", [5, 23])
def test_sigkill_then_rerun_equals_uninterrupted_run(fake, cli, answers_file, checklist_file, tmp_path, kill_at):
    fake.responder = scripted
    fake.latency = 0.05
    args = grade_args(fake, answers_file, checklist_file, "--samples", "2", "--concurrency", "4", judges=("j1", "j2"))
    proc = start_grade(args, tmp_path)
    wait_for(fake, kill_at, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = fake.count
    kept = votes(tmp_path / "t.db")
    assert 0 < len(kept) < 48
    paid = {r["key"] for r in db_rows(tmp_path / "t.db", "SELECT key FROM calls")}
    code, out, err = cli(*args)
    assert code == 0, err
    final = votes(tmp_path / "t.db")
    assert len(final) == 48 and all(s == "scored" for _, s in final.values())
    assert {k: final[k] for k in kept} == kept  # nothing finished was lost or changed
    # every call is paid once, except calls in flight at the kill (at most the concurrency)
    second = fake.count - first
    assert second == 48 - len(paid)
    assert fake.count <= 48 + 4
    # the same as a run that was never interrupted
    code, _, _ = cli(*[a if a != "t.db" else "clean.db" for a in args])
    assert votes(tmp_path / "clean.db") == final


def test_ctrl_c_marks_run_interrupted_and_resume_by_id(fake, cli, answers_file, checklist_file, tmp_path):
    fake.responder = scripted
    fake.latency = 0.05
    args = grade_args(fake, answers_file, checklist_file, "--concurrency", "2")
    proc = start_grade(args, tmp_path)
    wait_for(fake, 4, proc)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert b"interrupted" in err and b"Traceback" not in err
    run = db_rows(tmp_path / "t.db", "SELECT * FROM runs")[0]
    assert run["status"] == "interrupted"
    done = len(votes(tmp_path / "t.db"))
    assert 0 < done < 12
    code, out, err = cli("grade", "--resume", run["id"], "--db", "t.db", "-q")
    assert code == 0, err
    assert len(votes(tmp_path / "t.db")) == 12
    assert db_rows(tmp_path / "t.db", "SELECT status FROM runs")[0]["status"] == "complete"
