"""The pairwise rubric kind (issue 18, part 2): both orders, flips inconclusive, names hidden, Bradley-Terry."""

import json

import pytest

from conftest import write
from medjudge.fakellm import fields_of
from medjudge.rubrics.pairwise import bradley_terry

RUBRIC = """id: pref
version: 1
kind: pairwise
title: Which answer is safer
question: Which answer gives the safer advice for chest pain?
"""
SAYS = {"good": "Call emergency services now.", "fair": "See a doctor today.", "poor": "Rest and it will pass."}
RANK = {"Call emergency": 3, "See a doctor": 2, "Rest and": 1}


def answers(tmp_path, systems=("good", "poor"), n=12):
    return write(tmp_path / "pairs.jsonl", "".join(
        json.dumps({"prompt_id": f"p{i}", "prompt": f"Chest pain, case {i}?", "source": s,
                    "answer": f"{SAYS[s]} (case {i})"}) + "\n" for i in range(n) for s in systems))


def rank(text):
    return next(v for k, v in RANK.items() if k in text)


def fair_judge(request):
    f = fields_of(request)
    a, b = rank(f["first_answer"]), rank(f["second_answer"])
    return {"explanation": "", "better": "first" if a > b else "second" if b > a else "tie"}


def grade(cli, tmp_path, fake, responder, systems=("good", "poor")):
    fake.responder = responder
    rubric = write(tmp_path / "pref.yaml", RUBRIC)
    code, out, err = cli("grade", answers(tmp_path, systems), "--rubric", rubric, "--format", "pairs", "--judge",
                         fake.judge(), "-q", "--db", "p.db", "--json-summary", "s.json")
    return code, out, err, json.loads((tmp_path / "s.json").read_text()) if (tmp_path / "s.json").exists() else None


def test_a_better_system_wins_and_names_stay_hidden(cli, fake, tmp_path):
    code, out, err, s = grade(cli, tmp_path, fake, fair_judge)
    assert code == 0, err
    p = s["pairs"]["good vs poor"]
    assert p["pairs"] == 12 and p["win"] == 1.0 and p["inconclusive"] == 0.0
    assert p["win_rate_ci"][0] > 0.5  # the CI excludes a coin toss
    assert fake.count == 24  # every pair in both orders
    assert not any(name in json.dumps(r["messages"]) for r in fake.requests for name in ("good", "poor"))
    assert s["position_consistency"]["openai/fake-judge"]["share"] == 1.0
    assert "Pairwise: decided only when both orders agree" in out


def test_a_judge_that_always_picks_the_first_answer_decides_nothing(cli, fake, tmp_path):
    code, out, err, s = grade(cli, tmp_path, fake, lambda r: {"explanation": "", "better": "first"})
    assert code == 0, err
    p = s["pairs"]["good vs poor"]
    assert p["win"] == 0.0 and p["loss"] == 0.0 and p["inconclusive"] == 1.0 and p["win_rate"] == 0.5
    assert s["position_consistency"]["openai/fake-judge"]["share"] == 0.0


def test_three_systems_get_bradley_terry_strengths(cli, fake, tmp_path):
    code, out, err, s = grade(cli, tmp_path, fake, fair_judge, systems=("good", "fair", "poor"))
    assert code == 0, err
    bt = s["bradley_terry"]
    assert bt["good"]["strength"] > bt["fair"]["strength"] > bt["poor"]["strength"]
    assert "Bradley-Terry strengths" in out


def test_bradley_terry_recovers_known_strengths():
    # proportions exactly those of strengths 4 : 2 : 1 (p_ij = s_i / (s_i + s_j)): the MLE gives them back
    games = [("a", "b", 1)] * 2 + [("a", "b", -1)] + [("b", "c", 1)] * 2 + [("b", "c", -1)] + \
            [("a", "c", 1)] * 4 + [("a", "c", -1)]
    s = bradley_terry(games, ["a", "b", "c"])
    assert s["a"] / s["b"] == pytest.approx(2.0, rel=1e-9) and s["b"] / s["c"] == pytest.approx(2.0, rel=1e-9)
    assert s["a"] * s["b"] * s["c"] == pytest.approx(1.0)


def test_pairs_input_errors(cli, fake, tmp_path):
    rubric = write(tmp_path / "pref.yaml", RUBRIC)
    f = write(tmp_path / "one.jsonl", json.dumps({"prompt_id": "p1", "prompt": "q", "answer": "x", "source": "a"}) + "\n")
    code, _, err = cli("grade", f, "--rubric", rubric, "--format", "pairs", "--judge", fake.judge(), "--db", "p.db")
    assert code == 2 and "no prompt has answers from two systems" in err
    g = write(tmp_path / "nosrc.jsonl", json.dumps({"prompt_id": "p1", "prompt": "q", "answer": "x"}) + "\n")
    code, _, err = cli("grade", g, "--rubric", rubric, "--format", "pairs", "--judge", fake.judge(), "--db", "p.db")
    assert code == 2 and "nosrc.jsonl:1: source: missing" in err
    code, _, err = cli("grade", g, "--rubric", "healthbench", "--format", "pairs", "--judge", fake.judge(), "--db", "p.db")
    assert code == 2 and "--format pairs needs a pairwise rubric" in err
    assert fake.count == 0


def test_expert_preferences_calibrate_like_any_unit(cli, fake, tmp_path):
    code, _, err, s = grade(cli, tmp_path, fake, fair_judge)
    assert code == 0, err
    run_id = s["run"]
    # two physicians: one always prefers the good answer, the other on 9 of 12 prompts (a tie on 3)
    rows = ["item_id,unit_id,rater,value"]
    for i in range(12):
        rows += [f"p{i}:good|poor,preference,dr_a,a", f"p{i}:good|poor,preference,dr_b,{'a' if i % 4 else 'tie'}"]
    labels = write(tmp_path / "prefs.csv", "\n".join(rows) + "\n")
    code, out, err = cli("annotations", "import", labels, "--rubric", tmp_path / "pref.yaml", "--db", "p.db")
    assert code == 0 and "24 valid" in out, err
    code, out, err = cli("calibrate", "--run", run_id, "--db", "p.db", "--json", "c.json", "--resamples", "100")
    results = json.loads((tmp_path / "c.json").read_text())["results"]
    assert [r["group"] for r in results] == ["ab", "ba"]  # each order calibrated on its own: 12 pairs each
    for r in results:
        assert r["value_type"] == "nominal" and r["items"] == 12 and r["ceiling"]["experts"] == ["dr_a", "dr_b"]
        # accuracy by hand: the judge says A on every pair; dr_a agrees on 12 of 12, dr_b on 9 of 12
        assert r["stats"]["accuracy"]["estimate"] == pytest.approx((12 + 9) / 24)
