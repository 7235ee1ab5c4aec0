"""`medjudge review`: which units a physician labels, what the page shows of them, and each label written at once
to the annotations table (the web page itself is view/review.py).

Units are chosen at random (a uniform, stratified or active draw as `medjudge sample` makes it, stored as a
sample with each unit's inclusion probability, shared by every rater so that their labels overlap) or targeted (where the judges disagree, or what they flagged as unsafe or
contradicted; stored as a sample without a probability, which `estimate` refuses).
"""

from __future__ import annotations

import csv
import json

from ..errors import MedjudgeError
from ..store import now
from ..calibration import sampling
from ..calibration.sampling import judged_units
from .identity import for_run, label_key

METHODS = ("random", "stratified", "active", "disagreement", "unsafe")
CANNOT = "cannot judge"


def choose(store, run, method: str, n: int | None, seed: int = 0, name: str | None = None) -> tuple[str, dict]:
    """(sample name, {(answer, unit): inclusion probability or None when targeted}). A sample already drawn
    under that name is reused as it is, so that a second rater labels the same units."""
    if method not in METHODS:
        raise MedjudgeError(f"--sample must be one of {', '.join(METHODS)}, not {method!r}")
    name = name or f"review-{method}"
    found = store.sample(run.id, name)
    if found:
        return name, found
    if method in ("random", "stratified", "active"):  # drawn as `medjudge sample --strategy` draws, for estimate
        if not n and method != "random":
            raise MedjudgeError(f"--sample {method} needs --n: how many units to draw")
        sampling.draw(store, run, n, name, seed, strategy="uniform" if method == "random" else method, at_most=True)
        return name, store.sample(run.id, name)
    chosen = dict.fromkeys(_targeted(run, method)[:n] if n else _targeted(run, method))
    if not chosen:
        why = ""
        if method == "unsafe":
            why = (" (it needs a rubric whose verdicts flag harm: safety or NLI)" if run.rubric.higher_is_better
                   else f" (none was judged harmful: the run's {run.rubric.estimand()[0]} is 0)")
        raise MedjudgeError(f"run {run.id} has no units to review by {method}{why}")
    store.save_sample(run.id, name, chosen, seed, strategy=method)
    return name, store.sample(run.id, name)


def _targeted(run, method) -> list:
    """disagreement: units whose votes differ (judges or samples) or that were left unscored; unsafe: units the
    panel judged harmful (the estimand of a kind where lower is better: unsafe level, contradicted statement)."""
    rubric = run.rubric
    out = []
    if method == "unsafe":
        if rubric.higher_is_better:
            return []
        _, harmful = rubric.estimand()
        for key, (_, _, value) in sorted(judged_units(run).items()):
            if harmful(value):
                out.append(key)
        return out
    return sorted(k for k, v in run.unit_votes().items() if None in v or len(set(v)) > 1)


def units_for_page(run, chosen: dict) -> list[dict]:
    """What the page shows of each chosen unit: the conversation, the answer, the unit and its label options.
    Never the judge's verdict."""
    rubric = run.rubric
    categories = [{"id": c.id, "text": c.definition} for c in getattr(rubric, "categories", [])]
    extra_fields = [f for f in (rubric.source_field, getattr(rubric, "answer_b_field", None)) if f]
    out = []
    for it in run.items:
        wanted = [u for u in rubric.units(it) if (it.id, u.id) in chosen]
        for u in wanted:
            info = rubric.unit_info(u)
            out.append({"answer_id": it.id, "unit_id": u.id, "source": it.source, "prompt": it.prompt,
                        "answer": it.answer,
                        "extra": [{"name": f, "text": str(it.fields[f])} for f in extra_fields if it.fields.get(f)],
                        "unit": info.get("text") or u.id, "unit_kind": rubric.kind,
                        "options": [{"value": v, "label": rubric.value_label(u, v)} for v in rubric.values(u)],
                        "categories": categories, "prob": chosen[(it.id, u.id)]})
    return out


def how_chosen(sample: str, prob) -> str:
    return f"random p={prob:.6g} ({sample})" if prob is not None else f"targeted ({sample})"


