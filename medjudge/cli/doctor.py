"""medjudge doctor: configured judges and whether they answer, API-key variables (names only), database, versions."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app
from .options import DB

from ..secrets import key_variables

def probe(judge_spec: str, timeout: float) -> tuple[bool, str]:
    """A one-token test call through the same LiteLLM path as grading."""
    import asyncio
    import time

    from ..errors import MedjudgeError
    from ..judges.llm import LLM, Judge

    try:
        judge = Judge.parse(judge_spec)
        start = time.perf_counter()
        reply = asyncio.run(LLM(timeout=timeout, max_retries=0).complete(
            judge, [{"role": "user", "content": "Reply with OK."}], {"max_tokens": 1, "temperature": 0}))
        return True, f"answered in {time.perf_counter() - start:.2f}s ({reply.input_tokens} tokens in)"
    except MedjudgeError as exc:
        return False, str(exc)
    except Exception as exc:  # TransportError and anything a provider raises
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]


@app.command()
def doctor(
    judge: Optional[list[str]] = typer.Option(None, "--judge", "-j"),
    db: Path = DB,
    timeout: float = typer.Option(60.0, "--timeout", help="seconds for each test call"),
    no_calls: bool = typer.Option(False, "--no-calls", help="do not test the judges"),
):
    """Check the set-up: judges (a one-token call each), API-key variables, database, versions."""
    from rich.console import Console

    from ..config import resolve_judges
    from ..grading import versions

    c = Console()
    judges, origin = resolve_judges(judge)
    c.print(f"[bold]judges[/bold] (from {origin})")
    for j in judges:
        if no_calls:
            c.print(f"  {j}: not tested")
            continue
        ok, detail = probe(j, timeout)
        c.print(f"  {j}: {'[green]reachable[/green]' if ok else '[red]not reachable[/red]'} {detail}")
    names = key_variables()
    c.print(f"[bold]API-key variables set[/bold]: {', '.join(names) if names else 'none'} (values never shown)")
    size = f"{db.stat().st_size / 1024:.0f} KiB" if db.exists() else "not created yet"
    c.print(f"[bold]database[/bold]: {db.resolve()} ({size})")
    c.print("[bold]versions[/bold]: " + ", ".join(f"{k} {v}" for k, v in versions().items()))
    try:
        import llama_cpp

        c.print(f"local models: llama-cpp-python {llama_cpp.__version__}")
    except ImportError:
        c.print("local models: not installed (pip install 'medjudge[local]')")
