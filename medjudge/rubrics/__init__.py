"""The rubric language: one pydantic schema per kind (registered in kinds.py), discriminated on `kind`, a YAML loader."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from pydantic import ValidationError

from ..errors import InputError, MedjudgeError
from . import kinds
from .base import RubricBase
from .checklist import ChecklistRubric, Criterion
from .loader import content_hash, load_yaml_with_lines, validation_messages
from .nli import NliRubric, Statement
from .safety import SafetyRubric
from .scale import Dimension, ScaleRubric

Rubric = RubricBase  # any registered kind


class RubricInvalid(MedjudgeError):
    def __init__(self, errors: list[InputError]):
        self.errors = errors
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        super().__init__(f"{errors[0]}{more}")


@dataclass
class LoadedRubric:
    rubric: object
    text: str
    hash: str
    path: str
    lines: dict = field(default_factory=dict)  # key path -> line, for messages that point into the file


def parse_rubric(text: str, path: str = "<rubric>") -> LoadedRubric:
    data, lines = load_yaml_with_lines(text, path)
    if not isinstance(data, dict):
        raise InputError(path, 1, None, "a rubric file must be a YAML mapping with id, version, kind, title")
    if "kind" not in data:
        raise InputError(path, lines.get((), 1), "kind", f"missing: one of {', '.join(kinds.names())}")
    try:
        rubric = kinds.adapter().validate_python(data)
    except ValidationError as exc:
        raise RubricInvalid(validation_messages(exc, data, lines, path, kinds.names())) from None
    loaded = LoadedRubric(rubric, text, content_hash(text), str(path), lines)
    errors = check_examples(loaded, lines)
    if errors:
        raise RubricInvalid(errors)
    return loaded


def check_examples(loaded, lines) -> list[InputError]:
    """Worked examples must build as answers and name only existing units with fitting verdicts."""
    from ..inputs import example_items

    errors = []
    try:
        items = example_items(loaded)
    except InputError as exc:
        return [exc]
    for i, (ex, item) in enumerate(zip(loaded.rubric.examples, items)):
        units = {u.id: u for u in loaded.rubric.units(item)}
        for key, raw in ex.expected.items():
            line = lines.get(("examples", i, "expected", key), lines.get(("examples", i)))
            where = f"examples[{i}].expected.{key}"
            if key not in units:
                errors.append(InputError(loaded.path, line, where, f"no such unit (units: {', '.join(units)})"))
                continue
            try:
                loaded.rubric.expected_value(units[key], raw)
            except ValueError as exc:
                errors.append(InputError(loaded.path, line, where, str(exc)))
    return errors


def load_rubric(ref: str | Path) -> LoadedRubric:
    """Load a rubric from a file path, or from the shipped library by id."""
    path = Path(ref)
    if path.exists():
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(path, None, None, f"cannot read: {exc}") from None
        return parse_rubric(text, str(path))
    lib = library_path(str(ref))
    if lib is None:
        raise MedjudgeError(f"{ref}: no such rubric file, and no library rubric with that id (see `medjudge rubric list`)")
    return parse_rubric(lib.read_text(encoding="utf-8"), f"library:{lib.name}")


def library_files() -> list[Path]:
    root = resources.files("medjudge") / "rubric_library"
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith((".yaml", ".yml")))


def library_path(rubric_id: str) -> Path | None:
    for p in library_files():
        if p.stem == rubric_id:
            return p
    return None


__all__ = [
    "ChecklistRubric", "Criterion", "Dimension", "LoadedRubric", "NliRubric", "Rubric", "RubricBase", "RubricInvalid",
    "SafetyRubric", "ScaleRubric", "Statement",
    "library_files", "load_rubric", "parse_rubric",
]
