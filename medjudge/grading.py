"""Grading: rubric + answers + panel -> a run in the database (api.grade is the public door to it)."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import platform
import time
from dataclasses import asdict, dataclass, field, replace

from . import __version__
from .errors import EXIT_COVERAGE, EXIT_GATE, EXIT_INCOMPLETE, EXIT_OK, MedjudgeError, RunFailed
from .inputs import iter_answers, iter_healthbench, iter_healthbench_meta, iter_pairs, load_kqa
from .judges.aggregate import TIE_RULES, parse_quorum
from .models.llm import Judge
from .judges.program import MODES
from .rubrics import load_rubric
from .stored import StoredItems
from .store import content_id, dumps


@dataclass
class GradeConfig:
    input_path: str
    rubric: str | None = None
    judges: list[str] = field(default_factory=list)
    format: str = "answers"  # or healthbench, kqa
    questions_path: str | None = None  # K-QA: the questions with statements (default: the bundled K-QA)
    answers_path: str | None = None  # HealthBench: answers keyed by prompt_id
    answer_field: str = "ideal"  # HealthBench: grade the ideal completion when no answers file
    samples: int = 1
    mode: str = "per-criterion"
    temperature: float = 0.0
    seed: int | None = 0
    max_tokens: int | None = None
    tie: str | None = None
    cascade: bool = False  # first judge grades all; the others only what it leaves in doubt
    quorum: str | None = None  # scored votes a unit needs: None/majority (more than half), all, or a share
    local_only: bool = False
    program: str | None = None  # an optimised judge program (judges/artifact.py): its id, or a file at first
    probe: dict | None = None  # a probe's controlled change of the judge's input (probing/__init__.py, JudgeProgram.varied)
    # execution settings: not part of the run's identity
    concurrency: int = 16
    timeout: float = 60.0
    max_retries: int = 4
    workers: int | str = 1  # processes sharing the calls (one core is the limit at high throughput), or "auto"
    limit: int | None = None
    sample_rows: int | None = None  # healthbench-meta: grade a sample of the lines, drawn as simple-evals draws it
    sample_seed: int = 0
    partial: str = "exclude"  # how partial answers enter the summary (docs/SCORING.md)
    purpose: str = "grade"  # or "rubric test": shown by `medjudge runs`
    min_coverage: float = 1.0  # share of units that must be scored for exit code 0
    batch: bool = False  # through the providers' batch APIs (batching.py)
    wait: bool = False  # batch: poll until every batch is collected and the run is complete
    fail_under: float | None = None  # gate: the headline figure(s) at least this (gates.py), else exit 6
    fail_over: float | None = None  # gate for lower-is-better headlines (an unsafe rate): at most this

    IDENTITY = ("format", "answer_field", "samples", "mode", "temperature", "seed", "max_tokens", "tie", "limit",
                "cascade", "quorum", "program", "probe", "sample_rows", "sample_seed")
    rpm: dict = field(default_factory=dict)  # model (or "*") -> requests per minute
    tpm: dict = field(default_factory=dict)  # model (or "*") -> tokens per minute

    @classmethod
    def of_run(cls, stored, drop=(), **changes) -> "GradeConfig":
        """The settings that define a stored run (stored.StoredRun), less `drop`, with `changes` on top."""
        conf = {k: v for k, v in stored.config.items() if k in cls.IDENTITY and k not in drop}
        base = {"input_path": stored.row["input_path"], "judges": stored.models,
                "local_only": bool(stored.row["local_only"])}
        return cls(**{**base, **conf, **changes})


def versions() -> dict:
    from . import installed_version

    return {"medjudge": __version__, "python": platform.python_version(),
            **{pkg: installed_version(pkg) for pkg in ("dspy", "litellm")}}


def iter_items(cfg: GradeConfig, rubric, skipped: list):
    """The input file's items, streamed (K-QA files are small and read whole)."""
    if cfg.format == "healthbench":
        items = iter_healthbench(cfg.input_path, rubric, cfg.answers_path, cfg.answer_field, skipped)
    elif cfg.format == "answers":
        items = iter_answers(cfg.input_path, rubric)
    elif cfg.format == "pairs":
        if not hasattr(rubric, "answer_b_field"):
            raise MedjudgeError(f"--format pairs needs a pairwise rubric, not {rubric.kind} ({rubric.id})")
        items = iter_pairs(cfg.input_path, rubric)
    elif cfg.format == "kqa":
        items = load_kqa(cfg.input_path, rubric, cfg.questions_path or bundled("kqa/questions_w_answers.jsonl"), skipped)
    elif cfg.format == "healthbench-meta":
        items = iter_healthbench_meta(cfg.input_path, rubric, cfg.sample_rows, cfg.sample_seed)
    else:
        raise MedjudgeError(f"--format must be one of {', '.join(FORMATS)}, not {cfg.format!r}")
    return itertools.islice(items, cfg.limit) if cfg.limit else items


