"""Import expert annotations (and published judge ratings): long CSV/JSONL, wide files, HealthBench meta-eval."""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, MedjudgeError
from ..inputs import read_jsonl
from ..store import dumps, now

COLUMNS = {
    "item": ("item_id", "item", "answer_id", "completion_id", "id"),
    "unit": ("criterion_id", "criterion", "dimension", "attribute", "unit_id", "unit"),
    "rater": ("rater", "rater_id", "annotator", "physician"),
    "kind": ("rater_kind", "kind"),
    "value": ("value", "score", "label", "rating"),
    "source": ("source", "response_source", "system"),
}
KINDS = ("expert", "llm_judge")
TRUE = {"true", "yes", "met", "y", "t"}
FALSE = {"false", "no", "unmet", "n", "f"}


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    valid: int = 0
    problems: dict = field(default_factory=dict)  # reason -> count
    examples: list = field(default_factory=list)  # first problems: (line, rater, item, unit, raw, reason)

    def add_problem(self, line, row, reason):
        self.problems[reason] = self.problems.get(reason, 0) + 1
        if len(self.examples) < 5:
            self.examples.append((line, row["rater"], row["item_id"], row["unit_id"], row["raw"], reason))


def parse_value(raw):
    """A rating as a number: numbers as they are, booleans as 1/0. Returns (value, problem)."""
    if isinstance(raw, bool):
        return float(raw), None
    if isinstance(raw, (int, float)):
        return float(raw), None
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None, "empty"
    if text.lower() in TRUE:
        return 1.0, None
    if text.lower() in FALSE:
        return 0.0, None
    try:
        return float(text), None
    except ValueError:
        return None, "unreadable"


class RangeCheck:
    """The allowed values per unit: from a rubric (scale min..max, checklist 0/1) or a --range MIN..MAX."""

    def __init__(self, rubric=None, value_range: str | None = None):
        self.units, self.default = {}, None
        if value_range:
            try:
                lo, hi = (float(x) for x in value_range.split(".."))
            except ValueError:
                raise MedjudgeError(f"--range must look like 1..5, not {value_range!r}") from None
            self.default = (lo, hi)
        if rubric is not None:
            if rubric.kind == "scale":
                self.units = {d.id: (d.min, d.max) for d in rubric.dimensions}
            elif rubric.kind == "checklist":
                self.default = (0.0, 1.0)
                self.binary = True

    def problem(self, unit, value):
        bounds = self.units.get(unit, self.default)
        if self.units and unit not in self.units:
            return f"unknown dimension {unit!r}"
        if bounds and not bounds[0] <= value <= bounds[1]:
            return f"out of range {bounds[0]:g}..{bounds[1]:g}"
        if getattr(self, "binary", False) and value not in (0.0, 1.0):
            return "not a boolean"
        return None


def _pick(header, role, given):
    if given:
        missing = [g for g in given.split(",") if g not in header]
        if missing:
            raise MedjudgeError(f"column {', '.join(missing)} not in the file (columns: {', '.join(header)})")
        return given.split(",")
    for name in COLUMNS[role]:
        if name in header:
            return [name]
    return None


def _records(path: Path):
    """(line, dict) from a CSV or JSONL file."""
    if path.suffix.lower() in (".jsonl", ".json") or path.name.endswith(".jsonl.gz"):
        yield from read_jsonl(path)
        return
    try:
        if path.suffix == ".gz":
            import gzip
            import io

            fh = io.TextIOWrapper(gzip.open(path), newline="", encoding="utf-8")
        else:
            fh = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise InputError(path, None, None, f"cannot open: {exc.strerror}") from None
    with fh:
        reader = csv.DictReader(fh)
        if not reader.fieldnames:
            raise InputError(path, 1, None, "no header row")
        try:
            for row in reader:
                yield reader.line_num, row
        except (csv.Error, UnicodeDecodeError) as exc:
            raise InputError(path, reader.line_num, None, f"unreadable CSV: {exc}") from None


