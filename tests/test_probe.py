"""medjudge probe with planted biases: fake judges at the HTTP edge with a position, a length or a self-preference
bias, or blind to injected errors, are flagged with CIs excluding 0; unbiased ones are not (and, at the level of
the decision rule, raise a false alarm in at most 5% of 100 seeds)."""

import json
import random
import re
import zlib

import numpy as np
import pytest

from conftest import write
from medjudge.models.fakellm import fields_of

WORDS = ["aspirin", "ambulance", "hydration", "followup"]
RUBRIC = "id: words\nversion: 1\nkind: checklist\ntitle: Mentions\ncriteria:\n" + "".join(
    f"  - id: c{i}\n    text: The answer mentions {w}.\n    points: 1\n" for i, w in enumerate(WORDS))


def make_answers(tmp_path, n=30):
    rng = random.Random(4)
    rows, labels = [], []
    for i in range(n):
        has = [w for w in WORDS if rng.random() < 0.5]
        src = "gpt-4o" if i % 2 == 0 else "claude-3"
        rows.append({"id": f"a{i:02d}", "prompt": f"Question {i}: chest pain, what now?",
                     "answer": f"Answer {i}: " + " ".join(f"Consider {w}." for w in has), "source": src})
        for c, w in enumerate(WORDS):
            labels.append(f"a{i:02d},c{c},dr_x,expert,{'met' if w in has else 'unmet'}")
    write(tmp_path / "a.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    write(tmp_path / "labels.csv", "item_id,unit_id,rater,rater_kind,value\n" + "\n".join(labels) + "\n")
    write(tmp_path / "r.yaml", RUBRIC)


def criteria_listed(f):
    return [(m.group(1), m.group(2)) for m in re.finditer(r"- id: (\S+) \| (.*)", f.get("criteria", ""))]


def drafter(request):
    """The drafting model: paraphrases, compressions, must-flip edits (the edit adds or removes the word)."""
    text = request["messages"][-1]["content"]
    if "Reword this evaluation criterion" in text:
        crit = re.search(r"Criterion: (.*)", text).group(1)
        k = int(re.search(r"criterion (\d+) different", text).group(1))
        word = next(w for w in WORDS if w in crit)
        return {"rewordings": [f"Does the answer name {word}? (wording {j})" for j in range(k)]}
    if "in about half as many words" in text:
        return {"answer": text.split("Answer:\n", 1)[1].strip()}
    if "building a test of an automated grader" in text:
        answer = text.split("Answer:\n", 1)[1].strip()
        word = next(w for w in WORDS if w in re.search(r"Rubric item: (.*)", text).group(1))
        target = re.search(r'verdict becomes "(\w+)"', text).group(1)
        edited = answer + f" Consider {word}." if target == "met" else answer.replace(f"Consider {word}.", "")
        return {"edited_answer": edited, "edit_kind": "removed_warning" if target == "unmet" else "injected_error",
                "medval_category": "missing_claim" if target == "unmet" else "fabricated_claim"}
    return None


def judge_with(bias=None, noise=0.0):
    """A batched checklist judge: met when the criterion's word is in the answer, unless biased."""
    originals = {}

    def judge(request):
        drafted = drafter(request)
        if drafted is not None:
            return drafted
        f = fields_of(request)
        answer = f["answer"]
        number = re.search(r"Answer (\d+)", answer).group(1)
        seed = request.get("seed", 0)
        verdicts = []
        for pos, (cid, text) in enumerate(criteria_listed(f)):
            word = next(w for w in WORDS if w in text)
            met = f"Consider {word}" in answer
            if bias == "position" and pos == 0:
                met = True
            if bias == "length" and len(answer) > 150:
                met = True
            if bias == "self" and "gpt" in request.get("model", "") and int(number) % 2 == 0:
                met = True  # the gpt judge favours the gpt-4o answers (the even ones)
            if bias == "blind":  # judges the first answer it saw under this number: edits go unnoticed
                met = originals.setdefault((number, cid), met)
            if noise and zlib.crc32(f"{answer}|{cid}|{seed}".encode()) % 1000 < noise * 1000:
                met = not met
            verdicts.append({"id": cid, "explanation": "scripted", "met": met})
        return {"verdicts": verdicts}

    return judge


@pytest.fixture
def graded(cli, fake, tmp_path):
    make_answers(tmp_path)

    def grade(responder, judge="gpt-judge"):
        fake.responder = responder
        code, out, err = cli("grade", "a.jsonl", "--rubric", "r.yaml", "--judge", fake.judge(judge), "--mode",
                             "batched", "--db", "p.db", "-q", "--json-summary", "s.json")
        assert code == 0, err
        return json.loads((tmp_path / "s.json").read_text())["run"]

    return grade


def probe(cli, tmp_path, run_id, probes, *extra):
    code, out, err = cli("probe", run_id, "--probe", probes, "--n", "30", "--db", "p.db", "--json", "pr.json",
                         "--resamples", "500", *extra)
    assert code == 0, out + err
    return json.loads((tmp_path / "pr.json").read_text())["results"], out


def test_position_bias_is_flagged_and_an_unbiased_judge_is_not(cli, graded, tmp_path):
    run_id = graded(judge_with("position"))
    res, out = probe(cli, tmp_path, run_id, "position")
    p = res["position"]
    assert p["verdict"] == "sensitive" and p["ci"][0] > 0 and p["noise_flip_rate"] == 0
    assert "sensitive" in out and p["used"] == 120 and p["answers_reordered"] == 30
    run_id = graded(judge_with(None), judge="other-judge")
    res, _ = probe(cli, tmp_path, run_id, "position")
    assert res["position"]["verdict"] == "robust" and res["position"]["effect"] == 0


def test_length_bias_is_flagged_in_its_direction(cli, graded, tmp_path):
    run_id = graded(judge_with("length"))
    res, out = probe(cli, tmp_path, run_id, "length")
    padded, compressed = res["length"]["padded"], res["length"]["compressed"]
    assert padded["verdict"] == "sensitive" and padded["ci"][0] > 0 and padded["shift"] > 0  # longer: more met
    assert compressed["verdict"] == "robust"  # the fake drafter keeps the text: nothing to change


def test_paraphrases_are_drafted_stored_and_shown(cli, graded, tmp_path):
    run_id = graded(judge_with(None))
    res, out = probe(cli, tmp_path, run_id, "paraphrase", "--show-drafts", "--k", "2")
    assert res["paraphrase"]["verdict"] == "robust" and res["paraphrase"]["used"] == 240  # 120 units x 2 wordings
    assert "Does the answer name aspirin? (wording 1)" in out
    from test_grade import db_rows

    drafts = db_rows(tmp_path / "p.db", "SELECT kind, output FROM drafts WHERE kind = 'paraphrase'")
    assert len(drafts) == 4 and all(len(json.loads(d["output"])) == 2 for d in drafts)


def test_a_judge_blind_to_injected_errors_is_flagged_by_perturb(cli, graded, fake, tmp_path):
    run_id = graded(judge_with("blind"))
    res, out = probe(cli, tmp_path, run_id, "perturb")
    p = res["perturb"]
    assert p["verdict"] == "insensitive" and p["miss_rate"] == 1.0 and p["used"] == 30
    assert set(p["by_edit"]) == {"injected_error", "removed_warning", "medval:fabricated_claim", "medval:missing_claim"}
    assert sum(p["by_edit"][k]["edits"] for k in ("injected_error", "removed_warning")) == 30
    assert p["ci"][0] > 0.8 and p["ci_method"].startswith("exact")  # all missed: the exact interval, not [1, 1]
    run_id = graded(judge_with(None), judge="careful-judge")
    code, out, err = cli("probe", run_id, "--probe", "perturb", "--n", "30", "--db", "p.db", "--json", "pr.json",
                         "--resamples", "500")
    res = json.loads((tmp_path / "pr.json").read_text())["results"]
    # every one of 30 edits caught: a miss rate of 0 whose exact CI reaches 0.116, above the 0.10 line: 30 edits
    # cannot show a miss rate under 1 in 10, so no verdict, and the command says there is nothing to show
    assert res["perturb"]["miss_rate"] == 0.0 and res["perturb"]["verdict"] == "no verdict"
    assert abs(res["perturb"]["ci"][1] - 0.1157) < 1e-3 and code == 5 and "no probe reached a verdict" in err


def test_self_preference_against_experts_and_without_calls(cli, graded, fake, tmp_path):
    run_id = graded(judge_with("self"))
    assert cli("annotations", "import", "labels.csv", "--rubric", "r.yaml", "--db", "p.db")[0] == 0
    calls = fake.count
    res, out = probe(cli, tmp_path, run_id, "self")
    s = res["self"]["openai/gpt-judge"]
    assert fake.count == calls  # read from the stored verdicts
    assert s["verdict"] == "self-preferring" and s["ci"][0] > 0 and s["reference"] == ["experts"]
    assert s["own_units"] == 60 and s["other_units"] == 60 and s["other_excess"] == 0
    run_id = graded(judge_with(None), judge="gpt-fair")
    res, _ = probe(cli, tmp_path, run_id, "self")
    fair = res["self"]["openai/gpt-fair"]
    assert fair["verdict"] == "no self-preference" and fair["effect"] == 0 and fair["ci"][1] < 0.1


def test_noise_is_the_baseline_and_probes_resume_from_the_cache(cli, graded, fake, tmp_path):
    run_id = graded(judge_with(None, noise=0.1))
    res, _ = probe(cli, tmp_path, run_id, "position,length")
    assert res["position"]["noise_flip_rate"] > 0  # the rerun with other seeds flips some verdicts
    calls = fake.count
    res2, _ = probe(cli, tmp_path, run_id, "position,length")
    assert fake.count == calls and res2 == res  # every re-judging answered from the stored runs
    code, out, err = cli("probe", run_id, "--db", "p.db", "--dry-run")
    assert code == 0 and fake.count == calls and "in all:" in out
    # the HTML report shows the stored probes
    code, out, err = cli("report", run_id, "--db", "p.db", "-o", "rep.html")
    html = (tmp_path / "rep.html").read_text()
    assert code == 0 and "Probes" in html
    from test_report import browser, watched_page

    exe, sync_api = browser()
    with sync_api.sync_playwright() as p:  # as a person sees it
        b, page, errors, _ = watched_page(p, exe)
        page.goto((tmp_path / "rep.html").as_uri())
        cells = page.locator('tr[data-probe="position"] td').all_text_contents()
        b.close()
    assert errors == []
    assert cells[0] == "position" and cells[2].startswith(f"{res['position']['effect']:.3f} [")
    assert cells[-1] == res["position"]["verdict"]


def test_false_alarms_of_an_unbiased_judge_at_most_5_percent_of_100_seeds():
    """The decision rule on rows an unbiased, noisy judge produces: the probe flips as often as a rerun."""
    from medjudge.probing.statistics import flip_effect, self_preference

    alarms = self_alarms = 0
    for seed in range(100):
        rng = np.random.default_rng(seed)
        rows, srows = [], []
        for a in range(20):
            for u in range(4):
                orig = float(rng.random() < 0.5)
                flip = lambda: float(1 - orig) if rng.random() < 0.15 else orig  # noqa: E731
                rows.append({"answer": a, "original": orig, "probe": flip(), "rerun": flip()})
                srows.append({"answer": a, "own": a % 2 == 0, "judge": orig + rng.normal(0, 0.3),
                              "reference": orig})
        alarms += flip_effect(rows, 300, seed)["verdict"] == "sensitive"
        self_alarms += self_preference(srows, 300, seed)["verdict"] == "self-preferring"
    assert alarms <= 5 and self_alarms <= 5


def test_probe_needs_known_probes(cli, graded, tmp_path):
    run_id = graded(judge_with(None))
    code, out, err = cli("probe", run_id, "--probe", "position,vibes", "--db", "p.db")
    assert code == 2 and "vibes" in err


def test_failed_drafts_are_counted_and_left_out(cli, graded, tmp_path):
    judge = judge_with(None)

    def no_compressions(request):
        if "in about half as many words" in request["messages"][-1]["content"]:
            return "I would rather not."  # not the JSON asked for: instructor re-asks, then gives up
        return judge(request)

    run_id = graded(no_compressions)
    res, out = probe(cli, tmp_path, run_id, "length")
    c = res["length"]["compressed"]
    assert c["units"] == 0 and c["verdict"] == "no verdict" and len(c["drafts_failed"]) == 30
    assert "draft failed (left out)" in out and res["length"]["padded"]["used"] == 120


def test_probe_statistics_against_scipy_bootstrap():
    """One unit per answer: each effect is a plain mean (or a difference of two means) and its CI the
    percentile bootstrap scipy computes over the same values."""
    from scipy.stats import bootstrap

    from medjudge.probing.statistics import flip_effect, miss_effect, self_preference

    rng = np.random.default_rng(11)
    rows = [{"answer": i, "original": 1.0, "probe": float(rng.random() < 0.3), "rerun": float(rng.random() < 0.1)}
            for i in range(200)]
    d = np.array([float(r["probe"] != r["original"]) - float(r["rerun"] != r["original"]) for r in rows])
    got = flip_effect(rows, 4000, 3)
    ref = bootstrap((d,), np.mean, method="percentile", n_resamples=4000, random_state=4).confidence_interval
    assert got["effect"] == pytest.approx(d.mean(), abs=1e-12)
    assert got["ci"][0] == pytest.approx(ref.low, abs=0.012) and got["ci"][1] == pytest.approx(ref.high, abs=0.012)

    edits = [{"answer": i, "original": 0.0, "target": 1.0, "probe": float(rng.random() < 0.8)} for i in range(200)]
    miss = np.array([1.0 - e["probe"] for e in edits])
    got = miss_effect(edits, 4000, 3)
    ref = bootstrap((miss,), np.mean, method="percentile", n_resamples=4000, random_state=4).confidence_interval
    assert got["miss_rate"] == pytest.approx(miss.mean(), abs=1e-12)
    assert got["ci"][0] == pytest.approx(ref.low, abs=0.012) and got["ci"][1] == pytest.approx(ref.high, abs=0.012)

    srows = [{"answer": i, "own": i % 2 == 0, "judge": rng.normal(0.3 if i % 2 == 0 else 0.0, 1), "reference": 0.0}
             for i in range(300)]
    own = np.array([r["judge"] for r in srows if r["own"]])
    other = np.array([r["judge"] for r in srows if not r["own"]])
    got = self_preference(srows, 4000, 3)
    ref = bootstrap((own, other), lambda a, b, axis: a.mean(axis) - b.mean(axis), method="percentile",
                    n_resamples=4000, random_state=4).confidence_interval
    assert got["effect"] == pytest.approx(own.mean() - other.mean(), abs=1e-12)
    assert got["ci"][0] == pytest.approx(ref.low, abs=0.02) and got["ci"][1] == pytest.approx(ref.high, abs=0.02)


def test_a_verdict_needs_its_interval_on_its_side():
    """The rule, on the cases the issue reproduced, and the mutations it must catch."""
    from medjudge.probing.statistics import MISS_LIMIT, decide, flip_effect, miss_effect

    # one usable answer: a zero-width CI is no evidence either way
    one = [{"answer": 0, "original": 1.0, "probe": 0.0, "rerun": 1.0}, {"answer": 0, "original": 0.0, "probe": 0.0,
                                                                      "rerun": 0.0}]
    assert flip_effect(one, 200)["verdict"] == "no verdict"
    # an effect of 0.167 with a CI from -0.33 to 0.67 is not "robust"
    assert decide([-0.33, 0.67], 30, ("sensitive", 0.0), ("robust", 0.10))[0] == "no verdict"
    assert decide([-0.02, 0.08], 30, ("sensitive", 0.0), ("robust", 0.10))[0] == "robust"
    assert decide([0.02, 0.3], 30, ("sensitive", 0.0), ("robust", 0.10))[0] == "sensitive"
    assert decide([0.02, 0.3], 9, ("sensitive", 0.0), ("robust", 0.10))[0] == "no verdict"  # below MIN_ANSWERS
    # perturb: 3 edits, 2 missed is no evidence of sensitivity (it was called "sensitive to errors")
    few = [{"answer": i, "original": 0.0, "target": 1.0, "probe": float(i == 0)} for i in range(3)]
    assert miss_effect(few, 200)["verdict"] == "no verdict"
    # mutation: the perturb limit moved from 0.10 to 0.90. Half of 40 edits missed is insensitive beyond doubt
    half = [{"answer": i, "original": 0.0, "target": 1.0, "probe": float(i % 2)} for i in range(40)]
    res = miss_effect(half, 500)
    assert res["verdict"] == "insensitive" and MISS_LIMIT < res["ci"][0] < 0.5
    # 40 edits all caught: the exact CI (0, 0.088) lies below the line
    caught = [{"answer": i, "original": 0.0, "target": 1.0, "probe": 1.0} for i in range(40)]
    assert miss_effect(caught, 200)["verdict"] == "sensitive to errors"


def simulate(effect: float, answers: int, seeds: int, units: int = 4, noise: float = 0.15, resamples: int = 300):
    """How often the flip rule says sensitive and robust when the probe flips `effect` more units than a rerun."""
    from medjudge.probing.statistics import flip_effect

    said = {"sensitive": 0, "robust": 0, "no verdict": 0}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        rows = []
        for a in range(answers):
            for _ in range(units):
                orig = float(rng.random() < 0.5)
                rows.append({"answer": a, "original": orig,
                             "probe": 1 - orig if rng.random() < noise + effect else orig,
                             "rerun": 1 - orig if rng.random() < noise else orig})
        said[flip_effect(rows, resamples, seed)["verdict"]] += 1
    return {k: v / seeds for k, v in said.items()}


def test_the_thresholds_hold_in_simulation():
    """docs/PROBES.md's table: an unbiased judge is rarely called sensitive, a biased one (effect 0.25 >= the
    robust margin) is never called robust, and at 30 answers the bias is found most of the time."""
    null = simulate(0.0, 30, 60)
    biased = simulate(0.25, 30, 60)
    assert null["sensitive"] <= 0.07 and biased["robust"] == 0.0 and biased["sensitive"] >= 0.9
    small = simulate(0.25, 8, 20)  # below MIN_ANSWERS: never a verdict
    assert small["no verdict"] == 1.0