def bundled(name: str) -> str:
    from importlib import resources

    return str(resources.files("medjudge") / "data" / name)


FORMATS = ("answers", "healthbench", "healthbench-meta", "kqa", "pairs")


def check_settings(cfg: GradeConfig):
    """The settings that need no judge, checked before anything is printed or read."""
    if cfg.format not in FORMATS:
        raise MedjudgeError(f"--format must be one of {', '.join(FORMATS)}, not {cfg.format!r}")
    if cfg.mode not in MODES:
        raise MedjudgeError(f"--mode must be one of {', '.join(MODES)}, not {cfg.mode!r}")
    if cfg.tie not in TIE_RULES:
        raise MedjudgeError("--tie must be met or unmet")
    if cfg.samples < 1:
        raise MedjudgeError("--samples must be at least 1")
    if cfg.limit is not None and cfg.limit < 1:
        raise MedjudgeError(f"--limit must be at least 1, not {cfg.limit} (leave it out to grade every answer)")
    try:
        parse_quorum(cfg.quorum)
    except ValueError as exc:
        raise MedjudgeError(str(exc)) from None
    if cfg.quorum == "majority":
        cfg.quorum = None  # the default: keeps the run's identity
    if cfg.partial not in ("exclude", "include"):
        raise MedjudgeError("--partial must be exclude or include")
    if not 0 <= cfg.min_coverage <= 1:
        raise MedjudgeError("--min-coverage must be a share between 0 and 1")


def check(cfg: GradeConfig, judges):
    check_settings(cfg)
    if cfg.mode == "batched" and any(j.in_process for j in judges):
        raise MedjudgeError("--mode batched asks one reply covering up to 50 criteria, which a small in-process model "
                            "cannot write (the embedded 270M model scored nothing, at about 130 s a call): use "
                            "--mode per-criterion, or serve a larger model (Ollama, vLLM) for batched mode")
    if cfg.cascade and len(judges) < 2:
        raise MedjudgeError("--cascade needs two or more judges: the first is the cheap one")
    if not judges:
        raise MedjudgeError("no judge: give --judge MODEL")
    if cfg.local_only:
        remote = [j.model for j in judges if not j.is_local]
        if remote:
            raise MedjudgeError(f"--local-only refuses judges that are not in-process or on a loopback address: {', '.join(remote)}")


def preflight(judges):
    """Refuse, before any call, a panel with a judge that cannot work (models/preflight.py): one line each."""
    from .models.preflight import problems

    found = problems(judges)
    if found:
        from .errors import JudgeError

        raise JudgeError("\n".join(found))


def item_digest(it) -> bytes:
    return dumps([it.id, it.prompt, it.answer, it.source, it.tags,
                  [c.model_dump() for c in it.criteria] if it.criteria else None]).encode()


def settle(store, cfg: GradeConfig, loaded=None):
    """The rubric, the judges and the settings checked; an optimised program resolved to its id (the run's
    identity holds the program's hash, never a file name). Returns (loaded rubric, rubric, judges)."""
    loaded = loaded or load_rubric(cfg.rubric)
    judges = [Judge.parse(s) for s in cfg.judges]
    check(cfg, judges)
    if cfg.program:
        from .judges.artifact import check_fits, resolve

        art = resolve(store, cfg.program)
        check_fits(art, loaded, cfg.mode)
        cfg.program = art["id"]
    return loaded, loaded.rubric, judges


