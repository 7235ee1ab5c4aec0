"""Start-up time of `medjudge --help`, `medjudge rubric validate`, and of `medjudge grade` until its first request
reaches the judge (best of N runs, fresh processes): on a new database on a machine that has not graded with
the judge (LiteLLM works the route out first), on a new database on a machine that has (the route from medjudge's
machine folder), and on a database that has run the judge before (route and prompt known: neither LiteLLM nor DSPy
is imported).

    python benchmarks/bench_startup.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXE = Path(sys.executable).parent / "medjudge"


def best_of(cmd, n=7):
    times = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return round(min(times), 3), round(sorted(times)[len(times) // 2], 3)


def first_request(model: str, n=5):
    """Seconds from starting `medjudge grade` to its first request at a loopback judge (best, median)."""
    import os
    import tempfile

    sys.path.insert(0, str(ROOT))
    from medjudge.models.fakellm import FakeLLM

    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True")
    first, machine, known = [], [], []
    with FakeLLM() as fake:
        for i in range(n):
            tmp = Path(tempfile.mkdtemp())
            env["MEDJUDGE_CACHE_DIR"] = str(tmp / "machine")  # an empty machine folder: the route known nowhere
            # a new database on a new machine; a new database on that machine; the same database again (other calls)
            for seed, db, times in (("1", "m.db", first), ("2", "n.db", machine), ("3", "n.db", known)):
                fake.first_at = None
                t = time.time()
                subprocess.run([str(EXE), "grade", str(ROOT / "examples" / "answers.jsonl"), "--rubric",
                                str(ROOT / "examples" / "chest-pain-checklist.yaml"), "--judge",
                                fake.judge(model), "--seed", seed, "--db", str(tmp / db), "--quiet"],
                               check=True, capture_output=True, env=env)
                times.append(fake.first_at - t)
    pick = lambda ts: (round(min(ts), 3), round(sorted(ts)[len(ts) // 2], 3))  # noqa: E731
    return pick(first), pick(machine), pick(known)


def main():
    out = {}
    # a model in LiteLLM's price map waits for LiteLLM's route on a new database; a self-hosted one does not
    for model in ("gpt-4.1-mini", "medgemma-27b-it"):
        first, machine, known = first_request(model)
        out[f"grade_first_request_{model}_new_db_first_on_machine_best_median_s"] = first
        out[f"grade_first_request_{model}_new_db_route_on_machine_best_median_s"] = machine
        out[f"grade_first_request_{model}_known_route_best_median_s"] = known
    out |= {
        "help_best_median_s": best_of([str(EXE), "--help"]),
        "validate_best_median_s": best_of([str(EXE), "rubric", "validate", str(ROOT / "examples" / "chest-pain-checklist.yaml")]),
        "python_startup_best_median_s": best_of([sys.executable, "-c", "pass"]),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