def long_rows(path: Path, opts: dict, kind_default: str):
    """Long format: one rating per row."""
    cols = None
    for line, rec in _records(path):
        if cols is None:
            header = list(rec)
            cols = {role: _pick(header, role, opts.get(role)) for role in COLUMNS}
            if cols["item"] is None and "conv_id" in header:
                cols["item"] = ["conv_id"] + (cols["source"] or [])  # MentalAlign: a context x a response source
            for role in ("item", "unit", "rater", "value"):
                if cols[role] is None:
                    raise InputError(path, 1, role, f"no {role} column: name one with --{role} "
                                                    f"(looked for {', '.join(COLUMNS[role])})")
        for role in ("item", "unit", "rater"):
            for c in cols[role]:
                if rec.get(c) in (None, ""):
                    raise InputError(path, line, c, "missing")
        kind = str(rec.get(cols["kind"][0], "") if cols["kind"] else "") or kind_default
        if kind not in KINDS:
            raise InputError(path, line, cols["kind"][0] if cols["kind"] else "rater_kind",
                             f"must be expert or llm_judge, not {kind!r}")
        yield line, {
            "item_id": ":".join(str(rec[c]) for c in cols["item"]),
            "unit_id": str(rec[cols["unit"][0]]),
            "rater": str(rec[cols["rater"][0]]),
            "rater_kind": kind,
            "raw": rec.get(cols["value"][0]),
            "source": str(rec[cols["source"][0]]) if cols["source"] and rec.get(cols["source"][0]) not in (None, "") else None,
        }


def wide_rows(path: Path, opts: dict, kind_default: str, rater_columns: list[str], unit_name: str | None):
    """Wide format: one row per item (x unit), one column per rater."""
    cols = None
    for line, rec in _records(path):
        if cols is None:
            header = list(rec)
            missing = [c for c in rater_columns if c not in header]
            if missing:
                raise InputError(path, 1, missing[0], "rater column not in the file")
            cols = {role: _pick(header, role, opts.get(role)) for role in ("item", "unit", "source")}
            if cols["item"] is None:
                raise InputError(path, 1, "item", "no item column: name one with --item")
            if cols["unit"] is None and not unit_name:
                raise InputError(path, 1, "unit", "no criterion/dimension column: name one with --unit, "
                                                  "or give --unit-name for a single-criterion file")
        item = ":".join(str(rec[c]) for c in cols["item"])
        unit = str(rec[cols["unit"][0]]) if cols["unit"] else unit_name
        for rater in rater_columns:
            yield line, {"item_id": item, "unit_id": unit, "rater": rater, "rater_kind": kind_default,
                         "raw": rec.get(rater),
                         "source": str(rec[cols["source"][0]]) if cols["source"] else None}


def healthbench_meta_rows(path: Path):
    """HealthBench meta-eval JSONL: one row per completion x criterion with physicians' binary labels."""
    for line, rec in read_jsonl(path):
        labels, raters = rec.get("binary_labels"), rec.get("anonymized_physician_ids")
        if not isinstance(labels, list) or not isinstance(raters, list) or len(labels) != len(raters):
            raise InputError(path, line, "binary_labels", "must be a list as long as anonymized_physician_ids")
        criterion = rec.get("rubric", rec.get("criterion"))
        if not isinstance(criterion, str):
            raise InputError(path, line, "rubric", "missing: the criterion text")
        item = rec.get("completion_id") or f"{rec.get('prompt_id')}:{rec.get('completion_index', 0)}"
        unit = "c" + hashlib.sha1(criterion.encode()).hexdigest()[:10]
        tags = [rec["category"]] if isinstance(rec.get("category"), str) else []
        for label, rater in zip(labels, raters):
            yield line, {"item_id": str(item), "unit_id": unit, "rater": str(rater), "rater_kind": "expert",
                         "raw": label, "source": None, "tags": dumps(tags), "unit_text": criterion}


def import_file(store, path, fmt="long", wide=False, rater_columns=None, kind="expert", rubric=None,
                value_range=None, unit_name=None, **columns) -> ImportReport:
    path = Path(path)
    if not path.exists():
        raise InputError(path, None, None, "no such file")
    check = RangeCheck(rubric, value_range)
    if fmt == "healthbench-meta":
        rows = healthbench_meta_rows(path)
    elif wide:
        if not rater_columns:
            raise MedjudgeError("--wide needs --rater-columns a,b,c")
        rows = wide_rows(path, columns, kind, rater_columns, unit_name)
    elif fmt == "long":
        rows = long_rows(path, columns, kind)
    else:
        raise MedjudgeError(f"--format must be long or healthbench-meta, not {fmt!r}")
    report, batch, stamp = ImportReport(str(path)), [], now()
    for line, row in rows:
        report.rows += 1
        value, problem = parse_value(row["raw"])
        if problem is None:
            problem = check.problem(row["unit_id"], value)
        row.update(value=value if problem is None else None, valid=int(problem is None), problem=problem,
                   raw=None if row["raw"] is None else str(row["raw"]), file=str(path), line=line, imported=stamp)
        row.setdefault("tags", None)
        row.setdefault("unit_text", None)
        if problem:
            report.add_problem(line, row, problem)
        else:
            report.valid += 1
        batch.append(row)
        if len(batch) >= 20000:
            store.save_annotations(batch)
            batch = []
    if batch:
        store.save_annotations(batch)
    if report.rows == 0:
        raise InputError(path, None, None, "no ratings in file")
    return report

