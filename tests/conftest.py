import os
import sys
from pathlib import Path

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.pop("MEDJUDGE_JUDGE", None)

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

from medjudge.models.fakellm import FakeLLM  # noqa: E402


@pytest.fixture(autouse=True)
def machine_cache(tmp_path_factory, monkeypatch):
    """Each test has a machine folder of its own (store.cache_dir): what one test's grades leave there (routes)
    never reaches another test, nor the machine's ~/.cache."""
    folder = tmp_path_factory.mktemp("machine")
    monkeypatch.setenv("MEDJUDGE_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def fake():
    with FakeLLM() as server:
        yield server


@pytest.fixture
def cli(capsys, monkeypatch, tmp_path):
    """Run the medjudge CLI in-process: returns (exit code, stdout, stderr)."""
    from medjudge.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "200")

    def run(*args):
        capsys.readouterr()
        try:
            main([str(a) for a in args])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 0
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def answers_file(tmp_path):
    return write(tmp_path / "answers.jsonl", (EXAMPLES / "answers.jsonl").read_text())


@pytest.fixture
def checklist_file(tmp_path):
    return write(tmp_path / "rubric.yaml", (EXAMPLES / "chest-pain-checklist.yaml").read_text())


sys.path.insert(0, str(Path(__file__).parent))
