"""`medjudge optimize`: expert labels -> train / dev / test by question -> a DSPy optimiser on train and dev ->
a versioned judge program -> both programs graded on the test split through the panel -> adopted or not.

The test split is never shown to the optimiser; every call goes through the calls table (a killed run resumes
without paying twice). docs/OPTIMIZE.md explains the protocol.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from pathlib import Path
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import asdict, dataclass, field

from ..errors import EXIT_INCOMPLETE, EXIT_OK, MedjudgeError
from .optimizers import OPTIMIZERS, SPLITS, Settings
from ..store import content_id, dumps, now


@dataclass
class OptimizeConfig:
    input_path: str
    rubric: str
    judge: str
    labels: str | None = None  # a labels file to import first (any layout `annotations import` reads)
    raters: list[str] | None = None  # whose labels are gold (default: every expert)
    optimizer: str = "bootstrap-fewshot"
    budget: int | None = None  # a hard cap on the calls the optimiser pays for (held-out grading not included)
    seed: int = 0
    fractions: tuple = (0.3, 0.2, 0.5)
    settings: Settings = field(default_factory=Settings)
    format: str = "answers"
    false_safe_cost: float = 5.0  # safety: a false "safe" costs this much more than a false "unsafe"
    resamples: int = 1000
    timeout: float = 60.0
    max_retries: int = 4
    output: str | None = None  # where the artifact file goes (default: <rubric>.<program id>.json)
    dry_run: bool = False


@dataclass
class OptimizeResult:
    id: str
    status: str  # planned | complete | incomplete
    exit_code: int
    reason: str
    counts: dict
    planned_calls: int = 0
    estimated_cost: float | None = None
    program: dict | None = None
    report: dict | None = None
    output: str | None = None
    calls: dict = field(default_factory=dict)
    wall_time: float = 0.0
    judge: str = ""

    @property
    def adopted(self) -> bool:
        return bool(self.report and self.report.get("adopted"))

    def to_dict(self) -> dict:
        return asdict(self)


def check(cfg: OptimizeConfig):
    if cfg.optimizer not in OPTIMIZERS:
        raise MedjudgeError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, not {cfg.optimizer!r}")
    f = cfg.fractions
    if len(f) != 3 or any(x <= 0 for x in f) or abs(sum(f) - 1) > 1e-9:
        raise MedjudgeError(f"--split must be three positive shares adding up to 1 (train,dev,test), not {f}")
    if cfg.budget is not None and cfg.budget < 1:
        raise MedjudgeError("--budget must be at least 1 call")
    if cfg.settings.demos < 0 or cfg.settings.candidates < 1:
        raise MedjudgeError("--demos must be 0 or more and --candidates at least 1")


def gold_units(store, cfg: OptimizeConfig, loaded):
    """The labelled units of the input's answers, and a hash of the labels used."""
    from ..grading import GradeConfig, iter_items
    from .optimizers import labelled_units

    rubric = loaded.rubric
    skipped: list = []
    if not Path(cfg.input_path).exists() and store.get_run(cfg.input_path):  # a run's answers (say, reviewed ones)
        from ..stored import StoredItems

        items = list(StoredItems(store, cfg.input_path, rubric))
    else:
        items = list(iter_items(GradeConfig(input_path=cfg.input_path, rubric=cfg.rubric, format=cfg.format), rubric,
                                skipped))
    if cfg.labels:  # labels on these answers: their ids are the answers' ids
        from ..labels.importing import import_file

        report = import_file(store, cfg.labels, rubric=rubric, answers=items)
        failure = report.failure()
        if failure:
            raise MedjudgeError(f"{cfg.labels}: {failure}")
    from ..labels import identity

    joined = identity.read(store, rubric, items, cfg.raters, experts_only=not cfg.raters)
    rows = [{"item_id": lab.answer_id, "unit_id": lab.unit_id, "value": lab.value, "rationale": lab.rationale}
            for lab in joined.labels]
    units = labelled_units(rubric, items, rows)
    if not units:
        left = joined.left_out()
        raise MedjudgeError(f"no expert labels for the units of {cfg.input_path} ({joined.counts['other_answers']} "
                            f"labels in {store.path} are on other answers{'; ' + left if left else ''}: their item ids "
                            "must be the answers' ids and their units the rubric's)")
    h = hashlib.sha256(dumps(sorted([u.key, sorted(u.labels)] for u in units)).encode()).hexdigest()[:16]
    return items, units, h


