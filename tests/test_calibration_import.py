"""Importing real expert labels unaided, and the calibration details that used to mislead (issue 12)."""

import json
import sqlite3

from conftest import write


def annotations(db):
    con = sqlite3.connect(db)
    try:
        return {(i, u, r): (v, ok) for i, u, r, v, ok in con.execute(
            "SELECT item_id, unit_id, rater, value, valid FROM annotations")}
    finally:
        con.close()


def test_map_labels_from_pairs_and_from_a_file(cli, tmp_path):
    f = write(tmp_path / "l.csv", "item_id,unit,rater,value\n1,nli,a,Entailment\n1,nli,b,Contradiction\n2,nli,a,NEUTRAL\n")
    code, _, err = cli("annotations", "import", f, "--rubric", "kqa-pairs", "--db", "a.db")
    assert code == 0, err  # the K-QA source's own words are NLI words out of the box
    assert annotations(tmp_path / "a.db")[("1", "nli", "b")] == (-1.0, 1)
    g = write(tmp_path / "coded.csv", "item_id,unit,rater,value\n1,nli,a,2\n1,nli,b,0\n2,nli,a,1\n")
    code, _, err = cli("annotations", "import", g, "--rubric", "kqa-pairs", "--db", "b.db")
    assert code == 2 and "no rating could be read" in err and "not a relation" in err  # 2/1/0 is not guessed
    m = write(tmp_path / "map.json", json.dumps({"2": "entailed", "1": "neutral", "0": "contradicted"}))
    code, _, err = cli("annotations", "import", g, "--rubric", "kqa-pairs", "--map", m, "--db", "b.db")
    assert code == 0, err
    assert {k: v for k, (v, _) in annotations(tmp_path / "b.db").items()} == {
        ("1", "nli", "a"): 1.0, ("1", "nli", "b"): -1.0, ("2", "nli", "a"): 0.0}


def test_labels_inside_the_answers_jsonl_and_a_pandas_index_column(cli, tmp_path):
    f = write(tmp_path / "a.jsonl", json.dumps({"id": "q1", "answer": "x", "labels": {"emergency": {"dr_a": "met"}}})
              + "\n" + json.dumps({"id": "q2", "answer": "y", "labels": {"dr_a": "unmet", "dr_b": True}}) + "\n")
    code, _, err = cli("annotations", "import", f, "--format", "answers", "--db", "a.db")
    assert code == 2 and "need --unit-name" in err
    code, _, err = cli("annotations", "import", f, "--format", "answers", "--unit-name", "emergency", "--db", "a.db")
    assert code == 0, err
    assert {k: v for k, (v, _) in annotations(tmp_path / "a.db").items()} == {
        ("q1", "emergency", "dr_a"): 1.0, ("q2", "emergency", "dr_a"): 0.0, ("q2", "emergency", "dr_b"): 1.0}
    g = write(tmp_path / "p.csv", ",criterion,rater,value\nq7,c1,dr_a,1\n")  # pandas' unnamed index column
    code, _, err = cli("annotations", "import", g, "--db", "p.db")
    assert code == 0, err
    assert ("q7", "c1", "dr_a") in annotations(tmp_path / "p.db")


def labelled(tmp_path, rows):
    return write(tmp_path / "l.csv", "item_id,criterion,rater,rater_kind,value\n" + "".join(
        f"{i},{u},{r},{k},{v}\n" for i, u, r, k, v in rows))


def test_ceiling_on_the_judges_items_never_a_rater_against_itself(cli, tmp_path):
    rows = []
    for i in range(40):
        rows += [(f"i{i}", "c", "e1", "expert", i % 2), (f"i{i}", "c", "e2", "expert", i % 2 if i < 20 else 1 - i % 2)]
        if i < 20:
            rows.append((f"i{i}", "c", "bot", "llm_judge", i % 2))
    f = labelled(tmp_path, rows)
    assert cli("annotations", "import", f, "--db", "a.db")[0] == 0
    code, out, err = cli("calibrate", "--raters", "bot", "--db", "a.db", "--json", "c.json", "--resamples", "50")
    (r,) = json.loads((tmp_path / "c.json").read_text())["results"]
    # the experts agree perfectly on the 20 items the judge rated, and never on the other 20
    assert r["ceiling"]["items"] == 20 and r["ceiling"]["stats"]["accuracy"]["estimate"] == 1.0
    code, _, err = cli("calibrate", "--raters", "e1,e2", "--against", "e1", "--db", "a.db")
    assert code == 2 and "never compared with itself" in err and "medjudge agreement" in err
    code, out, err = cli("agreement", "--raters", "e1,e2", "--items-of", "bot", "--db", "a.db", "--resamples", "0",
                         "--json", "g.json")
    assert code == 0, err
    assert json.loads((tmp_path / "g.json").read_text())[0]["stats"]["unanimous"]["estimate"] == 1.0


