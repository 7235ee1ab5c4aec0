"""Options several commands share, declared once."""

from pathlib import Path

import typer

DB = typer.Option(Path("medjudge.db"), "--db", help="SQLite database file")
PARTIAL = typer.Option("exclude", "--partial",
                       help="answers missing a verdict: exclude from the scores (default) or include, showing the bounds they allow")
JUDGES = typer.Option(None, "--judge", "-j",
                      help="LiteLLM model string, repeat for a panel; MODEL@http://host/v1 sets an API base "
                           "(default: configured, else the embedded local model)")
