"""`medjudge report`: one self-contained HTML file (inline CSS, SVG and a little script; no request) from the
database alone: the run card, scores with CIs, per-unit rates, calibration figures, and every answer."""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime
from importlib import resources

from ..inputs import last_question
from ..stored import StoredRun
from . import plots

MAX_ANSWERS = 1000  # answers in the drill-down table; a larger run says how many were left out


def build(store, run_id: str, calibration_ids=(), partial: str = "exclude", compare=()) -> dict:
    """Everything the template shows, computed from the database."""
    from ..summaries import run_summary

    run = StoredRun(store, run_id)
    summary, answers = run_summary(store, run.id, partial=partial)
    summary = summary.to_dict()
    kind = type(run.rubric)
    sections = [{"title": title, "rows": rows, "svg": plots.ci_plot(rows, "estimate")}
                for title, rows in kind.report_rows(summary)]
    for system, figures in (summary.get("systems") or {}).items():  # a run of several systems: one section each
        rows = kind.headline_rows({**summary, **figures})
        sections.append({"title": f"System {system}: " + kind.report_rows({**summary, **figures})[0][0], "rows": rows,
                         "svg": plots.ci_plot(rows, "estimate")})
    calibrations = store.calibrations(list(calibration_ids), None) if calibration_ids else store.calibrations(None, run.id)
    experts = _expert_labels(store, run)
    cals = [_calibration(c, run, answers, experts) for c in calibrations]
    return {"card": _card(run, summary), "summary": summary, "sections": sections, "banners": _banners(run, cals),
            "compare": _compare(store, run, summary, compare, partial),
            "by_source": _by_source(answers), "units": _units(summary, answers),
            "calibrations": cals, **_paired(store, run, compare, partial),
            "answers": _answers(store, run, answers, experts), "answers_total": len(answers),
            "max_answers": MAX_ANSWERS, "unsafe": summary.get("unsafe_answers") or [],
            "probes": _probes(store, run.id)}


def _probes(store, run_id) -> list[dict]:
    """The stored probes of the run as table rows: probe, what changed, effect [CI], baseline, verdict."""
    out = []
    for p in store.probes(run_id):
        rows = []
        for name, res in p["results"].items():
            parts = res.items() if name in ("length", "self") and "verdict" not in res else [(None, res)]
            for sub, x in parts:
                label = f"{name} ({sub})" if sub else name
                if "flip_rate" in x:
                    rows.append({"probe": label, "measure": "flip rate - rerun noise", "estimate": x["effect"],
                                 "ci": x["ci"], "baseline": x["noise_flip_rate"], "n": x["used"], "verdict": x["verdict"]})
                elif "miss_rate" in x:
                    rows.append({"probe": label, "measure": "share of must-flip edits missed", "estimate": x["miss_rate"],
                                 "ci": x["ci"], "baseline": None, "n": x["used"], "verdict": x["verdict"]})
                elif x.get("effect") is not None:
                    rows.append({"probe": label, "measure": "own-family over-rating beyond the others'",
                                 "estimate": x["effect"], "ci": x["ci"], "baseline": x.get("other_excess"),
                                 "n": x.get("used"), "verdict": x["verdict"]})
                else:
                    rows.append({"probe": label, "measure": x.get("why", ""), "estimate": None, "ci": [None, None],
                                 "baseline": None, "n": None, "verdict": x.get("verdict")})
        out.append({"id": p["id"], "created": p["created"], "n": len(p["config"].get("answers", [])), "rows": rows})
    return out


def _compare(store, run, summary, others, partial) -> list[dict]:
    """The run's figures beside those of other runs of the same rubric kind (say, two answering models)."""
    from ..summaries import summarize_run

    if not others:
        return []
    kind = type(run.rubric)
    runs = [(run.id, summary)]
    for other in others:
        o = StoredRun(store, other)
        if type(o.rubric) is not kind:
            from ..errors import MedjudgeError

            raise MedjudgeError(f"--compare {o.id}: a {o.rubric.kind} rubric, not {run.rubric.kind} like {run.id}")
        runs.append((o.id, summarize_run(store, o.id, partial=partial).to_dict()))
    out = []
    for i, (title, _) in enumerate(kind.report_rows(summary)):
        series = [(rid, kind.report_rows(s)[i][1]) for rid, s in runs]
        labels = list(dict.fromkeys(r["label"] for _, rows in series for r in rows))
        table = [{"label": label, "cells": [next((r for r in rows if r["label"] == label), None) for _, rows in series]}
                 for label in labels]
        out.append({"title": title, "runs": [rid for rid, _ in runs], "table": table,
                    "svg": plots.compare_plot(series, "estimate")})
    return out


