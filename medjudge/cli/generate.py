"""medjudge generate: the answers of the models under test to a prompts file (then `grade` them)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from . import app
from .options import DB, rate_limits


@app.command()
def generate(
    prompts: Path = typer.Argument(..., help="prompts: answers-style JSONL (id, prompt: text or messages) or HealthBench JSONL (--format healthbench)"),
    model: list[str] = typer.Option(..., "--model", "-m", metavar="MODEL", help="a model under test, any LiteLLM model string (MODEL@API_BASE#KEY_VAR as for judges); repeatable: each is a system"),
    output: Path = typer.Option(..., "--output", "-o", help="the answers JSONL to write (grade it with `medjudge grade`)"),
    fmt: str = typer.Option("answers", "--format", help="answers | healthbench (prompt_id, conversation; writes the answers file `grade --format healthbench --answers` reads)"),
    temperature: Optional[float] = typer.Option(None, "--temperature", help="sampling temperature (default: the provider's)"),
    max_tokens: Optional[int] = typer.Option(None, "--max-tokens", help="cap on each answer's tokens (default: the provider's)"),
    seed: Optional[int] = typer.Option(0, "--seed", help="sent where the provider supports it"),
    concurrency: int = typer.Option(16, "--concurrency", "-c", help="calls in flight at once"),
    timeout: float = typer.Option(120.0, "--timeout", help="seconds per call"),
    max_retries: int = typer.Option(4, "--max-retries", help="retries per call on 429, timeouts, server errors"),
    limit: Optional[int] = typer.Option(None, "--limit", help="only the first N prompts"),
    rpm: Optional[list[str]] = typer.Option(None, "--rpm", metavar="[MODEL=]N", help="requests per minute"),
    tpm: Optional[list[str]] = typer.Option(None, "--tpm", metavar="[MODEL=]N", help="tokens per minute"),
    db: Path = DB,
):
    """Ask each model for its answer to every prompt (cached: a rerun pays nothing twice and asks only what is
    missing); an answer that failed is left out and counted (exit 3), never written empty."""
    from .. import api

    result = api.generate(prompts, models=model, output=output, db=db, format=fmt, temperature=temperature,
                          max_tokens=max_tokens, seed=seed, concurrency=concurrency, timeout=timeout,
                          max_retries=max_retries, limit=limit, rpm=rate_limits(rpm, "--rpm"), tpm=rate_limits(tpm, "--tpm"))
    show_generated(result)
    if result.exit_code:
        typer.echo(result.reason, err=True)
        raise typer.Exit(result.exit_code)


def show_generated(result):
    c = result.calls
    cost = f"${c['cost']:.4f}" + (f" ({c['unpriced']} calls unpriced)" if c["unpriced"] else "")
    typer.echo(f"generated {sum(result.answers.values())} answers into {result.output}: "
               + ", ".join(f"{m} {n}" for m, n in result.answers.items())
               + f"; {len(result.missing)} missing")
    for pid, model, why in result.missing[:5]:
        typer.echo(f"  missing: {pid} by {model}: {why}")
    typer.echo(f"generation calls: {c['made']} made, {c['cached']} cached  tokens: {c['input_tokens']} in / "
               f"{c['output_tokens']} out  cost: {cost} (generation only; judging is counted by its run)")
