"""The pairwise rubric kind (issue 18, part 2): both orders, flips inconclusive, names hidden, Bradley-Terry."""

import json

import pytest

from conftest import write
from medjudge.models.fakellm import fields_of
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
    # no pair decided: no win rate (it was shown as 0.5 with CI [0.5, 0.5])
    assert p["win"] == 0.0 and p["loss"] == 0.0 and p["inconclusive"] == 1.0 and p["win_rate"] is None
    assert p["decided"] == 0 and p["win_rate_ci"] == [None, None]
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


def test_an_undefeated_system_gets_a_finite_documented_strength():
    """Issue 30: with an undefeated system the MLE does not exist: the printed strength depended on the iteration
    count (86 at 200, 400 at 2000). Now a weak prior, fitted to convergence, and said."""
    from medjudge.rubrics.pairwise import bradley_terry_with_ci, needs_prior

    games = [("p%d" % i, "a", "b", 1) for i in range(6)] + [("q%d" % i, "b", "c", 1 if i % 3 else -1) for i in range(6)] \
        + [("r%d" % i, "a", "c", 1) for i in range(6)]
    assert needs_prior([g[1:] for g in games], ["a", "b", "c"])
    assert not needs_prior([("a", "b", 1), ("b", "a", 1), ("b", "c", 0)], ["a", "b", "c"])
    fit = bradley_terry([g[1:] for g in games], ["a", "b", "c"], prior=1.0)
    assert fit["_fit"]["converged"] and fit["_fit"]["prior_games"] == 1.0
    loose = bradley_terry([g[1:] for g in games], ["a", "b", "c"], prior=1.0, tol=1e-6)
    assert loose["a"] == pytest.approx(fit["a"], rel=1e-4) and 1 < fit["a"] < 100  # finite, not the iteration count
    res = bradley_terry_with_ci(games, ["a", "b", "c"], resamples=100)
    assert res["a"]["strength"] > res["b"]["strength"] > res["c"]["strength"] and "weak prior" in res["a"]["remedy"]
    assert res["a"]["ci"][1] < 1e3 and res["a"]["converged"]


def test_a_tie_in_one_order_is_not_position_consistent():
    """Mutation caught: a tie in either order counted as position-consistent."""
    from types import SimpleNamespace

    from medjudge.rubrics.pairwise import position_consistency

    agg = lambda v: SimpleNamespace(value=v)  # noqa: E731
    verdicts = {("x", "ab"): agg(0.0), ("x", "ba"): agg(1.0), ("y", "ab"): agg(1.0), ("y", "ba"): agg(0.0),
                ("z", "ab"): agg(-1.0), ("z", "ba"): agg(-1.0), ("w", "ab"): agg(0.0), ("w", "ba"): agg(0.0)}
    run = SimpleNamespace(verdicts=SimpleNamespace(judges={"j": verdicts}))
    assert position_consistency(run)["j"] == {"pairs": 4, "share": 0.5}


def test_a_pairwise_rubric_refuses_a_plain_answers_file(cli, fake, tmp_path):
    """It compared every answer with "" and exited 0."""
    rubric = write(tmp_path / "pref.yaml", RUBRIC)
    f = write(tmp_path / "plain.jsonl", json.dumps({"id": "p1", "prompt": "q", "answer": "x"}) + "\n")
    code, _, err = cli("grade", f, "--rubric", rubric, "--judge", fake.judge(), "--db", "p.db")
    assert code == 2 and "plain.jsonl:1: answer_b: missing" in err and "--format pairs" in err and fake.count == 0
