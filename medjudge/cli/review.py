"""medjudge review: a web page where a physician, or a panel of raters each with a link of their own, labels a run's
units, blind to the judge."""

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
    rater: Optional[str] = typer.Option(None, "--rater", help="one physician's name (their labels are stored under it)"),
    raters: Optional[list[str]] = typer.Option(None, "--raters", metavar="NAMES", help="a panel on one server: each rater gets a link of their own (a,b,c or repeat)"),
    raters_file: Optional[Path] = typer.Option(None, "--raters-file", help="the panel's names, one a line"),
    per_rater: Optional[int] = typer.Option(None, "--per-rater", help="panel: units each rater labels"),
    overlap: int = typer.Option(2, "--overlap", help="panel: raters on each overlap unit (the physicians' ceiling and agreement)"),
    overlap_share: float = typer.Option(0.2, "--overlap-share", help="panel: share of each rater's units that are overlap units"),
    sample: str = typer.Option("random", "--sample", help="random (a uniform draw) | stratified | active (as medjudge sample --strategy draws; all three usable by estimate) | disagreement | unsafe (targeted)"),
    n: Optional[int] = typer.Option(None, "--n", help="how many units to draw (default: all that fit)"),
    name: Optional[str] = typer.Option(None, "--name", help="the sample's name (default: review-METHOD); raters given the same name label the same units"),
    seed: int = typer.Option(0, "--seed", help="seed of the random draw and of the panel's assignment"),
    reveal: bool = typer.Option(False, "--reveal", help="after each label, show what the judge said"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on; anything but loopback needs --certfile/--keyfile or --behind-proxy"),
    port: int = typer.Option(0, "--port", help="port (default: a free one)"),
    base_path: str = typer.Option("", "--base-path", help="URL prefix when served behind a reverse proxy (say /review)"),
    public_url: Optional[str] = typer.Option(None, "--public-url", help="the address raters open (behind a proxy), for the printed links"),
    certfile: Optional[Path] = typer.Option(None, "--certfile", help="TLS certificate (PEM)"),
    keyfile: Optional[Path] = typer.Option(None, "--keyfile", help="TLS private key (PEM)"),
    behind_proxy: bool = typer.Option(False, "--behind-proxy", help="a reverse proxy terminates TLS in front of this server"),
    status: bool = typer.Option(False, "--status", help="panel: print each rater's progress and the agreement so far, then exit"),
    revoke: Optional[str] = typer.Option(None, "--revoke", metavar="RATER", help="panel: revoke this rater's link, then exit"),
    reissue: Optional[list[str]] = typer.Option(None, "--reissue", metavar="NAMES", help="panel: print new links for these raters (their old ones stop working)"),
    export: Optional[Path] = typer.Option(None, "--export", help="write the run's review labels as the long CSV `annotations import` reads, then exit"),
    db: Path = DB,
):
    """Serve a page where a physician (--rater) or a panel (--raters, each with a link of their own and a planned
    overlap) labels the run's units in the rubric's own terms; every label is saved at once to the annotations
    table (calibrate, optimize and estimate read it)."""
    from .. import api
    from ..errors import MedjudgeError

    if export:
        out = api.export_review_labels(db, run_id, export)
        typer.echo(f"wrote {out['labels']} labels to {out['path']}"
                   + (f" ({out['cannot_judge']} 'cannot judge' left out)" if out["cannot_judge"] else ""))
        return
    sample_name = name or f"review-{sample}"
    if status:
        show_status(api.review_status(db, run_id, sample_name))
        return
    if revoke:
        count = api.review_revoke(db, run_id, sample_name, revoke)
        if not count:
            raise MedjudgeError(f"{revoke} has no valid link on sample {sample_name!r}")
        typer.echo(f"revoked {revoke}'s link on sample {sample_name!r}")
        return
    names = list(raters or [])
    if raters_file:
        names += [line.strip() for line in raters_file.read_text(encoding="utf-8").splitlines() if line.strip()]
    if names and rater:
        raise MedjudgeError("give --rater NAME (one physician) or --raters (a panel), not both")
    if not names and not rater:
        raise MedjudgeError("give --rater NAME, or --raters a,b,c for a panel: labels are stored under each name")
    try:
        from ..view.review import build_app, build_panel_app, check_binding, serve

        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise MedjudgeError("medjudge review needs the review extra: pip install 'medjudge[review]'") from None
    binding = dict(host=host, certfile=str(certfile) if certfile else None, keyfile=str(keyfile) if keyfile else None,
                   behind_proxy=behind_proxy)
    check_binding(**binding)  # before anything is drawn or stored
    run = api.get_run(db, run_id)
    scheme = "https" if certfile else "http"
    prefix = "/" + base_path.strip("/") if base_path.strip("/") else ""
    if rater:
        chosen_name, chosen = api.review_sample(db, run_id, method=sample, n=n, seed=seed, name=name)
        targeted = next(iter(chosen.values())) is None
        token = secrets.token_urlsafe(24)
        web = build_app(str(db), run.id, rater, chosen_name, token, reveal)

        def ready(bound):
            typer.echo(f"{len(chosen)} units ({'targeted' if targeted else 'random'}, sample {chosen_name!r}) for "
                       f"{rater}; open {public_url or f'{scheme}://{host}:{bound}'}{prefix}/?token={token}  (Ctrl-C to "
                       "stop; every label is saved as it is made)")

        serve(web, port, ready, **binding)
        return
    made = api.review_panel(db, run_id, names, per_rater=per_rater, overlap=overlap, overlap_share=overlap_share,
                            method=sample, n=n, seed=seed, name=name, reissue=reissue or ())
    web = build_panel_app(str(db), run.id, made["sample"], reveal, base_path)

    def ready_panel(bound):
        root = f"{public_url or f'{scheme}://{host}:{bound}'}{prefix}"
        typer.echo(f"panel on sample {made['sample']!r} ({made['units']} units) of run {run.id}; personal links "
                   "(send each to its rater only; shown once, kept as hashes):")
        for who, units in sorted(made["assigned"].items()):
            overlap_units = sum(units.values())
            link = (f"{root}/?token={made['links'][who]}" if who in made["links"]
                    else "link issued before, still valid (--reissue NAME for a new one)")
            typer.echo(f"  {who}: {len(units)} units ({overlap_units} overlap)  {link}")
        coordinator = made["links"].get(api.COORDINATOR)
        typer.echo(f"  coordinator: {root}/coordinator?token={coordinator}" if coordinator else
                   "  coordinator: link issued before, still valid")
        typer.echo("Ctrl-C stops the server; every label is saved as it is made, and a restart keeps every link.")

    serve(web, port, ready_panel, **binding)


def show_status(report: dict):
    from rich.table import Table

    from .calibrate_report import stat_cell
    from .options import wide_console

    console = wide_console()
    t = Table("rater", "assigned", "labelled", "cannot judge", "overlap labelled",
              title=f"panel on sample {report['sample']!r} of run {report['run']}")
    for r in report["raters"]:
        t.add_row(r["rater"], str(r["assigned"]), str(r["labelled"]), str(r["cannot_judge"]),
                  f"{r['overlap_labelled']} of {r['overlap_assigned']}")
    console.print(t)
    a = report["agreement"]
    if not a:
        console.print("agreement: no overlap unit has two labels yet")
    elif a.get("error"):
        console.print(f"agreement: {a['error']}")
    else:
        console.print(f"agreement on {a['items']} items with two or more ratings ({', '.join(a['raters'])}):")
        for name, s in a["stats"].items():
            console.print(f"  {name}{' (lead)' if name == a['primary'] else ''}: {stat_cell(s)}")