def _paired(store, run, others, partial) -> dict:
    """The paired comparison `medjudge compare` prints: the run against `others`, or the systems within the run."""
    from ..compare import compare, systems_of
    from ..errors import MedjudgeError

    ids = [run.id, *others] if others else [run.id] if len(systems_of(run)) >= 2 else []
    if not ids:
        return {"paired": None, "paired_error": None}
    try:
        return {"paired": {**compare(store, ids, partial=partial), "compared": ids}, "paired_error": None}
    except MedjudgeError as exc:
        return {"paired": None, "paired_error": str(exc)}


def render(context: dict, template: str = "report.html.j2") -> str:
    from jinja2 import Environment, FunctionLoader, select_autoescape

    from ..display import num

    def load(name):
        return (resources.files("medjudge") / "view" / name).read_text(encoding="utf-8")

    env = Environment(loader=FunctionLoader(load), autoescape=select_autoescape(default=True))
    env.filters["num"] = num
    return env.get_template(template).render(**context)


def write(store, run_id: str, output, calibration_ids=(), partial="exclude", compare=()) -> dict:
    return _write(output, lambda: render(build(store, run_id, calibration_ids, partial, compare)))


def write_calibration(store, calibration_id: str, output) -> dict:
    """A page of its own for one calibration (say, published judges against experts): one analysis, one title."""
    from ..errors import MedjudgeError

    found = store.calibrations([calibration_id])
    if not found:
        raise MedjudgeError(f"no calibration {calibration_id} in this database (medjudge calibrate prints its id)")
    cal = _calibration(found[0], None, [], {})
    cal["separate"] = False
    experts = sorted({e for r in cal["rows"] for e in (r.get("experts") or [])})
    context = {"c": cal, "calibrations": [cal], "banners": _banners(None, [cal]), "experts": experts,
               "created": found[0]["created"], "config": found[0]["config"]}
    return _write(output, lambda: render(context, "calibration.html.j2"))


def _write(output, make) -> dict:
    start = time.perf_counter()
    html = make()
    with open(output, "w", encoding="utf-8") as fh:
        fh.write(html)
    return {"path": str(output), "bytes": len(html.encode("utf-8")), "seconds": time.perf_counter() - start}


def _card(run, summary) -> dict:
    row = run.row
    config = {k: v for k, v in run.config.items() if k not in ("items_hash",) and v not in (None, False)}
    wall = None
    if row.get("started") and row.get("finished"):
        fmt = "%Y-%m-%dT%H:%M:%SZ"
        wall = (datetime.strptime(row["finished"], fmt) - datetime.strptime(row["started"], fmt)).total_seconds()
    return {"run": run.id, "rubric": f"{run.rubric.id}@{run.rubric.version}", "hash": row["rubric_hash"][:12],
            "kind": run.rubric.kind, "title": run.rubric.title, "citation": run.rubric.citation,
            "judges": [j.model + (f"@{j.public_base}" if j.api_base else "") for j in run.judges()],
            "settings": config, "versions": row.get("versions") or {}, "status": row["status"],
            "coverage": summary["coverage"], "calls": summary["calls"], "wall": wall,
            "started": row.get("started"), "agreement": summary.get("agreement")}


def _by_source(answers) -> list[dict]:
    from ..bootstrap import bootstrap_means, percentile_ci

    scores = defaultdict(list)
    for a in answers:
        if a["score"] is not None:
            scores[a.get("source") or "(none)"].append(a["score"])
    if len(scores) < 2:
        return []
    rows = []
    for src, vals in sorted(scores.items()):
        rows.append({"label": src, "estimate": sum(vals) / len(vals), "n": len(vals),
                     "ci": list(percentile_ci(bootstrap_means(vals, 1000, 0)))})
    return [{"title": "Per-answer score by answer source (model), 95% CI", "rows": rows,
             "svg": plots.ci_plot(rows, "mean per-answer score")}]


def _units(summary, answers) -> list[dict]:
    """Per unit (fixed units only): mean verdict, unscored share."""
    by = summary["coverage"].get("by_unit")
    if not by:
        return []
    values = defaultdict(list)
    text = {}
    for a in answers:
        for u in a["units"]:
            text.setdefault(u["unit_id"], u.get("text", ""))
            if u["value"] is not None:
                values[u["unit_id"]].append(u["value"])
    points = {u["unit_id"]: u.get("points") for a in answers for u in a["units"]}
    return [{"unit": uid, "text": text.get(uid, ""), "mean": sum(values[uid]) / len(values[uid]) if values[uid] else None,
             "scored": c["scored"], "units": c["units"], "unscored_share": 1 - c["share"] if c["share"] is not None else None,
             "points": points.get(uid), "better": _better(points.get(uid))}
            for uid, c in by.items()]


