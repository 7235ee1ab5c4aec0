"""medjudge batch status|collect|cancel: a run's provider batches (grade --batch)."""

from __future__ import annotations

from pathlib import Path

import typer

from . import app
from .options import DB

batch_app = typer.Typer(help="A run's provider batches (grade --batch): status, collect, cancel.", no_args_is_help=True)
app.add_typer(batch_app, name="batch")


@batch_app.command("status")
def status(run_id: str, db: Path = DB):
    """The run's batches: provider id, state, requests."""
    from rich.console import Console

    from ..api import batch_status

    st = batch_status(db, run_id)
    console = Console()
    if not st["batches"]:
        console.print(f"run {run_id} has no batches")
    for b in st["batches"]:
        counts = (b["detail"] or {}).get("counts")
        console.print(f"batch {b['id']} ({b['provider']} {b.get('provider_id') or '-'}): {b['state']}, "
                      f"{b['requests']} requests" + (f", {counts}" if counts else ""))


@batch_app.command("collect")
def collect(run_id: str, wait: bool = typer.Option(False, "--wait", help="poll until the run is complete"),
            quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress"), db: Path = DB):
    """Collect finished batches into the run, submit what it still needs (re-asks, failed requests, a cascade's
    second stage); with --wait, until the run is complete."""
    from rich.console import Console

    from ..api import grade
    from .grade import show_result

    from .grade import poll_line

    console = Console()
    result = grade(db=db, resume=run_id, batch=True, wait=wait, on_poll=None if quiet else poll_line(console))
    show_result(console, result)


@batch_app.command("cancel")
def cancel(run_id: str, db: Path = DB):
    """Cancel the run's batches in flight (what they answered is still collected; collect sends the rest anew)."""
    from ..api import batch_cancel

    n = batch_cancel(db, run_id)
    typer.echo(f"cancelled {n} batches of run {run_id}")
