"""medjudge quickstart: grade the bundled HealthBench sample with the default judge, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app


@app.command()
def quickstart(
    judge: Optional[list[str]] = typer.Option(None, "--judge", "-j", help="judge(s); default: configured, else the embedded local model"),
    db: Path = typer.Option(Path("medjudge.db"), "--db"),
):
    """Grade 5 bundled HealthBench examples with the default judge, then calibrate published judges on MentalAlign."""
    from importlib import resources

    from rich.console import Console

    from ..config import EMBEDDED_WARNING, resolve_judges
    from ..grading import GradeConfig, prepare
    from ..store import Store
    from .grade import report

    console = Console()
    sample = Path(str(resources.files("medjudge") / "data" / "healthbench_sample.jsonl"))
    judges, origin = resolve_judges(judge)
    if origin == "embedded":
        console.print(f"[yellow]{EMBEDDED_WARNING}[/yellow]")
    console.print(f"[bold]1. Grading[/bold] {sample.name}: 5 HealthBench conversations, the physicians' ideal answers, "
                  f"graded against their physician-written criteria by {', '.join(judges)}")
    store = Store(db)
    cfg = GradeConfig(input_path=str(sample), rubric="healthbench", judges=judges, format="healthbench")
    run, rubric, items, panel_judges, skipped = prepare(store, cfg)
    summary = report(console, store, cfg, run, rubric, items, panel_judges, skipped)
    run_id = summary["run"]
    console.print("\n[bold]2. Calibrating[/bold] published judges against a human expert: MentalAlign-70k "
                  "(Badawi et al. 2025), 350,000 ratings; GPT-4o vs the expert, one mean per response source, "
                  "GPT-4o's own responses left out")
    from ..calibration import Options, calibrate, ratings_from_annotations
    from ..calibration.annotations import import_file
    from .calibrate_report import render

    ratings_file = Path(str(resources.files("medjudge") / "data" / "mentalalign" / "ratings_long.csv.gz"))
    report = import_file(store, ratings_file)
    console.print(f"imported {report.rows} ratings ({report.rows - report.valid} empty cells kept out)")
    ratings = ratings_from_annotations(store, ["gpt-4o", "human_expert"])
    results = calibrate(ratings, ["gpt-4o"], ["human_expert"],
                        Options(level="system", by="attribute", self_source={"gpt-4o": "gpt4o"}))
    render(results, console)
    console.print(f"\nThe database is {db.resolve()}: open it with sqlite3 or Datasette, or run "
                  f"`medjudge show {run_id}`, `medjudge export {run_id} --judgments` and `medjudge calibrate --help`.")
    from .grade import finish

    finish(summary, cfg.min_coverage)  # a grading run that is not complete does not exit 0
