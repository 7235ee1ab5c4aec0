"""medjudge doctor: configured judges and whether they answer, API-key variables (names only), database, versions."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app
from .options import DB, JUDGES


@app.command()
def doctor(
    judge: Optional[list[str]] = JUDGES,
    db: Path = DB,
    timeout: float = typer.Option(60.0, "--timeout", help="seconds for each test call"),
    no_calls: bool = typer.Option(False, "--no-calls", help="only the checks that make no call (provider, key, file, server)"),
):
    """Check the set-up: judges (preflight checks and a one-token call each), API-key variables, database,
    versions. Exits 4 when a judge cannot be used."""
    from rich.console import Console

    from .. import api

    c = Console(highlight=False)
    judges, origin = api.configured_judges(judge)
    c.print(f"[bold]judges[/bold] (from {origin})")
    unusable = []
    for j in judges:
        ok, detail = api.check_judge(j, timeout=timeout, call=not no_calls)
        if not ok:
            unusable.append(j)
        c.print(f"  {j}: {'[green]usable[/green]' if ok else '[red]not usable[/red]'}: {detail}", soft_wrap=True)
    names = api.key_variables()
    c.print(f"[bold]API-key variables set[/bold]: {', '.join(names) if names else 'none'} (values never shown)")
    size = f"{db.stat().st_size / 1024:.0f} KiB" if db.exists() else "not created yet"
    c.print(f"[bold]database[/bold]: {db.resolve()} ({size})", soft_wrap=True)
    c.print("[bold]versions[/bold]: " + ", ".join(f"{k} {v}" for k, v in api.versions().items()))
    try:
        import llama_cpp

        c.print(f"local models: llama-cpp-python {llama_cpp.__version__}")
    except ImportError:
        c.print("local models: not installed (pip install 'medjudge[local]')")
    if unusable:
        from ..errors import EXIT_FAILED

        typer.echo(f"{len(unusable)} of {len(judges)} judges cannot be used: {', '.join(unusable)}", err=True)
        raise typer.Exit(EXIT_FAILED)
