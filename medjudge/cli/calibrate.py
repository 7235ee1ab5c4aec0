"""medjudge annotations import|list, medjudge calibrate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..errors import MedjudgeError
from . import app

annotations_app = typer.Typer(help="Import and list expert annotations.", no_args_is_help=True)
app.add_typer(annotations_app, name="annotations")
DB = typer.Option(Path("medjudge.db"), "--db")


@annotations_app.command("import")
def import_(
    path: Path = typer.Argument(..., help="CSV or JSONL of ratings"),
    fmt: str = typer.Option("long", "--format", help="long | healthbench-meta"),
    wide: bool = typer.Option(False, "--wide", help="one column per rater"),
    rater_columns: Optional[str] = typer.Option(None, "--rater-columns", help="wide files: rater columns, comma-separated"),
    kind: str = typer.Option("expert", "--kind", help="rater kind when the file has no rater_kind column"),
    rubric: Optional[str] = typer.Option(None, "--rubric", help="check values against this rubric's type and range"),
    value_range: Optional[str] = typer.Option(None, "--range", help="allowed values MIN..MAX, e.g. 1..5"),
    item: Optional[str] = typer.Option(None, "--item", help="item id column(s), comma-separated"),
    unit: Optional[str] = typer.Option(None, "--unit", help="criterion/dimension column"),
    unit_name: Optional[str] = typer.Option(None, "--unit-name", help="wide files without a unit column: its name"),
    rater: Optional[str] = typer.Option(None, "--rater", help="rater column"),
    value: Optional[str] = typer.Option(None, "--value", help="value column"),
    source: Optional[str] = typer.Option(None, "--source", help="response source (system) column"),
    db: Path = DB,
):
    """Import ratings; unreadable or out-of-range values are reported and kept out of the statistics."""
    from ..calibration.annotations import import_file
    from ..rubrics import load_rubric
    from ..store import Store

    if kind not in ("expert", "llm_judge"):
        raise MedjudgeError("--kind must be expert or llm_judge")
    rub = load_rubric(rubric).rubric if rubric else None
    report = import_file(Store(db), path, fmt=fmt, wide=wide,
                         rater_columns=rater_columns.split(",") if rater_columns else None, kind=kind, rubric=rub,
                         value_range=value_range, unit_name=unit_name, item=item, unit=unit, rater=rater,
                         value=value, source=source)
    typer.echo(f"imported {report.rows} ratings from {path}: {report.valid} valid, "
               f"{report.rows - report.valid} kept out of the statistics")
    for reason, n in sorted(report.problems.items(), key=lambda kv: -kv[1]):
        typer.echo(f"  {n} x {reason}")
    for line, r, it, u, raw, reason in report.examples:
        typer.echo(f"  e.g. {path}:{line}: rater {r}, item {it}, {u}: {raw!r} ({reason})")


@annotations_app.command("list")
def list_(db: Path = DB):
    """Raters in the database with their counts."""
    from rich.console import Console
    from rich.table import Table

    from ..store import Store

    t = Table("rater", "kind", "ratings", "kept out", "items", "units", "imported")
    for r in Store(db).annotation_summary():
        t.add_row(r["rater"], r["rater_kind"], str(r["ratings"]), str(r["invalid"]), str(r["items"]),
                  str(r["units"]), r["imported"])
    Console().print(t)


@app.command()
def calibrate(
    run: Optional[str] = typer.Option(None, "--run", help="calibrate a run's judges against the experts"),
    raters: Optional[list[str]] = typer.Option(None, "--raters", help="raters already in the database to calibrate"),
    against: Optional[list[str]] = typer.Option(None, "--against", help="expert raters (default: every expert)"),
    level: str = typer.Option("item", "--level", help="item | system (one mean per response source)"),
    by: str = typer.Option("unit", "--by", help="unit/criterion/dimension/attribute | source | tag | theme | axis | none"),
    self_source: Optional[list[str]] = typer.Option(None, "--self-source", help="RATER=SOURCE: leave out the rater's own responses"),
    value_type: Optional[str] = typer.Option(None, "--value-type", help="binary | ordinal (default: from the values)"),
    primary: Optional[str] = typer.Option(None, "--primary", help="statistic behind the verdict (default: alpha for binary, ICC(A,1) otherwise)"),
    care: Optional[float] = typer.Option(None, "--care", help="threshold for 'use with care'"),
    trust: Optional[float] = typer.Option(None, "--trust", help="threshold for 'trust'"),
    min_coverage: float = typer.Option(0.95, "--min-coverage", help="share of the experts' items a judge must have scored for a verdict"),
    resamples: int = typer.Option(1000, "--resamples", help="bootstrap resamples for the CIs (a verdict needs a CI)"),
    seed: int = typer.Option(0, "--seed"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the full results as JSON"),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="write one row per group x judge x statistic"),
    db: Path = DB,
):
    """Agreement of judges with experts: statistics with bootstrap CIs, the expert ceiling, a verdict."""
    import hashlib

    from rich.console import Console

    from ..calibration import Options, calibrate as run_calibration, ratings_from_annotations, ratings_from_run
    from ..store import Store, dumps
    from .calibrate_report import render, write_csv

    if level not in ("item", "system"):
        raise MedjudgeError("--level must be item or system")
    if value_type not in (None, "binary", "ordinal"):
        raise MedjudgeError("--value-type must be binary or ordinal")
    mapping = {}
    for pair in self_source or []:
        name, sep, src = pair.partition("=")
        if not sep:
            raise MedjudgeError(f"--self-source takes RATER=SOURCE, not {pair!r}")
        mapping[name] = src
    store = Store(db)
    inputs = {}
    if run:
        ratings, judges, run_row = ratings_from_run(store, run)
        experts = ratings_from_annotations(store, against) if against else [
            r for r in ratings_from_annotations(store) if r.kind == "expert"]
        ratings += experts
        inputs["run"] = run_row["id"]
    elif raters:
        judges = list(raters)
        ratings = ratings_from_annotations(store, judges + list(against or []), unscored_for=judges) if against else [
            r for r in ratings_from_annotations(store, unscored_for=judges) if r.kind == "expert" or r.rater in judges]
    else:
        raise MedjudgeError("give --run RUN_ID or --raters NAME")
    inputs["annotations"] = store.annotations_version(None)
    if not 0 <= min_coverage <= 1:
        raise MedjudgeError("--min-coverage must be a share between 0 and 1")
    if resamples < 0:
        raise MedjudgeError("--resamples must be 0 or more")
    opts = Options(level=level, by=by, value_type=value_type, resamples=resamples, seed=seed, self_source=mapping,
                   primary=primary, care=care, trust=trust, min_coverage=min_coverage)
    try:
        results = run_calibration(ratings, judges, list(against) if against else None, opts)
    except ValueError as exc:
        raise MedjudgeError(str(exc)) from None
    config = {"judges": judges, "against": against, "level": level, "by": by, "self_source": mapping,
              "value_type": value_type, "primary": primary, "care": care, "trust": trust, "resamples": resamples,
              "seed": seed, "min_coverage": min_coverage}
    cal_id = "c" + hashlib.sha256(dumps([config, inputs]).encode()).hexdigest()[:11]
    store.save_calibration(cal_id, config, inputs, results)
    render(results, Console(), cal_id)
    if json_out:
        json_out.write_text(json.dumps({"id": cal_id, "config": config, "inputs": inputs, "results": results},
                                       indent=2, default=str), encoding="utf-8")
    if csv_out:
        write_csv(results, csv_out)
    short = [r for r in results if r["verdict"] == "insufficient coverage"]
    if short:
        from ..errors import EXIT_COVERAGE

        r = short[0]
        typer.echo(f"insufficient coverage: {len(short)} of {len(results)} judge x group rows below --min-coverage "
                   f"{min_coverage:.0%} (e.g. {r['judge']} on {r['group']}: {r['coverage']['scored']} of "
                   f"{r['coverage']['expected']} items scored)", err=True)
        raise typer.Exit(EXIT_COVERAGE)
