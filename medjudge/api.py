"""The Python API (docs/PYTHON_API.md): each CLI command is option parsing, one call here, and rendering.

Every function takes `db` as a path or an open Store and returns a typed result with `.to_dict()` and
`.to_pandas()` (pandas is the optional extra `medjudge[pandas]`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING
from pathlib import Path

from .calibration.measure import CalibrationResult, measure, measure_agreement
from .config import EMBEDDED_WARNING
from .errors import EXIT_COVERAGE, EXIT_GATE, EXIT_OK, MedjudgeError
from .gates import better_gate, calibration_gate, score_gate
from .labels.panel import COORDINATOR
from .frames import frame
from .store import MAX_ROUNDS, Store

if TYPE_CHECKING:  # at run time they come on first use (__getattr__ below): grading imports DSPy
    from .grading import GradeConfig, GradeResult


def open_db(db: str | Path | Store = "medjudge.db", must_exist: bool = False) -> Store:
    """The SQLite database (created on first use unless `must_exist`)."""
    if isinstance(db, Store):
        return db
    if must_exist and not Path(db).exists():
        raise MedjudgeError(f"{db}: no database here (grade something first, or pass --db)")
    return Store(db)


# -- small typed results --------------------------------------------------------------------------

class Fields:
    """A typed result whose JSON form is its fields: `.to_dict()`, and read by key like that JSON."""

    def to_dict(self) -> dict:
        return asdict(self)

    def __getitem__(self, key):
        return getattr(self, key)


@dataclass
class GradePlan(Fields):
    """What `grade` would still call (grade --dry-run)."""

    run: str
    exists: bool
    cached: int
    statement_splits: int
    cascade_second_tier_not_counted: bool
    judges: list  # per judge: calls, input tokens, online and batch cost
    calls: int


@dataclass
class BatchStatus(Fields):
    """A run's provider batches (medjudge batch status)."""

    run: str
    state: str
    batches: list
    requests: dict  # requests per batch state
    summary: dict | None = None


@dataclass
class LabelSample(Fields):
    """Units drawn at random for physicians to label (medjudge sample): uniform, stratified or active."""

    name: str
    units: int
    of: int
    prob: float | None  # every unit's inclusion probability when they are equal, else None (see prob_range)
    seed: int
    strategy: str = "uniform"
    by: str | None = None  # what a stratified draw split the units by
    allocation: dict | None = None  # stratum -> [labels drawn, units in it]
    prob_range: list | None = None
    pilot: str | None = None


@dataclass
class LabelPlan(Fields):
    """Expert labels a CI half-width needs (medjudge estimate --plan)."""

    run: str
    estimand: str
    half_width: float
    alpha: float
    source: str  # a labelled pilot, or the assumed disagreement rate ("from" in the JSON)
    lam: float | None
    labels_needed: int
    label_every_unit: bool
    judged: int
    strategies: dict | None = None  # with a pilot: labels each strategy needs (uniform, stratified, active)
    recommended: str | None = None

    def to_dict(self) -> dict:
        out = asdict(self)
        out["from"] = out.pop("source")
        return {k: out[k] for k in ("run", "estimand", "half_width", "alpha", "from", "lam", "labels_needed",
                                    "label_every_unit", "judged", "strategies", "recommended")}

    def __getitem__(self, key):
        return self.to_dict()[key]


@dataclass
class ReportFile(Fields):
    """The HTML report written (medjudge report)."""

    path: str
    bytes: int
    seconds: float


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
    from .summaries import run_summary

    summary, answers = run_summary(open_db(db, must_exist=True), run_id, resamples, seed, partial)
    return RunSummary(summary.run, summary.to_dict(), answers)


def judgment_rows(db, run_id: str):
    """Every judgment of a run with its raw response, beside the unit's text, points and tags (a generator)."""
    from . import summaries

    return summaries.judgment_rows(open_db(db, must_exist=True), run_id)


# -- grading --------------------------------------------------------------------------------------