def unit_objects(run, chosen: dict) -> dict:
    """{(answer, unit): the unit} for the chosen units."""
    return {(it.id, u.id): u for it in run.items for u in run.rubric.units(it) if (it.id, u.id) in chosen}


def save_label(store, run, sample: str, chosen: dict, units: dict, rater: str, answer_id: str, unit_id: str, value,
               rationale: str = "", categories=(), overlap: bool | None = None) -> dict:
    """One label, written at once (re-labelling replaces it). value None means "cannot judge": kept, invalid,
    with that reason, so that it is counted and never read as a verdict. `overlap`: on a panel, whether the unit
    was assigned to several raters (kept in the label's detail)."""
    if (answer_id, unit_id) not in chosen:
        raise MedjudgeError(f"{answer_id} / {unit_id} is not among the units of sample {sample!r}")
    rubric = run.rubric
    unit = units[(answer_id, unit_id)]
    if value is not None:
        value = float(value)
        if value not in rubric.values(unit):
            raise MedjudgeError(f"{value:g} is not a label of {unit_id} ({', '.join(rubric.value_label(unit, v) for v in rubric.values(unit))})")
    known = {c.id for c in getattr(rubric, "categories", [])}
    bad = [c for c in categories if c not in known]
    if bad:
        raise MedjudgeError(f"unknown error categories: {', '.join(bad)}")
    row = {"item_id": answer_id, "unit_id": unit_id, "rater": rater, "rater_kind": "expert",
           "value": value, "raw": CANNOT if value is None else rubric.value_label(unit, value).split(" ", 1)[0],
           "valid": int(value is not None), "problem": CANNOT if value is None else None,
           "source": None, "tags": None, "unit_text": rubric.unit_info(unit).get("text"),
           "file": f"review:{run.id}", "line": None, "imported": now(), "rationale": rationale.strip() or None,
           "detail": _detail(categories, overlap),
           "chosen": how_chosen(sample, chosen[(answer_id, unit_id)]), "value_type": rubric.value_type,
           "label_key": label_key(rubric, run.item(answer_id), unit)}
    store.save_annotations([row])
    return row


def _detail(categories, overlap) -> str | None:
    found = ({"categories": sorted(categories)} if categories else {}) | ({"overlap": overlap} if overlap is not None
                                                                          else {})
    return json.dumps(found) if found else None


def review_labels(store, run, rater: str | None = None) -> list:
    """Labels made on a review page (of this run or of another run on the same answers), valid or "cannot
    judge", joined to this run's answers by what the rater read (labels/identity.py)."""
    found = [lab for lab in for_run(store, run, [rater] if rater else None, valid=None).labels
             if (lab.file or "").startswith("review:")]
    return sorted(found, key=lambda lab: (lab.row["imported"], lab.answer_id, lab.unit_id))


def rater_labels(store, run, rater: str) -> dict:
    """This rater's review labels on this run's answers: {(answer, unit): {value, rationale, categories}}."""
    return {(lab.answer_id, lab.unit_id): {"value": lab.value, "rationale": lab.rationale or "",
                                           "categories": (json.loads(lab.row["detail"]) if lab.row["detail"] else {})
                                           .get("categories", [])}
            for lab in review_labels(store, run, rater)}


def export(store, run, path) -> dict:
    """The review labels on a run's answers as the long CSV `annotations import` reads (with the answer text, so
    that an import elsewhere knows which answer each label is on); "cannot judge" left out, counted."""
    rows = review_labels(store, run)
    kept = [lab for lab in rows if lab.value is not None]
    answers = {it.id: it.answer for it in run.items}
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["item_id", "unit_id", "rater", "rater_kind", "value", "rationale", "chosen", "overlap",
                    "labelled_at", "answer"])
        for lab in kept:
            overlap = (json.loads(lab.row["detail"]) if lab.row["detail"] else {}).get("overlap")
            w.writerow([lab.answer_id, lab.unit_id, lab.rater, "expert", lab.row["raw"], lab.rationale or "",
                        lab.row["chosen"], "" if overlap is None else int(overlap), lab.row["imported"],
                        answers.get(lab.answer_id, "")])
    return {"labels": len(kept), "cannot_judge": len(rows) - len(kept), "path": str(path)}