def optimize(store, cfg: OptimizeConfig, listeners=()) -> OptimizeResult:
    from ..grading import versions
    from ..models.llm import Judge
    from .optimizers import split
    from ..rubrics import load_rubric

    check(cfg)
    start = time.perf_counter()
    loaded = load_rubric(cfg.rubric)
    judge = Judge.parse(cfg.judge)
    items, units, labels_hash = gold_units(store, cfg, loaded)
    assign = split([u for u in units if u.gold is not None], cfg.fractions, cfg.seed)
    parts = {s: [u for u in units if u.gold is not None and assign.get(u.group) == s] for s in SPLITS}
    counts = {"labelled_units": len(units), "ties": sum(u.gold is None for u in units),
              **{s: len(parts[s]) for s in SPLITS},
              **{f"{s}_questions": len({u.group for u in parts[s]}) for s in SPLITS}}
    if not parts["train"] or not parts["dev"] or not parts["test"]:
        raise MedjudgeError(f"too few labelled questions to split into train / dev / test ({counts['train_questions']} / "
                            f"{counts['dev_questions']} / {counts['test_questions']}): label more questions")
    identity = {"rubric": loaded.hash, "labels": labels_hash, "judge": judge.spec(), "optimizer": cfg.optimizer,
                "settings": asdict(cfg.settings) | {"threads": None}, "seed": cfg.seed, "split": list(cfg.fractions),
                "costs": cfg.false_safe_cost, "format": cfg.format}  # not the budget: a larger one continues
    opt_id = content_id("o", identity)
    from .optimizers import planned_calls

    planned = planned_calls(cfg.optimizer, len(parts["train"]), len(parts["dev"]), cfg.settings, cfg.budget)
    if cfg.dry_run:
        return OptimizeResult(opt_id, "planned", EXIT_OK, "", counts, planned + 2 * len(parts["test"]),
                              _estimate_cost(judge, loaded, parts, planned, cfg.settings.demos), judge=judge.model)
    from ..grading import preflight

    preflight([judge])
    program, done, engine = _run_optimiser(store, cfg, loaded, judge, opt_id, parts)
    calls = {"optimiser": {"made": engine.made, "cached": engine.cached, "paid_in_all": engine.paid}}
    if not done[0]:
        return OptimizeResult(opt_id, "incomplete", EXIT_INCOMPLETE, done[1], counts, planned, calls=calls,
                              wall_time=time.perf_counter() - start)
    from ..judges import compile_rubric
    from ..judges.artifact import from_program, write

    art = from_program(program, loaded, optimizer={"name": cfg.optimizer, "settings": asdict(cfg.settings),
                                                   "budget": cfg.budget, "optimisation": opt_id},
                       seed=cfg.seed, labels={"hash": labels_hash, "raters": cfg.raters or "experts",
                                              "units": len(units), "ties": counts["ties"]},
                       base_model=judge.spec(), metric=loaded.rubric.metric_name,
                       base_instructions=compile_rubric(loaded.rubric, "per-criterion").signature.instructions,
                       split={"by": "question", "fractions": list(cfg.fractions), "seed": cfg.seed,
                              "answers": {s: sorted({u.item.id for u in parts[s]}) for s in SPLITS}},
                       created=now(), versions=versions())
    store.save_program(art)
    report = heldout(store, cfg, loaded, judge, art, parts, listeners)
    report["optimisation"] = opt_id
    store.save_program(art, report)
    output = cfg.output or f"{loaded.rubric.id}.{art['id']}.json"
    write(art, output)
    calls.update(report["calls"])
    complete = report["complete"]
    return OptimizeResult(opt_id, "complete" if complete else "incomplete", EXIT_OK if complete else EXIT_INCOMPLETE,
                          "" if complete else "held-out grading incomplete: rerun the same command to finish it",
                          counts, planned, program=art, report=report, output=output, calls=calls,
                          wall_time=time.perf_counter() - start)


