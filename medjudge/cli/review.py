"""medjudge review: a local web page where a physician labels a run's units, blind to the judge."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Optional

import typer

from . import app
from .options import DB


@app.command()
def review(
    run_id: str = typer.Argument(..., help="the run whose units to label"),
    rater: Optional[str] = typer.Option(None, "--rater", help="the physician's name (their labels are stored under it)"),
    sample: str = typer.Option("random", "--sample", help="random (a uniform draw) | stratified | active (as medjudge sample --strategy draws; all three usable by estimate) | disagreement | unsafe (targeted)"),
    n: Optional[int] = typer.Option(None, "--n", help="how many units to draw (default: all that fit)"),
    name: Optional[str] = typer.Option(None, "--name", help="the sample's name (default: review-METHOD); raters given the same name label the same units"),
    seed: int = typer.Option(0, "--seed", help="seed of the random draw"),
    reveal: bool = typer.Option(False, "--reveal", help="after each label, show what the judge said"),
    port: int = typer.Option(0, "--port", help="port on 127.0.0.1 (default: a free one)"),
    export: Optional[Path] = typer.Option(None, "--export", help="write the run's review labels as the long CSV `annotations import` reads, then exit"),
    db: Path = DB,
):
    """Serve a page on 127.0.0.1 where a physician labels the run's units in the rubric's own terms; every
    label is saved at once to the annotations table (calibrate, optimize and estimate read it)."""
    from .. import api
    from ..errors import MedjudgeError

    if export:
        out = api.export_review_labels(db, run_id, export)
        typer.echo(f"wrote {out['labels']} labels to {out['path']}"
                   + (f" ({out['cannot_judge']} 'cannot judge' left out)" if out["cannot_judge"] else ""))
        return
    if not rater:
        raise MedjudgeError("give --rater NAME: labels are stored under the physician's name")
    chosen_name, chosen = api.review_sample(db, run_id, method=sample, n=n, seed=seed, name=name)
    run = api.get_run(db, run_id)
    targeted = next(iter(chosen.values())) is None
    try:
        from ..view.review import build_app, serve

        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise MedjudgeError("medjudge review needs the review extra: pip install 'medjudge[review]'") from None

    token = secrets.token_urlsafe(24)
    web = build_app(str(db), run.id, rater, chosen_name, token, reveal)

    def ready(bound):
        typer.echo(f"{len(chosen)} units ({'targeted' if targeted else 'random'}, sample {chosen_name!r}) for {rater}; "
                   f"open http://127.0.0.1:{bound}/?token={token}  (Ctrl-C to stop; every label is saved as it is made)",
                   err=False)

    serve(web, port, ready)
