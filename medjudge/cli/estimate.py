"""medjudge sample / estimate: correct a run's figure with expert labels on a random sample (PPI++)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from . import app
from .options import DB


@app.command()
def sample(
    run_id: str = typer.Argument(..., help="the run whose units to draw from"),
    n: int = typer.Option(..., "--n", help="how many units to draw (active: about that many)"),
    strategy: str = typer.Option("uniform", "--strategy", help="uniform | stratified (Neyman allocation over --by) | active (more often where the judges disagree)"),
    by: Optional[str] = typer.Option(None, "--by", help="stratified: the strata, unit | source | tag (default: unit for fixed units, else source)"),
    pilot: Optional[str] = typer.Option(None, "--pilot", help="a labelled sample whose judge errors guide the allocation (stratified, active)"),
    name: str = typer.Option("sample", "--name", help="the sample's name, for estimate --labels"),
    seed: int = typer.Option(0, "--seed", help="seed of the draw"),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="CSV for the physicians: fill rater and value, then `annotations import` it"),
    db: Path = DB,
):
    """Draw units of a run for physicians to label (uniform, stratified or active); each unit is stored with its
    inclusion probability, so that `estimate` uses the estimator that matches the draw."""
    from .. import api

    s = api.sample(db, run_id, n, name=name, seed=seed, output=output, strategy=strategy, by=by, pilot=pilot)
    how = (f"probability {s.prob:.4f} each" if s.prob is not None else
           f"probabilities {s.prob_range[0]:.4f} to {s.prob_range[1]:.4f}")
    typer.echo(f"sample {s.name!r} ({s.strategy}{f' by {s.by}' if s.by else ''}): {s.units} of {s.of} scored units "
               f"({how}, seed {s.seed})" + (f"; wrote {output}" if output else ""))
    for stratum, (drawn, size) in (s.allocation or {}).items():
        typer.echo(f"  {stratum}: {drawn} of {size}")


@app.command()
def estimate(
    run_id: str = typer.Argument(..., help="the run whose figure to correct"),
    labels: Optional[str] = typer.Option(None, "--labels", help="the sample (medjudge sample --name) the experts labelled"),
    by: Optional[str] = typer.Option(None, "--by", help="unit | source | tag | none (default: unit for fixed units)"),
    alpha: float = typer.Option(0.05, "--alpha", help="1 - confidence level of the intervals"),
    raters: Optional[list[str]] = typer.Option(None, "--raters", metavar="NAMES", help="experts whose labels count (default: every expert)"),
    plan: bool = typer.Option(False, "--plan", help="how many labels reach --half-width, instead of an estimate"),
    half_width: Optional[float] = typer.Option(None, "--half-width", help="--plan: the CI half-width wanted"),
    disagreement: Optional[float] = typer.Option(None, "--disagreement", help="--plan without a pilot: the judge-expert disagreement rate to assume"),
    strata: Optional[str] = typer.Option(None, "--strata", help="--plan: the strata a stratified draw would use, unit | source | tag"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the results as JSON"),
    db: Path = DB,
):
    """The run's figure corrected with expert labels on a random sample (PPI++), beside the judge-only and
    experts-only estimates; or, with --plan, the labels a CI half-width needs."""
    from .. import api
    from ..errors import MedjudgeError
    from .options import wide_console

    console = wide_console()
    if plan:
        if half_width is None or half_width <= 0:
            raise MedjudgeError("--plan needs --half-width W (a positive number)")
        p = api.plan_labels(db, run_id, half_width=half_width, labels=labels, disagreement=disagreement, alpha=alpha,
                            by=strata)
        need = p["labels_needed"]
        console.print(f"{p['estimand']}: for a {1 - alpha:.0%} CI of half-width {half_width:g}, from {p['from']}: "
                      + (f"label every one of the {p['judged']} judged units: fewer cannot reach it, and all of them "
                         "give their mean exactly" if p["label_every_unit"]
                         else f"about {need} expert labels (of {p['judged']} judged units)"))
        for strategy, d in (p.strategies or {}).items():
            console.print(f"  {strategy}{' by ' + d['by'] if d.get('by') else ''}: "
                          + (f"about {d['labels']} labels" if d["labels"] is not None else f"not possible: {d['why']}")
                          + ("  <- recommended" if strategy == p.recommended else ""))
        if p.recommended:
            console.print(f"draw it with: medjudge sample {run_id} --strategy {p.recommended} --n N"
                          + (f" --pilot {labels}" if p.recommended != "uniform" else "")
                          + " (the figures assume the pilot guides the draw; a new pilot would move them)")
        if json_out:
            json_out.write_text(json.dumps(p.to_dict(), indent=2), encoding="utf-8")
        return
    if not labels:
        raise MedjudgeError("give --labels NAME: the random sample the experts labelled (medjudge sample)")
    from rich.table import Table

    from ..display import ci, num

    result = api.estimate(db, run_id, labels=labels, by=by, alpha=alpha, raters=raters)
    c = result.counts
    t = Table("group", "units", "judge only", "experts only", f"corrected ({result.rows[0]['corrected']['method']})",
              "labels", "worth", title=f"{result.estimand}: {1 - alpha:.0%} CIs, labels of a {result.detail['strategy']} "
              f"sample")
    for r in result.rows:
        j, e, k = r["judge_only"], r["experts_only"], r["corrected"]
        t.add_row(r["group"], str(r["units"]), f"{num(j['estimate'])} {ci(j['ci'])}", f"{num(e['estimate'])} {ci(e['ci'])}",
                  f"{num(k['estimate'])} {ci(k['ci'])}" + (f" lam {k['lam']:.2f}" if k.get("lam") is not None else ""),
                  str(r["labelled"]), num(r["labels_worth"], ".0f"))
    console.print(t)
    console.print(f"labels: {c['labelled']} of the {c['sampled']} sampled units labelled"
                  + (f"; {c['sampled_not_labelled']} sampled units without a label (if physicians skipped them for a "
                     "reason, the sample is no longer random)" if c["sampled_not_labelled"] else ""))
    if c.get("targeted_kept_out"):
        console.print(f"kept out: {c['targeted_kept_out']} labels on units chosen by a targeted review (disagreement or "
                      "unsafe): they are not a random sample")
    if c["labels_outside_sample"]:
        console.print(f"kept out: {c['labels_outside_sample']} expert labels on units outside the random sample "
                      f"{labels!r} (chosen otherwise, they would bias the correction)")
    if c.get("labels_ambiguous"):
        console.print(f"kept out: {c['labels_ambiguous']} labels by an item id that names several answers in the "
                      "database (import them again with --run RUN_ID)")
    for r in result.rows:
        for m in ("experts_only", "corrected"):
            if r[m].get("note"):
                console.print(f"{r['group']}, {m.replace('_', ' ')}: {r[m]['note']}")
    console.print("judge only: the judge's mean with its sampling CI, blind to its bias; worth: expert labels alone "
                  "that would give the corrected CI's width")
    if json_out:
        json_out.write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
    if result.exit_code:
        typer.echo(result.reason, err=True)
        raise typer.Exit(result.exit_code)
