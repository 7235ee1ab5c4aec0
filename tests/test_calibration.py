"""Calibration end to end: imports, the MentalAlign published ICC table, ceilings, verdicts, runs."""

import json
import re

import numpy as np
import pytest

from conftest import ROOT, write
from test_calibration_stats import hand_kappa
from medjudge.calibration import stats
from medjudge.calibration.verdict import CARE, NO, NO_CI, TRUST, verdict

MENTAL = ROOT / "medjudge" / "data" / "mentalalign"
OWN = {"claude-3.7-sonnet": "claude", "gpt-4o": "gpt4o", "gemini-2.5-flash": "gemini", "o4-mini": "gpt4omini"}
PAPER_NAMES = {"Claude-3.7-Sonnet": "claude-3.7-sonnet", "GPT-4o": "gpt-4o", "Gemini-2.5-Flash": "gemini-2.5-flash",
               "o4-mini": "o4-mini"}


def paper_table():
    """{(judge, attribute): (ICC(C,1), ICC(A,1))} parsed from the published markdown table."""
    out, judge = {}, None
    for line in (MENTAL / "paper_icc_table.md").read_text().splitlines():
        cells = [c.strip().strip("*") for c in line.strip().strip("|").split("|")]
        if len(cells) != 8 or not re.match(r"^\d\.\d+$", cells[3]):
            continue
        judge = PAPER_NAMES.get(cells[0], judge)
        out[(judge, cells[2])] = (float(cells[3]), float(cells[5]))
    return out


@pytest.fixture(scope="module")
def mental_db(tmp_path_factory):
    from medjudge.labels.importing import import_file
    from medjudge.store import Store

    db = tmp_path_factory.mktemp("mental") / "m.db"
    report = import_file(Store(db), MENTAL / "ratings_long.csv.gz")
    assert report.rows == 350000 and report.problems == {"empty": 514}
    return db


def test_mentalalign_published_icc_table_within_0_01(mental_db, cli, tmp_path):
    published = paper_table()
    assert len(published) == 28
    for judge, own in OWN.items():
        out_json = tmp_path / f"{judge}.json"
        code, out, err = cli("calibrate", "--raters", judge, "--against", "human_expert", "--level", "system",
                             "--by", "attribute", "--self-source", f"{judge}={own}", "--resamples", "0",
                             "--db", mental_db, "--json", out_json)
        assert code == 0, err
        results = json.loads(out_json.read_text())["results"]
        assert len(results) == 7
        for r in results:
            c1, a1 = published[(judge, r["group"])]
            assert r["systems"] == 9
            assert r["stats"]["ICC(C,1)"]["estimate"] == pytest.approx(c1, abs=0.01), (judge, r["group"])
            assert r["stats"]["ICC(A,1)"]["estimate"] == pytest.approx(a1, abs=0.01), (judge, r["group"])


def test_mentalalign_cli_output_and_stored_result(mental_db, cli):
    code, out, err = cli("calibrate", "--raters", "gpt-4o", "--against", "human_expert", "--level", "system",
                         "--by", "attribute", "--self-source", "gpt-4o=gpt4o", "--resamples", "200", "--db", mental_db)
    assert code == 0, err
    assert "Guidance" in out and "0.849" in out and "0.474" in out  # ICC(C,1), ICC(A,1) as published (0.849, 0.475)
    assert "no expert ceiling" in out and "do not trust" in out
    import sqlite3

    con = sqlite3.connect(mental_db)
    row = con.execute("SELECT config, inputs FROM calibrations ORDER BY created DESC LIMIT 1").fetchone()
    assert json.loads(row[0])["self_source"] == {"gpt-4o": "gpt4o"} and json.loads(row[1])["annotations"]


