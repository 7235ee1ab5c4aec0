"""medjudge runs / show / export: read stored runs back, no LLM calls."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Optional

import typer

from ..errors import MedjudgeError
from . import app


def _open(db: Path):
    from ..store import Store

    if not db.exists():
        raise MedjudgeError(f"{db}: no database here (grade something first, or pass --db)")
    return Store(db)


def _partial(value: str) -> str:
    if value not in ("exclude", "include"):
        raise MedjudgeError("--partial must be exclude or include")
    return value


def _run(store, run_id):
    run = store.get_run(run_id)
    if run is None:
        raise MedjudgeError(f"no run {run_id!r} in {store.path} (see `medjudge runs`)")
    return run


@app.command()
def runs(db: Path = typer.Option(Path("medjudge.db"), "--db")):
    """List the runs in the database."""
    from rich.console import Console
    from rich.table import Table

    store = _open(db)
    t = Table("run", "rubric", "kind", "mode", "judges", "samples", "answers", "judgments", "status", "started")
    for r in store.list_runs():
        judges = ", ".join(j["model"] for j in json.loads(r["panel"]))
        t.add_row(r["id"], r["rubric_id"], r["kind"], r["mode"], judges, str(r["samples"]), str(r["answers"]),
                  str(r["judgments"]), r["status"], r["started"])
    Console().print(t)


@app.command()
def show(run_id: str, db: Path = typer.Option(Path("medjudge.db"), "--db"),
         as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
         partial: str = typer.Option("exclude", "--partial", help="exclude | include: partial answers' bounds")):
    """Show a run's summary again, from the database alone."""
    from rich.console import Console

    from ..report import render, summarize_run

    store = _open(db)
    run = _run(store, run_id)
    summary = summarize_run(store, run["id"], partial=_partial(partial))
    if as_json:
        summary.pop("per_answer")
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    render(summary, Console())


@app.command()
def export(
    run_id: str,
    fmt: str = typer.Option("jsonl", "--format", help="jsonl | csv"),
    judgments: bool = typer.Option(False, "--judgments", help="one row per judgment (with raw response) instead of per answer"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="file to write (default: stdout)"),
    db: Path = typer.Option(Path("medjudge.db"), "--db"),
):
    """Export a run: one row per answer, or per judgment with --judgments."""
    from ..report import summarize_run

    if fmt not in ("jsonl", "csv"):
        raise MedjudgeError("--format must be jsonl or csv")
    store = _open(db)
    run = _run(store, run_id)
    if judgments:
        rows = (dict(r) for r in store.judgments(run["id"], full=True))
    else:
        per_answer = summarize_run(store, run["id"])["per_answer"]
        # one row per answer: its score (None unless complete), bounds, coverage and vote counts per unit
        rows = ({"run_id": run["id"], "answer_id": a, "source": d.get("source"), "score": s,
                 **{k: v for k, v in d.items() if k != "source"}} for a, (s, d) in per_answer.items())
    out = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        if fmt == "jsonl":
            for r in rows:
                out.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
        else:
            writer = None
            for r in rows:
                flat = {k: (json.dumps(v, ensure_ascii=False) if isinstance(v, (dict, list)) else v) for k, v in r.items()}
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=list(flat))
                    writer.writeheader()
                writer.writerow(flat)
    finally:
        if output:
            out.close()
