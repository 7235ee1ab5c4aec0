"""Options several commands share, declared once."""

from pathlib import Path

import typer

DB = typer.Option(Path("medjudge.db"), "--db", help="SQLite database file")
PARTIAL = typer.Option("exclude", "--partial",
                       help="answers missing a verdict: exclude from the scores (default) or include, showing the bounds they allow")
JUDGES = typer.Option(None, "--judge", "-j", metavar="MODEL",
                      help="LiteLLM model string, repeat for a panel; MODEL@http://host/v1 sets an API base "
                           "(default: configured, else the embedded local model)")
JSON = typer.Option(False, "--json", help="print JSON instead of a table")


def print_table(columns: list[str], rows: list[list], as_json: bool = False, keys: list[str] | None = None):
    """A listing as JSON (--json), as tab-separated lines when piped (every value whole), or as a table whose
    first column (the id) is never cut: other columns wrap."""
    import json
    import sys

    keys = keys or columns
    if as_json:
        typer.echo(json.dumps([dict(zip(keys, r)) for r in rows], indent=2, default=str))
        return
    if not sys.stdout.isatty():
        typer.echo("\t".join(keys))
        for r in rows:
            typer.echo("\t".join("" if v is None else str(v) for v in r))
        return
    from rich.console import Console
    from rich.table import Table

    t = Table(*columns)
    t.columns[0].no_wrap = True
    for c in t.columns[1:]:
        c.overflow = "fold"
    for r in rows:
        t.add_row(*("" if v is None else str(v) for v in r))
    Console().print(t)


def wide_console():
    """A rich console; when the output is not a terminal, wide enough that table headers are never cut."""
    import sys

    from rich.console import Console

    return Console() if sys.stdout.isatty() else Console(width=max(Console().width, 200))


def pairs(values, option: str, left: str = "NAME") -> dict:
    """["a=b", ...] -> {"a": "b"}; a value without "=" is a one-line error naming the option."""
    from ..errors import MedjudgeError

    out = {}
    for v in values or []:
        name, sep, value = v.partition("=")
        if not sep:
            raise MedjudgeError(f"{option} takes {left}=SOURCE, not {v!r}")
        out[name] = value
    return out


def rate_limits(values, option) -> dict:
    """["600", "openai/gpt-4.1=100"] -> {"*": 600.0, "openai/gpt-4.1": 100.0}"""
    from ..errors import MedjudgeError

    out = {}
    for v in values or []:
        model, sep, number = v.rpartition("=")
        try:
            out[model if sep else "*"] = float(number)
        except ValueError:
            raise MedjudgeError(f"{option} takes N or MODEL=N, not {v!r}") from None
        if out[model if sep else "*"] <= 0:
            raise MedjudgeError(f"{option} must be positive")
    return out
