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
from .options import DB, JSON, PARTIAL, print_table


@app.command()
def runs(db: Path = DB, as_json: bool = JSON):
    """List the runs in the database (whole run ids, tab-separated, when the output is not a terminal)."""
    from .. import api

    found = api.runs(db)
    if as_json:
        typer.echo(json.dumps(found.to_dict(), indent=2))
        return
    cols = ["id", "rubric_id", "kind", "mode", "judges", "samples", "answers", "judgments", "status", "purpose", "started"]
    if any(r.program for r in found):
        cols.insert(5, "program")
    rows = [[", ".join(r.judges) if c == "judges" else str(getattr(r, c) or "") for c in cols] for r in found]
    print_table(["run", "rubric", *cols[2:]], rows, keys=cols)


@app.command()
def show(run_id: str, db: Path = DB,
         as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
         partial: str = PARTIAL):
    """Show a run's summary again, from the database alone."""
    from rich.console import Console

    from ..api import summarize
    from ..view.console import render

    result = summarize(db, run_id, partial=partial)
    if as_json:
        typer.echo(json.dumps(result.summary, indent=2, default=str))
        return
    render(result.summary, Console())


@app.command()
def export(
    run_id: str,
    fmt: str = typer.Option("jsonl", "--format", help="jsonl | csv"),
    judgments: bool = typer.Option(False, "--judgments", help="one row per judgment (with raw response) instead of per answer"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="file to write (default: stdout)"),
    partial: str = PARTIAL,
    db: Path = DB,
):
    """Export a run: one row per answer (score, coverage, and each unit's verdict beside its text, points and
    tags), or one row per judgment with --judgments."""
    from ..api import judgment_rows, summarize

    if fmt not in ("jsonl", "csv"):
        raise MedjudgeError("--format must be jsonl or csv")
    rows = judgment_rows(db, run_id) if judgments else iter(summarize(db, run_id, partial=partial).answers)
    out = output.open("w", newline="", encoding="utf-8") if output else sys.stdout
    try:
        if fmt == "jsonl":
            for r in rows:
                out.write(json.dumps(r, ensure_ascii=False, default=str) + "\n")
        else:
            if not judgments:  # answers differ in their keys (bounds only where partial): take every key
                rows = [flat_row(r) for r in rows]
                names = list(dict.fromkeys(k for r in rows for k in r))
            writer = None
            for r in rows:
                flat = flat_row(r)
                if writer is None:
                    writer = csv.DictWriter(out, fieldnames=names if not judgments else list(flat))
                    writer.writeheader()
                writer.writerow(flat)
    finally:
        if output:
            out.close()


def flat_row(row: dict) -> dict:
    """One CSV row: a mapping becomes one column per key (met.emergency = true); lists stay JSON."""
    out = {}
    for k, v in row.items():
        if isinstance(v, dict):
            for sk, sv in v.items():
                out[f"{k}.{sk}"] = json.dumps(sv, ensure_ascii=False) if isinstance(sv, (dict, list)) else sv
        else:
            out[k] = json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
    return out


@app.command()
def report(
    run_id: str = typer.Argument(..., help="the run to report on"),
    output: Path = typer.Option(Path("report.html"), "--output", "-o", help="the HTML file to write"),
    calibration: Optional[list[str]] = typer.Option(None, "--calibration", metavar="ID", help="calibrations to show (default: those computed from this run)"),
    compare: Optional[list[str]] = typer.Option(None, "--compare", metavar="RUN_ID", help="other runs of the same rubric kind to show beside it"),
    partial: str = PARTIAL,
    db: Path = DB,
):
    """Write one self-contained HTML report (no network request): run card, scores with CIs, per-unit
    rates, calibration figures, and every answer with the judge's explanations and the experts' labels."""
    from ..api import write_report

    r = write_report(db, run_id, output, calibrations=calibration or (), partial=partial, compare=compare or ())
    typer.echo(f"wrote {r['path']} ({r['bytes'] / 1024:.0f} KiB in {r['seconds']:.1f} s)")


@app.command()
def browse(
    db: Path = DB,
    port: int = typer.Option(8001, "--port", help="the local port Datasette listens on"),
    metadata_out: Optional[Path] = typer.Option(None, "--metadata", help="write the metadata file here and stop (for your own Datasette)"),
):
    """Open the database in Datasette (pip install 'medjudge[browse]'), with table and column descriptions and
    canned queries: worst answers, judge disagreements, unscored verdicts with reasons, cost by judge."""
    import shutil
    import subprocess
    import tempfile

    from ..view.browse import metadata

    if not db.exists():
        raise MedjudgeError(f"{db}: no database here (grade something first, or pass --db)")
    text = json.dumps(metadata(db), indent=2)
    if metadata_out:
        metadata_out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {metadata_out}: datasette serve {db} --metadata {metadata_out}")
        return
    exe = shutil.which("datasette")
    if exe is None:
        raise MedjudgeError("medjudge browse needs Datasette: pip install 'medjudge[browse]'")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        fh.write(text)
    typer.echo(f"Datasette on http://127.0.0.1:{port} (Ctrl-C to stop)")
    subprocess.run([exe, "serve", str(db), "--metadata", fh.name, "--port", str(port), "--host", "127.0.0.1"])
