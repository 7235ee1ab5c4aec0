"""Import expert annotations (and published judge ratings): long CSV/JSONL, wide files, HealthBench meta-eval."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError, MedjudgeError
from ..inputs import ANSWER_KEYS, meta_ids, read_jsonl, theme_of
from ..rubrics.base import coerce_label
from ..store import dumps, now

COLUMNS = {
    "item": ("item_id", "item", "answer_id", "completion_id", "id", "", "Unnamed: 0"),  # last: a pandas index column
    "unit": ("criterion_id", "criterion", "dimension", "attribute", "unit_id", "unit"),
    "rater": ("rater", "rater_id", "annotator", "physician"),
    "kind": ("rater_kind", "kind"),
    "value": ("value", "score", "label", "rating"),
    "source": ("source", "response_source", "system"),
    "rationale": ("rationale", "comment", "reason", "note"),  # why the expert chose the label (optimize's feedback)
    "answer": ("answer", "answer_text", "completion"),  # the text the rater read: picks among answers with one id
}
MISSING = ("", ".", "na", "n/a", "-")  # cells read as a missing label (never a label); --missing changes them
KINDS = ("expert", "llm_judge")


MAX_KEPT_OUT = 0.05  # share of non-empty labels that may be unreadable or out of range before an import fails


@dataclass
class ImportReport:
    file: str
    rows: int = 0
    valid: int = 0
    problems: dict = field(default_factory=dict)  # reason -> count
    examples: list = field(default_factory=list)  # first problems: (line, rater, item, unit, raw, reason)

    def failure(self, max_kept_out: float = MAX_KEPT_OUT) -> str | None:
        """Why the import failed, or None: nothing kept, or more than max_kept_out of the non-empty labels
        unreadable or out of range (empty cells are missing ratings, not errors)."""
        empty = self.problems.get("empty", 0)
        bad = self.rows - self.valid - empty
        if self.valid == 0:
            return f"{self.file}: no rating could be read ({self._first()})"
        if self.rows - empty and bad / (self.rows - empty) > max_kept_out:
            return (f"{self.file}: {bad} of {self.rows - empty} labels kept out ({bad / (self.rows - empty):.0%}, over "
                    f"--max-kept-out {max_kept_out:.0%}): {self._first()}; map them with --map LABEL=VALUE")
        return None

    def _first(self) -> str:
        top = max((p for p in self.problems if p != "empty"), key=self.problems.get, default="empty")
        ex = next((e for e in self.examples if e[5] == top), None)
        hint = _rubric_hint([e[4] for e in self.examples if e[5] == "unreadable"]) if top == "unreadable" else ""
        return f"{self.problems[top]} x {top}" + (f", e.g. line {ex[0]}: {ex[4]!r}" if ex else "") + hint

    def add_problem(self, line, row, reason):
        self.problems[reason] = self.problems.get(reason, 0) + 1
        if len(self.examples) < 5 or (reason != "empty" and not any(e[5] == reason for e in self.examples)):
            self.examples.append((line, row["rater"], row["item_id"], row["unit_id"], row["raw"], reason))


def _rubric_hint(raws) -> str:
    """The flag and a library rubric that read words a number reader cannot (NLI relations, safety levels)."""
    from ..rubrics import load_rubric

    words = {str(r).strip().lower() for r in raws if r is not None}
    for rubric_id in ("kqa-pairs", "patient-safety", "mental-health-multiturn-safety", "medval-risk"):
        rubric = load_rubric(rubric_id).rubric
        unit = next(iter(rubric.units(None) or []), None) if rubric.fixed_units() else None
        readable = 0
        for w in words:
            try:
                rubric.label_value(unit, w)
                readable += 1
            except (ValueError, AttributeError, KeyError, TypeError):
                pass
        if words and readable == len(words):
            return f" (words like these are {rubric.kind} labels: read them with --rubric {rubric_id} or your own " \
                   f"{rubric.kind} rubric, or map them with --map LABEL=VALUE)"
    return ""


def parse_value(raw):
    """A rating as a number: numbers as they are, true/false words as 1/0. Returns (value, problem)."""
    v = coerce_label(raw)
    if v is None or v == "":
        return None, "empty"
    if isinstance(v, (bool, int, float)):
        return float(v), None
    return None, "unreadable"


class LabelReader:
    """Reads a rating into a value. With a rubric, in the rubric kind's own words (`label_value`: met/unmet,
    a level's name, entailed/neutral/contradicted...) and, for rubrics with fixed units, only for its units;
    otherwise numbers and true/false words, within --range MIN..MAX when given."""

    def __init__(self, rubric=None, value_range: str | None = None, missing=MISSING):
        self.rubric, self.bounds, self.units = rubric, None, {}
        self.missing = {str(m).strip().lower() for m in missing} | {""}
        if value_range:
            try:
                self.bounds = tuple(float(x) for x in value_range.split(".."))
                lo, hi = self.bounds
            except ValueError:
                raise MedjudgeError(f"--range must look like 1..5, not {value_range!r}") from None
        if rubric is not None and rubric.fixed_units():
            self.units = {u.id: u for u in rubric.units(None)}

    def read(self, unit_id, raw):
        """(value, None) or (None, problem)."""
        if raw is None or (isinstance(raw, str) and raw.strip().lower() in self.missing):
            return None, "empty"
        if self.rubric is None:
            value, problem = parse_value(raw)
        elif self.units and not all(u in self.units for u in self.rubric.label_units(unit_id)):
            return None, f"unknown unit {unit_id!r} (rubric {self.rubric.id} has {', '.join(self.units)})"
        else:
            unit = self.units.get(self.rubric.label_units(unit_id)[0]) or _Unit(unit_id)
            try:
                value, problem = self.rubric.label_value(unit, raw), None
            except ValueError as exc:
                return None, str(exc)
        if problem is None and self.bounds and not self.bounds[0] <= value <= self.bounds[1]:
            problem = f"out of range {self.bounds[0]:g}..{self.bounds[1]:g}"
        return (value, None) if problem is None else (None, problem)


class _Unit:
    """A unit known only by its id (rubrics whose units come with each example)."""

    def __init__(self, unit_id):
        self.id, self.text, self.tags = unit_id, "", []


def _cell(rec, cols: list | None) -> str | None:
    """The text of an optional column (rationale, answer), or None where the file has no such column or cell."""
    return str(rec[cols[0]]) if cols and rec.get(cols[0]) else None


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
        header = fh.readline()
        fh.seek(0)
        # a spreadsheet in a comma-decimal locale saves with semicolons: read the separator off the header
        delimiter = next((d for d in (";", "\t") if d in header and "," not in header), ",")
        reader = csv.DictReader(fh, delimiter=delimiter)
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
            "rationale": _cell(rec, cols["rationale"]),
            "answer": _cell(rec, cols["answer"]),
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
            cols = {role: _pick(header, role, opts.get(role)) for role in ("item", "unit", "source", "answer")}
            if unit_name and not opts.get("unit"):
                cols["unit"] = None  # --unit-name names the one unit: a column that happens to be called unit is not it
            if cols["unit"] and cols["item"] and cols["unit"][0] in cols["item"]:
                cols["unit"] = None
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
                         "source": str(rec[cols["source"][0]]) if cols["source"] else None,
                         "answer": _cell(rec, cols["answer"])}


def answers_rows(path: Path, kind_default: str, unit_name: str | None, field: str = "labels"):
    """Answers JSONL with the experts' labels inside: {"id": ..., "labels": {unit: {rater: label}}}, or
    {"labels": {rater: label}} with --unit-name. The answer ids are those `grade` stores: they join."""
    found = False
    for line, rec in read_jsonl(path):
        item = rec.get("id", rec.get("prompt_id"))
        if item is None:
            raise InputError(path, line, "id", "missing: the answer id the labels belong to")
        labels = rec.get(field)
        if labels is None:
            continue
        if not isinstance(labels, dict):
            raise InputError(path, line, field, "must map rater to label, or unit to {rater: label}")
        text = next((rec[k] for k in ANSWER_KEYS if isinstance(rec.get(k), str)), None)  # the answer they are on
        for key, value in labels.items():
            pairs = value.items() if isinstance(value, dict) else [(key, value)]
            unit = key if isinstance(value, dict) else unit_name
            if unit is None:
                raise InputError(path, line, field, "labels by rater need --unit-name (or nest them by unit)")
            for rater, raw in pairs:
                found = True
                yield line, {"item_id": str(item), "unit_id": str(unit), "rater": str(rater),
                             "rater_kind": kind_default, "raw": raw, "source": rec.get("source"), "answer": text}
    if not found:
        raise InputError(path, None, field, f"no labels: no line has a {field!r} field")


def healthbench_meta_rows(path: Path):
    """HealthBench meta-eval JSONL: one row per completion x criterion with physicians' binary labels."""
    for line, rec in read_jsonl(path):
        labels, raters = rec.get("binary_labels"), rec.get("anonymized_physician_ids")
        if not isinstance(labels, list) or not isinstance(raters, list) or len(labels) != len(raters):
            raise InputError(path, line, "binary_labels", "must be a list as long as anonymized_physician_ids")
        criterion = rec.get("rubric", rec.get("criterion"))
        if not isinstance(criterion, str):
            raise InputError(path, line, "rubric", "missing: the criterion text")
        item, unit = meta_ids(rec, criterion)
        category = rec.get("category")  # cluster:THEME_..., stored with its theme for --by theme
        tags = [category, f"theme:{theme_of(category)}"] if isinstance(category, str) else []
        for label, rater in zip(labels, raters):
            yield line, {"item_id": str(item), "unit_id": unit, "rater": str(rater), "rater_kind": "expert",
                         "raw": label, "source": None, "tags": dumps(tags), "unit_text": criterion}


