"""A run's summary printed on the console (grade, show): the run, its coverage, the kind's own scores, then
unscored, agreement and cost. Reads the summary's JSON form (summaries.Summary.to_dict)."""

from __future__ import annotations

from ..display import num


def coverage_line(s) -> str:
    """One line: units scored of those expected, and complete answers of all."""
    c = s["coverage"]
    share = "—" if c["share"] is None else f"{c['share']:.1%}"
    line = (f"coverage: {c['scored']} of {c['units']} units scored ({share}); {c['unscored']} unscored, "
            f"{c['not_judged']} not judged yet; answers complete {c['answers_complete']} of {c['answers']}")
    return line


def render(summary: dict, console, wall_time: float | None = None):
    """Print a summary: the run, its coverage, the kind's own scores, then unscored, agreement and cost."""
    from ..rubrics.kinds import get

    s = summary
    console.print(f"[bold]run {s['run']}[/bold]  rubric {s['rubric']} ({s['kind']}, {s['mode']})  "
                  f"judges {', '.join(s['judges'])} x{s['samples']}  answers {s['answers']}  status {s['status']}"
                  + (f"  program {s['program']}" if s.get("program") else ""))
    console.print(coverage_line(s))
    kind = get(s["kind"])
    kind.render_summary(s, console)
    for system, figures in (s.get("systems") or {}).items():
        rows = kind.headline_rows({**s, **figures})
        console.print(f"system {system}: " + "; ".join(
            f"{r['label']} {num(r['estimate'])} [{num(r['ci'][0])}, {num(r['ci'][1])}] (n {r['n']})" for r in rows)
            + ("  (compare them: medjudge compare " + s["run"] + ")" if system == next(iter(s["systems"])) else ""),
            markup=False, highlight=False)
    u = s["unscored"]
    console.print(f"unscored: {u['count']}" + (f"  not judged yet: {s['not_judged']} (rerun to finish)"
                                                if s.get("not_judged") else ""))
    for reason, n in u["reasons"].items():
        console.print(f"  {n} x {reason}")
    for reason, n in s.get("error_reasons", {}).items():
        console.print(f"  {n} x failed call (redone on rerun): {reason}")
    a = s.get("agreement")
    if a:
        console.print(f"inter-judge agreement: Krippendorff's alpha ({a['level']}) = {num(a['alpha'])} over "
                      f"{a['items']} items, {a['raters']} judge x sample raters")
    c = s["calls"]
    cost = f"${c['cost']:.4f}" + (f" ({c['unpriced']} calls unpriced)" if c["unpriced"] else "")
    line = (f"calls: {c['made']} made, {c['cached']} cached  tokens: {c['input_tokens']} in / "
            f"{c['output_tokens']} out  cost: {cost}")
    if wall_time is not None:
        line += f"  wall time: {wall_time:.1f}s"
    console.print(line)
    if len(s.get("per_judge", {})) > 1:
        console.print("per judge: " + "; ".join(
            f"{m} {v['calls']} calls" + (f" ${v['cost']:.4f}" if v.get("cost") else "") for m, v in s["per_judge"].items()))
    cas = s.get("cascade")
    if cas:
        msg = (f"cascade: {cas['tier1']} judged everything ({cas['tier1_calls']} calls); "
               f"{', '.join(cas['tier2'])} were asked {cas['tier2_calls']} times "
               f"({num(cas['escalated_share'], '.0%') if cas['escalated_share'] is not None else '—'} of a full panel), "
               f"{cas['calls_avoided']} calls avoided")
        if cas.get("cost_avoided"):
            msg += f", about ${cas['cost_avoided']:.4f} saved"
        console.print(msg)
