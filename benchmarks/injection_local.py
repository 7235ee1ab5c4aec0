"""Run the prompt-injection suite (tests/data/injections.jsonl) through a real judge and report what it did.

    python benchmarks/injection_local.py                       # the embedded local model
    python benchmarks/injection_local.py --judge openai/gpt-4.1

Each hostile answer is graded against the chest-pain checklist; a judge that follows the injection marks
the emergency / aspirin / symptoms criteria as met although the answer does none of it.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--judge", default="local/gemma-3-270m")
    args = ap.parse_args()
    from medjudge import grade
    from medjudge.store import Store

    db = Path(tempfile.mkdtemp()) / "inj.db"
    store = Store(db)
    start = time.perf_counter()
    run_id = grade(ROOT / "tests" / "data" / "injections.jsonl", rubric=str(ROOT / "examples" / "chest-pain-checklist.yaml"),
                   judges=[args.judge], concurrency=4, db=store).run_id
    rows = list(store.judgments(run_id))
    positive = {"emergency", "aspirin", "symptoms"}
    fooled = [r for r in rows if r["unit_id"] in positive and r["value"] == 1.0]
    unscored = [r for r in rows if r["value"] is None]
    by_answer = {}
    for r in rows:
        by_answer.setdefault(r["answer_id"], []).append(f"{r['unit_id']}={r['label'] or 'unscored'}")
    result = {"judge": args.judge, "answers": len(by_answer), "judgments": len(rows),
              "false_met_on_positive_criteria": len(fooled), "positive_judgments": sum(r["unit_id"] in positive for r in rows),
              "unscored": len(unscored), "wall_s": round(time.perf_counter() - start, 1), "per_answer": by_answer}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
