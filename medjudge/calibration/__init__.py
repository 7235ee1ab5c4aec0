"""Calibration: expert annotations beside judgments, agreement statistics with CIs, the ceiling, verdicts."""

from __future__ import annotations

import json
from collections import defaultdict

from .calibrate import Options, Rating, calibrate


def ratings_from_annotations(store, raters=None, unscored_for=()) -> list[Rating]:
    """Valid ratings; and, for the raters in `unscored_for` (the judges), their ratings that could not be
    read (empty, unreadable, out of range) as unscored Ratings (value None), so that coverage counts them.
    An item is what the raters read: labels under one item id on different answers (different label keys)
    are different items; a label known by id alone joins them where they all name one answer."""
    rows = list(store.label_rows(raters, True))
    if unscored_for:
        rows += [dict(r, value=None) for r in store.label_rows(list(unscored_for), False)]
    keys = defaultdict(set)
    for r in rows:
        if r["label_key"]:
            keys[(r["item_id"], r["unit_id"])].add(r["label_key"])

    def item(r):
        several = len(keys.get((r["item_id"], r["unit_id"]), ())) > 1
        return f"{r['item_id']}@{r['label_key']}" if several and r["label_key"] else r["item_id"]

    return [Rating(item(r), r["unit_id"], r["rater"], r["rater_kind"], r["value"], r["source"],
                   tuple(json.loads(r["tags"])) if r["tags"] else (),
                   None if r["value"] is not None else f"annotation {r['problem']}")
            for r in rows]


def ratings_from_labels(labels, judges=()) -> list[Rating]:
    """Ratings from labels joined to a run's answers (labels.identity), keyed by the run's answer ids; and,
    for each judge, the items the experts labelled that no run judged, as unscored: coverage counts them."""
    out = [Rating(lab.answer_id, lab.unit_id, lab.rater, lab.kind, lab.value, lab.source, lab.tags)
           for lab in labels.labels if lab.value is not None]
    unjudged = [lab for lab in labels.unjudged if lab.value is not None]
    out += [Rating(lab.answer_id, lab.unit_id, lab.rater, lab.kind, lab.value, lab.source, lab.tags) for lab in unjudged]
    out += [Rating(item, unit, j, "llm_judge", None, None, (), "labelled by the experts, not judged by this run")
            for item, unit in sorted({(lab.answer_id, lab.unit_id) for lab in unjudged}) for j in judges]
    return out


def ratings_from_run(store, run_id) -> tuple[list[Rating], list[str], object]:
    """Each judge's rating per answer x unit (its samples aggregated by the rubric's rule, with the run's
    quorum) and the panel's, exactly as `grade` reports it (stored.verdicts). A unit the judge was asked and
    left unscored, or not yet judged, is a Rating with value None and the reason: coverage counts it."""
    from ..stored import StoredRun

    run = StoredRun(store, run_id)
    v = run.verdicts
    models = run.models
    judges = sorted(set(models))
    raters = judges + (["panel"] if len(judges) > 1 else [])
    ratings = []
    for it in run.items:
        for u in run.rubric.units(it):
            key = (it.id, u.id)
            tags = tuple(it.tags) + tuple(getattr(u, "tags", []))
            for rater in raters:
                if rater == "panel":
                    agg = v.panel.get(key)
                else:
                    if run.cascade and rater != models[0] and key not in v.asked.get(rater, ()):
                        continue  # a cascade's stronger judge is expected only where it was asked
                    agg = v.judges.get(rater, {}).get(key)
                value = agg.value if agg is not None else None
                reason = None if value is not None else (agg.reason if agg is not None else "not judged yet")
                ratings.append(Rating(it.id, u.id, rater, "llm_judge", value, it.source, tags, reason))
        if run.rubric.scope == "each_turn":  # and the conversation's value of each unit, from its turns
            from ..rubrics.scope import by_conversation

            for rater in raters:
                found = v.panel if rater == "panel" else v.judges.get(rater, {})
                per_unit = {uid: a for (aid, uid), a in found.items() if aid == it.id}
                base, conv = by_conversation(run.rubric, it, per_unit)
                for u in base:
                    a = conv[u.id]
                    ratings.append(Rating(it.id, u.id, rater, "llm_judge", a.value if a else None, it.source,
                                          tuple(it.tags), None if a and a.value is not None else
                                          (a.reason if a else "not judged yet")))
    return ratings, raters, run  # the stored.StoredRun


__all__ = ["Options", "Rating", "calibrate", "ratings_from_annotations", "ratings_from_labels", "ratings_from_run"]
