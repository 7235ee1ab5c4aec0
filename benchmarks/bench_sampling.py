"""Uniform, stratified and active samples on the LiveQA development set, through the CLI (in-process), by hand.

A panel of two judges grades the 292 answers: one lenient (the expert's grade + 1 on two answers in three, as in
tests/test_estimate.py), one that gives the expert's grade; the panel's verdict is their mean, so the panel errs
exactly where its two judges disagree. For each seed and strategy: `medjudge sample RUN --strategy S --n N`, then
`medjudge estimate RUN --labels S --json`, with every expert label imported (only the sample's enter). Prints,
per strategy, the labels drawn, the coverage of the 292-label mean and the mean squared half-width relative to
uniform's (the labels a strategy needs for uniform's half-width, as a share).

    python benchmarks/bench_sampling.py [SEEDS] [N]      # figures in docs/ESTIMATE.md
    python benchmarks/bench_sampling.py kqa [SEEDS] [N]  # the K-QA NLI development set

K-QA (205 answer x statement pairs labelled by three physicians; the estimand is the hallucination rate, the
share of physicians who read the statement as contradicted): one judge that gives the physicians' majority label
except that it never sees a contradiction in one source's answers (bard: it says neutral), so its error depends on
the source. Uniform against stratified by source with a uniform pilot of 40 labels guiding the allocation
(`sample --strategy stratified --by source --pilot pilot`); active is not possible (one vote a unit).
"""

import csv
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import contextlib  # noqa: E402
import io  # noqa: E402

from medjudge.cli import main  # noqa: E402
from medjudge.models.fakellm import FakeLLM, fields_of  # noqa: E402

LIVEQA = Path(__file__).resolve().parents[1] / "tests" / "data" / "liveqa-medquad-graded"
KQA = Path(__file__).resolve().parents[1] / "tests" / "data" / "kqa-nli-physicians"


def run_cli(db):
    def cli(*args, allowed=(0,)):
        out, code = io.StringIO(), 0
        with contextlib.redirect_stdout(out):
            try:
                main([*map(str, args), "--db", db])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 0
        if code not in allowed:
            raise SystemExit(f"{args}: exit {code}: {out.getvalue()}")
        return out.getvalue()
    return cli


def kqa(seeds: int = 30, n: int = 80) -> None:
    from collections import Counter

    expert: dict = {}
    for r in csv.DictReader(open(KQA / "annotations.csv")):
        expert.setdefault(r["item_id"], []).append(r["value"])
    items = [json.loads(line) for line in (KQA / "answers.jsonl").read_text().splitlines()]
    truth = sum(v.count("contradicted") / len(v) for v in expert.values() if v) / len(expert)
    said = {}
    for it in items:
        majority = Counter(expert[it["id"]]).most_common(1)[0][0]
        blind = it.get("source") == "bard" and majority == "contradicted"
        said[(it["answer"][:300], it["statement"])] = "neutral" if blind else majority

    def judge(request):
        f = fields_of(request)
        answer = f["answer"].strip()
        key = next(k for k in said if k[1] in f["statement"] and answer.startswith(k[0][:200]))
        return {"explanation": "", "relation": said[key]}

    with tempfile.TemporaryDirectory() as tmp, FakeLLM() as fake:
        db = str(Path(tmp) / "k.db")
        fake.responder = judge
        cli = run_cli(db)
        cli("grade", KQA / "answers.jsonl", "--rubric", "kqa-pairs", "--judge", fake.judge(), "-q")
        run_id = json.loads(cli("runs", "--json"))[0]["id"]
        cli("annotations", "import", KQA / "annotations.csv", "--rubric", "kqa-pairs")
        out = {s: {"covered": 0, "hw2": [], "none": 0} for s in ("uniform", "stratified")}
        for seed in range(seeds):
            cli("sample", run_id, "--n", 40, "--seed", 1000 + seed, "--name", f"pilot-{seed}")
            for strategy in out:
                name = f"{strategy}-{seed}"
                extra = ["--by", "source", "--pilot", f"pilot-{seed}"] if strategy == "stratified" else []
                cli("sample", run_id, "--strategy", strategy, "--n", n, "--seed", seed, "--name", name, *extra)
                path = Path(tmp) / f"{name}.json"
                cli("estimate", run_id, "--labels", name, "--by", "none", "--json", path, allowed=(0, 5))
                row = json.loads(path.read_text())["rows"][0]
                lo, hi = row["corrected"]["ci"]
                if lo is None:  # the labels all alike: no interval (exit 5), counted
                    out[strategy]["none"] += 1
                    continue
                out[strategy]["covered"] += lo <= truth <= hi
                out[strategy]["hw2"].append(((hi - lo) / 2) ** 2)
    base = sum(out["uniform"]["hw2"]) / max(1, len(out["uniform"]["hw2"]))
    print(f"K-QA NLI development set, 205 pairs, truth (hallucination rate over the physicians) {truth:.3f}; "
          f"{seeds} seeds, n = {n}, pilot 40")
    for strategy, r in out.items():
        hw2 = sum(r["hw2"]) / max(1, len(r["hw2"]))
        print(f"{strategy:>10}: no interval {r['none']}/{seeds} (labels all alike), coverage {r['covered']}/"
              f"{seeds - r['none']} of the others, mean half-width {(hw2 ** 0.5):.3f}, labels needed relative to "
              f"uniform {hw2 / base:.2f}")


