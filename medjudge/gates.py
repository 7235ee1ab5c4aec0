"""Gates for CI: a figure against a threshold the user set, with its interval, and the documented exit code
(errors.EXIT_GATE) when it is not met. A gate reads what the command already computed (the summary, the
calibration rows, the comparison), never another number.

- `grade --fail-under X` / `--fail-over X`: the kind's headline (rubrics' `headline_rows`: the HealthBench
  score, each scale dimension's mean, the unsafe rate...) of the run and of each of its systems, on its
  point estimate; the interval is printed, and a note says when it reaches across the threshold.
- `calibrate --require trust|care`: every judge x group row's verdict must be at least that ("no verdict" and
  "insufficient coverage" do not pass: no evidence).
- `compare --require-better A:B`: A better than B overall with the paired CI on A's side of 0 (a CI across 0
  is no verdict, and does not pass).
"""

from __future__ import annotations

from . import display
from .errors import MedjudgeError

ORDER = {"trust": 2, "use with care": 1}
REQUIRE = {"trust": 2, "care": 1}


def _rows(summary: dict) -> list[tuple[str, dict]]:
    """(system or "", the kind's headline rows) for the run and each of its systems."""
    from .rubrics.kinds import get

    kind = get(summary["kind"])
    out = [("", kind.headline_rows(summary))]
    for name, figures in (summary.get("systems") or {}).items():
        out.append((name, kind.headline_rows({**summary, **figures})))
    return out


def score_gate(summary: dict, under: float | None = None, over: float | None = None) -> tuple[list[str], list[str]]:
    """--fail-under / --fail-over on the headline figures: (one line per figure, the lines of those not met)."""
    from .rubrics.kinds import get

    higher = get(summary["kind"]).higher_is_better
    if under is not None and not higher:
        raise MedjudgeError(f"--fail-under: the {summary['kind']} kind's headline is lower-is-better; use --fail-over")
    if over is not None and higher:
        raise MedjudgeError(f"--fail-over: the {summary['kind']} kind's headline is higher-is-better; use --fail-under")
    limit = under if under is not None else over
    flag = "--fail-under" if under is not None else "--fail-over"
    lines, failed = [], []
    for system, rows in _rows(summary):
        for r in rows:
            name = f"{system}: {r['label']}" if system else r["label"]
            est, (lo, hi) = r["estimate"], r["ci"]
            if est is None:
                line, ok = f"gate {flag} {limit:g}: {name}: no estimate (no complete answer): NOT met", False
            else:
                ok = est >= limit if under is not None else est <= limit
                across = lo is not None and hi is not None and lo < limit < hi
                line = (f"gate {flag} {limit:g}: {name} {display.num(est)} {display.ci([lo, hi])} (n {r['n']}): "
                        f"{'met' if ok else 'NOT met'}" + ("; its 95% CI reaches across the threshold" if across else ""))
            lines.append(line)
            if not ok:
                failed.append(line)
    return lines, failed


def calibration_gate(rows: list[dict], require: str) -> tuple[list[str], list[str]]:
    """--require trust|care: every judge x group row's verdict at least that: (one line per row, the lines of
    those not met)."""
    if require not in REQUIRE:
        raise MedjudgeError(f"--require must be trust or care, not {require!r}")
    if not rows:
        line = f"gate --require {require}: no judge x group row: NOT met"
        return [line], [line]
    lines, failed = [], []
    for r in rows:
        ok = ORDER.get(r["verdict"], 0) >= REQUIRE[require]
        p = r.get("primary")
        s = (r.get("stats") or {}).get(p) or {}
        figure = f"{p} {display.num(s.get('estimate'))} {display.ci(s.get('ci') or [None, None])}" if p else ""
        lines.append(f"gate --require {require}: {r['judge']} on {r['group']}: {r['verdict']} {figure}: "
                     f"{'met' if ok else 'NOT met'}")
        if not ok:
            failed.append(lines[-1])
    return lines, failed


def better_gate(result: dict, spec: str) -> tuple[bool, str]:
    """--require-better A:B on the overall comparison."""
    a, sep, b = spec.partition(":")
    if not sep or not a or not b:
        raise MedjudgeError(f"--require-better takes A:B (two system names), not {spec!r}")
    overall = next((g for g in result["groups"] if g["group"] == "overall"), None)
    systems = result["systems"]
    for name in (a, b):
        if name not in systems:
            raise MedjudgeError(f"--require-better: no system {name!r} (systems: {', '.join(systems)})")
    if overall is None:
        return False, f"gate --require-better {spec}: no overall comparison: NOT met"
    d = next((x for x in overall["differences"] if (x["a"], x["b"]) in ((a, b), (b, a))), None)
    sign = 1 if d["a"] == a else -1  # the difference as A - B
    diff = sign * d["difference"]
    lo, hi = d["ci"]
    lo, hi = (lo, hi) if sign > 0 else ((-hi if hi is not None else None), (-lo if lo is not None else None))
    better = 1 if result["higher_is_better"] else -1
    if lo is None or hi is None:
        verdict, ok = "no verdict (no interval)", False
    elif (lo > 0 and better > 0) or (hi < 0 and better < 0):
        verdict, ok = "better", True
    elif lo <= 0 <= hi:
        verdict, ok = "no verdict (the paired CI spans 0)", False
    else:
        verdict, ok = "worse", False
    return ok, (f"gate --require-better {spec}: {a} - {b} = {display.num(diff, '+.3f')} {display.ci([lo, hi])} on "
                f"{overall['examples']} paired examples ({'higher' if better > 0 else 'lower'} is better): "
                f"{verdict}: {'met' if ok else 'NOT met'}")