def _run_optimiser(store, cfg, loaded, judge, opt_id, parts):
    """The compiled program, (finished?, why not), and the engine with its call counts."""
    import dspy
    from dspy.adapters import JSONAdapter

    from ..judges import compile_rubric
    from .engine import BudgetExhausted, PanelEngine
    from ..models.llm import LLM
    from .optimizers import build, compile_program, examples, make_metric

    rubric = loaded.rubric
    program = compile_rubric(rubric, "per-criterion")
    train, dev = examples(program, parts["train"], rubric), examples(program, parts["dev"], rubric)
    costs = {"false_safe": cfg.false_safe_cost, "false_unsafe": 1.0}
    metric = make_metric(program, rubric, parts["train"] + parts["dev"], costs, feedback=cfg.optimizer == "gepa")
    settings = cfg.settings
    if judge.in_process:
        settings = Settings(**(asdict(settings) | {"threads": 1}))  # one in-process model answers one call at a time
    engine = PanelEngine(store.path, opt_id, judge, {"temperature": 0.0, "seed": cfg.seed},
                         LLM(timeout=cfg.timeout, max_retries=cfg.max_retries), cfg.budget,
                         program.output_schema() if judge.in_process else None)
    lm = engine.lm()
    compiled, error = None, None
    try:
        with dspy.context(lm=lm, adapter=JSONAdapter()), quiet():
            optimizer = build(cfg.optimizer, metric, settings, cfg.seed, lm, cfg.budget)
            compiled = compile_program(cfg.optimizer, optimizer, program.module(), train, dev, cfg.seed, settings)
    except BudgetExhausted:
        pass
    except Exception as exc:  # the optimiser gave up (too many failed examples): said below, or raised
        error = exc
    finally:
        engine.close()
    if engine.fatal is not None:
        raise engine.fatal
    if engine.exhausted:
        return None, (False, f"the budget of {cfg.budget} calls was spent before {cfg.optimizer} finished: no program "
                             f"written; rerun with a larger --budget (paid calls are kept and not paid again)"), engine
    if engine.failures:
        return None, (False, f"{len(engine.failures)} calls failed after every retry ({engine.failures[0]}): rerun "
                             "the same command (finished calls are kept)"), engine
    if error is not None:
        raise MedjudgeError(f"{cfg.optimizer} failed: {type(error).__name__}: {str(error).splitlines()[0][:300]}")
    return compiled, (True, ""), engine


@contextmanager
def quiet():
    """DSPy's optimisers print scores, progress bars and log lines as they go: keep them out of medjudge's output
    (MEDJUDGE_VERBOSE=1 shows them)."""
    import logging

    if os.environ.get("MEDJUDGE_VERBOSE"):
        yield
        return
    log = logging.getLogger("dspy")
    level, old_tqdm = log.level, os.environ.get("TQDM_DISABLE")
    log.setLevel(logging.ERROR)
    os.environ["TQDM_DISABLE"] = "1"
    try:
        with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
            yield
    finally:
        log.setLevel(level)
        if old_tqdm is None:
            os.environ.pop("TQDM_DISABLE", None)
        else:
            os.environ["TQDM_DISABLE"] = old_tqdm


