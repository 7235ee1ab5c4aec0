"""Fields every rubric kind shares."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkedExample(Strict):
    """An answer with the verdicts a good judge should reach: unit tests for a rubric."""

    prompt: str | list[dict[str, str]]
    answer: str
    fields: dict[str, Any] = Field(default_factory=dict)
    expected: dict[str, Any]


class RubricBase(Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    version: str
    title: str
    description: str = ""
    citation: str = ""
    instructions: str = ""
    drafted_by: str | None = None  # set on machine-drafted rubrics until a human reviews them
    # a field of each example holding a source document the answer is judged against
    source_field: str | None = None
    examples: list[WorkedExample] = Field(default_factory=list)

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, v):
        return str(v) if isinstance(v, (int, float)) else v

    def units(self, item) -> list:
        """The criteria or dimensions the judge rates for one item."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line on what the judge rates."""
        raise NotImplementedError

    def expected_value(self, unit, raw) -> float:
        """A worked example's expected verdict as the stored value; ValueError when it does not fit the unit."""
        raise NotImplementedError

    def example_units(self, raw: list[dict]) -> list:
        """Per-example units as stored in the database, back into their models."""
        raise NotImplementedError

    # aggregation rule across the panel's votes for one unit
    aggregation: ClassVar[str] = "majority"


def unique_ids(units, what):
    seen = set()
    for u in units:
        if u.id in seen:
            raise ValueError(f"duplicate {what} id {u.id!r}")
        seen.add(u.id)
    return units