def prepare(store, cfg: GradeConfig, loaded=None, items=None):
    """Check everything, save rubric, answers and run; return (run, rubric, items, judges, skipped).

    The input is read twice as a stream (once to validate and hash it, once to store it) and the run's
    items are then read back from the database, so no answer list is held in memory.
    `loaded` and `items` stand in for the rubric file and the input file (a rubric's worked examples)."""
    loaded, rubric, judges = settle(store, cfg, loaded)
    preflight(judges)
    skipped: list = []

    def source(skipped_into):
        return iter(items) if items is not None else iter_items(cfg, rubric, skipped_into)

    to_split = []  # NLI items with only a reference answer: their statements are split before storing
    items_hash = hashlib.sha256()
    for it in source(skipped):
        items_hash.update(item_digest(it))
        if rubric.needs_split(it):
            to_split.append(it)
    config = {k: getattr(cfg, k) for k in GradeConfig.IDENTITY}
    run_id = run_identity(cfg, loaded, judges, items_hash.hexdigest())
    run = {"id": run_id, "rubric_hash": loaded.hash, "rubric_id": rubric.id, "kind": rubric.kind, "mode": cfg.mode,
           "samples": cfg.samples, "panel": [j.spec() for j in judges],
           "config": config | {"items_hash": items_hash.hexdigest(), "skipped": len(skipped),
                               **({"purpose": cfg.purpose} if cfg.purpose != "grade" else {})},
           "versions": versions(), "input_path": str(cfg.input_path), "local_only": int(cfg.local_only)}
    store.save_rubric(loaded)
    store.start_run(run)
    split = {}
    if to_split:
        from .models.llm import LLM
        from .judges.split import fill_statements

        fill_statements(store, run_id, to_split, rubric, judges[0], LLM(timeout=cfg.timeout, max_retries=cfg.max_retries))
        split = {it.id: it.criteria for it in to_split}

    def with_statements():
        for it in source([]):  # the second pass: skips were counted by the first
            if it.id in split:
                it.criteria = split[it.id]
            yield it

    store.save_answers(run_id, with_statements())
    return run, rubric, StoredItems(store, run_id, rubric), judges, skipped


def run_identity(cfg: GradeConfig, loaded, judges, items_hash: str) -> str:
    """The run's id: a hash of rubric, answers, panel and the settings that change verdicts. Options left at
    None/False stay out of it, so that adding an option never renames old runs."""
    config = {k: getattr(cfg, k) for k in GradeConfig.IDENTITY}
    identity = dumps({"rubric": loaded.hash, "items": items_hash, "judges": [j.spec() for j in judges],
                      **{k: v for k, v in config.items() if v is not None and v is not False}})
    return content_id("r", identity)


def plan(store, cfg: GradeConfig) -> dict:
    """`grade --dry-run`: the calls the command would still make, their input tokens (estimated at 4 characters
    a token) and cost at online and batch prices, from the input, the cache and the run's judgments so far."""
    from .models.cost import CHARS_PER_TOKEN, batch_prices, cost, online_prices, reply_tokens

    loaded, rubric, judges = settle(store, cfg)
    items_hash, to_split = hashlib.sha256(), 0
    for it in iter_items(cfg, rubric, []):
        items_hash.update(item_digest(it))
        to_split += rubric.needs_split(it)
    run_id = run_identity(cfg, loaded, judges, items_hash.hexdigest())
    panel = build_panel(store, cfg, {"id": run_id}, rubric, judges)
    panel.program.prompts = None  # it writes nothing: not even the prompt DSPy formats
    found = panel.plan(iter_items(cfg, rubric, []))
    per_judge = []
    for j in judges:
        calls, chars = found["calls"].get(j.name, 0), found["chars"].get(j.name, 0)
        tokens = chars / CHARS_PER_TOKEN
        row = {"judge": j.model, "calls": calls, "input_tokens": round(tokens), "online_cost": None, "batch_cost": None}
        out_tokens = calls * reply_tokens(cfg.max_tokens)
        for name, prices in (("online_cost", None if j.in_process else online_prices(j)),
                             ("batch_cost", None if j.in_process else batch_prices(j))):
            row[name] = cost(prices, tokens, out_tokens)
        if j.in_process:
            row["online_cost"] = 0.0
        per_judge.append(row)
    return {"run": run_id, "exists": store.get_run(run_id) is not None, "cached": found["cached"],
            "statement_splits": to_split, "cascade_second_tier_not_counted": bool(cfg.cascade and len(judges) > 1),
            "judges": per_judge, "calls": sum(r["calls"] for r in per_judge)}


