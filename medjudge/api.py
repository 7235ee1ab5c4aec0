"""The Python API (docs/PYTHON_API.md): each CLI command is option parsing, one call here, and rendering.

Every function takes `db` as a path or an open Store and returns a typed result with `.to_dict()` and
`.to_pandas()` (pandas is the optional extra `medjudge[pandas]`).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import EXIT_COVERAGE, EXIT_INCOMPLETE, EXIT_OK, MedjudgeError
from .calibration.measure import CalibrationResult, measure
from .frames import frame
from .store import Store


def open_db(db: str | Path | Store = "medjudge.db", must_exist: bool = False) -> Store:
    """The SQLite database (created on first use unless `must_exist`)."""
    if isinstance(db, Store):
        return db
    if must_exist and not Path(db).exists():
        raise MedjudgeError(f"{db}: no database here (grade something first, or pass --db)")
    return Store(db)


# -- runs -----------------------------------------------------------------------------------------

@dataclass
class RunInfo:
    """One run as `medjudge runs` lists it."""

    id: str
    rubric_id: str
    kind: str
    mode: str
    judges: list[str]
    samples: int
    answers: int
    judgments: int
    status: str
    started: str
    finished: str | None
    purpose: str = "grade"  # or "rubric test" (the runs `medjudge rubric test` leaves)
    program: str | None = None  # the optimised judge program it graded with (medjudge optimize)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class RunList:
    runs: list[RunInfo]

    def __iter__(self):
        return iter(self.runs)

    def __len__(self):
        return len(self.runs)

    def to_dict(self) -> list[dict]:
        return [r.to_dict() for r in self.runs]

    def to_pandas(self):
        return frame(self.to_dict())


def runs(db="medjudge.db") -> RunList:
    """The runs in the database, newest first."""
    import json

    store = open_db(db, must_exist=True)
    return RunList([RunInfo(id=r["id"], rubric_id=r["rubric_id"], kind=r["kind"], mode=r["mode"],
                            judges=[j["model"] for j in json.loads(r["panel"])], samples=r["samples"],
                            answers=r["answers"], judgments=r["judgments"], status=r["status"], started=r["started"],
                            finished=r["finished"], purpose=json.loads(r["config"] or "{}").get("purpose", "grade"),
                            program=json.loads(r["config"] or "{}").get("program"))
                    for r in store.list_runs()])


def get_run(db, run_id: str):
    """A stored run (stored.StoredRun): its row, rubric, answers, judges and verdicts per unit."""
    from .stored import StoredRun

    return StoredRun(open_db(db, must_exist=True), run_id)


@dataclass
class RunSummary:
    """A run's summary (docs/SCORING.md) and its answers, each with its units' verdicts beside their text."""

    run_id: str
    summary: dict
    answers: list[dict]

    @property
    def coverage(self) -> dict:
        return self.summary["coverage"]

    def to_dict(self) -> dict:
        return {"summary": self.summary, "answers": self.answers}

    def to_pandas(self):
        """One row per answer (score, completeness, coverage); `units` holds the per-unit verdicts."""
        return frame(self.answers)

    def units_frame(self):
        """One row per answer x unit: the verdict beside the unit's text, points or range, and tags."""
        return frame([{"answer_id": a["answer_id"], "source": a.get("source"), **u}
                       for a in self.answers for u in a["units"]])


def summarize(db, run_id: str, partial: str = "exclude", resamples: int = 1000, seed: int = 0) -> RunSummary:
    """A run's summary from the database alone (no LLM calls)."""
    from .report import run_summary

    summary, answers = run_summary(open_db(db, must_exist=True), run_id, resamples, seed, partial)
    return RunSummary(summary["run"], summary, answers)


def judgment_rows(db, run_id: str):
    """Every judgment of a run with its raw response, beside the unit's text, points and tags (a generator)."""
    from .report import judgment_rows as rows

    return rows(open_db(db, must_exist=True), run_id)


# -- grading --------------------------------------------------------------------------------------

