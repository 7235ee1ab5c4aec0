"""`medjudge compare`: paired differences between systems graded on the same examples (issue 18, part 1)."""

import csv
import json

from conftest import EXAMPLES, write
from medjudge.models.fakellm import fields_of

POINTS = {"emergency": 10, "aspirin": 4, "symptoms": 5, "reassure": -8}
# what each system's answer says, by marker words the scripted judge reads
SAYS = {"good": "emergency aspirin arm", "fair": "emergency arm", "poor": "never serious"}


def judge(request):
    f = fields_of(request)
    said, c = f["answer"].lower(), f["criterion"].lower()
    met = ("emergency" in c and "emergency" in said) or ("aspirin" in c and "aspirin" in said) or \
          ("warning" in c and "arm" in said) or ("reassures" in c and "never serious" in said)
    return {"explanation": "", "criteria_met": met}


def hb(system):
    said = SAYS[system]
    met = {"emergency": "emergency" in said, "aspirin": "aspirin" in said, "symptoms": "arm" in said,
           "reassure": "never serious" in said}
    return sum(POINTS[c] for c, m in met.items() if m) / 19


def grade_system(cli, fake, tmp_path, system, n=12, skip=()):
    f = write(tmp_path / f"{system}.jsonl", "".join(
        json.dumps({"id": f"p{i}", "prompt": f"Chest pain, case {i}?", "source": system,
                    "answer": f"Case {i}: {SAYS[system] if i % 4 else SAYS['fair']}."}) + "\n"
        for i in range(n) if i not in skip))
    fake.responder = judge
    code, _, err = cli("grade", f, "--rubric", EXAMPLES / "chest-pain-checklist.yaml", "--judge", fake.judge(), "-q",
                       "--db", "c.db", "--json-summary", f"{system}.json")
    assert code == 0, err
    return json.loads((tmp_path / f"{system}.json").read_text())["run"]


def test_a_better_system_wins_with_a_paired_ci(cli, fake, tmp_path):
    a = grade_system(cli, fake, tmp_path, "good")
    b = grade_system(cli, fake, tmp_path, "poor", skip=(5,))
    code, out, err = cli("compare", a, b, "--json", "c.json", "--csv", "c.csv", "--db", "c.db")
    assert code == 0, err
    res = json.loads((tmp_path / "c.json").read_text())
    overall = next(g for g in res["groups"] if g["group"] == "overall")
    assert overall["examples"] == 11 and overall["left_out"] == 1 and "1 left out" in out
    # by hand: every fourth example both systems gave the fair answer; the others good vs poor
    pairs = [(hb("fair"), hb("fair")) if i % 4 == 0 else (hb("good"), hb("poor")) for i in range(12) if i != 5]
    diff = sum(x - y for x, y in pairs) / len(pairs)
    (d,) = overall["differences"]
    assert d["a"] == "good" and d["b"] == "poor" and abs(d["difference"] - diff) < 1e-12
    assert d["ci"][0] > 0 and d["p"] < 0.05  # 8 non-zero differences, all one way: exact p = 2/256
    assert [r[0] for r in csv.reader(open(tmp_path / "c.csv"))][0] == "group"
    assert any(g["group"] == "unit emergency" for g in res["groups"])
    # per axis, the HealthBench formula over that axis' criteria: accuracy is emergency (+10) and reassure (-8)
    acc = next(g for g in res["groups"] if g["group"] == "tag axis:accuracy")
    assert abs(acc["differences"][0]["difference"] - 8 * (1.0 - (-0.8)) / 11) < 1e-12


