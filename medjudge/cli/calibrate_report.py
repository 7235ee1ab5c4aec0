"""Rendering calibration results: rich tables and CSV."""

from __future__ import annotations

import csv

from ..display import num

VERDICT_STYLE = {"trust": "green", "use with care": "yellow", "do not trust": "red", "insufficient coverage": "red",
                 "no verdict": "red"}


def stat_cell(s):
    """A statistic as "estimate [CI]"; "undefined" where it cannot be defined, "—" where it is absent."""
    if not s:
        return "—"
    if s.get("estimate") is None:
        return "undefined" if s.get("undefined") else "—"
    lo, hi = s["ci"]
    est = 0.0 if abs(s["estimate"]) < 5e-4 else s["estimate"]  # never "-0.000"
    return f"{est:.3f} [{num(lo, '.2f')}, {num(hi, '.2f')}]"


def render(results, console, cal_id=None):
    from rich.table import Table

    if not results:
        console.print("no paired ratings: the judges and the experts rated no common items")
        return
    shown = ("alpha", "kappa", "macro_f1", "accuracy") if results[0]["value_type"] in ("binary", "nominal") else (
        "ICC(A,1)", "ICC(C,1)", "spearman", "bias")
    if results[0]["level"] == "system":
        shown = ("ICC(A,1)", "ICC(C,1)", "spearman", "bias")
    has_ceiling = any(r.get("ceiling") for r in results)
    has_worst = any(r.get("worst_case") for r in results)
    cols = (["group", "judge", "n", "coverage", *shown] + (["expert ceiling"] if has_ceiling else [])
            + ([f"worst case {results[0]['primary']}"] if has_worst else []) + ["verdict"])
    t = Table(*cols, title=f"Calibration, {results[0]['level']} level, {results[0]['value_type']} values: "
              f"estimate [95% bootstrap CI]"
              + (f"  (id {cal_id})" if cal_id else ""))
    for r in results:
        n = str(r["systems"] if r["level"] == "system" else r["items"])
        ceiling = r.get("ceiling")
        c = [f"{stat_cell(ceiling['stats'].get(r['primary']))} n {ceiling['items']}" if ceiling else "—"] if has_ceiling else []
        w = [stat_cell((r.get("worst_case") or {}).get("stats", {}).get(r["primary"]))] if has_worst else []
        style = VERDICT_STYLE.get(r["verdict"], "")
        t.add_row(r["group"], r["judge"], n, _coverage(r.get("coverage")), *[stat_cell(r["stats"].get(s)) for s in shown],
                  *c, *w, f"[{style}]{r['verdict']}[/{style}]")
    console.print(t)
    if not has_ceiling:
        console.print("no expert ceiling: only one expert rated these items")
    console.print(f"verdict statistic: {results[0]['primary']} (its CI against the thresholds in docs/CALIBRATION.md); "
                  f"coverage = items the judge scored of those the experts rated (items the run never judged "
                  f"included); n = items a figure stands on (the ceiling: of the judge's items, those two experts rated)")
    if has_worst:
        console.print("worst case: the same statistic with every item the judge left unscored counted as a disagreement")
    for r in results:
        extra = ""
        pct = r.get("percentile_among_experts")
        if pct:
            extra = f"; macro-F1 {pct['judge_macro_f1']:.3f} = percentile {pct['percentile']:.0f} among {pct['experts']} experts"
        console.print(f"  {r['group']} / {r['judge']}: {r['verdict']}: {'; '.join(r['reasons'])}{extra}")


def _coverage(c) -> str:
    if not c or not c.get("expected"):
        return "—"
    return f"{c['share']:.0%}" if c["scored"] == c["expected"] else f"{c['scored']}/{c['expected']} ({c['share']:.0%})"


def write_csv(result, path):
    """One row per group x judge x statistic (api.CalibrationResult.long_rows)."""
    rows = result.long_rows()
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["group", "judge", "statistic", "estimate"])
        w.writeheader()
        w.writerows(rows)


def render_healthbench(rows, console):
    """HealthBench's meta-evaluation table (--rules healthbench): as the paper's, per group and judge."""
    from rich.table import Table

    t = Table("group", "judge", "rows judged", "judge macro-F1", "physicians' average", "physicians kept",
              "percentile", title="HealthBench rules: pairwise balanced F1 (macro-F1), count-weighted over clusters")
    for r in rows:
        t.add_row(r["group"], r["judge"], f"{r['judged_rows']} of {r['rows']}", num(r["judge_macro_f1"]),
                  num(r["physician_average"]), f"{r['physicians_kept']} of {len(r['physicians'])}",
                  num(r["percentile"], ".1f"))
    console.print(t)
    console.print(f"percentile: the judge's macro-F1 among the physicians whose balanced-F1 count exceeds "
                  f"{rows[0]['min_count'] if rows else 50} (ties count half); the physicians' average weights every "
                  "physician by that count (docs/CALIBRATION.md, 'Reproducing HealthBench's meta-evaluation')")
