"""medjudge grade: rubric + answers + judge panel -> judgments in SQLite, with a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app
from .options import DB, JUDGES, PARTIAL, rate_limits


@app.command()
def grade(
    input_path: Optional[Path] = typer.Argument(None, help="answers JSONL, HealthBench JSONL (--format healthbench) or K-QA answers (--format kqa); not needed with --resume"),
    rubric: Optional[str] = typer.Option(None, "--rubric", "-r", help="rubric file or library id (healthbench for --format healthbench)"),
    judge: Optional[list[str]] = JUDGES,
    model: Optional[list[str]] = typer.Option(None, "--model", "-m", metavar="MODEL", help="generate the answers first: each model under test answers the prompts (medjudge generate; repeatable, each a system), then they are graded"),
    fmt: str = typer.Option("answers", "--format", help="answers | healthbench | healthbench-meta (the meta-evaluation file: each completion x criterion, joined with its physicians' labels by construction) | kqa | pairs (several systems per prompt_id, for a pairwise rubric)"),
    answers: Optional[Path] = typer.Option(None, "--answers", help="HealthBench: answers JSONL keyed by prompt_id (last assistant turn graded)"),
    answer_field: str = typer.Option("ideal", "--answer-field", help="HealthBench without --answers: grade this completion (ideal)"),
    questions: Optional[Path] = typer.Option(None, "--questions", help="K-QA: questions with Must_have/Nice_to_have (default: bundled K-QA)"),
    samples: int = typer.Option(1, "--samples", "-n", help="samples per judge"),
    mode: str = typer.Option("per-criterion", "--mode", help="per-criterion (one call each) | batched (one call per answer)"),
    temperature: float = typer.Option(0.0, "--temperature", help="sampling temperature sent to the judges"),
    seed: Optional[int] = typer.Option(0, "--seed", help="sent where the provider supports it (sample i gets seed+i)"),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="cap on each reply's tokens (default: the provider's)"),
    tie: Optional[str] = typer.Option(None, "--tie", help="count a tied boolean vote as met or unmet (default: unscored)"),
    quorum: Optional[str] = typer.Option(None, "--quorum", help="scored votes a unit needs of those expected: majority (default: more than half), all, or a share such as 0.75"),
    partial: str = PARTIAL,
    min_coverage: float = typer.Option(1.0, "--min-coverage", help="share of units that must be scored for exit code 0"),
    concurrency: int = typer.Option(16, "--concurrency", "-c", help="calls in flight at once"),
    timeout: float = typer.Option(60.0, "--timeout", help="seconds per call"),
    max_retries: int = typer.Option(4, "--max-retries", help="retries per call on 429, timeouts, server errors"),
    limit: Optional[int] = typer.Option(None, "--limit", help="grade only the first N answers"),
    sample_rows: Optional[int] = typer.Option(None, "--sample-rows", help="--format healthbench-meta: grade N lines drawn as simple-evals draws them (random.Random(--sample-seed).sample)"),
    sample_seed: int = typer.Option(0, "--sample-seed", help="seed of --sample-rows (simple-evals uses 0)"),
    local_only: bool = typer.Option(False, "--local-only", help="refuse judges that are not in-process or on loopback"),
    cascade: bool = typer.Option(False, "--cascade", help="the first judge grades everything; the others only items it leaves in doubt"),
    rpm: Optional[list[str]] = typer.Option(None, "--rpm", metavar="[MODEL=]N", help="requests per minute, N for every judge or MODEL=N"),
    tpm: Optional[list[str]] = typer.Option(None, "--tpm", metavar="[MODEL=]N", help="tokens per minute, N for every judge or MODEL=N"),
    workers: str = typer.Option("1", "--workers", help="processes sharing the calls (for high call rates): a number, or auto (one per core when there are calls enough)"),
    program: Optional[str] = typer.Option(None, "--program", help="grade with an optimised judge program: its file or stored id (medjudge optimize)"),
    batch: bool = typer.Option(False, "--batch", help="send the calls through the providers' batch APIs (half the price, results within 24 h); returns at once unless --wait"),
    wait: bool = typer.Option(False, "--wait", help="with --batch: poll (with backoff) until every batch is collected"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the calls still needed, their input tokens and the cost online and in batch; call nothing, write nothing"),
    plan_json: Optional[Path] = typer.Option(None, "--json", help="with --dry-run: also write the plan as JSON"),
    resume: Optional[str] = typer.Option(None, "--resume", help="finish a stored run (its rubric, answers and panel)"),
    db: Path = DB,
    fail_under: Optional[float] = typer.Option(None, "--fail-under", help="gate for CI: exit 6 when the headline figure (of the run and of each system) is below this"),
    fail_over: Optional[float] = typer.Option(None, "--fail-over", help="gate for lower-is-better headlines (an unsafe rate): exit 6 when above this"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar"),
    json_summary: Optional[Path] = typer.Option(None, "--json-summary", help="also write the summary as JSON"),
):
    """Grade answers with a judge panel; every judgment is stored, a rerun resumes."""
    from rich.console import Console

    from .. import api

    console = Console(stderr=False)
    if workers != "auto" and not (workers.isdigit() and int(workers) >= 1):
        raise typer.BadParameter(f"--workers takes a number of processes or auto, not {workers!r}")
    workers = workers if workers == "auto" else int(workers)
    execution = dict(concurrency=concurrency, timeout=timeout, max_retries=max_retries, rpm=rate_limits(rpm, "--rpm"),
                     tpm=rate_limits(tpm, "--tpm"), workers=workers, partial=partial, min_coverage=min_coverage,
                     batch=batch, wait=wait, fail_under=fail_under, fail_over=fail_over)
    generated = None  # grade --model: the generation's result
    if resume:
        with progress_bar(console, quiet) as listener:
            result = api.grade(db=db, resume=resume, listeners=[listener] if listener else [], **execution)
    else:
        if input_path is None:
            raise typer.BadParameter("give the answers file, or --resume RUN_ID")
        if rubric is None and fmt not in ("healthbench", "healthbench-meta", "kqa"):
            raise typer.BadParameter("give --rubric FILE or a library id (see `medjudge rubric list`)")
        if model:
            input_path, answers, generated = generate_first(input_path, model, fmt, db, concurrency, timeout,
                                                            max_retries, limit, rate_limits(rpm, "--rpm"),
                                                            rate_limits(tpm, "--tpm"))
            limit = limit * len(model) if limit else None  # the first N prompts, each answered by every model
        settings = dict(format=fmt, answers_path=str(answers) if answers else None, answer_field=answer_field,
                        questions_path=str(questions) if questions else None, samples=samples, mode=mode,
                        temperature=temperature, seed=seed, max_tokens=max_tokens, tie=tie, local_only=local_only,
                        limit=limit, cascade=cascade, quorum=quorum, program=program,
                        **({"sample_rows": sample_rows, "sample_seed": sample_seed} if sample_rows else {}))
        api.check_settings(input_path, **settings, **execution)  # before any banner
        if dry_run:
            p = api.grade_plan(input_path, rubric=rubric, judges=judge, db=db, **settings, **execution)
            show_plan(console, p)
            if plan_json:
                import json

                plan_json.write_text(json.dumps(p.to_dict(), indent=2), encoding="utf-8")
            return
        judges_spec, origin = api.configured_judges(judge)
        if origin == "embedded":
            console.print(f"[yellow]{api.EMBEDDED_WARNING}[/yellow]")
        elif origin != "--judge":
            console.print(f"judges from {origin}: {', '.join(judges_spec)}")
        if fmt == "healthbench" and answers is None:
            console.print(f"grading the physician {answer_field} completions (use --answers FILE to grade a model's)")
        with progress_bar(console, quiet and not batch, batch) as listener:
            result = api.grade(input_path, rubric=rubric, judges=judges_spec, db=db,
                               listeners=[listener] if listener and not batch else [],
                               on_poll=None if quiet else poll_line(console), **settings, **execution)
    if generated is not None and generated.exit_code and not result.exit_code:
        show_result(console, result, json_summary, exit=False)
        typer.echo(generated.reason, err=True)
        raise typer.Exit(generated.exit_code)
    show_result(console, result, json_summary)


def generate_first(input_path, models, fmt, db, concurrency, timeout, max_retries, limit, rpm, tpm):
    """grade --model: the models' answers to the prompts, into a file beside the database; (the file to grade,
    the HealthBench answers file, the generation's result)."""
    from .. import api
    from .generate import show_generated

    if fmt not in ("answers", "healthbench"):
        raise typer.BadParameter("--model generates answers for --format answers or healthbench prompts")
    out = Path(db).resolve().parent / f"{Path(input_path).stem}.generated.jsonl"
    g = api.generate(input_path, models=models, output=out, db=db, format=fmt, concurrency=concurrency,
                     timeout=max(timeout, 120.0), max_retries=max_retries, limit=limit, rpm=rpm, tpm=tpm)
    show_generated(g)
    if not sum(g.answers.values()):
        typer.echo(g.reason or "no answer was generated", err=True)
        raise typer.Exit(g.exit_code or 4)
    return (input_path, out, g) if fmt == "healthbench" else (out, None, g)