def import_file(store, path, fmt="long", wide=False, rater_columns=None, kind="expert", rubric=None,
                value_range=None, unit_name=None, mapping: dict | None = None, run: str | None = None,
                answers=None, missing=MISSING, **columns) -> ImportReport:
    """Read ratings into the annotations table. `mapping` turns the file's labels into the rubric kind's
    words or numbers first (exact, then ignoring case). Each label is tied to the answer its rater read
    (labels/identity.py): the answer of that id in `run`, in `answers` (an answers JSONL path, or Items), or in
    the database (an answer column picks among answers that share an id; an id that names several answers is
    refused). Every row is kept, the ones that cannot be read marked invalid with the reason; ImportReport.failure() says
    whether too many were."""
    from .identity import AmbiguousId, Resolver

    path = Path(path)
    if not path.exists():
        raise InputError(path, None, None, "no such file")
    if run is not None and answers is not None:
        raise MedjudgeError("give --run or --answers, not both")
    items = answers
    if isinstance(answers, (str, Path)) or (answers is None and fmt == "answers" and rubric and run is None):
        from ..inputs import iter_answers

        if rubric is None:
            raise MedjudgeError("--answers needs --rubric: the rubric says what a rater read beside each answer")
        items = list(iter_answers(path if answers is None else answers, rubric))
    resolver = Resolver(store, rubric, run, answers=items)
    rubric = resolver.rubric
    reader = LabelReader(rubric, value_range, missing)
    lower = {str(k).strip().lower(): v for k, v in (mapping or {}).items()}
    if fmt == "healthbench-meta":
        rows = healthbench_meta_rows(path)
    elif fmt == "answers":
        rows = answers_rows(path, kind, unit_name, columns.get("labels_field") or "labels")
    elif wide:
        if not rater_columns:
            raise MedjudgeError("--wide needs --rater-columns a,b,c")
        rows = wide_rows(path, columns, kind, rater_columns, unit_name)
    elif fmt == "long":
        rows = long_rows(path, columns, kind)
    else:
        raise MedjudgeError(f"--format must be long, answers or healthbench-meta, not {fmt!r}")
    report, batch, stamp = ImportReport(str(path)), [], now()
    value_type = rubric.value_type if rubric is not None else None
    for line, row in rows:
        report.rows += 1
        raw = row["raw"]
        if lower and raw is not None:
            key = str(raw).strip()
            raw = mapping.get(key, lower.get(key.lower(), raw))
        value, problem = reader.read(row["unit_id"], raw)
        answer = row.pop("answer", None)
        row.update(value=value if problem is None else None, valid=int(problem is None), problem=problem,
                   raw=None if row["raw"] is None else str(row["raw"]), file=str(path), line=line, imported=stamp,
                   value_type=value_type)
        row.setdefault("tags", None)
        row.setdefault("unit_text", None)
        units = rubric.label_units(row["unit_id"]) if rubric is not None else [row["unit_id"]]
        keyed = []
        for u in units:
            try:
                key, missing_answer = resolver.key(row["item_id"], u, answer)
            except AmbiguousId as exc:
                raise InputError(path, line, "item", str(exc)) from None
            if missing_answer and row["valid"]:
                row.update(value=None, valid=0, problem=missing_answer)
                problem = missing_answer
            keyed.append({**row, "unit_id": u, "label_key": key})
        if problem:
            report.add_problem(line, row, problem)
        else:
            report.valid += 1
        batch += keyed
        if len(batch) >= 20000:
            store.save_annotations(batch)
            batch = []
    if batch:
        store.save_annotations(batch)
    if report.rows == 0:
        raise InputError(path, None, None, "no ratings in file")
    return report
