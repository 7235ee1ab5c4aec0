"""Gates for CI (issue 33): grade --fail-under / --fail-over, calibrate --require, compare --require-better,
each exiting 6 with the figure and its CI when not met; and several systems in one answers file: one run whose
summary, show, export and compare name the systems by their source."""

import csv
import json
import random

from conftest import EXAMPLES, write

from medjudge.errors import EXIT_GATE

CHECKLIST = EXAMPLES / "chest-pain-checklist.yaml"


def graded(cli, fake, tmp_path, *extra):
    code, out, err = cli("grade", EXAMPLES / "answers.jsonl", "--rubric", CHECKLIST, "--judge", fake.judge(),
                         "--db", tmp_path / "g.db", "--quiet", "--json-summary", tmp_path / "s.json", *extra)
    return code, out, err, json.loads((tmp_path / "s.json").read_text())


def test_fail_under_gates_the_run_and_each_system_on_the_figures_show_prints(cli, fake, tmp_path):
    code, out, err, s = graded(cli, fake, tmp_path, "--fail-under", "0")
    assert code == 0 and "gate --fail-under 0: overall" in out and "NOT met" not in out
    systems = s["systems"]
    assert set(systems) == {"model-a", "model-b"}  # the answers' `source`
    assert systems["model-a"]["overall"]["n"] + systems["model-b"]["overall"]["n"] == s["overall"]["n"]
    low = systems["model-b"]["overall"]["score"]
    high = min(s["overall"]["score"], systems["model-a"]["overall"]["score"])
    assert low < high
    limit = (low + high) / 2  # the run and model-a pass, model-b does not
    code, out, err, _ = graded(cli, fake, tmp_path, "--fail-under", f"{limit}")
    assert code == EXIT_GATE
    assert f"model-b: overall {low:.3f}" in out and "NOT met" in err and "model-b" in err
    assert f"gate --fail-under {limit:g}: overall {s['overall']['score']:.3f}" in out
    assert out.count("NOT met") == 1
    # lower-is-better headlines take --fail-over, and the wrong one is refused in one line
    code, _, err, _ = graded(cli, fake, tmp_path, "--fail-over", "0.5")
    assert code == 2 and "--fail-under" in err


def test_show_names_the_systems_and_compare_compares_them_within_the_run(cli, fake, tmp_path):
    _, _, _, s = graded(cli, fake, tmp_path)
    code, shown, _ = cli("show", s["run"], "--db", tmp_path / "g.db")
    assert code == 0 and "system model-a: overall" in shown and "system model-b: overall" in shown
    _, exported, _ = cli("export", s["run"], "--db", tmp_path / "g.db")
    assert {json.loads(x)["source"] for x in exported.splitlines()} == {"model-a", "model-b"}
    # a1 (model-a) and a2 (model-b) answer the same prompt: one pair, too few to compare (a3 has no partner)
    code, out, err = cli("compare", s["run"], "--db", tmp_path / "g.db")
    assert code == 2 and "the systems share fewer than 2 scored examples" in err and "the prompt's text" in err
    # one run with one system has nothing to compare within it
    write(tmp_path / "one.jsonl", (EXAMPLES / "answers.jsonl").read_text().replace('"model-b"', '"model-a"'))
    cli("grade", tmp_path / "one.jsonl", "--rubric", CHECKLIST, "--judge", fake.judge(), "--db", tmp_path / "h.db",
        "--quiet", "--json-summary", tmp_path / "one.json")
    one = json.loads((tmp_path / "one.json").read_text())
    assert "systems" not in one
    code, _, err = cli("compare", one["run"], "--db", tmp_path / "h.db")
    assert code == 2 and "two or more systems" in err


