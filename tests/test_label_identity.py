"""A label belongs to the answer a physician read (issue 29): two systems answering the same prompts never share a
label, every command reads labels the one way (labels/identity.py), imports resolve ids to answers or refuse,
calibration counts the labelled items a run never judged, labels remember their value type, old databases keep
every label."""

import csv
import json
import sqlite3

import pytest

from conftest import EXAMPLES, write
from test_grade import db_rows

RUBRIC = EXAMPLES / "chest-pain-checklist.yaml"
UNITS = ("emergency", "aspirin", "symptoms", "reassure")


def answers(system: str) -> list[dict]:
    """The example answers under their own ids; system B answers the same prompts differently."""
    rows = [json.loads(line) for line in (EXAMPLES / "answers.jsonl").read_text().splitlines()]
    if system == "B":  # B answers the same prompts in its own words (one same text on another prompt would share)
        rows = [dict(r, answer=r["answer"] + " (This is general information, not a diagnosis.)", source="sys-b")
                for r in rows]
    return rows


def run_ids(cli, db="t.db") -> set:
    code, out, err = cli("runs", "--json", "--db", db)
    return {r["id"] for r in json.loads(out)} if code == 0 else set()


def grade(cli, *args, db="t.db") -> str:
    """Grade, and return the new run's id."""
    before = run_ids(cli, db)
    code, out, err = cli("grade", *args, "--db", db, "-q")
    assert code == 0, err
    (new,) = run_ids(cli, db) - before
    return new


@pytest.fixture
def two_systems(cli, fake, tmp_path):
    """sysA and sysB graded on the same prompt ids: (run A, run B)."""
    ids = {}
    for system in ("A", "B"):
        write(tmp_path / f"{system}.jsonl", "".join(json.dumps(a) + "\n" for a in answers(system)))
        ids[system] = grade(cli, f"{system}.jsonl", "--rubric", RUBRIC, "--judge", fake.judge())
    return ids["A"], ids["B"]


def label_file(tmp_path, run_id, raters=("dr_a", "dr_b"), flip_every=4, name="labels.csv"):
    """Both raters label every unit of a run's answers with the panel's verdict (dr_b flips every fourth)."""
    from medjudge.store import Store
    from medjudge.stored import StoredRun

    store = Store(tmp_path / "t.db")
    panel = StoredRun(store, run_id).verdicts.panel
    with open(tmp_path / name, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "unit_id", "rater", "value"])
        for i, ((a, u), agg) in enumerate(sorted(panel.items())):
            for r in raters:
                v = agg.value if r == "dr_a" or i % flip_every else 1 - agg.value
                w.writerow([a, u, r, "met" if v else "unmet"])
    store.close()
    return tmp_path / name