def _better(points) -> str:
    """Which way is better for a unit's mean verdict: a checklist criterion with negative points is one an answer
    should not meet."""
    if points is None:
        return "higher is better"
    return "lower is better (negative points: meeting it costs)" if points < 0 else "higher is better"


def _banners(run, calibrations) -> list[str]:
    """What a reader must see before any figure: an embedded judge, a judge calibrations said not to trust."""
    from ..config import EMBEDDED_JUDGE

    out = [f"{m} is the embedded 270M base model: it proves the pipeline runs, its verdicts and explanations are "
           "not to be trusted" for m in (run.models if run else []) if m.startswith(EMBEDDED_JUDGE)]
    for c in calibrations:
        bad = sorted({f"{r['judge']} ({r['group']})" for r in c["rows"] if r["verdict"] == "do not trust"})
        if bad:
            out.append(f"calibration {c['id']}: do not trust {', '.join(bad)} against these experts")
    return out


def _expert_labels(store, run) -> dict:
    """(answer, unit) -> [(expert, label)] for the labels on the run's answers (labels/identity.py)."""
    from ..labels.identity import for_run

    out = defaultdict(list)
    for lab in for_run(store, run, experts_only=True).labels:
        out[(lab.answer_id, lab.unit_id)].append((lab.rater, lab.value))
    return out


def _calibration(cal, run, answers, experts) -> dict:
    rows = cal["results"]
    # a calibration of other judges (say, published ratings) is a separate analysis: said so, apart from the run
    separate = run is not None and not any(r["judge"] in run.models for r in rows)
    out = {"id": cal["id"], "config": cal["config"], "rows": rows, "forest": plots.forest_plot(rows),
           "confusions": [], "bland_altman": [], "rates": None, "separate": separate,
           "judges": sorted({r["judge"] for r in rows})}
    if run is None or cal["inputs"].get("run") != run.id:
        return out
    pairs = defaultdict(list)  # (unit, expert) -> [(panel value, expert value)]: one matrix per expert, never pooled
    for a in answers:
        for u in a["units"]:
            for rater, v in experts.get((a["answer_id"], u["unit_id"]), []):
                if u["value"] is not None:
                    pairs[(u["unit_id"] if run.rubric.fixed_units() else "all", rater)].append((u["value"], v))
    value_type = rows[0]["value_type"] if rows else None
    rates = []
    for (unit, rater), ps in sorted(pairs.items()):
        title = f"{unit} vs {rater}: {len(ps)} items"
        if value_type in ("binary", "nominal"):
            cats = sorted({x for p in ps for x in p})
            m = [[sum(1 for j, e in ps if j == cj and e == ce) for ce in cats] for cj in cats]
            out["confusions"].append(plots.confusion(m, [f"{c:g}" for c in cats], title))
        else:
            svg = plots.bland_altman([j for j, _ in ps], [e for _, e in ps], title)
            if svg:
                out["bland_altman"].append(svg)
        rates.append({"label": f"{unit} ({rater})", "judge": sum(j for j, _ in ps) / len(ps),
                      "expert": sum(e for _, e in ps) / len(ps)})
    out["rates"] = plots.rates(rates, "mean verdict: judge (panel) vs experts")
    return out


def _answers(store, run, answers, experts) -> list[dict]:
    said = {}
    for r in store.judgments(run.id):
        said.setdefault((r["answer_id"], r["unit_id"]), r)  # the first judge's first sample explains
    shown = {a["answer_id"] for a in answers[:MAX_ANSWERS]}
    texts = {it.id: (last_question(it), it.answer) for it in run.items if it.id in shown}
    out = []
    for a in answers[:MAX_ANSWERS]:
        units = []
        for u in a["units"]:
            j = said.get((a["answer_id"], u["unit_id"])) or {}
            labels = experts.get((a["answer_id"], u["unit_id"]), [])
            expert_mean = sum(v for _, v in labels) / len(labels) if labels else None
            disagree = expert_mean is not None and u["value"] is not None and abs(u["value"] - expert_mean) >= 0.5
            units.append({**u, "label": j.get("label"), "explanation": j.get("explanation") or "",
                          "experts": labels, "disagree": disagree})
        out.append({"id": a["answer_id"], "source": a.get("source"), "score": a["score"], "complete": a["complete"],
                    "question": texts[a["answer_id"]][0], "answer": texts[a["answer_id"]][1],
                    "units": units, "disagree": any(u["disagree"] for u in units)})
    return out
