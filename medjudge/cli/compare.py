"""medjudge compare: systems graded on the same examples, with paired differences."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Optional

import typer

from . import app
from .options import DB, PARTIAL


@app.command()
def compare(
    run_ids: list[str] = typer.Argument(..., help="two or more runs of one rubric, on the same examples"),
    resamples: int = typer.Option(2000, "--resamples", help="paired bootstrap resamples and sign flips"),
    seed: int = typer.Option(0, "--seed", help="seed of the resamples"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the results as JSON"),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="write one row per group x difference"),
    partial: str = PARTIAL,
    require_better: Optional[list[str]] = typer.Option(None, "--require-better", metavar="A:B", help="gate for CI: exit 6 unless system A is better than B overall, the paired 95% CI on A's side of 0 (repeatable)"),
    db: Path = DB,
):
    """Compare systems (runs, or the systems within one run) on the examples every system scored: each mean with a CI, every difference with a paired
    bootstrap CI and a p-value, overall, per criterion or dimension and per tag; a leaderboard for three or more."""
    from rich.table import Table

    from ..api import compare_runs
    from ..display import ci, num
    from .options import wide_console

    compared = compare_runs(db, run_ids, resamples=resamples, seed=seed, partial=partial)
    result = compared.to_dict()
    console = wide_console()
    better = "higher" if result["higher_is_better"] else "lower"
    for g in result["groups"]:
        t = Table("system", "mean", "95% CI", title=f"{g['group']}: {result['measure']} ({better} is better), "
                  f"{g['examples']} examples every system scored" + (f", {g['left_out']} left out" if g["left_out"] else ""))
        for s in g["systems"]:
            t.add_row(s["system"], num(s["mean"]), ci(s["ci"]))
        d = Table("difference", "mean", "paired 95% CI", "p")
        for x in g["differences"]:
            d.add_row(f"{x['a']} - {x['b']}", num(x["difference"], "+.3f"), ci(x["ci"]), num(x["p"], ".4f"))
        console.print(t)
        console.print(d)
    if len(result["systems"]) > 2:
        from ..api import leaderboard

        t = Table("rank", "system", "mean", "95% CI", "significant wins", title="Leaderboard (overall)")
        for r in leaderboard(result):
            t.add_row(str(r["rank"]), r["system"], num(r["mean"]), ci(r["ci"]), str(r["significant_wins"]))
        console.print(t)
    console.print(f"examples paired by {result['paired_by']}; a difference's 95% CI is a paired bootstrap percentile "
                  "interval and its p a sign-flip permutation test: two methods, so near the 5% line one can exclude "
                  "0 while the other does not (with few examples, trust neither alone)")
    if json_out:
        json_out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    if csv_out:
        with csv_out.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            rows = compared.long_rows()
            w.writerow(["group", "examples", "left_out", "a", "b", "difference", "ci_low", "ci_high", "p"])
            w.writerows([list(r.values()) for r in rows])
    if result["incomplete"]:
        from ..errors import EXIT_INCOMPLETE

        typer.echo("incomplete input: " + ", ".join(f"run {r['run']} is {r['status']}" for r in result["incomplete"])
                   + ": its unjudged examples are left out; finish it (medjudge grade --resume RUN_ID) and compare again",
                   err=True)
        raise typer.Exit(EXIT_INCOMPLETE)
    failed = []
    for spec in require_better or []:
        from ..api import better_gate

        met, line = better_gate(result, spec)
        typer.echo(line)
        if not met:
            failed.append(line)
    if failed:
        from ..api import EXIT_GATE

        typer.echo(failed[0], err=True)
        raise typer.Exit(EXIT_GATE)