def test_two_systems_labels_on_a_are_seen_on_a_only(cli, two_systems, tmp_path):
    run_a, run_b = two_systems
    path = label_file(tmp_path, run_a)
    # the ids name two different answers: an import without --run is refused, in one line that says the fix
    code, out, err = cli("annotations", "import", path, "--rubric", RUBRIC, "--db", "t.db")
    assert code == 2 and "names 2 different answers" in err and "--run RUN_ID" in err and len(err.strip().splitlines()) == 1
    assert db_rows(tmp_path / "t.db", "SELECT COUNT(*) AS n FROM annotations")[0]["n"] == 0
    code, out, err = cli("annotations", "import", path, "--run", run_a, "--db", "t.db")  # the run's rubric reads met/unmet
    assert code == 0 and "24 valid" in out, out + err
    rows = db_rows(tmp_path / "t.db", "SELECT label_key, value_type FROM annotations")
    assert all(r["label_key"].startswith("k") for r in rows) and {r["value_type"] for r in rows} == {"binary"}

    # calibrate: A has its experts and a ceiling; B has no paired rating at all
    code, out, err = cli("calibrate", "--run", run_a, "--db", "t.db", "--json", "ca.json", "--resamples", "50")
    assert code in (0, 5), err
    rows_a = json.loads((tmp_path / "ca.json").read_text())["results"]
    assert sum(r["items"] for r in rows_a) == 12 and all(r["ceiling"]["items"] == r["items"] for r in rows_a)
    code, out, err = cli("calibrate", "--run", run_b, "--db", "t.db", "--json", "cb.json", "--resamples", "50")
    assert code == 2 and "no expert labels on the answers of run" in err and "24 are on other answers" in err
    # agreement on a run's items: the experts' ceiling on A; nothing on B
    code, out, err = cli("agreement", "--run", run_a, "--db", "t.db", "--json", "ga.json", "--resamples", "20")
    assert code == 0 and sum(r["items"] for r in json.loads((tmp_path / "ga.json").read_text())) == 12
    code, out, err = cli("agreement", "--run", run_b, "--db", "t.db", "--json", "gb.json", "--resamples", "20")
    assert code == 2 and "no expert labels on the units run" in err and "0 on its answers, 24 on other answers" in err

    # estimate (through a drawn sample), probe's expert reference, optimize's gold labels, the report, review
    from medjudge import api
    from medjudge.calibration.estimate import expert_values
    from medjudge.labels.review import export, rater_labels
    from medjudge.store import Store
    from medjudge.stored import StoredRun
    from medjudge.view.report import _expert_labels

    store = Store(tmp_path / "t.db")
    a, b = StoredRun(store, run_a), StoredRun(store, run_b)
    assert len(expert_values(store, a, float)) == 12 and expert_values(store, b, float) == {}
    assert len(_expert_labels(store, a)) == 12 and _expert_labels(store, b) == {}
    for run_id, expected in ((run_a, 12), (run_b, 0)):
        api.sample(tmp_path / "t.db", run_id, 12, name="all")
        res = api.estimate(tmp_path / "t.db", run_id, labels="all")
        assert res.counts["labelled"] == expected
    from medjudge.optimizing import OptimizeConfig, gold_units
    from medjudge.rubrics import load_rubric

    items, units, _ = gold_units(store, OptimizeConfig(input_path=run_a, rubric=str(RUBRIC), judge={}),
                                 load_rubric(str(RUBRIC)))
    assert len(units) == 12
    with pytest.raises(Exception, match="no expert labels"):
        gold_units(store, OptimizeConfig(input_path=run_b, rubric=str(RUBRIC), judge={}), load_rubric(str(RUBRIC)))

    # review: a label given on B's answer never changes A's; each run's page and export see its own
    from medjudge.labels.review import choose, save_label, unit_objects

    name, chosen = choose(store, b, "random", None)
    key = ("a1", "emergency")
    before = [r["value"] for r in db_rows(tmp_path / "t.db", "SELECT value FROM annotations WHERE item_id = 'a1' "
                                          "AND unit_id = 'emergency' AND rater = 'dr_a'")]
    b_value = 1 - a.verdicts.panel[key].value
    save_label(store, b, name, chosen, unit_objects(b, chosen), "dr_a", *key, b_value)
    assert expert_values(store, a, float, ["dr_a"])[key] == before[0]
    assert rater_labels(store, b, "dr_a")[key]["value"] == b_value and key not in rater_labels(store, a, "dr_a")
    assert export(store, a, tmp_path / "ea.csv")["labels"] == 0  # A's labels came from a file, not a review page
    assert export(store, b, tmp_path / "eb.csv")["labels"] == 1
    assert api.calibrate(tmp_path / "t.db", run=run_a, resamples=20).inputs["labels"]["joined"] == 24


def test_same_answers_share_labels_and_unambiguous_ids_join(cli, fake, tmp_path):
    """Two judges on one answers file share its labels; labels imported by id alone join where the id names one
    answer in the database (here: no run yet when they were imported)."""
    write(tmp_path / "A.jsonl", "".join(json.dumps(a) + "\n" for a in answers("A")))
    path = tmp_path / "labels.csv"
    write(path, "item_id,unit_id,rater,value\n" + "".join(f"{a},{u},dr_a,unmet\n" for a in ("a1", "a2", "a3")
                                                            for u in UNITS))
    code, out, err = cli("annotations", "import", path, "--rubric", RUBRIC, "--db", "t.db")
    assert code == 0 and "12 valid" in out, err
    runs = []
    for judge in ("j1", "j2"):
        runs.append(grade(cli, "A.jsonl", "--rubric", RUBRIC, "--judge", fake.judge(judge)))
    from medjudge.labels.identity import for_run
    from medjudge.store import Store
    from medjudge.stored import StoredRun

    store = Store(tmp_path / "t.db")
    for run_id in runs:
        found = for_run(store, StoredRun(store, run_id))
        assert found.counts["joined"] == 12 and found.counts["by_id"] == 12 and found.counts["ambiguous"] == 0