@dataclass
class GradeResult:
    """A finished (or stopped) grading run. exit_code follows the README's table: 0 complete, 3 incomplete,
    4 failed, 5 coverage below min_coverage."""

    run_id: str
    status: str
    exit_code: int
    reason: str
    summary: dict | None
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

    @property
    def ok(self) -> bool:
        return self.exit_code == EXIT_OK

    def to_dict(self) -> dict:
        return asdict(self)

    def to_pandas(self):
        """One row per answer, read back from the database."""
        return summarize(self.db, self.run_id, partial=(self.summary or {}).get("partial", "exclude")).to_pandas()


def grade(input_path=None, *, rubric: str | None = None, judges: list[str] | None = None, db="medjudge.db",
          resume: str | None = None, listeners=(), on_poll=None, **settings) -> GradeResult:
    """Grade answers (or finish a stored run with `resume=RUN_ID`) and return the result.

    `settings` are grading.GradeConfig's fields: format, samples, mode, quorum, cascade, concurrency,
    timeout, limit, partial, min_coverage, batch, wait... `judges=None` takes the configured judge (medjudge.toml,
    MEDJUDGE_JUDGE) or the embedded local model. `listeners` get the panel's progress after each task;
    with batch=True and wait=True, `on_poll` gets the batches' status after each poll."""
    from .config import resolve_judges
    from .grading import GradeConfig, exit_status, execute, prepare, prepare_resume

    store = open_db(db)
    if resume:
        run, cfg, rubric_obj, items, panel_judges = prepare_resume(store, resume, **settings)
        skipped = []
    else:
        if input_path is None:
            raise MedjudgeError("give the answers file, or resume=RUN_ID")
        fmt = settings.get("format", "answers")
        rubric = rubric or (fmt if fmt in ("healthbench", "kqa") else None)
        if rubric is None:
            raise MedjudgeError("give a rubric: a file or a library id (see `medjudge rubric list`)")
        specs, _ = resolve_judges(judges)
        cfg = GradeConfig(input_path=str(input_path), rubric=rubric, judges=specs, **settings)
        run, rubric_obj, items, panel_judges, skipped = prepare(store, cfg)
    start = time.perf_counter()
    if cfg.batch:
        return _batch(store, cfg, run, rubric_obj, items, panel_judges, listeners, skipped, start, on_poll)
    panel = execute(store, cfg, run, rubric_obj, items, panel_judges, listeners)
    code, reason = exit_status(panel.summary, cfg.min_coverage)
    p = panel.progress
    summary = dict(panel.summary) if panel.summary else None
    if summary:
        summary.pop("per_answer", None)
    return GradeResult(run["id"], summary["status"] if summary else "failed", code, reason, summary,
                       time.perf_counter() - start, p.calls, p.cached, panel.llm.retries, panel.reasked, p.done,
                       p.total, list(skipped), str(store.path))


def _batch(store, cfg, run, rubric, items, judges, listeners, skipped, start, on_poll=None) -> GradeResult:
    """grade --batch: one step (submit what the run still needs), or with wait=True every step until done;
    `on_poll(status)` after each step."""
    from .batching import step, wait
    from .grading import exit_status

    if cfg.wait:
        st = wait(store, cfg, run, rubric, items, judges, listeners, on_poll=on_poll)
    else:
        st = step(store, cfg, run, rubric, items, judges, listeners)
    summary = dict(st["summary"]) if st.get("summary") else None
    if summary:
        summary.pop("per_answer", None)
    code, reason = exit_status(summary, cfg.min_coverage) if st["state"] in ("complete", "incomplete") else (
        EXIT_INCOMPLETE, "")
    if st["state"] in ("submitted", "waiting"):
        inflight = sum(n for k, n in st["requests"].items() if k not in ("collected", "unknown"))
        reason = (f"batch: {inflight} requests in flight for run {run['id']}; `medjudge batch status {run['id']}`, "
                  f"`medjudge batch collect {run['id']} --wait` (or rerun this command)")
    if st.get("gave_up"):
        from .batching import MAX_ATTEMPTS

        reason += f"; {st['gave_up']} requests failed in {MAX_ATTEMPTS} batches and were not sent again"
    result = GradeResult(run["id"], st["state"], code, reason, summary, time.perf_counter() - start,
                         skipped=list(skipped), db=str(store.path))
    result.batch = st
    return result