def test_identical_systems_differ_by_nothing_and_three_make_a_leaderboard(cli, fake, tmp_path):
    a = grade_system(cli, fake, tmp_path, "good")
    b = grade_system(cli, fake, tmp_path, "fair")
    c = grade_system(cli, fake, tmp_path, "poor")
    code, out, err = cli("compare", c, a, b, "--json", "l.json", "--db", "c.db")
    assert code == 0, err
    assert "Leaderboard" in out
    from medjudge.compare import leaderboard

    board = leaderboard(json.loads((tmp_path / "l.json").read_text()))
    assert [r["system"] for r in board] == ["good", "fair", "poor"]
    assert [r["significant_wins"] for r in board] == [2, 1, 0]
    code, out, _ = cli("compare", a, a, "--json", "s.json", "--db", "c.db")
    same = json.loads((tmp_path / "s.json").read_text())["groups"][0]["differences"][0]
    assert same["difference"] == 0 and same["p"] == 1.0


def test_runs_of_different_rubrics_are_refused(cli, fake, tmp_path):
    a = grade_system(cli, fake, tmp_path, "good")
    other = write(tmp_path / "o.yaml", (EXAMPLES / "chest-pain-checklist.yaml").read_text().replace(
        "id: chest-pain-advice", "id: other-rubric"))
    f = write(tmp_path / "x.jsonl", json.dumps({"id": "p1", "prompt": "q", "answer": "emergency"}) + "\n")
    fake.responder = judge
    assert cli("grade", f, "--rubric", other, "--judge", fake.judge(), "-q", "--db", "c.db", "--json-summary", "o.json")[0] == 0
    b = json.loads((tmp_path / "o.json").read_text())["run"]
    code, _, err = cli("compare", a, b, "--db", "c.db")
    assert code == 2 and "one rubric" in err


def test_several_answers_per_prompt_pair_one_to_one_and_an_incomplete_run_is_named(cli, fake, tmp_path):
    """Issue 30: two answers per prompt id were collapsed to one with 'left_out 0'; now they pair by prompt and
    answer id (both counted), and a run that did not finish makes compare exit 3 naming it."""
    for system in ("good", "poor"):
        write(tmp_path / f"{system}.jsonl", "".join(
            json.dumps({"id": f"p{i}-{k}", "prompt_id": f"p{i}", "prompt": f"Chest pain, case {i}?", "source": system,
                        "answer": f"Case {i}.{k}: {SAYS[system]}."}) + "\n" for i in range(6) for k in range(2)))
    fake.responder = judge
    runs = []
    for system in ("good", "poor"):
        code, _, err = cli("grade", f"{system}.jsonl", "--rubric", EXAMPLES / "chest-pain-checklist.yaml", "--judge",
                           fake.judge(), "-q", "--db", "c.db", "--json-summary", f"{system}.json")
        assert code == 0, err
        runs.append(json.loads((tmp_path / f"{system}.json").read_text())["run"])
    code, out, err = cli("compare", *runs, "--json", "c.json", "--db", "c.db")
    assert code == 0, err
    res = json.loads((tmp_path / "c.json").read_text())
    overall = next(g for g in res["groups"] if g["group"] == "overall")
    assert overall["examples"] == 12 and overall["left_out"] == 0 and res["paired_by"] == "prompt id and answer id"
    import sqlite3

    con = sqlite3.connect(tmp_path / "c.db")
    con.execute("UPDATE runs SET status = 'incomplete' WHERE id = ?", (runs[1],))
    con.commit()
    con.close()
    code, out, err = cli("compare", *runs, "--db", "c.db")
    assert code == 3 and f"run {runs[1]} is incomplete" in err


def test_the_difference_ci_is_paired():
    """Mutation caught: the compare CI made unpaired (each system resampled on its own). Two systems that differ
    by a small constant on examples that vary a lot: paired, the CI excludes 0; unpaired it would not."""
    import numpy as np

    from medjudge.bootstrap import resample_indices
    from medjudge.compare import paired_ci

    rng = np.random.default_rng(1)
    xa = rng.uniform(0, 1, 40)
    xb = xa - 0.05 + rng.normal(0, 0.01, 40)
    lo, hi = paired_ci(xa, xb, resample_indices(40, 500, 0))
    assert 0 < lo < 0.05 < hi < 0.1
