"""Prediction-powered estimates (issue 20): the estimator against the reference implementation, coverage by
simulation, and the sample -> label -> estimate workflow through the CLI on the LiveQA development set."""

import csv
import json

import numpy as np
import pytest

from conftest import ROOT
from medjudge.calibration import ppi
from medjudge.models.fakellm import fields_of

PUBLISHED = ROOT / "tests" / "data" / "published"
LIVEQA = ROOT / "tests" / "data" / "liveqa-medquad-graded"


def test_matches_ppi_python_on_the_same_data():
    rows = list(csv.DictReader(open(PUBLISHED / "ppi_reference.csv")))
    y = np.array([float(r["expert"]) for r in rows if r["expert"]])
    f = np.array([float(r["judge"]) for r in rows if r["expert"]])
    fu = np.array([float(r["judge"]) for r in rows if not r["expert"]])
    ref = json.loads((PUBLISHED / "ppi_reference.json").read_text())
    tuned, plain, experts = ppi.ppi_mean(y, f, fu), ppi.ppi_mean(y, f, fu, lam=1), ppi.classical_mean(y)
    assert tuned.estimate == pytest.approx(ref["ppi++"]["estimate"], abs=1e-12)
    assert list(tuned.ci) == pytest.approx(ref["ppi++"]["ci"], abs=1e-12)
    assert plain.estimate == pytest.approx(ref["ppi"]["estimate"], abs=1e-12)
    assert list(plain.ci) == pytest.approx(ref["ppi"]["ci"], abs=1e-12)
    assert list(experts.ci) == pytest.approx(ref["classical"]["ci"], abs=1e-12)


def simulate(bias, studies=1000, n=100, big_n=1000, seed=0):
    rng = np.random.default_rng(seed)
    covered = {"corrected": 0, "judge only": 0}
    ratio = []
    for _ in range(studies):
        truth = rng.normal(0.5, 0.2, n + big_n)  # the expert's score of each unit
        judge = truth + bias + rng.normal(0, 0.1, n + big_n)
        y, f, fu = truth[:n], judge[:n], judge[n:]
        true_mean = 0.5
        c, j, e = ppi.ppi_mean(y, f, fu), ppi.classical_mean(judge, method="judge only"), ppi.classical_mean(y)
        covered["corrected"] += c.ci[0] <= true_mean <= c.ci[1]
        covered["judge only"] += j.ci[0] <= true_mean <= j.ci[1]
        ratio.append((c.ci[1] - c.ci[0]) / (e.ci[1] - e.ci[0]))
    return {k: v / studies for k, v in covered.items()}, np.array(ratio)


def test_corrected_ci_covers_the_truth_with_a_biased_judge():
    # 3,000 studies (not the 1,000): the coverage estimate's own noise is then 0.4 points, not 0.7
    coverage, _ = simulate(bias=0.15, studies=3000)
    print(f"coverage over 3,000 simulated studies, judge biased +0.15: {coverage}")
    assert coverage["corrected"] >= 0.93 and coverage["judge only"] < 0.05


def test_unbiased_judge_never_widens_the_ci():
    _, ratio = simulate(bias=0.0)
    assert ratio.max() <= 1.0  # lam = 0 is always allowed: never wider than the experts alone
    assert ratio.mean() < 0.6  # and a good judge buys a much narrower one


def test_non_uniform_probabilities_are_weighted():
    rng = np.random.default_rng(1)
    cover = 0
    for _ in range(400):
        truth = rng.normal(0.5, 0.2, 2000)
        judge = truth + 0.15 + rng.normal(0, 0.1, 2000)
        pi = np.where(truth > 0.5, 0.15, 0.05)  # labels drawn more often where the truth is high
        lab = rng.random(2000) < pi
        est = ppi.ipw_mean(judge, lab, np.where(lab, truth, np.nan), pi)
        cover += est.ci[0] <= 0.5 <= est.ci[1]
    assert cover / 400 >= 0.92


def lenient_liveqa_run(cli, fake):
    grade = {r["item_id"]: int(r["value"]) for r in csv.DictReader(open(LIVEQA / "annotations.csv"))}
    items = [json.loads(line) for line in (LIVEQA / "answers.jsonl").read_text().splitlines()]
    said = {}
    for i, it in enumerate(items):  # one level higher than the expert on two answers in three
        said.setdefault((it["prompt"][:200], it["answer"][:300]), min(4, grade[it["id"]] + (i % 3 != 0)))

    def judge(request):
        f = fields_of(request)
        key = next(k for k in said if k[0] in f["conversation"] and f["answer"].strip().startswith(k[1][:200]))
        return {"explanation": "", "score": said[key]}

    fake.responder = judge
    code, _, err = cli("grade", LIVEQA / "answers.jsonl", "--rubric", "trec-liveqa-med", "--judge", fake.judge(), "-q",
                       "--db", "e.db")
    assert code == 0, err
    return json.loads(cli("runs", "--json", "--db", "e.db")[1])[0]["id"], sum(grade.values()) / len(grade)