def probe(db, run_id: str, *, probes=("position", "length", "paraphrase", "perturb", "self"), n: int = 20,
          k: int = 2, seed: int = 0, drafter: str | None = None, self_source: dict | None = None,
          resamples: int = 1000, dry_run: bool = False):
    """Bias and robustness probes of a run's judges against rerun noise (docs/PROBES.md); returns
    probing.ProbeResult (`.results` per probe, `.runs` the re-judging runs, `.drafts`)."""
    from .probing import ProbeConfig, probe as run

    return run(open_db(db, must_exist=True), ProbeConfig(run_id, list(probes), n=n, k=k, seed=seed, drafter=drafter,
                                                         self_source=dict(self_source or {}), resamples=resamples,
                                                         dry_run=dry_run))


def batch_status(db, run_id: str) -> dict:
    """The run's provider batches (medjudge batch status)."""
    from .batching import status
    from .stored import StoredRun

    store = open_db(db, must_exist=True)
    return status(store, StoredRun(store, run_id).id, "status")


def batch_cancel(db, run_id: str) -> int:
    from .batching import cancel
    from .stored import StoredRun

    store = open_db(db, must_exist=True)
    return cancel(store, StoredRun(store, run_id).id)


def grade_plan(input_path, *, rubric: str | None = None, judges: list[str] | None = None, db="medjudge.db",
               **settings) -> dict:
    """What `grade` would still call (grade --dry-run): calls, input tokens, online and batch cost; calls nothing."""
    from .config import resolve_judges
    from .grading import GradeConfig, plan

    fmt = settings.get("format", "answers")
    rubric = rubric or (fmt if fmt in ("healthbench", "kqa") else None)
    if rubric is None:
        raise MedjudgeError("give a rubric: a file or a library id (see `medjudge rubric list`)")
    specs, _ = resolve_judges(judges)
    # a database that does not exist is not created: the plan is worked out on an empty one in memory
    store = open_db(db) if isinstance(db, Store) or Path(db).exists() else Store(":memory:")
    return plan(store, GradeConfig(input_path=str(input_path), rubric=rubric, judges=specs, **settings))


# -- calibration ----------------------------------------------------------------------------------

def calibrate(db="medjudge.db", *, run: str | None = None, raters: list[str] | None = None,
              against: list[str] | None = None, level: str = "item", by: str | None = None,
              self_source: dict | None = None, value_type: str | None = None, primary: str | None = None,
              care: float | None = None, trust: float | None = None, min_coverage: float = 0.95,
              resamples: int = 1000, seed: int = 0) -> CalibrationResult:
    """Calibrate a run's judges (`run=`), or raters already in the database (`raters=`), against the experts
    (`against=`, default every expert): calibration/measure.py."""
    return measure(open_db(db, must_exist=True), run=run, raters=_names(raters), against=_names(against), level=level,
                   by=by, self_source=self_source, value_type=value_type, primary=primary, care=care, trust=trust,
                   min_coverage=min_coverage, resamples=resamples, seed=seed)


@dataclass
class AgreementResult:
    """Agreement among raters per group: multi-rater alpha (four levels), Fleiss' kappa, six ICC forms,
    the unanimous share, each with a bootstrap CI (calibration/agreement.py)."""

    rows: list[dict]

    def to_dict(self) -> list[dict]:
        return self.rows

    def long_rows(self) -> list[dict]:
        return [{"group": r["group"], "items": r["items"], "items_all_raters": r["items_all_raters"],
                 "statistic": name, "estimate": s["estimate"], "ci_low": s["ci"][0], "ci_high": s["ci"][1]}
                for r in self.rows for name, s in r["stats"].items()]

    def to_pandas(self):
        return frame(self.long_rows())