def grade(input_path=None, *, rubric: str | None = None, judges: list[str] | None = None, db="medjudge.db",
          resume: str | None = None, listeners=(), on_poll=None, **settings) -> GradeResult:
    """Grade answers (or finish a stored run with `resume=RUN_ID`) and return the result (grading.py).

    `settings` are grading.GradeConfig's fields: format, samples, mode, quorum, cascade, concurrency,
    timeout, limit, partial, min_coverage, batch, wait... `judges=None` takes the configured judge (medjudge.toml,
    MEDJUDGE_JUDGE) or the embedded local model. `listeners` get the panel's progress after each task;
    with batch=True and wait=True, `on_poll` gets the batches' status after each poll."""
    from . import batching, grading

    store = open_db(db)
    use = batching.grade if settings.get("batch") else grading.grade
    if resume:
        return use(store, resume=resume, listeners=listeners, on_poll=on_poll, **settings)
    return use(store, grade_config(input_path, rubric, judges, settings), listeners=listeners, on_poll=on_poll)


def grade_config(input_path, rubric: str | None, judges: list[str] | None, settings: dict) -> GradeConfig:
    """The settings of a new run: the rubric (a library id for --format healthbench / kqa) and the judges
    (given, else configured, else embedded)."""
    from .config import resolve_judges
    from .grading import GradeConfig

    if input_path is None:
        raise MedjudgeError("give the answers file, or resume=RUN_ID")
    fmt = settings.get("format", "answers")
    rubric = rubric or ("healthbench" if fmt == "healthbench-meta" else fmt if fmt in ("healthbench", "kqa") else None)
    if rubric is None:
        raise MedjudgeError("give a rubric: a file or a library id (see `medjudge rubric list`)")
    return GradeConfig(input_path=str(input_path), rubric=rubric, judges=resolve_judges(judges)[0], **settings)


def probe(db, run_id: str, *, probes=("position", "length", "paraphrase", "perturb", "self"), n: int = 20,
          k: int = 2, seed: int = 0, drafter: str | None = None, self_source: dict | None = None,
          resamples: int = 1000, dry_run: bool = False):
    """Bias and robustness probes of a run's judges against rerun noise (docs/PROBES.md); returns
    probing.ProbeResult (`.results` per probe, `.runs` the re-judging runs, `.drafts`)."""
    from . import probing

    return probing.probe(open_db(db, must_exist=True), probing.ProbeConfig(run_id, list(probes), n=n, k=k, seed=seed, drafter=drafter,
                                                         self_source=dict(self_source or {}), resamples=resamples,
                                                         dry_run=dry_run))


def batch_status(db, run_id: str) -> BatchStatus:
    """The run's provider batches (medjudge batch status)."""
    from .batching import status
    from .stored import StoredRun

    store = open_db(db, must_exist=True)
    st = status(store, StoredRun(store, run_id).id, "status")
    return BatchStatus(st["run"], st["state"], st["batches"], st["requests"], st["summary"])


def batch_cancel(db, run_id: str) -> int:
    from .batching import cancel
    from .stored import StoredRun

    store = open_db(db, must_exist=True)
    return cancel(store, StoredRun(store, run_id).id)


def generate(prompts_path, *, models: list[str], output, db="medjudge.db", on_answer=None, **settings):
    """The models' answers to a prompts file, written to `output` (generating.py); returns
    generating.GenerateResult (answers per model, the missing ones, generation calls and cost)."""
    from . import generating

    cfg = generating.GenerateConfig(prompts_path=str(prompts_path), models=list(models), output=str(output), **settings)
    return generating.generate(open_db(db), cfg, on_answer)


def check_settings(input_path, **settings) -> None:
    """The grading settings that need no judge, checked before anything is printed or read."""
    from . import grading

    grading.check_settings(grading.GradeConfig(input_path=str(input_path), **settings))


def grade_plan(input_path, *, rubric: str | None = None, judges: list[str] | None = None, db="medjudge.db",
               **settings) -> GradePlan:
    """What `grade` would still call (grade --dry-run): calls, input tokens, online and batch cost; calls nothing."""
    cfg = grade_config(input_path, rubric, judges, settings)
    # a database that does not exist is not created: the plan is worked out on an empty one in memory
    store = open_db(db) if isinstance(db, Store) or Path(db).exists() else Store(":memory:")
    from . import grading

    return GradePlan(**grading.plan(store, cfg))


# -- calibration ----------------------------------------------------------------------------------