def test_calibration_counts_labelled_items_the_run_never_judged(cli, fake, tmp_path):
    """A --limit run: coverage stands over the items the experts rated; the ceiling on the judge's items only."""
    rows = answers("A") + [dict(r, id=f"x{i}", answer=r["answer"] + f" (again {i})") for i, r in enumerate(answers("A"))]
    write(tmp_path / "A.jsonl", "".join(json.dumps(a) + "\n" for a in rows))
    with open(tmp_path / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "unit_id", "rater", "value"])
        for r in rows:
            for u in UNITS:
                for rater in ("dr_a", "dr_b"):
                    w.writerow([r["id"], u, rater, "met" if u == "emergency" else "unmet"])
    code, out, err = cli("annotations", "import", "labels.csv", "--rubric", RUBRIC, "--db", "t.db")
    assert code == 0, err
    run_id = grade(cli, "A.jsonl", "--rubric", RUBRIC, "--judge", fake.judge(), "--limit", "3")
    code, out, err = cli("calibrate", "--run", run_id, "--db", "t.db", "--json", "c.json", "--resamples", "20")
    assert code == 5 and "insufficient coverage" in err, out + err
    results = json.loads((tmp_path / "c.json").read_text())
    assert results["inputs"]["labels"]["never_judged"] == 24  # 3 items x 4 units x 2 raters
    for r in results["results"]:
        assert r["coverage"]["expected"] == 6 and r["coverage"]["scored"] == 3 and r["coverage"]["share"] == 0.5
        assert r["verdict"] == "insufficient coverage"
        assert r["ceiling"]["items"] == r["items"] == 3  # the ceiling on exactly the judge's items
    assert "labels left out" not in out  # never-judged items are in the coverage, not a side note


def test_old_database_keeps_every_label_and_joins_only_unambiguous_ids(cli, two_systems, tmp_path):
    """A version 5 database (labels keyed by item, unit, rater): migrated in place, every label kept; ids that
    name two answers are not joined to either run, and are counted."""
    run_a, run_b = two_systems
    db = tmp_path / "t.db"
    con = sqlite3.connect(db)
    con.execute("DROP TABLE annotations")
    con.execute("CREATE TABLE annotations (item_id TEXT, unit_id TEXT, rater TEXT, rater_kind TEXT, value FLOAT, "
                "raw TEXT, valid INTEGER, problem TEXT, source TEXT, tags TEXT, unit_text TEXT, file TEXT, line INTEGER, "
                "imported TEXT, rationale TEXT, detail TEXT, chosen TEXT, PRIMARY KEY (item_id, unit_id, rater))")
    con.executemany("INSERT INTO annotations (item_id, unit_id, rater, rater_kind, value, valid) VALUES (?, ?, ?, "
                    "'expert', 1.0, 1)", [("a1", "emergency", "dr_a"), ("a1", "aspirin", "dr_a"), ("zz", "emergency", "dr_a")])
    con.execute("PRAGMA user_version = 5")
    con.commit()
    con.close()
    from medjudge.labels.identity import for_run
    from medjudge.store import Store
    from medjudge.stored import StoredRun

    store = Store(db)
    assert len(db_rows(db, "SELECT * FROM annotations")) == 3
    from medjudge.store import SCHEMA_VERSION

    assert db_rows(db, "PRAGMA user_version")[0]["user_version"] == SCHEMA_VERSION == 8
    found = for_run(store, StoredRun(store, run_a))
    assert found.counts["joined"] == 0 and found.counts["ambiguous"] == 2
    assert "2 by an item id that names several answers" in found.left_out()
    # a label under a new key beside the old one: both kept
    store.save_annotations([{"item_id": "a1", "unit_id": "emergency", "rater": "dr_a", "rater_kind": "expert",
                             "value": 0.0, "valid": 1, "label_key": "kxyz"}])
    assert len(db_rows(db, "SELECT * FROM annotations")) == 4


