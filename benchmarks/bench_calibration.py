"""Calibration statistics at scale: every item-level statistic (alpha, ICC, kappas, correlations...) with
1,000 bootstrap resamples, judge vs experts and the expert ceiling, on 100,000 ratings.

    python benchmarks/bench_calibration.py --items 25000 --experts 3 --resamples 1000
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--items", type=int, default=25000)
    ap.add_argument("--experts", type=int, default=3)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--binary", action="store_true")
    args = ap.parse_args()
    from medjudge.calibration import Options, Rating, calibrate

    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, args.items) if args.binary else rng.integers(1, 6, args.items)
    ratings = []
    lo, hi = (0, 1) if args.binary else (1, 5)
    for rater, kind, noise in [("judge", "llm_judge", 0.35)] + [(f"e{i}", "expert", 0.2) for i in range(args.experts)]:
        flip = rng.random(args.items) < noise
        vals = np.clip(truth + np.where(flip, rng.choice([-1, 1], args.items), 0), lo, hi)
        ratings += [Rating(str(i), "u", rater, kind, float(v), f"s{i % 9}") for i, v in enumerate(vals)]
    t0 = time.perf_counter()
    results = calibrate(ratings, ["judge"], None, Options(resamples=args.resamples, by="none"))
    elapsed = time.perf_counter() - t0
    r = results[0]
    out = {"ratings": len(ratings), "items": args.items, "judge_pairs": r["pairs"],
           "ceiling_pairs": r["ceiling"]["pairs"], "resamples": args.resamples, "seconds": round(elapsed, 2),
           "statistics": sorted(r["stats"]), "primary": r["primary"],
           "estimate": round(r["stats"][r["primary"]]["estimate"], 4),
           "ci": [round(x, 4) for x in r["stats"][r["primary"]]["ci"]],
           "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
