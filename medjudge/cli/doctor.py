"""medjudge doctor: configured judges and whether they answer, API-key variables (names only), database, versions."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app
from .options import DB, JUDGES

from ..secrets import key_variables

def probe(judge_spec: str, timeout: float) -> tuple[bool, str]:
    """The preflight checks, then a one-token test call through the same LiteLLM path as grading."""
    import asyncio
    import time

    from ..display import clip
    from ..errors import MedjudgeError
    from ..models.llm import LLM, Judge
    from ..models.preflight import problems

    try:
        judge = Judge.parse(judge_spec)
        found = problems([judge])
        if found:
            return False, found[0].split(": ", 1)[1]
        start = time.perf_counter()
        reply = asyncio.run(LLM(timeout=timeout, max_retries=0).complete_once(
            judge, [{"role": "user", "content": "Reply with OK."}], {"max_tokens": 1, "temperature": 0}))
        return True, f"answered in {time.perf_counter() - start:.2f}s ({reply.input_tokens} tokens in)"
    except MedjudgeError as exc:
        return False, clip(str(exc))
    except Exception as exc:  # TransportError and anything a provider raises
        return False, clip(f"{type(exc).__name__}: {exc}")


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

    from ..config import resolve_judges
    from ..grading import versions

    c = Console(highlight=False)
    judges, origin = resolve_judges(judge)
    c.print(f"[bold]judges[/bold] (from {origin})")
    unusable = []
    for j in judges:
        if no_calls:
            from ..models.llm import Judge
            from ..models.preflight import problems

            found = problems([Judge.parse(j)])
            ok, detail = not found, (found[0].split(": ", 1)[1] if found else "checks passed, not called")
        else:
            ok, detail = probe(j, timeout)
        if not ok:
            unusable.append(j)
        c.print(f"  {j}: {'[green]usable[/green]' if ok else '[red]not usable[/red]'}: {detail}", soft_wrap=True)
    names = key_variables()
    c.print(f"[bold]API-key variables set[/bold]: {', '.join(names) if names else 'none'} (values never shown)")
    size = f"{db.stat().st_size / 1024:.0f} KiB" if db.exists() else "not created yet"
    c.print(f"[bold]database[/bold]: {db.resolve()} ({size})", soft_wrap=True)
    c.print("[bold]versions[/bold]: " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    try:
        import llama_cpp

        c.print(f"local models: llama-cpp-python {llama_cpp.__version__}")
    except ImportError:
        c.print("local models: not installed (pip install 'medjudge[local]')")
    if unusable:
        from ..errors import EXIT_FAILED

        typer.echo(f"{len(unusable)} of {len(judges)} judges cannot be used: {', '.join(unusable)}", err=True)
        raise typer.Exit(EXIT_FAILED)