def test_value_type_is_remembered_and_import_errors_say_the_fix(cli, tmp_path):
    write(tmp_path / "nli.csv", "item_id,unit_id,rater,value\n" + "".join(
        f"q{i},s1,{r},{['entailed', 'neutral', 'contradicted'][(i + k) % 3]}\n" for i in range(12)
        for k, r in enumerate(("p1", "p2", "p3"))))
    code, out, err = cli("annotations", "import", "nli.csv", "--db", "n.db")
    assert code == 2 and "--rubric kqa-pairs" in err, err
    code, out, err = cli("annotations", "import", "nli.csv", "--rubric", "kqa-pairs", "--db", "n.db")
    assert code == 0, err
    code, out, err = cli("agreement", "--db", "n.db", "--json", "a.json", "--resamples", "20", "--by", "none")
    assert code == 0, err
    assert json.loads((tmp_path / "a.json").read_text())[0]["value_type"] == "nominal"  # not ordinal from 1/0/-1
    # missing cells as Krippendorff writes them ('.') and NA are missing, never labels and never errors
    write(tmp_path / "wide.csv", "item,r1,r2\n" + "".join(f"i{i},{i % 2},{'.' if i % 3 == 0 else i % 2}\n"
                                                       for i in range(10)) + "i10,NA,1\n")
    code, out, err = cli("annotations", "import", "wide.csv", "--wide", "--rater-columns", "r1,r2", "--unit-name", "u",
                         "--db", "w.db")
    assert code == 0 and "unreadable" not in out and "5 x empty" in out, out + err
    code, out, err = cli("annotations", "import", "wide.csv", "--wide", "--rater-columns", "r1,r2", "--unit-name", "u",
                         "--db", "w2.db", "--missing", "NA")
    assert code == 2 and "unreadable" in out + err


def test_agreement_on_a_judges_items(cli, two_systems, tmp_path):
    """--items-of a run's judge: the units that judge scored; a judge of two runs must be told which."""
    run_a, run_b = two_systems
    path = label_file(tmp_path, run_a)
    code, out, err = cli("annotations", "import", path, "--run", run_a, "--db", "t.db")
    assert code == 0, err
    code, out, err = cli("agreement", "--items-of", "openai/fake-judge", "--db", "t.db")
    assert code == 2 and "judged 2 runs" in err and "--run" in err
    code, out, err = cli("agreement", "--items-of", "openai/fake-judge", "--run", run_a, "--db", "t.db", "--json",
                         "g.json", "--resamples", "20")
    assert code == 0, err
    from medjudge import api

    rows = api.agreement(tmp_path / "t.db", run=run_a, resamples=20).rows
    assert json.loads((tmp_path / "g.json").read_text()) == rows and sum(r["items"] for r in rows) == 12
    assert {r["value_type"] for r in rows} == {"binary"}


def test_a_sample_file_names_its_answers_so_its_labels_join_that_run_only(cli, two_systems, tmp_path):
    """`medjudge sample -o` writes the answer text beside each id: filled in and imported without --run, the labels
    are tied to the sampled run's answers (the answer text picks among the answers that share an id)."""
    run_a, run_b = two_systems
    code, out, err = cli("sample", run_b, "--n", "12", "-o", "to_label.csv", "--db", "t.db")
    assert code == 0, err
    rows = list(csv.DictReader(open(tmp_path / "to_label.csv")))
    with open(tmp_path / "filled.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, list(rows[0]))
        w.writeheader()
        for r in rows:
            w.writerow(dict(r, rater="dr_kim", value="met"))
    code, out, err = cli("annotations", "import", "filled.csv", "--rubric", RUBRIC, "--db", "t.db")
    assert code == 0 and "12 valid" in out, out + err
    from medjudge.labels.identity import for_run
    from medjudge.store import Store
    from medjudge.stored import StoredRun

    store = Store(tmp_path / "t.db")
    assert for_run(store, StoredRun(store, run_b)).counts["joined"] == 12
    assert for_run(store, StoredRun(store, run_a)).counts["joined"] == 0
