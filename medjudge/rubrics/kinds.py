"""The registry of rubric kinds: one line per kind.

A kind is a rubric model (a subclass of `base.RubricBase` in `rubrics/<kind>.py`) that declares everything
about itself: its schema, its judge program (`judges/<kind>.py`), how units come out of an example, its
aggregation rule, scoring and summary, template, display, lint rules and the vocabulary of its labels.
Nothing outside the kind's modules asks which kind a rubric is. Other packages add kinds through the
`medjudge.kinds` entry point group (value: "module:RubricClass"). See docs/ARCHITECTURE.md, "Adding a rubric kind".
"""

from __future__ import annotations

import importlib
from typing import Annotated, Union

BUILTIN = (
    "medjudge.rubrics.checklist:ChecklistRubric",
    "medjudge.rubrics.scale:ScaleRubric",
    "medjudge.rubrics.safety:SafetyRubric",
    "medjudge.rubrics.nli:NliRubric",
    "medjudge.rubrics.pairwise:PairwiseRubric",
)

_kinds: dict[str, type] = {}
_adapter = None


def _load(ref: str) -> type:
    module, _, name = ref.partition(":")
    return getattr(importlib.import_module(module), name)


def kind_name(cls) -> str:
    """The `kind:` value a rubric model accepts (its Literal)."""
    return cls.model_fields["kind"].annotation.__args__[0]


def register(cls) -> type:
    """Add a kind (a RubricBase subclass with `kind: Literal["name"]`); returns the class."""
    global _adapter
    kinds()[kind_name(cls)] = cls
    _adapter = None
    return cls


def kinds() -> dict[str, type]:
    """{kind name: rubric model}: the built-in kinds, then those other packages register."""
    if not _kinds:
        for ref in BUILTIN:
            cls = _load(ref)
            _kinds[kind_name(cls)] = cls
        from importlib.metadata import entry_points

        for ep in entry_points(group="medjudge.kinds"):
            cls = ep.load()
            _kinds[kind_name(cls)] = cls
    return _kinds


def names() -> tuple[str, ...]:
    return tuple(kinds())


def get(name: str) -> type:
    try:
        return kinds()[name]
    except KeyError:
        from ..errors import MedjudgeError

        raise MedjudgeError(f"unknown rubric kind {name!r}: one of {', '.join(names())}") from None


def adapter():
    """A pydantic TypeAdapter for any registered kind, discriminated on `kind`."""
    global _adapter
    if _adapter is None:
        from pydantic import Field, TypeAdapter

        classes = tuple(kinds().values())
        _adapter = TypeAdapter(Annotated[Union[classes], Field(discriminator="kind")])
    return _adapter
