"""medjudge against openai/simple-evals' HealthBench grader: same workload, same loopback judge, one command.

    python benchmarks/bench_peer.py                                  # 250 answers x 12 criteria (3,000 calls)
    python benchmarks/bench_peer.py --srh 40                         # the first 40 HealthBench-SRH examples
    python benchmarks/bench_peer.py --workers auto --rounds 2        # medjudge with worker processes, twice each
    python benchmarks/bench_peer.py --model gpt-4.1-mini --base-from env   # the judge as most vLLM users name it

--base-from says how medjudge's judge learns the server's address: `url` (--judge openai/MODEL@URL), `env`
(--judge openai/MODEL with OPENAI_API_BASE set, as LiteLLM and the openai SDK read it) or `toml` (no --judge:
`judges = ["openai/MODEL@URL"]` in a medjudge.toml in the folder the command runs in).

Each contender runs as its own command, end to end (start-up, imports, reading inputs, every call, the
score), against a fresh fake server (benchmarks/serve_fake.py: same latency, it answers both prompts with
the same lexical verdict), so the two scores must agree. Contenders alternate (peer, medjudge, peer, ...)
because this machine's speed drifts over minutes. The peer is ../shared/peers (its README and driver,
peer_simple_evals.py); where it is absent the benchmark says so and exits 0. Both import from bytecode, as
installed packages do: each runs once on one answer, untimed, with a bytecode cache of the benchmark's own
(PYTHONPYCACHEPREFIX; PYTHONDONTWRITEBYTECODE removed). The warm-up grade uses a database of its own, so that
without --known-route every timed medjudge round still starts on a new database; it leaves the judge's route in
medjudge's machine folder (the benchmark's own MEDJUDGE_CACHE_DIR), as any earlier grade on a machine does;
--first-on-machine gives each round an empty one instead. Writes
benchmarks/results/peer-<name>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = Path(os.environ.get("MEDJUDGE_PEERS", ROOT.parent / "shared" / "peers"))
SRH = ROOT.parent / "shared" / "data" / "healthbench-srh"
sys.path.insert(0, str(ROOT / "benchmarks"))
from procs import become_subreaper, reap  # noqa: E402


def children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def serve(port: int, latency: float):
    proc = subprocess.Popen([sys.executable, str(ROOT / "benchmarks" / "serve_fake.py"), "--port", str(port),
                             "--latency", str(latency), "--max-seconds", "3600"], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        raise SystemExit(f"the fake server did not start: {line!r}")
    return proc


def served(proc) -> int:
    proc.terminate()
    out, _ = proc.communicate(timeout=30)
    return int(out.split("served")[-1].split()[0]) if "served" in out else -1


def timed(cmd, env, port, latency, cwd=None) -> dict:
    """Run one contender against a fresh server: wall, CPU of the command (and its workers), calls served."""
    server = serve(port, latency)
    cpu0, t0 = children_cpu(), time.perf_counter()
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=3600, cwd=cwd)
        wall = time.perf_counter() - t0
        reap()  # what it left running (medjudge's route helper) counts as its CPU, not the next's
        cpu = children_cpu() - cpu0  # the contender's own (the server still runs)
    finally:
        calls = served(server)
    if done.returncode not in (0,):
        raise SystemExit(f"{cmd[:3]} exited {done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return {"wall_s": wall, "cpu_s": cpu, "calls": calls, "stdout": done.stdout}


def workload(args, tmp: Path) -> Path:
    if args.srh:
        src = SRH / "healthbench_srh.jsonl"
        if not src.exists():
            src = next(SRH.glob("*.jsonl"))
        rows = [r for r in map(json.loads, src.open(encoding="utf-8"))
                if (r.get("ideal_completions_data") or {}).get("ideal_completion")][: args.srh]
        path = tmp / f"srh-{args.srh}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return path
    from workload import write_workload

    return write_workload(tmp / "workload.jsonl", args.answers, args.criteria, seed=1)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--answers", type=int, default=250)
    ap.add_argument("--criteria", type=int, default=12)
    ap.add_argument("--srh", type=int, default=0, help="use the first N HealthBench-SRH examples instead")
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--workers", default="1", help="medjudge's --workers (a number or auto)")
    ap.add_argument("--rounds", type=int, default=1, help="runs of each contender, alternating")
    ap.add_argument("--mode", default="per-criterion", help="medjudge's --mode (batched: one call per answer)")
    ap.add_argument("--port", type=int, default=8790)
    ap.add_argument("--name", default=None)
    ap.add_argument("--model", default="fake-judge",
                    help="the model name medjudge's judge sends (the peer always sends fake-judge, a name LiteLLM "
                         "does not price; a priced name such as gpt-4.1-mini makes a new database wait for LiteLLM)")
    ap.add_argument("--known-route", action="store_true",
                    help="medjudge's database already holds the judge's route (a first grade of one answer, not timed): "
                         "what every run after the first on a database costs")
    ap.add_argument("--first-on-machine", action="store_true",
                    help="each medjudge round with an empty machine folder (MEDJUDGE_CACHE_DIR): on a new database it "
                         "then asks LiteLLM for the route, as the first grade on a machine does")
    ap.add_argument("--base-from", choices=("url", "env", "toml"), default="url",
                    help="how the judge's API base is given: in the judge's name, OPENAI_API_BASE, or medjudge.toml")
    args = ap.parse_args()

    driver = PEERS / "peer_simple_evals.py"
    if not (driver.exists() and (PEERS / "simple-evals" / "healthbench_eval.py").exists()):
        print(f"skipped: the simple-evals peer is not at {PEERS} (set MEDJUDGE_PEERS to its folder)")
        return
    try:
        import blobfile, pandas  # noqa: F401  (simple-evals imports them)
    except ImportError as exc:
        print(f"skipped: the peer needs {exc.name} (pip install -e '.[bench]')")
        return

    become_subreaper()
    tmp = Path(tempfile.mkdtemp(prefix="medjudge-peer-"))
    work = workload(args, tmp)
    criteria = sum(len(json.loads(line)["rubrics"]) for line in work.open(encoding="utf-8"))
    base = f"http://127.0.0.1:{args.port}/v1"
    env = dict(os.environ, LITELLM_LOCAL_MODEL_COST_MAP="True", OPENAI_BASE_URL=base, OPENAI_API_KEY="fake-key")
    # both contenders import from bytecode, as installed packages do (a shell with PYTHONDONTWRITEBYTECODE would
    # have each compile its own sources at every start): a cache of their own, filled by an untimed first run each
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
    env["MEDJUDGE_CACHE_DIR"] = str(tmp / "machine")  # medjudge's machine folder: the benchmark's own
    one = tmp / "one.jsonl"
    one.write_text(work.open(encoding="utf-8").readline(), encoding="utf-8")
    timed([sys.executable, str(driver), str(PEERS), str(one), "1"], env, args.port, args.latency)
    timed([str(Path(sys.executable).with_name("medjudge")), "grade", str(one), "--format", "healthbench", "--judge",
           f"openai/{args.model}@{base}", "--db", str(tmp / "warm-up.db"), "--quiet"], env, args.port, args.latency)
    ideal = args.concurrency / args.latency
    runs = {"simple-evals": [], "medjudge": []}
    for r in range(args.rounds):
        peer = timed([sys.executable, str(driver), str(PEERS), str(work), str(args.concurrency // 2)],
                     env, args.port, args.latency)
        inside = json.loads(peer["stdout"].strip().splitlines()[-1])
        runs["simple-evals"].append({**peer, "score": inside["score"], "calls_wall_s": inside["wall_s"]})
        summary = tmp / f"summary-{r}.json"
        db = tmp / f"medjudge-{r}.db"
        judge, ours_env, cwd = ["--judge", f"openai/{args.model}@{base}"], env, None
        if args.base_from == "env":  # OPENAI_API_BASE only (OPENAI_BASE_URL, which the peer reads, removed)
            judge = ["--judge", f"openai/{args.model}"]
            ours_env = {k: v for k, v in env.items() if k != "OPENAI_BASE_URL"} | {"OPENAI_API_BASE": base}
        elif args.base_from == "toml":
            judge, cwd = [], tmp / "project"
            cwd.mkdir(exist_ok=True)
            (cwd / "medjudge.toml").write_text(f'judges = ["openai/{args.model}@{base}"]\n', encoding="utf-8")
        if args.first_on_machine:  # an empty machine folder: the route is known nowhere, as on a new machine
            ours_env = dict(ours_env, MEDJUDGE_CACHE_DIR=str(tmp / f"machine-{r}"))
        if args.known_route:  # one answer graded first, untimed, on a server of its own: the route is stored
            first = tmp / f"first-{r}.jsonl"
            first.write_text(work.open(encoding="utf-8").readline(), encoding="utf-8")
            timed([str(Path(sys.executable).with_name("medjudge")), "grade", str(first), "--format", "healthbench",
                   *judge, "--db", str(db), "--quiet"], ours_env, args.port, args.latency, cwd)
        ours = timed([str(Path(sys.executable).with_name("medjudge")), "grade", str(work), "--format", "healthbench",
                      *judge, "--concurrency", str(args.concurrency),
                      "--workers", args.workers, "--mode", args.mode, "--db", str(db), "--quiet", "--json-summary", str(summary)],
                     ours_env, args.port, args.latency, cwd)
        s = json.loads(summary.read_text())
        # coverage: units scored of those judged; a unit with no readable verdict is left out of the score
        runs["medjudge"].append({**ours, "score": s["overall"]["score"], "coverage": s["coverage"]["share"]})
    result = {"name": args.name or (f"srh{args.srh}" if args.srh else f"{args.answers}x{args.criteria}")
              + f"-w{args.workers}" + ("-batched" if args.mode == "batched" else "")
              + ("" if args.model == "fake-judge" and args.base_from == "url" else f"-{args.model}-{args.base_from}")
              + ("-known-route" if args.known_route else "") + ("-first-on-machine" if args.first_on_machine else ""),
              "known_route": args.known_route, "first_on_machine": args.first_on_machine,
              "model": args.model, "base_from": args.base_from, "workload": str(work.name), "criteria": criteria,
              "latency_s": args.latency, "concurrency": args.concurrency, "ideal_calls_per_s": ideal}
    for who, rs in runs.items():
        for run in rs:
            run.pop("stdout")
            run["calls_per_s"] = round(run["calls"] / run["wall_s"], 1)
            run["share_of_ideal"] = round(run["calls_per_s"] / ideal, 3)
            run["cpu_ms_per_call"] = round(1000 * run["cpu_s"] / run["calls"], 2)
            run["wall_s"], run["cpu_s"] = round(run["wall_s"], 2), round(run["cpu_s"], 2)
        result[who] = rs
    best = {who: max(r["calls_per_s"] for r in rs) for who, rs in runs.items()}
    result["ratio_best"] = round(best["medjudge"] / best["simple-evals"], 2)
    result["ratio_per_round"] = [round(m["calls_per_s"] / p["calls_per_s"], 2)
                                 for p, m in zip(runs["simple-evals"], runs["medjudge"])]
    result["wall_speedup_per_round"] = [round(p["wall_s"] / m["wall_s"], 2)  # batched mode makes fewer calls
                                        for p, m in zip(runs["simple-evals"], runs["medjudge"])]
    result["medjudge_complete"] = all(m["coverage"] == 1.0 for m in runs["medjudge"])  # else scores may differ
    result["scores_agree"] = all(abs(m["score"] - p["score"]) < 1e-9
                                 for p, m in zip(runs["simple-evals"], runs["medjudge"]))
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / f"peer-{result['name']}.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