def build_panel(store, cfg: GradeConfig, run, rubric, judges, concurrency=None, llm=None, worker=False):
    from .judges import compile_rubric
    from .models.llm import LLM
    from .judges.panel import Panel

    program = compile_rubric(rubric, cfg.mode)
    if cfg.program:
        found = store.program(cfg.program)
        if found is None:
            raise MedjudgeError(f"program {cfg.program} is not in {store.path}")
        program.apply(found["artifact"])
    program.variant = dict(cfg.probe or {})
    program.prompts = store  # the prompt DSPy formats is kept: a later run does not import DSPy
    params = {"temperature": cfg.temperature}
    if cfg.max_tokens:
        params["max_tokens"] = cfg.max_tokens
    llm = llm or LLM(timeout=cfg.timeout, max_retries=cfg.max_retries, rpm=cfg.rpm, tpm=cfg.tpm, routes=store)
    return Panel(store, run["id"], program, judges, cfg.samples, params, llm, concurrency or cfg.concurrency,
                 seed=cfg.seed, cascade=cfg.cascade)


@dataclass
class Outcome:
    """What one pass of the panel did to a run: its status, the run's summary once it finished (complete or
    incomplete; None when it failed or was interrupted) and this pass's own counts."""

    status: str
    summary: object | None  # summaries.Summary
    calls: int = 0
    cached: int = 0
    retries: int = 0
    reasked: int = 0
    done: int = 0
    total: int = 0


def execute(store, cfg: GradeConfig, run, rubric, items, judges, listeners=(), llm=None, deferred=None) -> Outcome:
    """Run the panel; mark the run complete, interrupted (Ctrl-C) or failed; return the Outcome.
    With a DeferLLM (batch mode) no call is made: `deferred` (default: the panel's list) receives the calls a
    batch must make."""
    panel = build_panel(store, cfg, run, rubric, judges, llm=llm)
    if deferred is not None:
        panel.deferred = deferred
    panel.progress.listeners.extend(listeners)
    status, summary = "failed", None
    try:
        if cfg.workers != 1 and llm is None and not any(j.in_process for j in judges):
            run_workers(store, cfg, run, panel, items)
        else:
            asyncio.run(panel.run(items))
        status = "complete" if panel.progress.errors == 0 else "incomplete"
    except KeyboardInterrupt:
        from .errors import Interrupted

        status = "interrupted"
        raise Interrupted(f"interrupted: finished judgments are saved; resume with: medjudge grade --resume {run['id']}"
                          + (f" --db {store.path}" if str(store.path) != "medjudge.db" else "")) from None
    finally:
        if status in ("complete", "incomplete"):
            from .summaries import summarize_run

            summary = summarize_run(store, run["id"], partial=cfg.partial)
            if summary.not_judged:
                status = "incomplete"  # every unit must have been judged, scored or not
            store.save_scores(run["id"], summary.per_answer)
            summary.status, summary.reasked = status, panel.reasked
        store.finish_run(run["id"], status, summary.to_dict() if summary else None)
    p = panel.progress
    return Outcome(status, summary, p.calls, p.cached, panel.llm.retries, panel.reasked, p.done, p.total)


def grade_items(store, cfg: GradeConfig, loaded, items, listeners=()) -> tuple[str, Outcome]:
    """Given items graded as a run of their own (a rubric's worked examples, a probe's or an optimiser's
    questions): (run id, outcome)."""
    run, rubric, stored_items, judges, _ = prepare(store, cfg, loaded=loaded, items=list(items))
    return run["id"], execute(store, cfg, run, rubric, stored_items, judges, listeners)


MIN_TASKS_PER_WORKER = 500
# calls in flight one process keeps before a second one pays for its start-up (docs/PERFORMANCE.md: at 64 in
# flight two processes gave 257 calls/s against one's 263, at 256 in flight 660 against 594)
IN_FLIGHT_PER_WORKER = 128


class WorkerItems(StoredItems):
    """The share of a run's answers that worker w of `workers` grades."""

    def __init__(self, store, run_id, rubric, w, workers):
        super().__init__(store, run_id, rubric)
        self.w, self.workers = w, workers

    def __iter__(self):
        return (it for it in super().__iter__() if worker_share(it.id, self.workers) == self.w)


