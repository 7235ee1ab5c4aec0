"""medjudge quickstart: grade the bundled HealthBench sample with the default judge, offline."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from . import app
from .options import DB, JUDGES


@app.command()
def quickstart(
    judge: Optional[list[str]] = JUDGES,
    db: Path = DB,
):
    """Grade 5 bundled HealthBench examples with the default judge, then calibrate published judges on MentalAlign."""
    from importlib import resources

    from rich.console import Console

    from .. import api
    from .calibrate_report import render
    from .grade import finish, progress_bar, show_result

    console = Console()
    sample = Path(str(resources.files("medjudge") / "data" / "healthbench_sample.jsonl"))
    judges, origin = api.configured_judges(judge)
    if origin == "embedded":
        console.print(f"[yellow]{api.EMBEDDED_WARNING}[/yellow]")
    console.print(f"[bold]1. Grading[/bold] {sample.name}: 5 HealthBench conversations, the physicians' ideal answers, "
                  f"graded against their physician-written criteria by {', '.join(judges)}")
    with progress_bar(console, quiet=False) as listener:
        result = api.grade(sample, rubric="healthbench", judges=judges, format="healthbench", db=db,
                           listeners=[listener])
    show_result(console, result, exit=False)
    console.print("\n[bold]2. Calibrating[/bold] published judges against a human expert: MentalAlign-70k "
                  "(Badawi et al. 2025), 350,000 ratings; GPT-4o vs the expert, one mean per response source, "
                  "GPT-4o's own responses left out")
    ratings_file = Path(str(resources.files("medjudge") / "data" / "mentalalign" / "ratings_long.csv.gz"))
    imported = api.import_annotations(db, ratings_file)
    console.print(f"imported {imported.rows} ratings ({imported.rows - imported.valid} empty cells kept out)")
    cal = api.calibrate(db, raters=["gpt-4o"], against=["human_expert"], level="system", by="attribute",
                        self_source={"gpt-4o": "gpt4o"})
    render(cal.rows, console, cal.id)
    report = api.write_report(db, result.run_id, db.with_name("medjudge-report.html"))
    page = api.write_calibration_report(db, cal.id, db.with_name("medjudge-calibration.html"))
    console.print(f"\nTwo pages, one analysis each (open them in a browser; they make no request): the grading run is "
                  f"{Path(report.path).resolve()}, the calibration {Path(page.path).resolve()}.")
    console.print(f"The database is {db.resolve()}: open it with sqlite3 or Datasette, or run "
                  f"`medjudge show {result.run_id}`, `medjudge export {result.run_id} --judgments` and "
                  f"`medjudge calibrate --help`.")
    finish(result)  # a grading run that is not complete does not exit 0