def test_values_that_never_overlap_are_warned_about(cli, tmp_path):
    rows = [(f"i{i}", "nli", "e1", "expert", v) for i, v in enumerate([2, 1, 0, 2, 1] * 4)]
    rows += [(f"i{i}", "nli", "bot", "llm_judge", v) for i, v in enumerate([-1, -1, -1, 3, 3] * 4)]
    assert cli("annotations", "import", labelled(tmp_path, rows), "--db", "a.db")[0] == 0
    code, out, err = cli("calibrate", "--raters", "bot", "--value-type", "nominal", "--db", "a.db", "--resamples", "20")
    assert "warning: bot's values [-1.0, 3.0] and the experts' [0.0, 1.0, 2.0] never overlap" in err


def test_constant_judge_is_undefined_not_minus_zero_and_headers_are_whole(cli, tmp_path, monkeypatch):
    rows = []
    for i in range(30):
        rows += [(f"i{i}", "d", "e1", "expert", 1 + i % 5), (f"i{i}", "d", "bot", "llm_judge", 3)]
    assert cli("annotations", "import", labelled(tmp_path, rows), "--db", "a.db")[0] == 0
    monkeypatch.delenv("COLUMNS")  # not a terminal: the table must not be cut at 80 columns
    code, out, err = cli("calibrate", "--raters", "bot", "--db", "a.db", "--json", "c.json", "--resamples", "50")
    (r,) = json.loads((tmp_path / "c.json").read_text())["results"]
    assert r["stats"]["ICC(C,1)"]["estimate"] is None and r["stats"]["ICC(C,1)"]["undefined"]
    assert r["stats"]["spearman"]["estimate"] is None and r["stats"]["accuracy"]["estimate"] == 0.2
    assert "-0.000" not in out and "undefined" in out
    assert "ICC(A,1)" in out and "ICC(C,1)" in out and "spearman" in out  # whole headers


def test_nominal_value_type_has_macro_f1_in_the_table(cli, tmp_path):
    labels = ["entailed", "neutral", "contradicted"]
    rows = []
    for i in range(30):
        rows += [(f"i{i}", "nli", "e1", "expert", labels[i % 3]), (f"i{i}", "nli", "bot", "llm_judge", labels[(i // 2) % 3])]
    f = labelled(tmp_path, rows)
    write(tmp_path / "r.yaml", "id: r\nversion: 1\nkind: nli\ntitle: t\nstatement_field: statement\n")
    assert cli("annotations", "import", f, "--rubric", tmp_path / "r.yaml", "--db", "a.db")[0] == 0
    code, out, err = cli("calibrate", "--raters", "bot", "--value-type", "nominal", "--db", "a.db", "--json", "c.json",
                         "--resamples", "20")
    (r,) = json.loads((tmp_path / "c.json").read_text())["results"]
    # macro-F1 by hand: per class F1 = 2 tp / (judged + true), averaged over the three classes
    judge = {f"i{i}": (i // 2) % 3 for i in range(30)}
    truth = {f"i{i}": i % 3 for i in range(30)}
    f1 = []
    for c in range(3):
        tp = sum(judge[k] == c and truth[k] == c for k in judge)
        f1.append(2 * tp / (sum(v == c for v in judge.values()) + sum(v == c for v in truth.values())))
    assert abs(r["stats"]["macro_f1"]["estimate"] - sum(f1) / 3) < 1e-12
    assert r["value_type"] == "nominal" and "macro_f1" in out
