"""Answers JSONL and HealthBench JSONL: line-numbered errors, the answer chosen correctly."""

import json
from pathlib import Path

import pytest

from conftest import write
from medjudge.errors import InputError
from medjudge.inputs import load_answers, load_healthbench
from medjudge.rubrics import load_rubric

SRH = Path(__file__).resolve().parents[1] / "medjudge" / "data" / "healthbench_sample.jsonl"


@pytest.fixture
def rubric(checklist_file):
    return load_rubric(checklist_file).rubric


def lines(*objs):
    return "\n".join(o if isinstance(o, str) else json.dumps(o) for o in objs) + "\n"


def test_answers_ok_with_messages_prompt_and_extras(tmp_path, rubric):
    f = write(tmp_path / "a.jsonl", lines(
        {"id": 1, "prompt": "q?", "answer": "a.", "source": "m1", "reference": "r"},
        {"id": "x", "prompt": [{"role": "user", "content": "q2"}], "answer": [
            {"role": "user", "content": "q2"}, {"role": "assistant", "content": "final"}]}))
    items = load_answers(f, rubric)
    assert [i.id for i in items] == ["1", "x"]
    assert items[0].fields == {"reference": "r"} and items[0].source == "m1"
    assert items[1].answer == "final" and items[1].prompt[0]["content"] == "q2"


@pytest.mark.parametrize("bad,line,field", [
    ('{"id": 1, "prompt": "q"', 2, None),
    ({"prompt": "q", "answer": "a"}, 2, "id"),
    ({"id": 2, "prompt": "q"}, 2, "answer"),
    ({"id": 2, "answer": "a"}, 2, "prompt"),
    ({"id": 1, "prompt": "q", "answer": "a"}, 2, "id"),
    ({"id": 2, "prompt": [{"role": "user"}], "answer": "a"}, 2, "prompt"),
    ({"id": 2, "prompt": "q", "answer": "a", "tags": "theme:x"}, 2, "tags"),
    ("[1, 2]", 2, None),
])
def test_answers_errors_name_line_and_field(tmp_path, rubric, bad, line, field):
    f = write(tmp_path / "a.jsonl", lines({"id": 1, "prompt": "q", "answer": "a"}, bad))
    with pytest.raises(InputError) as info:
        load_answers(f, rubric)
    assert (info.value.line, info.value.field) == (line, field)
    assert str(info.value).startswith(f"{f}:{line}:")


def test_per_example_criteria_errors(tmp_path):
    hb = load_rubric("healthbench").rubric
    f = write(tmp_path / "a.jsonl", lines({"id": 1, "prompt": "q", "answer": "a",
                                           "rubrics": [{"criterion": "x", "points": "many"}]}))
    with pytest.raises(InputError) as info:
        load_answers(f, hb)
    assert info.value.line == 1 and info.value.field.startswith("rubrics")
    g = write(tmp_path / "b.jsonl", lines({"id": 1, "prompt": "q", "answer": "a"}))
    with pytest.raises(InputError, match="rubrics: missing"):
        load_answers(g, hb)


def test_healthbench_ideal_and_answers_file(tmp_path):
    hb = load_rubric("healthbench").rubric
    skipped = []
    items = load_healthbench(SRH, hb, skipped=skipped)
    raw = [json.loads(l) for l in SRH.read_text().splitlines()]
    with_ideal = [r for r in raw if (r.get("ideal_completions_data") or {}).get("ideal_completion")]
    assert len(items) == len(with_ideal) and len(skipped) == len(raw) - len(with_ideal)
    first = items[0]
    assert first.answer == with_ideal[0]["ideal_completions_data"]["ideal_completion"]
    assert [c.points for c in first.criteria] == [r["points"] for r in with_ideal[0]["rubrics"]]
    assert first.tags == with_ideal[0]["example_tags"]
    pid = raw[0]["prompt_id"]
    ans = write(tmp_path / "model.jsonl", lines({"prompt_id": pid, "completion": [
        {"role": "assistant", "content": "first"}, {"role": "user", "content": "more"},
        {"role": "assistant", "content": "last turn"}]}))
    items = load_healthbench(SRH, hb, answers_path=ans)
    assert [i.id for i in items] == [pid] and items[0].answer == "last turn" and items[0].source == "model"


def test_a_misspelled_field_is_named_with_what_was_meant(cli, fake, tmp_path):
    import json

    from conftest import EXAMPLES, write

    bad = write(tmp_path / "a.jsonl", json.dumps({"id": "a1", "prompt": "q", "anwser": "text"}) + "\n")
    code, _, err = cli("grade", bad, "--rubric", EXAMPLES / "chest-pain-checklist.yaml", "--judge", fake.judge())
    assert code == 2 and "a.jsonl:1: answer: missing" in err and "'anwser': did you mean 'answer'?" in err
    worse = write(tmp_path / "b.jsonl", json.dumps({"id": "a1", "promt": "q", "answer": "text"}) + "\n")
    code, _, err = cli("grade", worse, "--rubric", EXAMPLES / "chest-pain-checklist.yaml", "--judge", fake.judge())
    assert code == 2 and "b.jsonl:1: prompt: missing" in err and "did you mean 'prompt'?" in err