def test_import_range_check_and_reimport(cli, tmp_path):
    f = write(tmp_path / "r.csv", "item_id,criterion,rater,rater_kind,value\n"
              "1,a,e1,expert,3\n1,a,e2,expert,6\n2,a,e1,expert,\n2,a,e2,expert,x\n3,a,j,llm_judge,0\n")
    code, out, err = cli("annotations", "import", f, "--range", "1..5", "--db", "a.db")
    assert code == 2 and "3 of 4 labels kept out (75%, over --max-kept-out 5%)" in err  # counted, stored, refused
    code, out, err = cli("annotations", "import", f, "--range", "1..5", "--db", "a.db", "--max-kept-out", "1")
    assert code == 0, err
    assert "imported 5 ratings" in out and "1 valid" in out
    assert "2 x out of range 1..5" in out and "1 x empty" in out and "1 x unreadable" in out
    assert f"{f}:3: rater e2, item 1, a: '6'" in out
    code, out, err = cli("annotations", "import", f, "--range", "1..5", "--db", "a.db")
    import sqlite3

    assert sqlite3.connect(tmp_path / "a.db").execute("SELECT COUNT(*) FROM annotations").fetchone()[0] == 5
    bad = write(tmp_path / "bad.csv", "item_id,criterion,rater,rater_kind,value\n1,a,e1,physician,3\n")
    code, out, err = cli("annotations", "import", bad, "--db", "a.db")
    assert code == 2 and f"{bad}:2: rater_kind: must be expert or llm_judge" in err
    nocol = write(tmp_path / "nocol.csv", "who,what\n1,2\n")
    code, out, err = cli("annotations", "import", nocol, "--db", "a.db")
    assert code == 2 and "no item column" in err


def three_experts_and_judge(n=80, seed=0):
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, 2, n)
    def noisy(p):
        flip = rng.random(n) < p
        return np.where(flip, 1 - truth, truth)
    return truth, {"e1": noisy(0.1), "e2": noisy(0.1), "e3": noisy(0.15), "judge": noisy(0.3)}


def test_healthbench_meta_import_ceiling_and_percentile(cli, tmp_path):
    _, labels = three_experts_and_judge()
    lines = []
    for i in range(80):
        lines.append(json.dumps({"completion_id": f"c{i}", "prompt_id": f"p{i}", "rubric": "Advises seeing a doctor.",
                                 "category": "cluster:emergency", "binary_labels": [bool(labels[e][i]) for e in ("e1", "e2", "e3")],
                                 "anonymized_physician_ids": ["e1", "e2", "e3"]}))
    meta = write(tmp_path / "meta.jsonl", "\n".join(lines) + "\n")
    judge = write(tmp_path / "judge.csv", "item_id,criterion,rater,value\n" + "".join(
        f"c{i},c{__import__('hashlib').sha1(b'Advises seeing a doctor.').hexdigest()[:10]},judge,{labels['judge'][i]}\n"
        for i in range(80)))
    assert cli("annotations", "import", meta, "--format", "healthbench-meta", "--db", "h.db")[0] == 0
    assert cli("annotations", "import", judge, "--kind", "llm_judge", "--db", "h.db")[0] == 0
    out_json = tmp_path / "h.json"
    code, out, err = cli("calibrate", "--raters", "judge", "--by", "tag", "--db", "h.db", "--json", out_json,
                         "--resamples", "100")
    assert code == 0, err
    r = json.loads(out_json.read_text())["results"][0]
    assert r["group"] == "cluster:emergency" and r["value_type"] == "binary"
    # pooled judge-vs-expert pairs, checked against the plain formulas
    x = np.concatenate([labels["judge"]] * 3)
    y = np.concatenate([labels[e] for e in ("e1", "e2", "e3")])
    assert r["pairs"] == 240
    assert r["stats"]["accuracy"]["estimate"] == pytest.approx(np.mean(x == y))
    assert r["stats"]["macro_f1"]["estimate"] == pytest.approx(stats.macro_f1(x == 1, y == 1))
    assert r["stats"]["kappa"]["estimate"] == pytest.approx(hand_kappa(x, y))
    # the ceiling: expert pairs (e1,e2), (e1,e3), (e2,e3)
    cx = np.concatenate([labels["e1"], labels["e1"], labels["e2"]])
    cy = np.concatenate([labels["e2"], labels["e3"], labels["e3"]])
    assert r["ceiling"]["pairs"] == 240
    assert r["ceiling"]["stats"]["kappa"]["estimate"] == pytest.approx(hand_kappa(cx, cy))
    assert r["ceiling"]["stats"]["alpha"]["estimate"] > r["stats"]["alpha"]["estimate"]
    pct = r["percentile_among_experts"]
    assert pct["experts"] == 3 and pct["percentile"] == pytest.approx(0.0)  # the noisy judge is below every expert
    assert "below the physician range" in " ".join(r["reasons"])


