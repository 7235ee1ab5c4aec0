"""Start-up time of `medjudge --help` and `medjudge rubric validate` (best of N runs, fresh processes).

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


def main():
    out = {
        "help_best_median_s": best_of([str(EXE), "--help"]),
        "validate_best_median_s": best_of([str(EXE), "rubric", "validate", str(ROOT / "examples" / "chest-pain-checklist.yaml")]),
        "python_startup_best_median_s": best_of([sys.executable, "-c", "pass"]),
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