def heldout(store, cfg, loaded, judge, art, parts, listeners=()) -> dict:
    """Grade the test split with the base and the optimised program (the panel path), calibrate both against
    the experts, and the paired gain with the adoption rule."""
    from ..calibration.measure import measure
    from .adoption import adoption, gain
    from ..judges import compile_rubric
    from .optimizers import _label
    from ..stored import StoredRun

    test = parts["test"]
    seen, items = set(), []
    for u in test:
        if u.item.id not in seen:
            seen.add(u.item.id)
            items.append(u.item)
    runs = {}
    complete = True
    for name, program_id in (("before", None), ("after", art["id"])):
        run_id, ok = _grade(store, cfg, loaded, judge, items, program_id, name, listeners)
        runs[name], complete = run_id, complete and ok
    verdicts = {k: StoredRun(store, r).verdicts.panel for k, r in runs.items()}

    def value(name, u):
        agg = verdicts[name].get((u.item.id, u.unit.id))
        return None if agg is None else agg.value

    rows = [(u, value("before", u), value("after", u)) for u in test]
    rubric = loaded.rubric
    program = compile_rubric(rubric, "per-criterion")
    by_label = not rubric.fixed_units()
    group_of = (lambda r: _label(program, r[0].unit, r[0].gold)) if by_label else None
    costs = {"false_safe": cfg.false_safe_cost, "false_unsafe": 1.0}
    g = gain(rows, rubric, costs, cfg.resamples, cfg.seed, group_of)
    adopted, why = adoption(g)
    if not complete:
        adopted, why = False, why + ["the held-out grading is incomplete"]
    cal = {}
    for name, run_id in runs.items():
        result = measure(store, run=run_id, raters=None, against=cfg.raters, resamples=cfg.resamples, seed=cfg.seed)
        cal[name] = [_brief(r) for r in result.rows]
    calls = {name: store.call_totals(run_id) for name, run_id in runs.items()}
    return {"program": art["id"], "runs": runs, "gain": g, "groups_by": "label" if by_label else "unit",
            "adopted": adopted, "why_not": why, "calibration": cal, "calls": calls, "complete": complete}


def _grade(store, cfg, loaded, judge, items, program_id, name, listeners):
    from ..grading import GradeConfig, grade_items

    gcfg = GradeConfig(input_path=cfg.input_path, rubric=cfg.rubric, judges=[cfg.judge], format=cfg.format,
                       program=program_id, purpose=f"optimize {name}", timeout=cfg.timeout,
                       max_retries=cfg.max_retries, concurrency=cfg.settings.threads)
    run_id, done = grade_items(store, gcfg, loaded, items, listeners)
    return run_id, done.status == "complete"


def _brief(row: dict) -> dict:
    p = row["primary"]
    s = row["stats"].get(p) or {}
    c = ((row.get("ceiling") or {}).get("stats") or {}).get(p) or {}
    return {"group": row["group"], "judge": row["judge"], "statistic": p, "items": row["items"],
            "estimate": s.get("estimate"), "ci": s.get("ci"), "ceiling": c.get("estimate"), "ceiling_ci": c.get("ci"),
            "distance_to_ceiling": None if s.get("estimate") is None or c.get("estimate") is None
            else s["estimate"] - c["estimate"],
            "percentile_among_experts": (row.get("percentile_among_experts") or {}).get("percentile"),
            "coverage": (row.get("coverage") or {}).get("share"), "verdict": row["verdict"]}


def _estimate_cost(judge, loaded, parts, planned, demos) -> float | None:
    """Planned calls x an average prompt (demonstrations included) at the judge's price in LiteLLM's map; None
    when the model has no price there (0 for in-process models)."""
    if judge.in_process:
        return 0.0
    from ..judges import compile_rubric
    from ..models.cost import cost, online_prices, prompt_tokens, reply_tokens

    program = compile_rubric(loaded.rubric, "per-criterion")
    sample = (parts["train"] + parts["dev"])[:20]
    tokens_in = sum(prompt_tokens(program.messages(u.item, [u.unit])) for u in sample) / max(1, len(sample))
    n = planned + 2 * len(parts["test"])
    return cost(online_prices(judge), n * tokens_in * (1 + demos), n * reply_tokens())
