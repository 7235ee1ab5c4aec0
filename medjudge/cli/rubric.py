"""medjudge rubric validate / show / list."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import MedjudgeError
from . import app
from .options import DB, JSON, JUDGES, print_table

rubric_app = typer.Typer(help="Rubrics: validate, show, list, new (template), lint, test (worked examples), "
                              "draft (with an LLM), atomize (split compound criteria).",
                         no_args_is_help=True, rich_markup_mode=None)
app.add_typer(rubric_app, name="rubric")


@rubric_app.command("validate")
def validate(files: list[Path] = typer.Argument(..., help="rubric YAML files")):
    """Check rubric files; print every error with file, line and field. Exit 2 on a bad file."""
    from .. import api

    bad = 0
    for f in files:
        try:
            lr = api.load_rubric(f)
        except MedjudgeError as exc:
            bad += 1
            for e in getattr(exc, "errors", None) or [exc]:  # RubricInvalid lists every error
                typer.echo(f"error: {e}", err=True)
            continue
        r = lr.rubric
        typer.echo(f"ok: {f}: {r.id}@{r.version} ({r.kind}: {r.describe()}) hash {lr.hash[:12]}")
    if bad:
        raise typer.Exit(2)


@rubric_app.command("show")
def show(ref: str = typer.Argument(..., help="rubric file or library id")):
    """Print a rubric as the judge sees it: instructions and units."""
    from rich.console import Console

    from .. import api

    lr = api.load_rubric(ref)
    r = lr.rubric
    c = Console()
    c.print(f"[bold]{r.title}[/bold]  {r.id}@{r.version}  kind {r.kind}  hash {lr.hash[:12]}")
    if r.citation:
        c.print(f"citation: {r.citation}")
    if r.description:
        c.print(r.description.strip())
    if r.instructions:
        c.print(f"[bold]instructions[/bold]\n{r.instructions.strip()}")
    for line in r.show_lines():
        c.print(line, markup=False, highlight=False)


@rubric_app.command("list")
def list_(as_json: bool = JSON):
    """List the rubrics shipped with medjudge, with their citations."""
    from .. import api

    rows = [[r.id, r.kind, r.version, r.title, r.citation] for r in api.library_rubrics()]
    print_table(["id", "kind", "version", "title", "citation"], rows, as_json)


@rubric_app.command("new")
def new(kind: str = typer.Option(..., "--kind", help="a rubric kind: checklist | scale | safety | nli | pairwise, or one a plugin registers"),
        output: Path = typer.Option(None, "--output", "-o", help="file to write (default: stdout)")):
    """Write a commented template for a new rubric."""
    from .. import api

    text = api.rubric_template(kind)
    if output is None:
        typer.echo(text, nl=False)
        return
    if output.exists():
        raise MedjudgeError(f"{output} exists: choose another file")
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}: edit it, then `medjudge rubric lint {output}`")


@rubric_app.command("lint")
def lint_(files: list[Path] = typer.Argument(..., help="rubric files")):
    """Find what makes judges disagree: compound or vague criteria, wrong signs, duplicates, missing anchors.
    Exit 1 when there are errors."""
    from .. import api

    errors = 0
    for f in files:
        findings = api.lint_rubric(f)
        for finding in findings:
            typer.echo(f"{f}:{finding}")
        errors += sum(1 for x in findings if x.severity == "error")
        if not findings:
            typer.echo(f"{f}: clean")
    if errors:
        raise typer.Exit(1)


@rubric_app.command("test")
def test(file: str = typer.Argument(..., help="rubric file or library id"),
         judge: Optional[list[str]] = JUDGES,
         mode: str = typer.Option("per-criterion", "--mode", help="per-criterion | batched, as for grade"),
         db: Path = DB):
    """Run the rubric's worked examples through the judge; report the expected verdicts it gets wrong (exit 1)."""
    from rich.console import Console
    from rich.table import Table

    from .. import api

    judges, origin = api.configured_judges(judge)
    console = Console()
    if origin == "embedded":
        console.print(f"[yellow]{api.EMBEDDED_WARNING}[/yellow]")
    checks = api.check_examples(file, judges=judges, db=db, mode=mode)
    wrong = [c for c in checks if not c.ok]
    if wrong:
        t = Table("example", "unit", "expected", "judge said", "reason", title="Verdicts the judge got wrong")
        for c in wrong:
            t.add_row(c.example, c.unit, c.expected_label, c.got_label, c.reason or "")
        console.print(t)
    console.print(f"{len(checks) - len(wrong)} of {len(checks)} expected verdicts matched by {', '.join(judges)}")
    if wrong:
        raise typer.Exit(1)


@rubric_app.command("draft")
def draft(question: str = typer.Option(..., "--question", help="the health question the rubric grades answers to"),
          judge: str = typer.Option(..., "--judge", "-j", help="the model that drafts"),
          kind: str = typer.Option("checklist", "--kind", help="the rubric kind to draft"),
          guideline: Optional[Path] = typer.Option(None, "--guideline", help="text file to base the rubric on"),
          reference_answer: Optional[Path] = typer.Option(None, "--reference-answer", help="a physician's answer"),
          output: Path = typer.Option(Path("draft-rubric.yaml"), "--output", "-o", help="file to write")):
    """Ask an LLM for a draft rubric (validated, re-asked on errors), marked machine-drafted for review."""
    from .. import api

    def read(p):
        try:
            return p.read_text(encoding="utf-8") if p else None
        except OSError as exc:
            raise MedjudgeError(f"{p}: cannot read: {exc.strerror}") from None

    text = api.draft_rubric(question, kind=kind, judge=judge, guideline=read(guideline),
                            reference=read(reference_answer))
    output.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {output}: a machine-drafted, unreviewed rubric. Review it, then "
               f"`medjudge rubric lint {output}` and `medjudge rubric test {output} --judge MODEL`")


@rubric_app.command("atomize")
def atomize(file: Path = typer.Argument(..., help="a checklist rubric with fixed criteria"),
            judge: str = typer.Option(..., "--judge", "-j", metavar="MODEL", help="the model that splits the criteria"),
            all_criteria: bool = typer.Option(False, "--all", help="ask about every criterion, not only compound ones"),
            output: Optional[Path] = typer.Option(None, "--output", "-o", help="default: FILE with .atomized.yaml")):
    """Split compound criteria into precise boolean ones (Adaptive Precise Boolean); points keep their sum."""
    from .. import api

    text, n = api.atomize_rubric(file, judge=judge, only_compound=not all_criteria)
    out = output or file.with_suffix(".atomized.yaml")
    out.write_text(text, encoding="utf-8")
    typer.echo(f"split {n} criteria; wrote {out}")
