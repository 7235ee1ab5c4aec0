"""medjudge rubric validate / show / list."""

from __future__ import annotations

from pathlib import Path

import typer

from ..errors import MedjudgeError
from . import app

rubric_app = typer.Typer(help="Validate, show and list rubrics.", no_args_is_help=True)
app.add_typer(rubric_app, name="rubric")


@rubric_app.command("validate")
def validate(files: list[Path] = typer.Argument(..., help="rubric YAML files")):
    """Check rubric files; print every error with file, line and field. Exit 2 on a bad file."""
    from ..rubrics import RubricInvalid, load_rubric

    bad = 0
    for f in files:
        try:
            lr = load_rubric(f)
        except RubricInvalid as exc:
            bad += 1
            for e in exc.errors:
                typer.echo(f"error: {e}", err=True)
            continue
        except MedjudgeError as exc:
            bad += 1
            typer.echo(f"error: {exc}", err=True)
            continue
        r = lr.rubric
        typer.echo(f"ok: {f}: {r.id}@{r.version} ({r.kind}: {r.describe()}) hash {lr.hash[:12]}")
    if bad:
        raise typer.Exit(2)


@rubric_app.command("show")
def show(ref: str = typer.Argument(..., help="rubric file or library id")):
    """Print a rubric as the judge sees it: instructions and units."""
    from rich.console import Console

    from ..rubrics import load_rubric

    lr = load_rubric(ref)
    r = lr.rubric
    c = Console()
    c.print(f"[bold]{r.title}[/bold]  {r.id}@{r.version}  kind {r.kind}  hash {lr.hash[:12]}")
    if r.citation:
        c.print(f"citation: {r.citation}")
    if r.description:
        c.print(r.description.strip())
    if r.instructions:
        c.print(f"[bold]instructions[/bold]\n{r.instructions.strip()}")
    if r.kind == "checklist":
        if r.criteria is None:
            c.print(f"criteria: from each example's `{r.criteria_field}` field")
        for cr in r.criteria or []:
            c.print(f"  {cr.id}  [{cr.points:+g}] {cr.text}  {' '.join(cr.tags)}")
    elif r.kind == "scale":
        for d in r.dimensions:
            c.print(f"  {d.id}  {d.question} ({d.min}..{d.max})")
            for level, text in sorted(d.anchors.items()):
                c.print(f"      {level}: {text}")
    elif r.kind == "safety":
        for lv in r.levels:
            mark = "  unsafe" if lv.level >= r.unsafe_from else ""
            c.print(f"  level {lv.level} {lv.name}: {lv.definition}{mark}")
        for cat in r.categories:
            c.print(f"  category {cat.id}: {cat.definition}")
    else:
        c.print(f"  {r.describe()}")


@rubric_app.command("list")
def list_():
    """List the rubrics shipped with medjudge, with their citations."""
    from rich.console import Console
    from rich.table import Table

    from ..rubrics import library_files, parse_rubric

    t = Table("id", "kind", "version", "title", "citation")
    for p in library_files():
        r = parse_rubric(p.read_text(encoding="utf-8"), f"library:{p.name}").rubric
        t.add_row(r.id, r.kind, r.version, r.title, r.citation)
    Console().print(t)