def worker_share(item_id: str, workers: int) -> int:
    import zlib

    return zlib.crc32(item_id.encode("utf-8")) % workers


def cores() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def worker_count(workers: int | str, tasks: int, concurrency: int) -> int:
    """Processes for `tasks` calls: `auto` is one per IN_FLIGHT_PER_WORKER calls in flight, at most one per core,
    each with at least MIN_TASKS_PER_WORKER calls (starting a process costs about a second); a number is taken
    as given unless the calls are too few."""
    wanted = min(cores(), -(-concurrency // IN_FLIGHT_PER_WORKER)) if workers == "auto" else int(workers)
    return max(1, min(wanted, tasks // MIN_TASKS_PER_WORKER))


def run_workers(store, cfg: GradeConfig, run, panel, items):
    """Spread the items over worker processes (one core is the limit at high call rates); each writes its
    judgments to the same database. The parent shows progress from the database."""
    import multiprocessing

    done = store.done_units(run["id"])
    progress = panel.progress
    units_total = 0
    for task in panel.tasks(items, done):
        progress.total += 1
        units_total += len(task.units)
    progress.update()
    workers = worker_count(cfg.workers, progress.total, cfg.concurrency)
    if workers == 1:  # starting processes would cost more than it saves
        asyncio.run(panel.run(items))
        return
    cfg = replace(cfg, workers=workers)
    for judge in panel.judges:  # worked out here, while the workers start, and read from the database by them
        panel.llm.route(judge, panel.call_params(0))  # one route for every sample (route.shape)
    start_rows = len(done)
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    share = -(-cfg.concurrency // cfg.workers)
    procs = [ctx.Process(target=_worker, args=(store.path, run["id"], asdict(cfg), w, share, queue), daemon=True)
             for w in range(cfg.workers)]
    for p in procs:
        p.start()
    results = []
    try:
        while len(results) < len(procs):
            try:
                results.append(queue.get(timeout=0.5))
            except Exception:
                if not any(p.is_alive() for p in procs) and queue.empty():
                    break
            units = len(store.done_units(run["id"])) - start_rows
            progress.done = min(progress.total, round(progress.total * units / max(1, units_total)))
            progress.update()
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        raise
    for p in procs:
        p.join()
    errors = [r["error"] for r in results if r.get("error")]
    if errors or len(results) < len(procs):
        raise RunFailed("a grading worker failed: " + (errors[0] if errors else "it exited without a result"))
    for r in results:
        for k in ("calls", "cached", "input_tokens", "output_tokens", "cost", "errors"):
            setattr(progress, k, getattr(progress, k) + r[k])
        panel.llm.retries += r["retries"]
    progress.done = progress.total
    progress.update()


def _worker(db_path, run_id, cfg_dict, w, concurrency, queue):
    """One grading process: the items whose id hashes to w, with its share of the concurrency."""
    from .stored import StoredRun
    from .store import Store

    try:
        cfg = GradeConfig(**cfg_dict)
        store = Store(db_path)
        stored = StoredRun(store, run_id)
        items = WorkerItems(store, run_id, stored.rubric, w, cfg.workers)
        panel = build_panel(store, cfg, stored.row, stored.rubric, stored.judges(), concurrency, worker=True)
        asyncio.run(panel.run(items))
        p = panel.progress
        queue.put({"calls": p.calls, "cached": p.cached, "input_tokens": p.input_tokens,
                   "output_tokens": p.output_tokens, "cost": p.cost, "errors": p.errors, "retries": panel.llm.retries})
    except KeyboardInterrupt:
        pass
    except Exception as exc:  # reported by the parent as one line
        queue.put({"error": f"{type(exc).__name__}: {exc}"})


def prepare_resume(store, run_id: str, **execution):
    """A stored run's rubric, answers and panel, ready to finish what is missing."""
    from .stored import StoredRun

    stored = StoredRun(store, run_id)
    run = stored.row
    cfg = GradeConfig.of_run(stored, **execution)
    judges = stored.judges()
    preflight(judges)
    store.start_run(run)
    return run, cfg, stored.rubric, stored.items, judges


def judged(summary, cfg: GradeConfig) -> tuple[int, str, list[str]]:
    """The exit code and reason of a finished pass, with the gates the user set (checked on a complete run):
    (code, reason, one line per gated figure)."""
    code, reason = exit_status(summary, cfg.min_coverage)
    if code != EXIT_OK or (cfg.fail_under is None and cfg.fail_over is None):
        return code, reason, []
    from .gates import score_gate

    lines, failed = score_gate(summary.to_dict(), cfg.fail_under, cfg.fail_over)
    return (EXIT_GATE, failed[0], lines) if failed else (code, reason, lines)


def exit_status(summary, min_coverage: float = 1.0) -> tuple[int, str]:
    """The exit code of a finished run (summaries.Summary, None when it failed) and its one-line reason (README,
    "Exit codes")."""
    if summary is None:
        return RunFailed.exit_code, "the run failed"
    cov = summary.coverage
    if summary.status != "complete":
        why = f"{cov.not_judged} of {cov.units} units not judged"
        if summary.errors:
            why += f" ({summary.errors} calls failed after retries: {next(iter(summary.error_reasons), '')})"
        return EXIT_INCOMPLETE, f"incomplete: {why}; rerun the same command (or grade --resume {summary.run})"
    share = cov.share if cov.share is not None else 0.0
    if share < min_coverage:
        top = next(iter(cov.reasons), "")
        return EXIT_COVERAGE, (f"coverage {share:.1%} is below --min-coverage {min_coverage:.0%}: {cov.unscored} of "
                               f"{cov.units} units unscored" + (f" (most often: {top})" if top else ""))
    return EXIT_OK, "complete"


@dataclass
class GradeResult:
    """A finished (or stopped) grading run. exit_code follows the README's table: 0 complete, 3 incomplete,
    4 failed, 5 coverage below min_coverage."""

    run_id: str
    status: str
    exit_code: int
    reason: str
    summary: dict | None  # the summary's JSON form (summaries.Summary.to_dict)
    wall_time: float
    calls: int = 0
    cached: int = 0
    retries: int = 0
    reasked: int = 0
    tasks_done: int = 0
    tasks_total: int = 0
    skipped: list = field(default_factory=list)
    db: str = ""
    batch: dict | None = None  # grade --batch: the run's batches and their states
    gates: list = field(default_factory=list)  # one line per figure a gate read (--fail-under / --fail-over)

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    def to_dict(self) -> dict:
        return asdict(self)

    def to_pandas(self):
        """One row per answer, read back from the database."""
        from .frames import frame
        from .store import Store
        from .summaries import run_summary

        partial = (self.summary or {}).get("partial", "exclude")
        return frame(run_summary(Store(self.db), self.run_id, partial=partial)[1])


def open_run(store, cfg: GradeConfig | None, resume: str | None, execution: dict):
    """A new run of `cfg`, or the stored run `resume` with these execution settings, ready to grade:
    (run, cfg, rubric, items, judges, skipped)."""
    if resume:
        run, cfg, rubric, items, judges = prepare_resume(store, resume, **execution)
        return run, cfg, rubric, items, judges, []
    run, rubric, items, judges, skipped = prepare(store, cfg)
    return run, cfg, rubric, items, judges, skipped


def grade(store, cfg: GradeConfig | None = None, resume: str | None = None, listeners=(), on_poll=None,
          **execution) -> GradeResult:
    """The grading use case online: a new run of `cfg`, or the stored run `resume` finished with these execution
    settings (batching.grade is the same through the providers' batch APIs)."""
    run, cfg, rubric, items, judges, skipped = open_run(store, cfg, resume, execution)
    start = time.perf_counter()
    done = execute(store, cfg, run, rubric, items, judges, listeners)
    code, reason, gates = judged(done.summary, cfg)
    return GradeResult(run["id"], done.summary.status if done.summary else "failed", code, reason,
                       done.summary.to_dict() if done.summary else None, time.perf_counter() - start, done.calls,
                       done.cached, done.retries, done.reasked, done.done, done.total, list(skipped), str(store.path),
                       gates=gates)


__all__ = ["GradeConfig", "GradeResult", "Outcome", "execute", "exit_status", "grade", "prepare", "prepare_resume"]
