"""The calibration use case: a run's judges (or raters in the database) against the experts, the result saved in
the calibrations table and returned typed (`medjudge calibrate`, api.calibrate, optimize's held-out report)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from ..errors import EXIT_COVERAGE, EXIT_OK, MedjudgeError
from ..frames import frame
from ..store import content_id


@dataclass
class CalibrationResult:
    """Agreement of each judge with the experts per group, with CIs, the expert ceiling and a verdict.
    `rows` are calibration.calibrate's results; exit_code is 5 when a judge lacks coverage for a verdict."""

    id: str
    config: dict
    inputs: dict
    rows: list[dict]
    exit_code: int = EXIT_OK
    reason: str = ""
    warnings: list[str] = field(default_factory=list)
    healthbench: list[dict] | None = None  # --rules healthbench: HealthBench's figures per group and judge

    def to_dict(self) -> dict:
        out = {"id": self.id, "config": self.config, "inputs": self.inputs, "results": self.rows}
        return out | ({"healthbench": self.healthbench} if self.healthbench is not None else {})

    def long_rows(self) -> list[dict]:
        """One row per group x judge x statistic (the --csv layout)."""
        out = []
        for r in self.rows:
            cov = r.get("coverage") or {}
            for name, s in r["stats"].items():
                c = (r.get("ceiling") or {}).get("stats", {}).get(name) or {}
                wc = (r.get("worst_case") or {}).get("stats", {}).get(name) or {}
                out.append({"group": r["group"], "judge": r["judge"], "level": r["level"], "items": r["items"],
                            "expected_items": cov.get("expected"), "unscored_items": cov.get("unscored"),
                            "coverage": cov.get("share"), "statistic": name, "estimate": s["estimate"],
                            "ci_low": s["ci"][0], "ci_high": s["ci"][1], "worst_case_estimate": wc.get("estimate"),
                            "ceiling_estimate": c.get("estimate"),
                            "ceiling_items": (r.get("ceiling") or {}).get("items"), "verdict": r["verdict"]})
        return out

    def to_pandas(self):
        return frame(self.long_rows())


def measure(store, *, run: str | None = None, raters: list[str] | None = None,
              against: list[str] | None = None, level: str = "item", by: str | None = None,
              self_source: dict | None = None, value_type: str | None = None, primary: str | None = None,
              care: float | None = None, trust: float | None = None, min_coverage: float = 0.95,
              resamples: int = 1000, seed: int = 0, rules: str = "medjudge") -> CalibrationResult:
    """Calibrate a run's judges (`run=`), or raters already in the database (`raters=`), against the experts
    (`against=`, default every expert). Calibrating a run, the value type and the grouping default to the
    rubric kind's (NLI: nominal, no grouping; checklist: binary, per criterion; scale: ordinal, per
    dimension). The result is saved in the calibrations table under its id."""
    from . import ratings_from_annotations, ratings_from_labels, ratings_from_run
    from .calibrate import Options, calibrate
    from ..labels.identity import for_run, stored_value_type
    from .tables import VALUE_TYPES

    if level not in ("item", "system"):
        raise MedjudgeError("--level must be item or system")
    if value_type not in (None, *VALUE_TYPES):
        raise MedjudgeError(f"--value-type must be one of {', '.join(VALUE_TYPES)}, not {value_type!r}")
    if not 0 <= min_coverage <= 1:
        raise MedjudgeError("--min-coverage must be a share between 0 and 1")
    if resamples < 0:
        raise MedjudgeError("--resamples must be 0 or more")
    if rules not in ("medjudge", "healthbench"):
        raise MedjudgeError(f"--rules must be medjudge or healthbench, not {rules!r}")
    if rules == "healthbench":
        if by not in (None, "theme", "category", "none"):
            raise MedjudgeError(f"--by must be theme, category or none under --rules healthbench, not {by!r}")
        by = by or "theme"  # HealthBench's table is per theme, whatever the rubric's own grouping
    against = list(against) if against else None
    self_source = dict(self_source or {})
    inputs = {}
    if run:
        ratings, judges, stored = ratings_from_run(store, run)
        value_type = value_type or stored.rubric.value_type
        by = by or ("unit" if stored.rubric.fixed_units() else "none")
        labels = for_run(store, stored, against, experts_only=not against)
        if not any(lab.value is not None for lab in labels.labels + labels.unjudged):
            c = labels.counts
            raise MedjudgeError(f"no expert labels on the answers of run {stored.id}: {c['other_answers']} are on other "
                                f"answers, {c['ambiguous']} by an item id that names several answers (import labels "
                                "with --run RUN_ID to tie them to this run's answers)")
        ratings += ratings_from_labels(labels, judges)
        inputs["run"] = stored.id
        inputs["labels"] = labels.counts
        left_out = labels.left_out()
    elif raters:
        judges = list(raters)
        present = sorted({r["rater"] for r in store.annotation_summary()})
        unknown = [n for n in judges + (against or []) if n not in present]
        if unknown:
            raise MedjudgeError(f"no ratings by {', '.join(unknown)} in {store.path} (raters present: "
                                f"{', '.join(present) or 'none: import some with `medjudge annotations import`'})")
        ratings = ratings_from_annotations(store, judges + against if against else None, unscored_for=judges)
        if not against:
            ratings = [r for r in ratings if r.kind == "expert" or r.rater in judges]
        value_type = value_type or stored_value_type(store, judges + against if against else None)
        left_out = ""
    else:
        raise MedjudgeError("give --run RUN_ID or --raters NAME")
    by = by or "unit"
    inputs["annotations"] = store.annotations_version(None)
    opts = Options(level=level, by=by, value_type=value_type, resamples=resamples, seed=seed, self_source=self_source,
                   primary=primary, care=care, trust=trust, min_coverage=min_coverage)
    try:
        rows = calibrate(ratings, judges, against, opts)
    except ValueError as exc:
        raise MedjudgeError(str(exc)) from None
    config = {"judges": judges, "against": against, "level": level, "by": by, "self_source": self_source,
              "value_type": value_type, "primary": primary, "care": care, "trust": trust, "resamples": resamples,
              "seed": seed, "min_coverage": min_coverage} | ({"rules": rules} if rules != "medjudge" else {})
    cal_id = content_id("c", [config, inputs])
    store.save_calibration(cal_id, config, inputs, rows)
    result = CalibrationResult(cal_id, config, inputs, rows,
                               warnings=list(dict.fromkeys(w for r in rows for w in r.get("warnings", ())))
                               + ([f"labels left out: {left_out}"] if left_out else []))
    if rules == "healthbench":
        from . import healthbench

        experts = against or sorted({r.rater for r in ratings if r.kind == "expert" and r.rater not in judges})
        result.healthbench = [{"judge": j, **row} for j in judges
                              for row in healthbench.figures(healthbench.rows_from_ratings(ratings, j, experts), by)]
    short = [r for r in rows if r["verdict"] == "insufficient coverage"]
    undecided = [r for r in rows if r["verdict"] in ("no verdict", "insufficient coverage")]
    if all(r["items"] == 0 for r in rows):
        result.exit_code = EXIT_COVERAGE
        result.reason = "no paired ratings: the judges and the experts rated no common item x unit (check the ids)"
    elif short:
        r = short[0]
        result.exit_code = EXIT_COVERAGE
        result.reason = (f"insufficient coverage: {len(short)} of {len(rows)} judge x group rows below --min-coverage "
                         f"{min_coverage:.0%} (e.g. {r['judge']} on {r['group']}: {r['coverage']['scored']} of "
                         f"{r['coverage']['expected']} items scored)")
    elif rows and len(undecided) == len(rows) and resamples > 0:  # --resamples 0 asks for estimates alone
        result.exit_code = EXIT_COVERAGE
        result.reason = (f"no verdict on any of {len(rows)} judge x group rows (e.g. {rows[0]['judge']} on "
                         f"{rows[0]['group']}: {'; '.join(rows[0]['reasons'])})")
    return result