def agreement(db="medjudge.db", *, raters: list[str] | None = None, by: str = "unit", value_type: str | None = None,
              rubric: str | None = None, items_of: str | None = None, run: str | None = None, resamples: int = 1000,
              seed: int = 0) -> AgreementResult:
    """Agreement among raters in the database (default: every expert), as papers publish it. The value type
    is `value_type`, else the `rubric` kind's, else the one the labels were read with, else read from the
    values. `run` reads the labels on that run's answers (by what the raters read) and keeps the units its panel
    scored: the experts' ceiling on the run's items; `items_of` keeps only the items that rater rated (a judge
    of a run: the units that judge scored)."""
    from .calibration import Rating, ratings_from_annotations
    from .calibration.agreement import agreement as compute
    from .labels.identity import for_run, stored_value_type

    if resamples < 0:
        raise MedjudgeError("--resamples must be 0 or more")
    store = open_db(db, must_exist=True)
    if rubric and not value_type:
        from .rubrics import load_rubric

        value_type = load_rubric(rubric).rubric.value_type
    names = _names(raters)
    present = {r["rater"] for r in store.annotation_summary()}
    if items_of and items_of not in present and run is None:
        graded = [r["id"] for r in store.list_runs() if items_of in [j["model"] for j in json.loads(r["panel"])]]
        if len(graded) > 1:
            raise MedjudgeError(f"{items_of} judged {len(graded)} runs ({', '.join(graded)}): name one with --run")
        run = graded[0] if graded else None
    if run is not None:
        from .stored import StoredRun

        stored = StoredRun(store, run)
        verdicts = stored.verdicts
        if items_of and items_of not in stored.models:
            raise MedjudgeError(f"{items_of} is not a judge of run {stored.id} (judges: {', '.join(stored.models)})")
        found = verdicts.judges.get(items_of, {}) if items_of else verdicts.panel
        scored = {k for k, a in found.items() if a is not None and a.value is not None}
        labels = for_run(store, stored, names or None, experts_only=not names)
        value_type = value_type or stored.rubric.value_type
        ratings = [Rating(lab.answer_id, lab.unit_id, lab.rater, lab.kind, lab.value, lab.source, lab.tags)
                   for lab in labels.labels if lab.value is not None and (lab.answer_id, lab.unit_id) in scored]
        if not ratings:
            c = labels.counts
            raise MedjudgeError(f"no expert labels on the units run {stored.id} scored: {c['joined']} on its answers, "
                                f"{c['other_answers']} on other answers, {c['ambiguous']} by an item id that names "
                                "several answers (import labels with --run RUN_ID to tie them to its answers)")
        items_of = None
    else:
        wanted = names + ([items_of] if items_of else []) if names else None
        value_type = value_type or stored_value_type(store, wanted)
        ratings = ratings_from_annotations(store, wanted)
    try:
        rows = compute(ratings, names, by, value_type, resamples, seed, items_of)
    except ValueError as exc:
        raise MedjudgeError(str(exc)) from None
    return AgreementResult(rows)


@dataclass
class EstimateResult:
    """Judge-only, experts-only and prediction-powered (PPI++) estimates per group (docs/ESTIMATE.md)."""

    run_id: str
    estimand: str
    counts: dict
    rows: list[dict]
    detail: dict
    exit_code: int = EXIT_OK  # 5: no corrected interval overall (too few labels, or labels all alike)
    reason: str = ""

    def to_dict(self) -> dict:
        return self.detail

    def to_pandas(self):
        return frame([{"group": r["group"], "method": r[m]["method"], "estimate": r[m]["estimate"],
                        "ci_low": r[m]["ci"][0], "ci_high": r[m]["ci"][1], "n": r[m]["n"]}
                       for r in self.rows for m in ("judge_only", "experts_only", "corrected")])


def sample(db, run_id: str, n: int, *, name: str = "sample", seed: int = 0, output=None) -> dict:
    """Draw n of a run's scored units at random for physicians to label (stored with their probability);
    `output` writes them as a CSV to fill in and import with `annotations import`."""
    from .calibration.estimate import draw

    store = open_db(db, must_exist=True)
    return draw(store, get_run(store, run_id), n, name, seed, output)