def test_wide_import(cli, tmp_path):
    f = write(tmp_path / "w.csv", "item_id,label_0,label_1,label_2\n1,true,true,false\n2,false,false,false\n")
    code, out, err = cli("annotations", "import", f, "--wide", "--rater-columns", "label_0,label_1,label_2",
                         "--unit-name", "met", "--db", "w.db")
    assert code == 0 and "imported 6 ratings" in out and "6 valid" in out
    code, out, err = cli("annotations", "list", "--db", "w.db")
    assert "label_0" in out and "label_2" in out


def test_verdict_rules():
    assert verdict("ICC(A,1)", 0.9, [0.8, 0.95], 50)[0] == TRUST
    assert verdict("ICC(A,1)", 0.7, [0.55, 0.8], 50)[0] == CARE
    # a verdict needs its interval on its side: [0.3, 0.8] spans the care line 0.5 (it was "do not trust")
    assert verdict("ICC(A,1)", 0.6, [0.3, 0.8], 50)[0] == NO_CI
    assert verdict("ICC(A,1)", 0.3, [0.2, 0.45], 50)[0] == NO
    assert verdict("alpha", 0.85, [0.81, 0.9], 50)[0] == TRUST
    assert verdict("alpha", 0.75, [0.7, 0.8], 50)[0] == CARE
    assert verdict("ICC(A,1)", 0.9, [0.8, 0.95], 5)[0] == NO_CI  # too few items: no verdict, with the reason
    assert verdict("ICC(A,1)", 0.9, [0.8, 0.95], 5, level="system")[0] == TRUST
    # below the physicians' own agreement: trust is capped at care
    v, reasons = verdict("alpha", 0.85, [0.81, 0.9], 50, ceiling={"estimate": 0.95, "ci": [0.9, 0.97]})
    assert v == CARE and "below the physician range" in reasons[-1]
    assert verdict("ICC(A,1)", 0.9, [0.8, 0.95], 50, care=0.85, trust=0.95)[0] == NO_CI
    assert verdict("ICC(A,1)", 0.8, [0.7, 0.84], 50, care=0.85, trust=0.95)[0] == NO
    assert verdict("alpha", 0.99, [0.98, 1.0], 500, untrustworthy_judge=True)[0] == NO


def test_calibrate_a_run_against_physicians(fake, cli, answers_file, checklist_file, tmp_path):
    from test_grade import TRUTH, scripted

    fake.responder = scripted
    code, out, err = cli("grade", answers_file, "--rubric", checklist_file, "--judge", fake.judge("j1"),
                         "--judge", fake.judge("j2"), "--db", "t.db", "-q")
    assert code == 0, err
    run_id = re.search(r"run (r[0-9a-f]+)", out).group(1)
    # a physician agrees with the judges except on one criterion of one answer
    rows = ["item_id,criterion,rater,value"]
    for a, crit in TRUTH.items():
        for c, met in crit.items():
            val = (not met) if (a, c) == ("a2", "reassure") else met
            rows.append(f"{a},{c},dr_x,{int(val)}")
    write(tmp_path / "phys.csv", "\n".join(rows) + "\n")
    assert cli("annotations", "import", "phys.csv", "--db", "t.db")[0] == 0
    out_json = tmp_path / "cal.json"
    code, out, err = cli("calibrate", "--run", run_id, "--by", "none", "--db", "t.db", "--json", out_json,
                         "--resamples", "50")
    # 12 items, one disagreement: alpha's CI spans the 0.667 line, so no verdict, and the command says so (exit 5)
    assert code == 5 and "no verdict on any of 3" in err, err
    results = json.loads(out_json.read_text())["results"]
    assert {r["judge"] for r in results} == {"openai/j1", "openai/j2", "panel"}
    for r in results:
        assert r["items"] == 12 and r["stats"]["accuracy"]["estimate"] == pytest.approx(11 / 12)
        assert r["verdict"] == "no verdict" and "spans 0.667" in r["reasons"][0]
    assert "panel" in out
