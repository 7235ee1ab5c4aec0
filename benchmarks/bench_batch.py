"""grade --batch at scale against the fake provider (OpenAI files and batches API on loopback, in its own process).

    python benchmarks/bench_batch.py --answers 2000 --criteria 50      # 100,000 calls

Phases timed separately: submit (read the input, the panel pass that defers every call, batch files written and
uploaded), collect (download, every reply into the calls table, the panel pass that parses them from the
cache, the summary), the collect in a process of its own, as `medjudge batch collect` runs later. Peak memory
(RSS) of each phase and the database's size are printed. Run by hand; figures in
docs/SCALE.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("MEDJUDGE_BATCH_POLL", "0.01")

from workload import write_workload  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--answers", type=int, default=200)
    ap.add_argument("--criteria", type=int, default=50)
    args = ap.parse_args()

    import subprocess

    port = 8790
    server = subprocess.Popen([sys.executable, str(Path(__file__).parent / "serve_fake.py"), "--port", str(port),
                               "--latency", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    server.stdout.readline()  # ready
    judge = f"openai/fake-judge@http://127.0.0.1:{port}/v1"
    try:
        run(args, judge)
    finally:
        server.terminate()


def run(args, judge):
    from medjudge import grade

    with tempfile.TemporaryDirectory() as tmp:
        data = write_workload(Path(tmp) / "w.jsonl", args.answers, args.criteria)
        db = Path(tmp) / "b.db"
        t0 = time.perf_counter()
        r = grade(data, format="healthbench", judges=[judge], db=db, batch=True)
        t1 = time.perf_counter()
        rss_submit = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sent = sum(b["requests"] for b in r.batch["batches"])
        # collect as a user does, later, in a process of its own: its peak memory is the collect's alone
        # VmHWM (this process's own peak): ru_maxrss would carry the parent's peak across fork and exec
        code = ("import json, sys; from medjudge import grade; "
                "r = grade(db=sys.argv[1], resume=sys.argv[2], batch=True, wait=True); "
                "hwm = next(int(x.split()[1]) for x in open('/proc/self/status') if x.startswith('VmHWM')); "
                "print(json.dumps({'status': r.status, 'rss': hwm / 1024}))")
        import subprocess

        got = subprocess.run([sys.executable, "-c", code, str(db), r.run_id], capture_output=True, text=True, check=True)
        t2 = time.perf_counter()
        collected = json.loads(got.stdout.strip().splitlines()[-1])
        r2 = type("R", (), {"status": collected["status"]})
        rss = collected["rss"]
        size = sum(p.stat().st_size for p in Path(tmp).glob("b.db*")) / 1e6
        out = {"calls": sent, "batches": len(r.batch["batches"]), "submit_s": round(t1 - t0, 1),
               "collect_s": round(t2 - t1, 1), "calls_per_s_submit": round(sent / (t1 - t0)),
               "calls_per_s_collect": round(sent / (t2 - t1)), "status": r2.status, "peak_rss_submit_mb": round(rss_submit),
               "peak_rss_collect_mb": round(rss),
               "db_mb": round(size, 1)}
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