def test_sample_label_estimate_on_liveqa(cli, fake, tmp_path):
    run_id, truth = lenient_liveqa_run(cli, fake)
    code, out, err = cli("sample", run_id, "--n", "60", "--seed", "7", "-o", "to_label.csv", "--db", "e.db")
    assert code == 0 and "60 of 292 scored units" in out, err
    header = (tmp_path / "to_label.csv").read_text().splitlines()[0]
    assert header == "item_id,unit_id,rater,value,unit,question,answer,prob"
    assert cli("sample", run_id, "--n", "10", "--db", "e.db")[0] == 2  # a name is drawn once
    # the physicians labelled everything; only the sample's 60 labels may enter the correction
    assert cli("annotations", "import", LIVEQA / "annotations.csv", "--rubric", "trec-liveqa-med", "--db", "e.db")[0] == 0
    code, out, err = cli("estimate", run_id, "--labels", "sample", "--json", "e.json", "--db", "e.db")
    assert code == 0, err
    res = json.loads((tmp_path / "e.json").read_text())
    (row,) = res["rows"]
    assert res["counts"]["labelled"] == 60 and res["counts"]["labels_outside_sample"] == 232
    assert "kept out: 232 expert labels on units outside the random sample" in out
    judge_only, corrected = row["judge_only"], row["corrected"]
    assert not judge_only["ci"][0] <= truth <= judge_only["ci"][1]  # the lenient judge's own CI misses
    assert corrected["ci"][0] <= truth <= corrected["ci"][1]  # the corrected one holds the 292-label truth
    assert row["labels_worth"] > 60
    code, out, _ = cli("estimate", run_id, "--plan", "--half-width", "0.2", "--labels", "sample", "--db", "e.db")
    assert code == 0 and "expert labels (of 292 judged units)" in out
    code, _, err = cli("estimate", run_id, "--labels", "nosuch", "--db", "e.db")
    assert code == 2 and "samples: sample" in err


def test_no_interval_without_evidence_and_none_outside_the_scale(cli, fake, tmp_path):
    """Issue 30: groups under MIN_LABELS labels get no interval (they covered the truth 71% of the time), an
    interval never leaves the scale, alike labels never give a zero-width interval, and a command with no
    corrected estimate exits 5; the planner handles a sample of every unit and refuses what does not fit."""
    from medjudge.calibration.estimate import MIN_LABELS, checked

    run_id, truth = lenient_liveqa_run(cli, fake)
    assert cli("annotations", "import", LIVEQA / "annotations.csv", "--rubric", "trec-liveqa-med", "--db", "e.db")[0] == 0
    assert cli("sample", run_id, "--n", "60", "--seed", "3", "--name", "s60", "--db", "e.db")[0] == 0
    code, out, err = cli("estimate", run_id, "--labels", "s60", "--by", "source", "--json", "e.json", "--db", "e.db")
    assert code == 0, err
    res = json.loads((tmp_path / "e.json").read_text())
    lo, hi = res["bounds"]
    assert (lo, hi) == (1.0, 4.0)
    small = [r for r in res["rows"] if r["labelled"] < MIN_LABELS]
    assert small and all(r["experts_only"]["ci"] == [None, None] and "too few" in r["experts_only"]["note"]
                         and r["corrected"]["ci"] == [None, None] for r in small)
    for r in res["rows"]:
        for m in ("judge_only", "experts_only", "corrected"):
            ci = r[m]["ci"]
            assert ci[0] is None or lo <= ci[0] <= ci[1] <= hi  # mutation: no cut to the scale
    # five labels: no corrected estimate, and the command says so with exit 5
    assert cli("sample", run_id, "--n", "5", "--name", "s5", "--db", "e.db")[0] == 0
    code, out, err = cli("estimate", run_id, "--labels", "s5", "--db", "e.db")
    assert code == 5 and "no corrected estimate" in err and "too few" in err
    # a sample of every judged unit: the plan says to label them all (it was a ZeroDivisionError)
    assert cli("sample", run_id, "--n", "292", "--name", "every", "--db", "e.db")[0] == 0
    code, out, err = cli("estimate", run_id, "--plan", "--half-width", "0.0001", "--labels", "every", "--db", "e.db")
    assert code == 0 and "label every one of the 292 judged units" in out, err
    code, out, err = cli("estimate", run_id, "--plan", "--half-width", "0.1", "--disagreement", "0.2", "--db", "e.db")
    assert code == 2 and "yes/no quantities" in err
    # labels all alike: an exact interval for a yes/no quantity, none for a scale (was zero-width)
    iv = ppi.classical_mean([1.0] * 12)
    assert iv.ci[0] == iv.ci[1] == 1.0
    exact = checked(iv, [1.0] * 12, (0.0, 1.0), 0.05)
    assert exact.ci[1] == 1.0 and 0.7 < exact.ci[0] < 0.8 and "Clopper-Pearson" in exact.note
    assert checked(ppi.classical_mean([3.0] * 12), [3.0] * 12, (1.0, 4.0), 0.05).ci == (None, None)