def show_plan(console, p):
    from ..display import num

    console.print(f"dry run: run {p['run']} ({'exists: what it still needs' if p['exists'] else 'new'}); nothing was called")
    for j in p["judges"]:
        console.print(f"  {j['judge']}: {j['calls']} calls, about {j['input_tokens']} input tokens; cost online "
                      f"{'$' + num(j['online_cost'], '.4f') if j['online_cost'] is not None else 'unknown (no price)'}, "
                      f"batch {'$' + num(j['batch_cost'], '.4f') if j['batch_cost'] is not None else 'unknown (no price)'}")
    console.print(f"  in all: {p['calls']} calls; {p['cached']} answered from the cache"
                  + (f"; plus {p['statement_splits']} statement-splitting calls" if p["statement_splits"] else "")
                  + ("; plus the cascade's second tier, known only after the first" if p["cascade_second_tier_not_counted"] else ""))


def show_batch(console, result):
    st = result.batch or {}
    for b in st.get("batches", []):
        console.print(f"  batch {b['id']} ({b['provider']} {b.get('provider_id') or '-'}): {b['state']}, "
                      f"{b['requests']} requests")


def show_result(console, result, json_summary=None, exit=True):
    """Print what the invocation did and the run's summary; exit with the run's code (README, "Exit codes"),
    its reason on one line on stderr when not 0."""
    from ..view.console import render

    if result.skipped:
        s = result.skipped
        console.print(f"skipped {len(s)} examples: " + "; ".join(f"{pid} ({why})" for pid, why in s[:3])
                      + (" ..." if len(s) > 3 else ""))
    if result.batch is not None:
        show_batch(console, result)
    console.print(f"this invocation: {result.calls} calls made, {result.cached} answered from cache, "
                  f"{result.retries} retries, {result.tasks_done} of {result.tasks_total} tasks done")
    if result.reasked:
        from ..api import MAX_ROUNDS

        console.print(f"asked again: {result.reasked} calls whose units an earlier run left unscored "
                      f"(each unit is asked by at most {MAX_ROUNDS} runs, each time a fresh call)")
    if result.summary:
        render(result.summary, console, result.wall_time)
        if json_summary:
            import json

            json_summary.write_text(json.dumps(result.summary, indent=2, default=str), encoding="utf-8")
    for line in result.gates:
        console.print(line, markup=False, highlight=False)
    if exit:
        finish(result)


