"""Issue 35: HealthBench's meta-evaluation end to end. The committed synthetic meta-eval file (the real format; 300
lines, 10 categories in the 7 themes, 8 physicians of whom some label too rarely to count, one category where the
negative class is never used) is graded with a fake judge giving the verdicts of judge_verdicts.json, its physicians'
labels imported from the same file, and `calibrate --rules healthbench` compared with the figures openai/simple-evals'
own code gives on it (tests/data/healthbench-meta/make_reference.py: healthbench_meta_eval.py and the analysis
notebook), to 1e-12, per theme, per category and overall."""

import json

import pytest

from conftest import ROOT

META = ROOT / "tests" / "data" / "healthbench-meta"


@pytest.fixture
def graded(cli, fake):
    from medjudge.models.fakellm import fields_of

    verdicts = json.loads((META / "judge_verdicts.json").read_text())
    lines = [json.loads(x) for x in (META / "meta_eval.jsonl").read_text().splitlines()]
    by_text = {(x["completion"], x["rubric"]): verdicts[f"{x['completion_id']}|{x['rubric']}"] for x in lines}

    def judge(request):
        f = fields_of(request)
        criterion = f["criterion"].split("] ", 1)[1]
        return {"explanation": "", "criteria_met": by_text[(f["answer"].strip(), criterion.strip())]}

    fake.responder = judge
    code, out, err = cli("grade", META / "meta_eval.jsonl", "--format", "healthbench-meta", "--judge", fake.judge(),
                         "-q", "--db", "m.db")
    assert code == 0, err
    run_id = json.loads(cli("runs", "--json", "--db", "m.db")[1])[0]["id"]
    code, out, err = cli("annotations", "import", META / "meta_eval.jsonl", "--format", "healthbench-meta", "--db", "m.db")
    assert code == 0, err
    return run_id, lines


def figures(cli, tmp_path, run_id, by):
    code, out, err = cli("calibrate", "--run", run_id, "--rules", "healthbench", "--by", by, "--resamples", "0",
                         "--json", tmp_path / f"{by}.json", "--db", "m.db")
    assert "HealthBench rules" in out, err
    return {r["group"]: r for r in json.loads((tmp_path / f"{by}.json").read_text())["healthbench"]}


def test_healthbench_figures_equal_simple_evals_per_theme_category_and_overall(graded, cli, tmp_path):
    run_id, lines = graded
    expected = json.loads((META / "expected.json").read_text())
    got = figures(cli, tmp_path, run_id, "theme")
    assert set(got) == set(expected["theme"])
    for theme, want in expected["theme"].items():
        row = got[theme]
        assert row["judged_rows"] == row["rows"]
        assert row["physicians_kept"] == want["physicians_kept"]
        assert row["judge_macro_f1"] == pytest.approx(want["judge"], abs=1e-12)
        assert row["physician_average"] == pytest.approx(want["physician_average"], abs=1e-12)
        assert row["percentile"] == pytest.approx(want["percentile"], abs=1e-12)
    assert {r["physicians_kept"] for r in got.values()} != {8}  # the minimum count rule bites in this fixture
    got = figures(cli, tmp_path, run_id, "category")
    for category, want in expected["category"].items():
        row = got[category]
        if want["judge"] is None:  # the degenerate class: no figure, never a perfect one
            assert row["judge_macro_f1"] is None
        else:
            assert row["judge_macro_f1"] == pytest.approx(want["judge"], abs=1e-12)
        for physician, ref in want["physicians"].items():
            mine = row["physicians"][physician]
            assert mine["n"] == pytest.approx(ref["n"], abs=1e-9)
            assert (mine["value"] is None) if ref["value"] is None else \
                mine["value"] == pytest.approx(ref["value"], abs=1e-12)
    (row,) = figures(cli, tmp_path, run_id, "none").values()
    assert row["judge_macro_f1"] == pytest.approx(expected["overall"]["judge"], abs=1e-12)
    for physician, ref in expected["overall"]["physicians"].items():
        assert row["physicians"][physician]["value"] == pytest.approx(ref["value"], abs=1e-12)


def test_the_judge_joins_the_physicians_by_construction(graded, cli, tmp_path):
    """Grading and importing the same file need no ids: the calibration pairs every line the judge graded with
    its physicians' labels, and the medjudge rules' table also runs by theme."""
    run_id, lines = graded
    code, out, err = cli("calibrate", "--run", run_id, "--by", "theme", "--resamples", "0", "--json",
                         tmp_path / "c.json", "--db", "m.db")
    rows = json.loads((tmp_path / "c.json").read_text())["results"]
    assert {r["group"] for r in rows} == {f"theme:{t}" for t in ("emergency", "communication", "hedging", "complex",
                                                                  "health", "global", "context")}
    assert sum(r["items"] for r in rows) == len({(x["completion_id"], x["rubric"]) for x in lines})
    code, out, err = cli("calibrate", "--run", run_id, "--rules", "healthbench", "--resamples", "0", "--json",
                         tmp_path / "d.json", "--db", "m.db")  # no --by: HealthBench's table is per theme
    groups = {r["group"] for r in json.loads((tmp_path / "d.json").read_text())["healthbench"]}
    assert groups == {"emergency", "communication", "hedging", "complex", "health", "global", "context"}, err
    code, out, err = cli("grade", META / "meta_eval.jsonl", "--format", "healthbench-meta", "--judge", "openai/gpt-4.1",
                         "--dry-run", "--sample-rows", "100", "--db", "m.db")
    assert code == 0 and "100" in out, err


def test_main_eval_scores_equal_simple_evals(cli, fake):
    """Issue 35, item 5: `grade --format healthbench` keeps matching simple-evals' HealthBenchEval example by
    example and tag by tag (expected values from its own code: tests/data/healthbench-main/make_reference.py)."""
    import hashlib

    from medjudge.models.fakellm import fields_of

    expected = json.loads((ROOT / "tests" / "data" / "healthbench-main" / "expected.json").read_text())

    def judge(request):
        criterion = fields_of(request)["criterion"].split("] ", 1)[1].strip()
        return {"explanation": "", "criteria_met": hashlib.sha1(criterion.encode()).hexdigest()[-1] not in "01234"}

    fake.responder = judge
    sample = ROOT / "medjudge" / "data" / "healthbench_sample.jsonl"
    assert cli("grade", sample, "--format", "healthbench", "--judge", fake.judge(), "-q", "--db", "h.db")[0] == 0
    run_id = json.loads(cli("runs", "--json", "--db", "h.db")[1])[0]["id"]
    shown = json.loads(cli("show", run_id, "--json", "--db", "h.db")[1])
    assert shown["overall"]["score"] == pytest.approx(expected["score"], abs=1e-12)
    for tag, value in expected["tags"].items():
        assert shown["tags"][tag]["score"] == pytest.approx(value, abs=1e-12), tag
    rows = [json.loads(x) for x in cli("export", run_id, "--db", "h.db")[1].splitlines()]
    scores = {r["answer_id"]: r["score"] for r in rows}
    assert scores == pytest.approx(expected["examples"], abs=1e-12)
