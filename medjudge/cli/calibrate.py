"""medjudge annotations import|list, medjudge calibrate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ..errors import MedjudgeError
from . import app
from .options import DB, JSON, print_table, wide_console

annotations_app = typer.Typer(help="Import expert labels (long, wide, answers JSONL, HealthBench meta-eval) and list the raters.",
                              no_args_is_help=True, rich_markup_mode=None)
app.add_typer(annotations_app, name="annotations")


@annotations_app.command("import")
def import_(
    path: Path = typer.Argument(..., help="CSV or JSONL of ratings"),
    fmt: str = typer.Option("long", "--format", help="long | answers (labels inside answers JSONL) | healthbench-meta"),
    labels_field: str = typer.Option("labels", "--labels-field", help="--format answers: the field holding the labels"),
    wide: bool = typer.Option(False, "--wide", help="one column per rater"),
    rater_columns: Optional[str] = typer.Option(None, "--rater-columns", help="wide files: rater columns, comma-separated"),
    kind: str = typer.Option("expert", "--kind", help="rater kind when the file has no rater_kind column"),
    rubric: Optional[str] = typer.Option(None, "--rubric", help="read values in this rubric's words (met/unmet, a level's name, entailed...) and check them against its units"),
    value_range: Optional[str] = typer.Option(None, "--range", help="allowed values MIN..MAX, e.g. 1..5"),
    item: Optional[str] = typer.Option(None, "--item", help="item id column(s), comma-separated"),
    unit: Optional[str] = typer.Option(None, "--unit", help="criterion/dimension column"),
    unit_name: Optional[str] = typer.Option(None, "--unit-name", help="wide files without a unit column: its name"),
    rater: Optional[str] = typer.Option(None, "--rater", help="rater column"),
    value: Optional[str] = typer.Option(None, "--value", help="value column"),
    source: Optional[str] = typer.Option(None, "--source", help="response source (system) column"),
    label_map: Optional[list[str]] = typer.Option(None, "--map", metavar="LABEL=VALUE", help="LABEL=VALUE[,LABEL=VALUE] (e.g. Entailment=entailed), or a CSV (from,to) or JSON file of them"),
    max_kept_out: float = typer.Option(0.05, "--max-kept-out", help="share of non-empty labels that may be unreadable or out of range before the import fails (exit 2)"),
    run: Optional[str] = typer.Option(None, "--run", help="the labels are on this run's answers (their item ids are its answer ids); its rubric reads them unless --rubric is given"),
    answers: Optional[Path] = typer.Option(None, "--answers", help="the labels are on the answers of this answers JSONL (needs --rubric)"),
    missing: str = typer.Option(",.,NA,N/A,-", "--missing", help="cells read as a missing label, comma-separated (default: blank . NA N/A -)"),
    db: Path = DB,
):
    """Import ratings; unreadable or out-of-range values are reported and kept out of the statistics."""
    from ..api import import_annotations

    if kind not in ("expert", "llm_judge"):
        raise MedjudgeError("--kind must be expert or llm_judge")
    report = import_annotations(db, path, rubric=rubric, fmt=fmt, wide=wide, mapping=read_map(label_map),
                                rater_columns=rater_columns.split(",") if rater_columns else None, kind=kind,
                                value_range=value_range, unit_name=unit_name, item=item, unit=unit, rater=rater,
                                value=value, source=source, labels_field=labels_field, run=run,
                                answers=str(answers) if answers else None, missing=tuple(missing.split(",")))
    typer.echo(f"imported {report.rows} ratings from {path}: {report.valid} valid, "
               f"{report.rows - report.valid} kept out of the statistics")
    for reason, n in sorted(report.problems.items(), key=lambda kv: -kv[1]):
        typer.echo(f"  {n} x {reason}")
    for line, r, it, u, raw, reason in report.examples:
        typer.echo(f"  e.g. {path}:{line}: rater {r}, item {it}, {u}: {raw!r} ({reason})")
    failure = report.failure(max_kept_out)
    if failure:
        from ..errors import EXIT_INPUT

        typer.echo(f"error: {failure}", err=True)
        raise typer.Exit(EXIT_INPUT)


def read_map(values) -> dict | None:
    """--map values: LABEL=VALUE pairs (comma-separated, repeatable), or files: CSV with from,to or a JSON object."""
    if not values:
        return None
    out = {}
    for v in values:
        p = Path(v)
        if p.suffix.lower() in (".csv", ".json") and p.exists():
            if p.suffix.lower() == ".json":
                data = json.loads(p.read_text(encoding="utf-8"))
                if not isinstance(data, dict):
                    raise MedjudgeError(f"{p}: --map JSON must be an object of label: value")
                out.update({str(k): str(x) for k, x in data.items()})
            else:
                import csv

                with p.open(newline="", encoding="utf-8") as fh:
                    for row in csv.reader(fh):
                        if len(row) >= 2 and row[0] not in ("from", "label"):
                            out[row[0]] = row[1]
            continue
        for pair in v.split(","):
            label, sep, value = pair.partition("=")
            if not sep or not label.strip():
                raise MedjudgeError(f"--map takes LABEL=VALUE pairs, not {pair!r}")
            out[label.strip()] = value.strip()
    return out


@annotations_app.command("list")
def list_(db: Path = DB, as_json: bool = JSON):
    """Raters in the database with their counts."""
    from ..api import open_db

    keys = ["rater", "rater_kind", "ratings", "invalid", "items", "units", "imported"]
    rows = [[r[k] for k in keys] for r in open_db(db, must_exist=True).annotation_summary()]
    print_table(["rater", "kind", "ratings", "kept out", "items", "units", "imported"], rows, as_json, keys)


@app.command()
def calibrate(
    run: Optional[str] = typer.Option(None, "--run", help="calibrate a run's judges against the experts"),
    raters: Optional[list[str]] = typer.Option(None, "--raters", metavar="NAMES", help="raters already in the database to calibrate (a,b or repeat)"),
    against: Optional[list[str]] = typer.Option(None, "--against", metavar="NAMES", help="expert raters (default: every expert; a,b or repeat)"),
    level: str = typer.Option("item", "--level", help="item | system (one mean per response source)"),
    by: Optional[str] = typer.Option(None, "--by", help="unit/criterion/dimension/attribute | source | tag | theme | axis | none (default: unit; none for rubrics whose units come with each answer, such as NLI)"),
    self_source: Optional[list[str]] = typer.Option(None, "--self-source", metavar="RATER=SOURCE", help="RATER=SOURCE: leave out the rater's own responses"),
    value_type: Optional[str] = typer.Option(None, "--value-type", help="binary | nominal | ordinal | interval | ratio (default: the rubric kind's, else from the values)"),
    primary: Optional[str] = typer.Option(None, "--primary", help="statistic behind the verdict (default: alpha for binary, ICC(A,1) otherwise)"),
    care: Optional[float] = typer.Option(None, "--care", help="threshold for 'use with care'"),
    trust: Optional[float] = typer.Option(None, "--trust", help="threshold for 'trust'"),
    min_coverage: float = typer.Option(0.95, "--min-coverage", help="share of the experts' items a judge must have scored for a verdict"),
    resamples: int = typer.Option(1000, "--resamples", help="bootstrap resamples for the CIs (a verdict needs a CI)"),
    seed: int = typer.Option(0, "--seed", help="seed of the bootstrap resamples"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the full results as JSON"),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="write one row per group x judge x statistic"),
    rules: str = typer.Option("medjudge", "--rules", help="medjudge | healthbench: also HealthBench's meta-evaluation figures (pairwise macro-F1, physicians' average, percentile among physicians with more than 50; --by theme | category | none)"),
    report: Optional[Path] = typer.Option(None, "--report", help="write this calibration as an HTML page of its own (forest plot, table, verdicts)"),
    require: Optional[str] = typer.Option(None, "--require", help="gate for CI: exit 6 unless every judge x group verdict is at least trust | care ('no verdict' does not pass)"),
    db: Path = DB,
):
    """Agreement of judges with experts: statistics with bootstrap CIs, the expert ceiling, a verdict."""
    from .. import api
    from .calibrate_report import render, write_csv

    from .options import pairs

    mapping = pairs(self_source, "--self-source", "RATER")
    result = api.calibrate(db, run=run, raters=raters, against=against, level=level, by=by, self_source=mapping,
                             value_type=value_type, primary=primary, care=care, trust=trust,
                             min_coverage=min_coverage, resamples=resamples, seed=seed, rules=rules)
    render(result.rows, wide_console(), result.id)
    if result.healthbench is not None:
        from .calibrate_report import render_healthbench

        render_healthbench(result.healthbench, wide_console())
    for w in result.warnings:
        typer.echo(f"warning: {w}", err=True)
    if json_out:
        json_out.write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
    if csv_out:
        write_csv(result, csv_out)
    if report:
        typer.echo(f"wrote {api.write_calibration_report(db, result.id, report).path}")
    if require:
        from ..api import EXIT_GATE, calibration_gate

        lines, failed = calibration_gate(result.rows, require)
        for line in lines:
            typer.echo(line)
        if failed and not result.exit_code:
            typer.echo(failed[0], err=True)
            raise typer.Exit(EXIT_GATE)
    if result.exit_code:
        typer.echo(result.reason, err=True)
        raise typer.Exit(result.exit_code)


@app.command()
def agreement(
    raters: Optional[list[str]] = typer.Option(None, "--raters", metavar="NAMES", help="whose agreement (default: every expert; a,b or repeat)"),
    by: str = typer.Option("unit", "--by", help="unit/criterion/dimension/attribute | source | tag | theme | axis | none"),
    value_type: Optional[str] = typer.Option(None, "--value-type", help="binary | nominal | ordinal | interval | ratio: which alpha leads (default: the rubric's, else what the labels were read with, else from the values)"),
    rubric: Optional[str] = typer.Option(None, "--rubric", help="take the value type from this rubric's kind (NLI: nominal)"),
    items_of: Optional[str] = typer.Option(None, "--items-of", help="only the items this rater rated (an imported rater, or a run's judge: the units it scored)"),
    run: Optional[str] = typer.Option(None, "--run", help="the experts' labels on this run's answers, on the units its panel scored: the ceiling on the run's items"),
    resamples: int = typer.Option(1000, "--resamples", help="bootstrap resamples for the CIs"),
    seed: int = typer.Option(0, "--seed", help="seed of the bootstrap resamples"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the results as JSON"),
    db: Path = DB,
):
    """Agreement among experts as papers publish it: Krippendorff's alpha (four levels), Fleiss' kappa,
    the six Shrout & Fleiss ICCs and the unanimous share, with bootstrap CIs."""
    from rich.table import Table

    from .. import api
    from .calibrate_report import stat_cell

    result = api.agreement(db, raters=raters, by=by, value_type=value_type, rubric=rubric, items_of=items_of,
                           run=run, resamples=resamples, seed=seed)
    console = wide_console()
    if not result.rows:
        console.print("no item was rated by two or more of these raters")
    for r in result.rows:
        t = Table("statistic", "estimate [95% CI]", "on", title=f"{r['group']}: {len(r['raters'])} raters "
                  f"({', '.join(r['raters'])}), {r['items']} items with two or more ratings, {r['value_type']} values")
        for name, s in r["stats"].items():
            on = "every item" if name.startswith("alpha") or name == "unanimous" else f"{r['items_all_raters']} items all rated"
            t.add_row(name + ("  (lead)" if name == r["primary"] else ""), stat_cell(s), on)
        console.print(t)
    if json_out:
        json_out.write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
