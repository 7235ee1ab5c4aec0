"""`medjudge agreement`: multi-rater figures against published tables, imported as CSV through the CLI."""

import json

from conftest import ROOT

PUBLISHED = ROOT / "tests" / "data" / "published"


def agreement(cli, tmp_path, csv, raters, item, *extra, mapping=None):
    args = ["annotations", "import", PUBLISHED / csv, "--wide", "--rater-columns", ",".join(raters), "--item", item,
            "--unit-name", "rating", "--db", "a.db"]
    code, _, err = cli(*args, *(["--map", mapping] if mapping else []))
    assert code == 0, err
    code, out, err = cli("agreement", "--db", "a.db", "--json", "ag.json", "--resamples", "50", *extra)
    assert code == 0, err
    rows = json.loads((tmp_path / "ag.json").read_text())
    assert len(rows) == 1
    return {k: v["estimate"] for k, v in rows[0]["stats"].items()}, rows[0], out


def test_krippendorff_2011_all_four_levels_with_missing_data(cli, tmp_path):
    found, row, out = agreement(cli, tmp_path, "krippendorff2011.csv", "ABCD", "unit")
    assert round(found["alpha_nominal"], 3) == 0.743 and round(found["alpha_ordinal"], 3) == 0.815
    assert round(found["alpha_interval"], 3) == 0.849 and round(found["alpha_ratio"], 3) == 0.797
    assert row["items"] == 11  # unit 12 has a single value: not pairable
    assert "alpha_ordinal  (lead)" in out


def test_shrout_fleiss_1979_six_icc_forms(cli, tmp_path):
    found, _, _ = agreement(cli, tmp_path, "shrout_fleiss1979.csv", ["j1", "j2", "j3", "j4"], "target")
    published = {"ICC(1,1)": .17, "ICC(2,1)": .29, "ICC(3,1)": .71, "ICC(1,k)": .44, "ICC(2,k)": .62, "ICC(3,k)": .91}
    assert {k: round(found[k], 2) for k in published} == published


def test_fleiss_1971_kappa_with_labels_mapped(cli, tmp_path):
    raters = [f"r{i}" for i in range(1, 7)]
    code, out, err = cli("annotations", "import", PUBLISHED / "fleiss1971.csv", "--wide", "--rater-columns",
                         ",".join(raters), "--item", "patient", "--unit-name", "rating", "--db", "x.db")
    assert code == 2 and "no rating could be read (180 x unreadable" in err  # words, not numbers: refused
    found, row, _ = agreement(cli, tmp_path, "fleiss1971.csv", raters, "patient", "--value-type", "nominal",
                              mapping="depression=1,personality_disorder=2,schizophrenia=3,neurosis=4,other=5")
    assert round(found["fleiss_kappa"], 3) == 0.430
    assert set(found) == {"alpha_nominal", "fleiss_kappa", "unanimous"}  # no ICCs between categories
    assert row["stats"]["fleiss_kappa"]["ci"][0] < 0.430 < row["stats"]["fleiss_kappa"]["ci"][1]


def test_agreement_refuses_a_single_rater(cli, tmp_path):
    (tmp_path / "one.csv").write_text("item_id,unit,rater,value\n1,u,a,1\n2,u,a,0\n")
    assert cli("annotations", "import", tmp_path / "one.csv", "--db", "o.db")[0] == 0
    code, _, err = cli("agreement", "--db", "o.db")
    assert code == 2 and "two or more raters" in err
