"""medjudge optimize: tune a rubric's judge program on expert labels, proven on held-out questions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from . import app
from .options import DB


@app.command()
def optimize(
    input_path: str = typer.Argument(..., help="the labelled answers: a file (answers JSONL, or --format), or a run id (its answers)"),
    rubric: str = typer.Option(..., "--rubric", "-r", help="rubric file or library id"),
    labels: Optional[str] = typer.Option(None, "--labels", help="expert labels file to import first (any layout `annotations import` reads); default: the experts already in the database"),
    raters: Optional[list[str]] = typer.Option(None, "--raters", metavar="NAMES", help="whose labels are gold (default: every expert)"),
    judge: Optional[str] = typer.Option(None, "--judge", "-j", help="the judge model to tune (default: configured, else the embedded local model)"),
    optimizer: str = typer.Option("bootstrap-fewshot", "--optimizer", help="bootstrap-fewshot | miprov2 | simba | gepa"),
    budget: Optional[int] = typer.Option(None, "--budget", help="hard cap on the calls the optimiser pays for, over all reruns"),
    seed: int = typer.Option(0, "--seed", help="seed of the split and the optimiser"),
    split: str = typer.Option("0.3,0.2,0.5", "--split", help="train,dev,test shares of the labelled units, split by question"),
    demos: int = typer.Option(4, "--demos", help="at most this many demonstrations in the prompt"),
    candidates: int = typer.Option(6, "--candidates", help="candidate programs the optimiser tries"),
    threads: int = typer.Option(8, "--threads", help="calls in flight during optimisation (1 for an in-process model)"),
    fmt: str = typer.Option("answers", "--format", help="answers | healthbench | kqa | pairs"),
    false_safe_cost: float = typer.Option(5.0, "--false-safe-cost", help="safety rubrics: cost of a false 'safe' against 1 for a false 'unsafe'"),
    resamples: int = typer.Option(1000, "--resamples", help="bootstrap resamples for the held-out CIs"),
    timeout: float = typer.Option(60.0, "--timeout", help="seconds per call"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="the program file (default: RUBRIC.PROGRAM_ID.json)"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the split, the calls and the cost estimate; call nothing"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the result (program and held-out report) as JSON"),
    db: Path = DB,
):
    """Tune a rubric's judge program on expert labels (DSPy optimisers), then grade held-out questions with it
    and without it: adopted only when the gain's CI excludes 0 and no group loses."""
    from .. import api
    from ..errors import MedjudgeError
    from .grade import finish
    from .options import wide_console

    try:
        shares = tuple(float(x) for x in split.split(","))
    except ValueError:
        raise MedjudgeError(f"--split takes three shares such as 0.3,0.2,0.5, not {split!r}") from None
    result = api.optimize(input_path, rubric=rubric, labels=labels, judge=judge, db=db, optimizer=optimizer, budget=budget,
                 seed=seed, split=shares, raters=raters, dry_run=dry_run, output=output, demos=demos,
                 candidates=candidates, threads=threads, format=fmt, false_safe_cost=false_safe_cost,
                 resamples=resamples, timeout=timeout)
    console = wide_console()
    render(result, console)
    if json_out:
        json_out.write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
    finish(result)


def render(r, console):
    from ..display import ci, num

    c = r.counts
    console.print(f"optimisation {r.id}: {c['labelled_units']} labelled units ({c['ties']} without a majority, left out); "
                  f"split by question: train {c['train']} units / {c['train_questions']} questions, "
                  f"dev {c['dev']} / {c['dev_questions']}, test {c['test']} / {c['test_questions']}")
    if r.status == "planned":
        cost = "unknown (no price for this model in LiteLLM's map)" if r.estimated_cost is None else f"${r.estimated_cost:.4f}"
        console.print(f"dry run with judge {r.judge}: at most {r.planned_calls} calls (optimiser and held-out grading; "
                      f"the cache answers repeats), estimated cost {cost}; nothing was called")
        return
    opt = r.calls.get("optimiser", {})
    console.print(f"optimiser calls: {opt.get('made', 0)} made, {opt.get('cached', 0)} from cache "
                  f"({opt.get('paid_in_all', 0)} paid by this optimisation in all)")
    if r.report is None:
        return
    rep, g = r.report, r.report["gain"]
    art = r.program
    console.print(f"program {art['id']}: {len(art['demos'])} demonstrations, instructions "
                  f"{'changed' if art['instructions'] != _base(art) else 'unchanged'}; written to {r.output}")
    console.print(f"held-out test ({g['paired']} of {g['units']} units scored by both; coverage before "
                  f"{num(g['coverage_before'])}, after {num(g['coverage_after'])}), {g['metric']}:")
    console.print(f"  before {num(g['before'])}  after {num(g['after'])}  gain {num(g['gain'])} {ci(g['ci'])} "
                  f"(paired bootstrap over questions)")
    for x in g["groups"]:
        console.print(f"  {rep['groups_by']} {x['group']}: n={x['n']}  {num(x['before'])} -> {num(x['after'])}")
    for name in ("before", "after"):
        for row in rep["calibration"].get(name, []):
            console.print(f"  calibrate {name} (run {rep['runs'][name]}) {row['group']}: {row['statistic']} "
                          f"{num(row['estimate'])} {ci(row['ci'])}  expert ceiling {num(row['ceiling'])}"
                          + (f"  percentile among experts {num(row['percentile_among_experts'])}"
                             if row.get("percentile_among_experts") is not None else "")
                          + f"  verdict: {row['verdict']}")
    if rep["adopted"]:
        console.print(f"[green]adopted[/green]: grade with --program {r.output} (or --program {art['id']})")
    else:
        console.print("[yellow]not adopted[/yellow]: " + "; ".join(rep["why_not"]))


def _base(art) -> str:
    return art.get("base_instructions", art["instructions"])
