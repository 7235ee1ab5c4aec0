"""Grading throughput, CPU per call, latency, memory, database size: one run against the fake server.

    python benchmarks/bench_grade.py --answers 1740 --criteria 11.5 --latency 0.2 --concurrency 64
    python benchmarks/bench_grade.py --answers 1000 --criteria 20 --mode batched
Writes benchmarks/results/<name>.json; a second run on the same --db measures the zero-call rerun.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))


def start_server(port, latency, jitter, fault_rate):
    proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "serve_fake.py"), "--port", str(port),
                             "--latency", str(latency), "--jitter", str(jitter), "--fault-rate", str(fault_rate),
                             "--max-seconds", "1800"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    assert line.startswith("ready"), line
    return proc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--answers", type=int, default=1740)
    ap.add_argument("--criteria", type=float, default=11.5, help="criteria per answer (mean)")
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--jitter", type=float, default=0.0)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--mode", default="per-criterion")
    ap.add_argument("--workers", type=lambda v: v if v == "auto" else int(v), default=1, help="a number or auto")
    ap.add_argument("--db", default=None, help="reuse a database (a second run measures the rerun)")
    ap.add_argument("--name", default=None)
    ap.add_argument("--port", type=int, default=8765)
    ap.add_argument("--model", default="openai/gpt-4.1-mini", help="model name the fake server answers as")
    ap.add_argument("--profile", default=None, help="write a cProfile of the grading call to this file")
    ap.add_argument("--known-route", action="store_true",
                    help="the database already holds the judge's route (as after any earlier run with it): "
                         "no LiteLLM import in the timed run")
    args = ap.parse_args()

    from workload import write_workload

    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(exist_ok=True)
    work = out_dir / f"workload-{args.answers}x{args.criteria}.jsonl"
    if not work.exists():
        # K alternates around the mean so that answers x K matches the requested total
        write_workload(work, args.answers, int(round(args.criteria)), seed=1)
    db = Path(args.db or out_dir / f"bench-{os.getpid()}.db")
    base = f"http://127.0.0.1:{args.port}/v1"
    judge = f"{args.model}@{base}"
    if args.known_route:  # stored by another process: this one never imports LiteLLM
        code = ("import sys, json; from medjudge.store import Store; from medjudge.models.llm import Judge; "
                "from medjudge.models.route import Routes; "
                "Routes(Store(sys.argv[1])).get(Judge(sys.argv[2], sys.argv[3]), json.loads(sys.argv[4]))")
        subprocess.run([sys.executable, "-c", code, str(db), args.model, base,
                        json.dumps({"temperature": 0.0, "seed": 0})], check=True)
    server = start_server(args.port, args.latency, args.jitter, args.fault_rate)
    try:
        t0 = time.perf_counter()
        from medjudge import grade
        from medjudge.store import Store

        import_s = time.perf_counter() - t0
        store = Store(db)
        ru0 = resource.getrusage(resource.RUSAGE_SELF)
        ch0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t1 = time.perf_counter()
        if args.profile:
            import cProfile

            prof = cProfile.Profile()
            prof.enable()
        res = grade(work, format="healthbench", rubric="healthbench", db=store,
                    judges=[judge], mode=args.mode,
                    concurrency=args.concurrency, timeout=30, max_retries=6, workers=args.workers)
        if args.profile:
            prof.disable()
            prof.dump_stats(args.profile)
        run_id, wall = res.run_id, res.wall_time
        t2 = time.perf_counter()
        from procs import reap

        reap()  # a route helper still running (models/route.py): its CPU is ours
        ru1 = resource.getrusage(resource.RUSAGE_SELF)
        ch1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    finally:
        server.terminate()
        server.wait(30)
    cpu = (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime)
    worker_cpu = (ch1.ru_utime + ch1.ru_stime) - (ch0.ru_utime + ch0.ru_stime)
    lat = [r["latency"] for r in store.db.query(
        "SELECT c.latency FROM run_calls rc JOIN calls c ON c.key = rc.call_key WHERE rc.run_id = ? AND rc.cached = 0",
        [run_id])]
    q = statistics.quantiles(lat, n=100) if len(lat) > 2 else [None] * 99
    grading_s = wall
    result = {
        "name": args.name or f"{args.mode}-c{args.concurrency}-w{args.workers}",
        "answers": args.answers, "criteria_per_answer": args.criteria, "mode": args.mode,
        "concurrency": args.concurrency, "workers": args.workers, "model": args.model, "server_latency_s": args.latency,
        "calls_made": res.calls, "calls_cached": res.cached, "tasks": res.tasks_total,
        "wall_s": round(t2 - t1, 2), "grading_s": round(grading_s, 2),
        "calls_per_s": round(res.calls / grading_s, 1) if grading_s else None,
        "ideal_calls_per_s": round(args.concurrency / args.latency, 1) if args.latency else None,
        "cpu_ms_per_call": round(1000 * (cpu + worker_cpu) / res.calls, 3) if res.calls else None,
        "cpu_s_total": round(cpu + worker_cpu, 2),
        "p50_latency_ms": round(1000 * q[49], 1) if q[49] else None,
        "p95_latency_ms": round(1000 * q[94], 1) if q[94] else None,
        "peak_rss_mib": round(max(ru1.ru_maxrss, ch1.ru_maxrss) / 1024, 1),
        "db_mib": round(sum(f.stat().st_size for f in db.parent.glob(db.name + "*")) / 2**20, 1),
        "import_s": round(import_s, 2), "db": str(db),
    }
    if result["calls_per_s"] and result["ideal_calls_per_s"]:
        result["share_of_ideal"] = round(result["calls_per_s"] / result["ideal_calls_per_s"], 3)
    (out_dir / f"{result['name']}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