def calibrate(db="medjudge.db", *, run: str | None = None, raters: list[str] | None = None,
              against: list[str] | None = None, level: str = "item", by: str | None = None,
              self_source: dict | None = None, value_type: str | None = None, primary: str | None = None,
              care: float | None = None, trust: float | None = None, min_coverage: float = 0.95,
              resamples: int = 1000, seed: int = 0, rules: str = "medjudge") -> CalibrationResult:
    """Calibrate a run's judges (`run=`), or raters already in the database (`raters=`), against the experts
    (`against=`, default every expert): calibration/measure.py."""
    return measure(open_db(db, must_exist=True), run=run, raters=_names(raters), against=_names(against), level=level,
                   by=by, self_source=self_source, value_type=value_type, primary=primary, care=care, trust=trust,
                   min_coverage=min_coverage, resamples=resamples, seed=seed, rules=rules)


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
    return AgreementResult(measure_agreement(open_db(db, must_exist=True), raters=_names(raters), by=by,
                                             value_type=value_type, rubric=rubric, items_of=items_of, run=run,
                                             resamples=resamples, seed=seed))


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


def sample(db, run_id: str, n: int, *, name: str = "sample", seed: int = 0, output=None, strategy: str = "uniform",
           by: str | None = None, pilot: str | None = None) -> LabelSample:
    """Draw about n of a run's scored units for physicians to label, uniformly, stratified (Neyman allocation
    over `by`) or actively (by the judge's uncertainty), stored with each unit's inclusion probability
    (calibration/sampling.py); `output` writes them as a CSV to fill in and import with `annotations import`."""
    from .calibration.sampling import draw

    store = open_db(db, must_exist=True)
    return LabelSample(**draw(store, get_run(store, run_id), n, name, seed, output, strategy, by, pilot))


def estimate(db, run_id: str, *, labels: str, by: str | None = None, alpha: float = 0.05,
             raters: list[str] | None = None) -> EstimateResult:
    """The run's figure corrected with expert labels on the random sample `labels` (PPI++)."""
    from .calibration.estimate import corrected

    store = open_db(db, must_exist=True)
    out = corrected(store, get_run(store, run_id), labels, by, alpha, _names(raters))
    result = EstimateResult(out["run"], out["estimand"], out["counts"], out["rows"], out)
    overall = out["rows"][0]["corrected"]
    if overall["ci"][0] is None:
        result.exit_code = EXIT_COVERAGE
        result.reason = f"no corrected estimate for run {out['run']}: {overall.get('note') or 'no interval'}"
    return result


def plan_labels(db, run_id: str, *, half_width: float, labels: str | None = None, disagreement: float | None = None,
                alpha: float = 0.05, by: str | None = None) -> LabelPlan:
    """Expert labels needed for a CI half-width (from a labelled pilot sample or an assumed disagreement rate)."""
    from .calibration.estimate import plan

    store = open_db(db, must_exist=True)
    p = plan(store, get_run(store, run_id), half_width, labels, disagreement, alpha, by)
    return LabelPlan(**{("source" if k == "from" else k): v for k, v in p.items()})


def write_report(db, run_id: str, output="report.html", *, calibrations=(), partial: str = "exclude",
                 compare=()) -> ReportFile:
    """Write the run's HTML report (view/report.py), other runs of the same kind beside it with `compare`;
    returns {path, bytes, seconds}."""
    from .view.report import write

    store = open_db(db, must_exist=True)
    return ReportFile(**write(store, get_run(store, run_id).id, output, calibrations, partial, compare))


def write_calibration_report(db, calibration_id: str, output="calibration.html") -> ReportFile:
    """Write one stored calibration as an HTML page of its own (view/report.py); returns {path, bytes, seconds}."""
    from .view.report import write_calibration

    return ReportFile(**write_calibration(open_db(db, must_exist=True), calibration_id, output))


@dataclass
class CompareResult:
    """Systems compared on the examples every one scored (compare.py): per group each system's mean with a CI and
    each difference with a paired CI and a permutation p-value. `.to_dict()` is `compare --json`."""

    data: dict

    @property
    def systems(self) -> list[str]:
        return self.data["systems"]

    @property
    def groups(self) -> list[dict]:
        return self.data["groups"]

    def to_dict(self) -> dict:
        return self.data

    def long_rows(self) -> list[dict]:
        """One row per group x difference (the --csv layout)."""
        return [{"group": g["group"], "examples": g["examples"], "left_out": g["left_out"], "a": x["a"], "b": x["b"],
                 "difference": x["difference"], "ci_low": x["ci"][0], "ci_high": x["ci"][1], "p": x["p"]}
                for g in self.groups for x in g["differences"]]

    def to_pandas(self):
        return frame(self.long_rows())