def finish(result):
    if result.exit_code:
        typer.echo(result.reason, err=True)
        raise typer.Exit(result.exit_code)


def poll_line(console):
    """grade --batch --wait: one line per poll with the requests per batch state."""
    def show(st):
        counts = ", ".join(f"{n} {state}" for state, n in sorted(st["requests"].items())) or "no batches"
        console.print(f"batch requests: {counts}  ({st['state']})")
    return show


class progress_bar:
    """A rich progress bar (done/total, ETA, calls, tokens, cost) fed by the panel's progress listener; it
    appears with the first progress, so that a run refused before any call prints only its reason."""

    def __init__(self, console, quiet, batch=False):
        self.console, self.quiet, self.bar = console, quiet or batch, None

    def __enter__(self):
        if self.quiet:
            return None
        if not self.console.is_terminal:
            return self.lines()

        def listener(p):
            if self.bar is None:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

                self.bar = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                    TextColumn("{task.fields[stats]}"), console=self.console, transient=False)
                self.task = self.bar.add_task("grade", total=None, stats="")
                self.bar.start()
            stats = (f"calls {p.calls} cached {p.cached} tokens {p.input_tokens + p.output_tokens} "
                     f"cost ${p.cost:.4f}")
            self.bar.update(self.task, total=p.total, completed=p.done, stats=stats)

        return listener

    def lines(self, every: float = 30.0):
        """Not a terminal (a CI log, a pipe): one line on stderr every tenth of the tasks or `every` seconds."""
        import time

        last = {"at": time.monotonic(), "tenth": 0}

        def listener(p):
            tenth = int(10 * p.done / p.total) if p.total else 0
            now = time.monotonic()
            if tenth > last["tenth"] or now - last["at"] >= every or (p.total and p.done == p.total):
                last.update(at=now, tenth=tenth)
                typer.echo(f"grading: {p.done} of {p.total} tasks; calls {p.calls}, cached {p.cached}, "
                           f"cost ${p.cost:.4f}", err=True)
        return listener

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