def measure_agreement(store, *, raters: list[str] | None = None, by: str = "unit", value_type: str | None = None,
                      rubric: str | None = None, items_of: str | None = None, run: str | None = None,
                      resamples: int = 1000, seed: int = 0) -> list[dict]:
    """The agreement use case (api.agreement): rows per group of multi-rater statistics among the raters (default:
    every expert); with `run`, the labels on that run's answers, on the units its panel (or `items_of`) scored."""
    from ..labels.identity import for_run, stored_value_type
    from . import Rating, agreement, ratings_from_annotations

    if resamples < 0:
        raise MedjudgeError("--resamples must be 0 or more")
    if rubric and not value_type:
        from ..rubrics import load_rubric

        value_type = load_rubric(rubric).rubric.value_type
    names = raters
    present = {r["rater"] for r in store.annotation_summary()}
    if items_of and items_of not in present and run is None:
        graded = [r["id"] for r in store.list_runs() if items_of in [j["model"] for j in json.loads(r["panel"])]]
        if len(graded) > 1:
            raise MedjudgeError(f"{items_of} judged {len(graded)} runs ({', '.join(graded)}): name one with --run")
        run = graded[0] if graded else None
    if run is not None:
        from ..stored import StoredRun

        stored = StoredRun(store, run)
        verdicts = stored.verdicts
        if items_of and items_of not in stored.models:
            raise MedjudgeError(f"{items_of} is not a judge of run {stored.id} (judges: {', '.join(stored.models)})")
        found = verdicts.judges.get(items_of, {}) if items_of else verdicts.panel
        scored = {k for k, a in found.items() if a is not None and a.value is not None}
        labels = for_run(store, stored, names or None, experts_only=not names)
        value_type = value_type or stored.rubric.value_type
        ratings = [Rating(lab.answer_id, lab.unit_id, lab.rater, lab.kind, lab.value, lab.source, lab.tags)
                   for lab in labels.labels if lab.value is not None and (lab.answer_id, lab.unit_id) in scored]
        if not ratings:
            c = labels.counts
            raise MedjudgeError(f"no expert labels on the units run {stored.id} scored: {c['joined']} on its answers, "
                                f"{c['other_answers']} on other answers, {c['ambiguous']} by an item id that names "
                                "several answers (import labels with --run RUN_ID to tie them to its answers)")
        items_of = None
    else:
        wanted = names + ([items_of] if items_of else []) if names else None
        value_type = value_type or stored_value_type(store, wanted)
        ratings = ratings_from_annotations(store, wanted)
    try:
        rows = agreement.agreement(ratings, names, by, value_type, resamples, seed, items_of)
    except ValueError as exc:
        raise MedjudgeError(str(exc)) from None
    return rows