def two_systems(tmp_path, n=30, seed=3):
    """n prompts answered by a strong and a weak system: the fake judge's lexical verdict meets a criterion
    when the answer uses its words, so the strong one meets both criteria and the weak one neither."""
    rubric = write(tmp_path / "r.yaml", """id: gate-test
version: "1"
kind: checklist
title: gate test
instructions: Judge whether the answer meets each criterion.
criteria:
  - id: emergency
    text: Says to call emergency services
    points: 5
  - id: aspirin
    text: Says to chew an aspirin
    points: 3
""")
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        prompt = f"Question {i}: I have chest pain, what should I do?"
        rows.append({"id": f"s{i}", "prompt": prompt, "source": "strong",
                     "answer": "Call emergency services now, and chew an aspirin while you wait."})
        rows.append({"id": f"w{i}", "prompt": prompt, "source": "weak",
                     "answer": rng.choice(["Rest and drink water.", "It is probably nothing serious."])})
    data = write(tmp_path / "two.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    return rubric, data


def test_require_better_passes_only_with_a_paired_ci_on_its_side(cli, fake, tmp_path):
    rubric, data = two_systems(tmp_path)
    code, _, _ = cli("grade", data, "--rubric", rubric, "--judge", fake.judge(), "--db", tmp_path / "t.db", "--quiet",
                     "--json-summary", tmp_path / "s.json")
    run = json.loads((tmp_path / "s.json").read_text())["run"]
    assert code == 0
    code, out, err = cli("compare", run, "--require-better", "strong:weak", "--json", tmp_path / "c.json",
                         "--db", tmp_path / "t.db")
    overall = next(g for g in json.loads((tmp_path / "c.json").read_text())["groups"] if g["group"] == "overall")
    d = overall["differences"][0]
    assert (d["a"], d["b"]) == ("strong", "weak") and d["ci"][0] > 0 and overall["examples"] == 30
    compared = json.loads((tmp_path / "c.json").read_text())
    assert compared["runs"] == [run] and compared["paired_by"] == "prompt id (else the prompt's text)"
    assert code == 0 and f"strong - weak = {d['difference']:+.3f}" in out and ": better: met" in out
    code, out, err = cli("compare", run, "--require-better", "weak:strong", "--db", tmp_path / "t.db")
    assert code == EXIT_GATE and "worse: NOT met" in err
    code, _, err = cli("compare", run, "--require-better", "weak:nobody", "--db", tmp_path / "t.db")
    assert code == 2 and "no system 'nobody'" in err


def test_require_better_refuses_a_ci_that_spans_zero(cli, fake, tmp_path):
    from medjudge.gates import better_gate

    result = {"systems": ["a", "b"], "higher_is_better": True, "groups": [
        {"group": "overall", "examples": 12, "differences": [{"a": "a", "b": "b", "difference": 0.05,
                                                              "ci": [-0.02, 0.12], "p": 0.2}]}]}
    ok, line = better_gate(result, "a:b")
    assert not ok and "spans 0" in line
    ok, line = better_gate(result, "b:a")  # the same difference read from b's side
    assert not ok and "b - a = -0.050 [-0.120, 0.020]" in line
    result["groups"][0]["differences"][0]["ci"] = [0.01, 0.12]
    assert better_gate(result, "a:b")[0] and not better_gate(result, "b:a")[0]
    result["higher_is_better"] = False  # an unsafe rate: lower is better
    assert better_gate(result, "b:a")[0] and not better_gate(result, "a:b")[0]


def test_calibrate_require_passes_on_trust_and_stops_on_do_not_trust(cli, tmp_path):
    rng = random.Random(5)
    rows = []
    for i in range(40):
        truth = rng.random() < 0.5
        rows += [(f"i{i}", "c1", "dr_a", int(truth)), (f"i{i}", "c1", "dr_b", int(truth))]
        rows.append((f"i{i}", "c1", "good_judge", int(truth)))
        rows.append((f"i{i}", "c1", "coin_judge", int(rng.random() < 0.5)))
    path = tmp_path / "labels.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "criterion", "rater", "value"])
        w.writerows(r for r in rows if "judge" not in r[2])
    judged = tmp_path / "judges.csv"
    with judged.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "criterion", "rater", "value"])
        w.writerows(r for r in rows if "judge" in r[2])
    db = tmp_path / "c.db"
    assert cli("annotations", "import", path, "--db", db)[0] == 0
    assert cli("annotations", "import", judged, "--kind", "llm_judge", "--db", db)[0] == 0
    code, out, err = cli("calibrate", "--raters", "good_judge", "--require", "trust", "--resamples", "300", "--db", db)
    assert code == 0 and "gate --require trust: good_judge on c1: trust" in out and ": met" in out
    code, out, err = cli("calibrate", "--raters", "coin_judge", "--require", "care", "--resamples", "300", "--db", db)
    assert code == EXIT_GATE and "coin_judge on c1: do not trust" in out and "NOT met" in err
    assert "alpha" in out  # the figure behind the verdict, with its CI


def test_a_systems_figures_are_those_of_its_answers_graded_alone(cli, fake, tmp_path):
    _, _, _, s = graded(cli, fake, tmp_path)
    rows = [json.loads(x) for x in (EXAMPLES / "answers.jsonl").read_text().splitlines()]
    for system in ("model-a", "model-b"):
        alone = write(tmp_path / f"{system}.jsonl", "".join(json.dumps(r) + "\n" for r in rows if r["source"] == system))
        cli("grade", alone, "--rubric", CHECKLIST, "--judge", fake.judge(), "--db", tmp_path / f"{system}.db",
            "--quiet", "--json-summary", tmp_path / f"{system}.json")
        own = json.loads((tmp_path / f"{system}.json").read_text())
        assert s["systems"][system]["overall"] == own["overall"] and s["systems"][system]["tags"] == own["tags"]