def compare_runs(db, run_ids, *, resamples: int = 2000, seed: int = 0, partial: str = "exclude") -> CompareResult:
    """Systems graded on the same examples (runs, or the systems within one run), compared with paired CIs and
    p-values (medjudge/compare.py)."""
    from .compare import compare

    return CompareResult(compare(open_db(db, must_exist=True), list(run_ids), resamples, seed, partial))


def leaderboard(result: dict) -> list[dict]:
    """Systems of a comparison ranked by their overall mean, with their significant wins."""
    from . import compare

    return compare.leaderboard(result)


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
    from . import optimizing

    tuning = {k: settings.pop(k) for k in ("demos", "candidates", "steps", "threads") if k in settings}
    specs, _ = resolve_judges([judge] if judge else None)
    if len(specs) != 1:
        raise MedjudgeError("optimize tunes one judge: give one --judge")
    cfg = optimizing.OptimizeConfig(input_path=str(input_path), rubric=rubric, judge=specs[0], labels=str(labels) if labels else None,
                         raters=_names(raters), optimizer=optimizer, budget=budget, seed=seed, fractions=tuple(split),
                         settings=Settings(**tuning), dry_run=dry_run, output=str(output) if output else None, **settings)
    return optimizing.optimize(open_db(db), cfg, listeners)


# -- rubrics ---------------------------------------------------------------------------------------

def load_rubric(ref):
    """A rubric file or library id, parsed and checked (rubrics.LoadedRubric: `.rubric`, `.hash`, `.path`); raises
    rubrics.RubricInvalid with every error (file, line, field)."""
    from . import rubrics

    return rubrics.load_rubric(ref)


def library_rubrics() -> list:
    """The rubrics shipped with medjudge, parsed."""
    from .rubrics import library_files, parse_rubric

    return [parse_rubric(p.read_text(encoding="utf-8"), f"library:{p.name}").rubric for p in library_files()]


def rubric_template(kind: str) -> str:
    """A commented template for a new rubric of this kind."""
    from .rubrics.templates import template

    return template(kind)


def lint_rubric(ref) -> list:
    """What makes judges disagree in a rubric (rubrics/lint.py findings)."""
    from .rubrics.lint import lint

    return lint(load_rubric(ref))


def check_examples(ref, *, judges: list[str], db="medjudge.db", mode: str = "per-criterion") -> list:
    """The rubric's worked examples through the judges (rubric_test.Check per expected verdict)."""
    from . import rubric_test

    return rubric_test.test_rubric(open_db(db), load_rubric(ref), judges, mode=mode)


def draft_rubric(question: str, *, kind: str, judge: str, guideline: str | None = None,
                 reference: str | None = None) -> str:
    """A machine-drafted rubric (YAML text, validated) for a question (authoring.py)."""
    from . import authoring

    return authoring.draft(question, kind, judge, guideline, reference)


def atomize_rubric(path, *, judge: str, only_compound: bool = True) -> tuple[str, int]:
    """The rubric with its compound criteria split (YAML text, criteria split)."""
    from . import authoring

    return authoring.atomize(path, judge, only_compound=only_compound)


# -- set-up ---------------------------------------------------------------------------------------

def configured_judges(given: list[str] | None = None) -> tuple[list[str], str]:
    """(judges, where they came from): given, MEDJUDGE_JUDGE, medjudge.toml, else the embedded model."""
    from .config import resolve_judges

    return resolve_judges(given)


def check_judge(spec: str, *, timeout: float = 60.0, call: bool = True) -> tuple[bool, str]:
    """Whether a judge can be used: the preflight checks, then (call=True) a one-token test call."""
    import asyncio

    from .display import clip
    from .models.llm import LLM, Judge
    from .models.preflight import problems

    try:
        judge = Judge.parse(spec)
        found = problems([judge])
        if found:
            return False, found[0].split(": ", 1)[1]
        if not call:
            return True, "checks passed, not called"
        start = time.perf_counter()
        reply = asyncio.run(LLM(timeout=timeout, max_retries=0).complete_once(
            judge, [{"role": "user", "content": "Reply with OK."}], {"max_tokens": 1, "temperature": 0}))
        return True, f"answered in {time.perf_counter() - start:.2f}s ({reply.input_tokens} tokens in)"
    except MedjudgeError as exc:
        return False, clip(str(exc))
    except Exception as exc:  # TransportError and anything a provider raises
        return False, clip(f"{type(exc).__name__}: {exc}")


