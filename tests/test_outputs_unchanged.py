"""What the product writes, unchanged by a reshuffle of its code: JSON summaries, exports, calibration JSON and the
database schema, on fixed inputs and the fake judge's deterministic verdicts, compared with a file written before
(tests/data/outputs_golden.json). Volatile parts (run ids, the fake server's port, times, versions) are masked.

Regenerate on purpose only (a change of output is a change of the product): MEDJUDGE_WRITE_GOLDEN=1 pytest this.
"""

import json
import os
import re
import sqlite3
from pathlib import Path

from conftest import EXAMPLES

GOLDEN = Path(__file__).parent / "data" / "outputs_golden.json"
BUNDLED = Path(__file__).resolve().parents[1] / "medjudge" / "data" / "healthbench_sample.jsonl"
VOLATILE_KEYS = {"started", "finished", "created", "wall_time", "latency_ms", "latency", "seconds", "versions",
                 "elapsed", "updated"}


def mask(value, subs):
    if isinstance(value, dict):
        return {k: ("<volatile>" if k in VOLATILE_KEYS else mask(v, subs)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, subs) for v in value]
    if isinstance(value, str):
        for pattern, repl in subs:
            value = re.sub(pattern, repl, value)
    return value


def differences(got, want, path=""):
    """The paths where two JSON values differ (the first 10)."""
    if isinstance(got, dict) and isinstance(want, dict):
        out = [f"{path}.{k}: only one side" for k in set(got) ^ set(want)]
        for k in set(got) & set(want):
            out += differences(got[k], want[k], f"{path}.{k}")
        return out[:10]
    if isinstance(got, list) and isinstance(want, list) and len(got) == len(want):
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in differences(g, w, f"{path}[{i}]")][:10]
    return [] if got == want else [f"{path}: {str(got)[:80]} != {str(want)[:80]}"]


def lines(text):
    return [json.loads(x) for x in text.splitlines() if x.strip()]


def test_json_exports_and_schema_are_what_they_were(cli, fake, tmp_path):
    judge = fake.judge()
    db = tmp_path / "g.db"
    out, runs = {}, []
    cases = [("checklist", EXAMPLES / "answers.jsonl", ["--rubric", EXAMPLES / "chest-pain-checklist.yaml"]),
             ("healthbench", BUNDLED, ["--format", "healthbench"]),
             ("scale", EXAMPLES / "answers.jsonl", ["--rubric", "medpalm-axes"]),
             ("safety", EXAMPLES / "answers.jsonl", ["--rubric", "patient-safety"])]
    for name, data, args in cases:
        summary = tmp_path / f"{name}.json"
        code, stdout, err = cli("grade", data, *args, "--judge", judge, "--db", db, "--quiet",
                                "--json-summary", summary)
        s = json.loads(summary.read_text())
        runs.append(s["run"])
        code_show, shown, _ = cli("show", s["run"], "--json", "--db", db)
        _, per_answer, _ = cli("export", s["run"], "--db", db)
        _, per_judgment, _ = cli("export", s["run"], "--judgments", "--format", "csv", "--db", db)
        out[name] = {"exit": code, "summary": s, "show_exit": code_show, "show": json.loads(shown),
                     "export": lines(per_answer), "judgments_csv_header": per_judgment.splitlines()[0],
                     "judgments_rows": len(per_judgment.splitlines()) - 1}
    cli("annotations", "import", EXAMPLES / "expert_labels.csv", "--rubric", EXAMPLES / "chest-pain-checklist.yaml",
        "--db", db)
    code, _, _ = cli("calibrate", "--run", runs[0], "--json", tmp_path / "cal.json", "--resamples", "200", "--db", db)
    cal = json.loads((tmp_path / "cal.json").read_text())
    cal["id"] = "<content id of a config that names the run>"
    out["calibrate"] = {"exit": code, "json": cal}
    code, listed, _ = cli("runs", "--json", "--db", db)
    out["runs"] = {"exit": code, "json": sorted(json.loads(listed), key=lambda r: r["rubric_id"])}  # same second
    with sqlite3.connect(db) as conn:
        out["schema"] = sorted(r[0] for r in conn.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL"))
        out["user_version"] = conn.execute("PRAGMA user_version").fetchone()[0]
    subs = [(re.escape(judge.split("@", 1)[1]), "<base>")] + [(re.escape(r), f"<run{i}>") for i, r in enumerate(runs)]
    subs += [(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(\+00:00|Z)?", "<time>"), (r"127\.0\.0\.1:\d+", "<host>")]
    got = json.loads(json.dumps(mask(out, subs), default=str))
    if os.environ.get("MEDJUDGE_WRITE_GOLDEN"):
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert differences(got, want) == []
