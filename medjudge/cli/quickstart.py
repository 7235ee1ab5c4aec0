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
    """Grade 5 bundled HealthBench examples (physician ideal answers) and print the summary."""
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
    run_id = report(console, store, cfg, run, rubric, items, panel_judges, skipped)
    console.print(f"\nThe database is {db.resolve()}: open it with sqlite3 or Datasette, or run "
                  f"`medjudge show {run_id}` and `medjudge export {run_id} --judgments`.")
