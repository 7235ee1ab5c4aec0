"""docs/CALIBRATION.md's worked examples, end to end through the CLI with a scripted judge: import the
physicians' labels, their agreement, grade the labelled answers, calibrate; ids join by construction.
Expected figures are the data sets' published ones or counted by hand here."""

import csv
import json
from collections import Counter, defaultdict

from conftest import ROOT
from medjudge.models.fakellm import fields_of

KQA = ROOT / "tests" / "data" / "kqa-nli-physicians"
LIVEQA = ROOT / "tests" / "data" / "liveqa-medquad-graded"


def labels(folder):
    out = defaultdict(dict)
    with open(folder / "annotations.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            out[r["item_id"]][r["rater"]] = r["value"]
    return out


def items(folder):
    return [json.loads(line) for line in (folder / "answers.jsonl").read_text().splitlines()]


def test_kqa_physicians_workflow(cli, fake, tmp_path):
    expert = labels(KQA)
    code, out, err = cli("annotations", "import", KQA / "annotations.csv", "--rubric", "kqa-pairs", "--db", "k.db")
    assert code == 0 and "615 valid" in out, err
    code, out, err = cli("agreement", "--rubric", "kqa-pairs", "--db", "k.db", "--json", "ag.json", "--resamples", "100")
    assert code == 0, err
    ag = json.loads((tmp_path / "ag.json").read_text())[0]
    assert ag["value_type"] == "nominal" and ag["items"] == 205 and ag["items_all_raters"] == 205
    assert round(ag["stats"]["fleiss_kappa"]["estimate"], 3) == 0.713  # as the data set's README publishes
    assert round(ag["stats"]["alpha_nominal"]["estimate"], 4) == 0.7135
    assert round(ag["stats"]["unanimous"]["estimate"], 3) == 0.780

    # the judge says the physicians' majority label, except on every tenth pair
    said = {}
    for i, it in enumerate(items(KQA)):
        majority = Counter(expert[it["id"]].values()).most_common(1)[0][0]
        said[(it["answer"][:300], it["statement"])] = majority if i % 10 else (
            "neutral" if majority != "neutral" else "entailed")

    def judge(request):
        f = fields_of(request)
        answer = f["answer"].strip()
        key = next(k for k in said if k[1] in f["statement"] and answer.startswith(k[0][:200]))
        return {"explanation": "scripted", "relation": said[key]}

    fake.responder = judge
    code, out, err = cli("grade", KQA / "answers.jsonl", "--rubric", "kqa-pairs", "--judge", fake.judge(), "-q",
                         "--db", "k.db")
    assert code == 0, err
    run_id = json.loads(cli("runs", "--json", "--db", "k.db")[1])[0]["id"]
    code, out, err = cli("calibrate", "--run", run_id, "--db", "k.db", "--json", "c.json", "--resamples", "100")
    assert code in (0, 5), err
    rows = json.loads((tmp_path / "c.json").read_text())["results"]
    assert [r["group"] for r in rows] == ["all"]  # NLI pairs: no grouping by unit
    r = rows[0]
    assert r["value_type"] == "nominal" and r["coverage"]["share"] == 1.0 and r["items"] == 205
    # pooled accuracy counted by hand: the judge's label against each physician's
    by_id = {it["id"]: said[(it["answer"][:300], it["statement"])] for it in items(KQA)}
    pairs = [(by_id[i], lab) for i, raters in expert.items() for lab in raters.values()]
    assert r["stats"]["accuracy"]["estimate"] == sum(a == b for a, b in pairs) / len(pairs)
    assert r["ceiling"]["experts"] == ["kqa-physician-1", "kqa-physician-2", "kqa-physician-3"]
    assert r["ceiling"]["items"] == 205 and "bias" not in r["ceiling"]["stats"]


def test_liveqa_graded_answers_workflow(cli, fake, tmp_path):
    grade = {i: int(v["medquad-assessor"]) for i, v in labels(LIVEQA).items()}
    code, out, err = cli("annotations", "import", LIVEQA / "annotations.csv", "--rubric", "trec-liveqa-med",
                         "--db", "l.db")
    assert code == 0 and "292 valid" in out, err
    said = {}
    for i, it in enumerate(items(LIVEQA)):  # the expert's grade, one level higher on every fourth answer
        said.setdefault((it["prompt"][:200], it["answer"][:300]), min(4, grade[it["id"]] + (i % 4 == 0)))

    def judge(request):
        f = fields_of(request)
        key = next(k for k in said if k[0] in f["conversation"] and f["answer"].strip().startswith(k[1][:200]))
        return {"explanation": "scripted", "score": said[key]}

    fake.responder = judge
    code, out, err = cli("grade", LIVEQA / "answers.jsonl", "--rubric", "trec-liveqa-med", "--judge", fake.judge(),
                         "-q", "--db", "l.db")
    assert code == 0, err
    run_id = json.loads(cli("runs", "--json", "--db", "l.db")[1])[0]["id"]
    code, out, err = cli("calibrate", "--run", run_id, "--db", "l.db", "--json", "c.json", "--resamples", "100")
    assert code in (0, 5), err
    (r,) = json.loads((tmp_path / "c.json").read_text())["results"]
    assert r["group"] == "grade" and r["value_type"] == "ordinal" and r["items"] == 292 and r["ceiling"] is None
    judged = {it["id"]: said[(it["prompt"][:200], it["answer"][:300])] for it in items(LIVEQA)}
    diffs = [judged[i] - grade[i] for i in grade]
    assert r["stats"]["bias"]["estimate"] == sum(diffs) / len(diffs)
    assert r["stats"]["accuracy"]["estimate"] == sum(d == 0 for d in diffs) / len(diffs)
    assert "Calibration, item level, ordinal values" in out
