"""`medjudge generate` and `grade --model` (issue 33): the models under test answer the prompts through the judging
machinery (cache, retries, cost), each model a system; a failed generation is an answer missing, counted, never
graded empty; a rerun pays nothing twice."""

import json

import pytest

from conftest import EXAMPLES, write

from medjudge.models.fakellm import FakeLLM, Fault, default_responder, fields_of

STRONG = "Call emergency services now; chew an aspirin while you wait. Warning symptoms include arm or jaw pain."
WEAK = "Rest and drink water."


def responder(fail_on=None):
    """Judge prompts get the lexical verdict; a model under test answers by its name (the request's model)."""
    def reply(request):
        if fields_of(request):
            return default_responder(request)
        model = request.get("model")
        text = request["messages"][-1]["content"]
        if fail_on and fail_on in text and model == "weak-model":
            return Fault("500")
        return STRONG if model == "strong-model" else WEAK if model == "weak-model" else ""
    return reply


@pytest.fixture
def server():
    with FakeLLM(responder=responder(fail_on="hypothermia")) as s:
        yield s


def prompts(tmp_path):
    rows = [{"id": "p1", "prompt": "I have sudden chest pain. What should I do?", "tags": ["chest"]},
            {"id": "p2", "prompt": [{"role": "user", "content": "My father has chest pain and sweats."}]},
            {"id": "p3", "prompt": "What helps with mild hypothermia?"}]
    return write(tmp_path / "prompts.jsonl", "".join(json.dumps(r) + "\n" for r in rows))


def test_generate_writes_each_models_answers_counts_the_missing_and_resumes_from_the_cache(cli, server, tmp_path):
    strong, weak = f"openai/strong-model@{server.base_url}", f"openai/weak-model@{server.base_url}"
    out = tmp_path / "answers.jsonl"
    code, stdout, err = cli("generate", prompts(tmp_path), "-m", strong, "-m", weak, "-o", out, "--max-retries", "1",
                            "--db", tmp_path / "g.db")
    rows = [json.loads(x) for x in out.read_text().splitlines()]
    # p3 failed for the weak model (500 after retries): missing, never an empty answer
    assert code == 3 and "1 of 6 answers not generated" in err and "p3 by openai/weak-model" in err
    assert len(rows) == 5 and all(r["answer"].strip() for r in rows)
    assert {(r["prompt_id"], r["source"]) for r in rows} == {(p, "openai/strong-model") for p in ("p1", "p2", "p3")} | {
        (p, "openai/weak-model") for p in ("p1", "p2")}
    assert {r["id"] for r in rows} >= {"p1@openai/strong-model", "p1@openai/weak-model"}
    assert next(r for r in rows if r["id"] == "p1@openai/strong-model")["tags"] == ["chest"]  # kept from the input
    # requests: 3 strong + weak p1, p2 + p3 tried twice (1 retry) = 7
    asked = [r for r in server.requests if not fields_of(r)]
    assert len(asked) == 7 and "generation calls: 5 made, 0 cached" in stdout
    # a rerun asks only what is missing (and it fails again): 2 more requests, 5 from the cache
    code, stdout, _ = cli("generate", prompts(tmp_path), "-m", strong, "-m", weak, "-o", out, "--max-retries", "1",
                          "--db", tmp_path / "g.db")
    assert code == 3 and len([r for r in server.requests if not fields_of(r)]) == 9
    assert "generation calls: 5 made, 5 cached" in stdout


def test_grade_model_generates_then_grades_the_systems_apart(cli, tmp_path):
    with FakeLLM(responder=responder()) as server:
        strong, weak = f"openai/strong-model@{server.base_url}", f"openai/weak-model@{server.base_url}"
        code, out, err = cli("grade", prompts(tmp_path), "--model", strong, "--model", weak, "--rubric",
                             EXAMPLES / "chest-pain-checklist.yaml", "--judge", server.judge(), "--db",
                             tmp_path / "g.db", "--quiet", "--json-summary", tmp_path / "s.json")
    s = json.loads((tmp_path / "s.json").read_text())
    assert code == 0, err
    assert "generated 6 answers" in out and "generation only" in out
    assert s["answers"] == 6 and set(s["systems"]) == {"openai/strong-model", "openai/weak-model"}
    assert s["systems"]["openai/strong-model"]["overall"]["score"] > s["systems"]["openai/weak-model"]["overall"]["score"]
    # the judging run's calls are the judge's alone: 6 answers x 4 criteria
    assert s["calls"]["made"] == 24


def test_an_empty_reply_is_missing_not_an_answer(cli, tmp_path):
    with FakeLLM(responder=responder()) as server:
        code, _, err = cli("generate", prompts(tmp_path), "-m", f"openai/silent-model@{server.base_url}",
                           "-o", tmp_path / "a.jsonl", "--db", tmp_path / "g.db")
    assert code == 3 and "empty reply" in err and (tmp_path / "a.jsonl").read_text() == ""


def test_healthbench_prompts_give_an_answers_file_grade_reads_per_system(cli, tmp_path):
    bundled = EXAMPLES.parent / "medjudge" / "data" / "healthbench_sample.jsonl"
    with FakeLLM(responder=responder()) as server:
        strong, weak = f"openai/strong-model@{server.base_url}", f"openai/weak-model@{server.base_url}"
        code, out, err = cli("grade", bundled, "--format", "healthbench", "--model", strong, "--model", weak,
                             "--judge", server.judge(), "--limit", "2", "--db", tmp_path / "g.db", "--quiet",
                             "--json-summary", tmp_path / "s.json")
        s = json.loads((tmp_path / "s.json").read_text())
        assert code == 0, err
        assert s["answers"] == 4 and set(s["systems"]) == {"openai/strong-model", "openai/weak-model"}
        code, out, err = cli("compare", s["run"], "--db", tmp_path / "g.db", "--resamples", "50", "--json",
                             tmp_path / "c.json")
    # two prompts, each answered by both systems: paired by prompt id
    overall = next(g for g in json.loads((tmp_path / "c.json").read_text())["groups"] if g["group"] == "overall")
    assert code == 0 and overall["examples"] == 2 and [x["system"] for x in overall["systems"]] == [
        "openai/strong-model", "openai/weak-model"]


def test_generate_refuses_a_prompts_file_without_prompts(cli, tmp_path):
    bad = write(tmp_path / "bad.jsonl", json.dumps({"id": "x1", "question": "hi"}) + "\n")
    code, _, err = cli("generate", bad, "-m", "openai/gpt-4.1", "-o", tmp_path / "o.jsonl", "--db", tmp_path / "g.db")
    assert code == 2 and "bad.jsonl:1: prompt: missing" in err


def test_the_same_prompt_twice_is_one_request_counted_once(cli, tmp_path):
    rows = [{"id": "p1", "prompt": "What should I do for chest pain?"},
            {"id": "p2", "prompt": "What should I do for chest pain?"}]
    data = write(tmp_path / "dup.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    with FakeLLM(responder=responder(), latency=0.3) as server:
        code, out, _ = cli("generate", data, "-m", f"openai/strong-model@{server.base_url}", "-o",
                           tmp_path / "a.jsonl", "--db", tmp_path / "g.db")
        asked = [r for r in server.requests if not fields_of(r)]
    assert code == 0 and len(asked) == 1  # the provider saw one request
    assert "generation calls: 1 made, 1 cached" in out
    assert [json.loads(x)["id"] for x in (tmp_path / "a.jsonl").read_text().splitlines()] == ["p1", "p2"]