def versions() -> dict:
    """medjudge's and its libraries' versions (stored with every run)."""
    from . import grading

    return grading.versions()


def key_variables() -> list[str]:
    """The names (never the values) of the API-key variables set."""
    from . import secrets

    return secrets.key_variables()


# -- review ---------------------------------------------------------------------------------------

def review_sample(db, run_id: str, *, method: str = "random", n: int | None = None, seed: int = 0,
                  name: str | None = None) -> tuple[str, dict]:
    """The units a physician labels on the review page: (sample name, {(answer, unit): probability or None})."""
    from .labels import review

    store = open_db(db, must_exist=True)
    return review.choose(store, get_run(store, run_id), method, n, seed, name)


def review_panel(db, run_id: str, raters: list[str], *, per_rater: int | None = None, overlap: int = 2,
                 overlap_share: float = 0.2, method: str = "random", n: int | None = None, seed: int = 0,
                 name: str | None = None, reissue=()) -> dict:
    """A panel of raters for one review server (labels/panel.py): the sample, each rater's assigned units (a
    planned share labelled by `overlap` raters), and new links {name: token} for those without a valid one."""
    from .labels import panel, review

    store = open_db(db, must_exist=True)
    run = get_run(store, run_id)
    names = _names(raters) or []
    sample, chosen = review.choose(store, run, method, n, seed, name)
    return {"sample": sample, "units": len(chosen),
            **panel.open_panel(store, run, sample, chosen, names, per_rater, overlap, overlap_share, seed,
                               _names(reissue) or ())}


def review_status(db, run_id: str, sample: str, *, resamples: int = 1000, seed: int = 0) -> dict:
    """A panel's progress per rater and the agreement on the units two or more raters labelled."""
    from .labels import panel

    store = open_db(db, must_exist=True)
    return panel.status(store, get_run(store, run_id), sample, resamples, seed)


def review_revoke(db, run_id: str, sample: str, rater: str) -> int:
    """Revoke a rater's link (or the coordinator's, rater "(coordinator)"); returns how many were valid."""
    store = open_db(db, must_exist=True)
    return store.revoke_tokens(get_run(store, run_id).id, sample, rater)


def export_review_labels(db, run_id: str, path) -> dict:
    """The run's review labels as the long CSV `annotations import` reads: {path, labels, cannot_judge}."""
    from .labels import review

    store = open_db(db, must_exist=True)
    return review.export(store, get_run(store, run_id), path)


def __getattr__(name):
    """GradeConfig and GradeResult come from grading.py, imported on first use: a command that does not grade
    (runs, show, calibrate...) never pays for DSPy's import."""
    if name in ("GradeConfig", "GradeResult"):
        from . import grading

        return getattr(grading, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["load_rubric", "library_rubrics", "rubric_template", "lint_rubric", "check_examples", "draft_rubric",
           "atomize_rubric", "configured_judges", "check_judge", "versions", "key_variables", "review_sample",
           "export_review_labels", "review_panel", "review_status", "review_revoke", "COORDINATOR", "grade_config", "check_settings", "generate", "EXIT_GATE", "better_gate", "calibration_gate", "score_gate", "EMBEDDED_WARNING", "MAX_ROUNDS", "leaderboard", "GradeConfig", "optimize", "probe", "batch_status", "batch_cancel", "grade_plan", "compare_runs", "CompareResult", "write_report", "write_calibration_report", "GradePlan", "BatchStatus", "LabelSample", "LabelPlan", "ReportFile", "AgreementResult", "CalibrationResult", "EstimateResult", "agreement", "estimate", "plan_labels", "sample", "GradeResult", "RunInfo", "RunList", "RunSummary", "calibrate", "get_run", "grade",
           "import_annotations", "judgment_rows", "open_db", "runs", "summarize"]
