"""medjudge probe: bias and robustness probes of a run's judges, measured against rerun noise."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from . import app
from .options import DB


@app.command()
def probe(
    run_id: str = typer.Argument(..., help="the run whose judges to probe"),
    probes: str = typer.Option("position,length,paraphrase,perturb,self", "--probe", help="comma-separated: position, length, paraphrase, perturb, self"),
    n: int = typer.Option(20, "--n", help="answers sampled from the run"),
    k: int = typer.Option(2, "--k", help="paraphrases per unit"),
    seed: int = typer.Option(0, "--seed", help="seed of the sample, the shuffles and the bootstrap"),
    drafter: Optional[str] = typer.Option(None, "--drafter", help="model drafting paraphrases, compressions and edits (default: the run's first judge)"),
    self_source: Optional[list[str]] = typer.Option(None, "--self-source", metavar="MODEL=SOURCE", help="the answer source that is a judge's own family (default: by name: gpt, claude, gemini...)"),
    resamples: int = typer.Option(1000, "--resamples", help="bootstrap resamples for the CIs"),
    show_drafts: bool = typer.Option(False, "--show-drafts", help="print the drafted paraphrases, compressions and edits"),
    dry_run: bool = typer.Option(False, "--dry-run", help="print the calls each probe needs; call nothing"),
    json_out: Optional[Path] = typer.Option(None, "--json", help="write the results as JSON"),
    db: Path = DB,
):
    """Re-judge a sample of the run's answers under controlled changes (criteria order, answer length, reworded
    criteria, must-flip edits) and compare each change's effect with rerun noise; self-preference from the
    stored verdicts."""
    from .. import api
    from .grade import finish
    from .options import wide_console

    from .options import pairs

    mapping = pairs(self_source, "--self-source", "MODEL")
    result = api.probe(db, run_id, probes=[p.strip() for p in probes.split(",") if p.strip()], n=n, k=k, seed=seed,
                       drafter=drafter, self_source=mapping, resamples=resamples, dry_run=dry_run)
    console = wide_console()
    render(result, console, show_drafts)
    if json_out:
        json_out.write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
    finish(result)


def render(r, console, show_drafts=False):
    from ..display import ci, num

    if r.status == "planned":
        console.print(f"dry run for probes of run {r.run_id}: nothing was called")
        for name, calls in r.planned_calls.items():
            console.print(f"  {name}: {calls} calls")
        console.print(f"  in all: {sum(r.planned_calls.values())} calls at most (the cache answers repeats)")
        return
    console.print(f"probes {r.id} of run {r.run_id} (verdicts by the rule in docs/PROBES.md)")

    def line(name, x):
        if "flip_rate" in x:
            console.print(f"  {name}: {x['change']}\n    flips {num(x['flip_rate'])} vs rerun noise "
                          f"{num(x['noise_flip_rate'])}: effect {num(x['effect'])} {ci(x['ci'])}, mean shift "
                          f"{num(x['shift'])} {ci(x['shift_ci'])}; {x['used']} of {x['units']} units "
                          f"({x['unscored']} unscored, left out) -> [bold]{x['verdict']}[/bold]"
                          + (f" ({x['why']})" if x.get("why") else "")
                          + (f"\n    {x['answers_reordered']} answers changed order" if "answers_reordered" in x else ""))
        elif "miss_rate" in x:
            console.print(f"  {name}: {x['change']}\n    missed {num(x['miss_rate'])} {ci(x['ci'])} of {x['used']} "
                          f"edits ({x['unscored']} unscored, left out) -> [bold]{x['verdict']}[/bold]"
                          + (f" ({x['why']})" if x.get("why") else ""))
            for kind, e in x.get("by_edit", {}).items():
                console.print(f"      {kind}: {e['edits']} edits, missed {num(e['miss_rate'])}")
        elif "own_excess" in x or x.get("verdict") == "no verdict":
            console.print(f"  {name}: over-rating of own family ({x.get('family')}) answers beyond the others' vs "
                          f"{', '.join(x.get('reference', [])) or 'no reference'}: {num(x.get('effect'))} "
                          f"{ci(x['ci'])} ({x.get('own_units', 0)} own, {x.get('other_units', 0)} other units) -> "
                          f"[bold]{x['verdict']}[/bold]" + (f" ({x['why']})" if x.get("why") else ""))
        else:
            console.print(f"  {name}: {x.get('verdict')}: {x.get('why', '')}")
        for f in x.get("drafts_failed", []) or []:
            console.print(f"    draft failed (left out): {f}")

    for name, res in r.results.items():
        if name == "length":
            for sub, x in res.items():
                line(f"length ({sub})", x)
        elif name == "self" and "verdict" not in res:
            for judge, x in res.items():
                line(f"self ({judge})", x)
        else:
            line(name, res)
    if show_drafts:
        for t, ps in r.drafts.get("paraphrases", {}).items():
            console.print(f"paraphrases of: {t}")
            for p in ps:
                console.print(f"  - {p}")
        for aid, text in r.drafts.get("compressed", {}).items():
            console.print(f"compressed {aid}: {text}")
        for key, e in r.drafts.get("edits", {}).items():
            console.print(f"edit {key} ({e['edit']}): {e['answer']}")