def bench(seeds: int = 40, n: int = 60) -> None:
    grade = {r["item_id"]: int(r["value"]) for r in csv.DictReader(open(LIVEQA / "annotations.csv"))}
    items = [json.loads(line) for line in (LIVEQA / "answers.jsonl").read_text().splitlines()]
    truth = sum(grade.values()) / len(grade)
    said = {}
    for i, it in enumerate(items):
        said.setdefault((it["prompt"][:200], it["answer"][:300]), (grade[it["id"]], i % 3 != 0))

    def judge(request):
        f = fields_of(request)
        key = next(k for k in said if k[0] in f["conversation"] and f["answer"].strip().startswith(k[1][:200]))
        g, lenient = said[key]
        return {"explanation": "", "score": min(4, g + lenient) if request.get("model") == "lenient" else g}

    with tempfile.TemporaryDirectory() as tmp, FakeLLM() as fake:
        db = str(Path(tmp) / "s.db")
        fake.responder = judge

        cli = run_cli(db)

        cli("grade", LIVEQA / "answers.jsonl", "--rubric", "trec-liveqa-med", "--judge", fake.judge("lenient"),
            "--judge", fake.judge("accurate"), "-q")
        run_id = json.loads(cli("runs", "--json"))[0]["id"]
        cli("annotations", "import", LIVEQA / "annotations.csv", "--rubric", "trec-liveqa-med")
        out = {s: {"covered": 0, "hw2": [], "labels": []} for s in ("uniform", "stratified", "active")}
        for seed in range(seeds):
            for strategy in out:
                name = f"{strategy}-{seed}"
                cli("sample", run_id, "--strategy", strategy, "--n", n, "--seed", seed, "--name", name)
                path = Path(tmp) / f"{name}.json"
                cli("estimate", run_id, "--labels", name, "--json", path)
                row = json.loads(path.read_text())["rows"][0]
                lo, hi = row["corrected"]["ci"]
                out[strategy]["covered"] += lo <= truth <= hi
                out[strategy]["hw2"].append(((hi - lo) / 2) ** 2)
                out[strategy]["labels"].append(row["labelled"])
    base = sum(out["uniform"]["hw2"]) / seeds
    print(f"LiveQA development set, 292 answers, truth (mean expert grade) {truth:.3f}; {seeds} seeds, n = {n}")
    for strategy, r in out.items():
        hw2 = sum(r["hw2"]) / seeds
        print(f"{strategy:>10}: labels {sum(r['labels']) / seeds:.1f} on average, coverage {r['covered']}/{seeds}, "
              f"mean half-width {(hw2 ** 0.5):.3f}, labels needed relative to uniform {hw2 / base:.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["kqa"]:
        kqa(*(int(a) for a in sys.argv[2:4]))
    else:
        bench(*(int(a) for a in sys.argv[1:3]))
