"""Calibration: expert annotations beside judgments, agreement statistics with CIs, the ceiling, verdicts."""

from __future__ import annotations

import json
from collections import defaultdict

from .calibrate import Options, Rating, calibrate


def ratings_from_annotations(store, raters=None) -> list[Rating]:
    return [Rating(r["item_id"], r["unit_id"], r["rater"], r["rater_kind"], r["value"], r["source"],
                   tuple(json.loads(r["tags"])) if r["tags"] else ())
            for r in store.annotations(raters)]


def ratings_from_run(store, run_id) -> tuple[list[Rating], list[str], dict]:
    """Each judge's rating per answer x unit (its samples aggregated by the rubric's rule), and the panel's."""
    from ..judges.aggregate import aggregate
    from ..report import run_rubric, stored_items

    run = store.get_run(run_id)
    rubric = run_rubric(store, run)
    items = {it.id: it for it in stored_items(store, run["id"], rubric)}
    unit_tags = {}
    for it in items.values():
        for u in rubric.units(it):
            unit_tags[(it.id, u.id)] = tuple(it.tags) + tuple(getattr(u, "tags", []))
    votes = defaultdict(list)
    for j in store.judgments(run["id"]):
        if j["status"] != "error":
            votes[(j["answer_id"], j["unit_id"], j["judge"])].append((j["value"], j["reason"]))
    tie = (run["config"] or {}).get("tie")
    ratings, per_key = [], defaultdict(list)
    for (answer, unit, judge), v in votes.items():
        agg = aggregate(rubric.aggregation, v, tie)
        per_key[(answer, unit)].extend(v)
        if agg.value is not None:
            ratings.append(Rating(answer, unit, judge, "llm_judge", agg.value, items[answer].source,
                                  unit_tags.get((answer, unit), ())))
    judges = sorted({j["model"] for j in run["panel"]})
    if len(judges) > 1:
        for (answer, unit), v in per_key.items():
            agg = aggregate(rubric.aggregation, v, tie)
            if agg.value is not None:
                ratings.append(Rating(answer, unit, "panel", "llm_judge", agg.value, items[answer].source,
                                      unit_tags.get((answer, unit), ())))
        judges.append("panel")
    return ratings, judges, run


__all__ = ["Options", "Rating", "calibrate", "ratings_from_annotations", "ratings_from_run"]