def estimate(db, run_id: str, *, labels: str, by: str | None = None, alpha: float = 0.05,
             raters: list[str] | None = None) -> EstimateResult:
    """The run's figure corrected with expert labels on the random sample `labels` (PPI++)."""
    from .calibration.estimate import estimate as compute

    store = open_db(db, must_exist=True)
    out = compute(store, get_run(store, run_id), labels, by, alpha, _names(raters))
    result = EstimateResult(out["run"], out["estimand"], out["counts"], out["rows"], out)
    overall = out["rows"][0]["corrected"]
    if overall["ci"][0] is None:
        result.exit_code = EXIT_COVERAGE
        result.reason = f"no corrected estimate for run {out['run']}: {overall.get('note') or 'no interval'}"
    return result


def plan_labels(db, run_id: str, *, half_width: float, labels: str | None = None, disagreement: float | None = None,
                alpha: float = 0.05) -> dict:
    """Expert labels needed for a CI half-width (from a labelled pilot sample or an assumed disagreement rate)."""
    from .calibration.estimate import plan

    store = open_db(db, must_exist=True)
    return plan(store, get_run(store, run_id), half_width, labels, disagreement, alpha)


def write_report(db, run_id: str, output="report.html", *, calibrations=(), partial: str = "exclude",
                 compare=()) -> dict:
    """Write the run's HTML report (view/report.py), other runs of the same kind beside it with `compare`;
    returns {path, bytes, seconds}."""
    from .view.report import write

    store = open_db(db, must_exist=True)
    return write(store, get_run(store, run_id).id, output, calibrations, partial, compare)


def compare_runs(db, run_ids, *, resamples: int = 2000, seed: int = 0, partial: str = "exclude") -> dict:
    """Systems graded on the same examples, compared with paired CIs and p-values (medjudge/compare.py)."""
    from .compare import compare

    return compare(open_db(db, must_exist=True), list(run_ids), resamples, seed, partial)


def _names(values):
    """Rater names from a list whose entries may each be comma-separated ("a,b" or ["a", "b"])."""
    if not values:
        return None
    if isinstance(values, str):
        values = [values]
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def import_annotations(db, path, *, rubric: str | None = None, **options):
    """Import expert (or published judge) ratings; returns labels.importing.ImportReport."""
    from .labels.importing import import_file
    from .rubrics import load_rubric

    return import_file(open_db(db), path, rubric=load_rubric(rubric).rubric if rubric else None, **options)


def optimize(input_path, *, rubric: str, labels: str | None = None, judge: str | None = None, db="medjudge.db",
             optimizer: str = "bootstrap-fewshot", budget: int | None = None, seed: int = 0,
             split: tuple = (0.3, 0.2, 0.5), raters: list[str] | None = None, dry_run: bool = False,
             output=None, listeners=(), **settings):
    """Optimise a rubric's judge program on expert labels and check it on held-out questions (docs/OPTIMIZE.md).

    `labels` is a labels file to import first (else the experts already in the database); `settings` are
    demos, candidates, steps, threads (judges.optimize.Settings) and format, false_safe_cost, resamples,
    timeout, max_retries (optimizing.OptimizeConfig). Returns optimizing.OptimizeResult: `.program` the
    artifact, `.report` the held-out report, `.adopted`."""
    from .config import resolve_judges
    from .optimizing.optimizers import Settings
    from .optimizing import OptimizeConfig, optimize as run

    tuning = {k: settings.pop(k) for k in ("demos", "candidates", "steps", "threads") if k in settings}
    specs, _ = resolve_judges([judge] if judge else None)
    if len(specs) != 1:
        raise MedjudgeError("optimize tunes one judge: give one --judge")
    cfg = OptimizeConfig(input_path=str(input_path), rubric=rubric, judge=specs[0], labels=str(labels) if labels else None,
                         raters=_names(raters), optimizer=optimizer, budget=budget, seed=seed, fractions=tuple(split),
                         settings=Settings(**tuning), dry_run=dry_run, output=str(output) if output else None, **settings)
    return run(open_db(db), cfg, listeners)


__all__ = ["optimize", "probe", "batch_status", "batch_cancel", "grade_plan", "compare_runs", "write_report", "AgreementResult", "CalibrationResult", "EstimateResult", "agreement", "estimate", "plan_labels", "sample", "GradeResult", "RunInfo", "RunList", "RunSummary", "calibrate", "get_run", "grade",
           "import_annotations", "judgment_rows", "open_db", "runs", "summarize"]
