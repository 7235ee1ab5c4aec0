"""Judges: DSPy programs per rubric kind, the LiteLLM panel that runs them, aggregation of votes."""

from __future__ import annotations


def compile_rubric(rubric, mode: str = "per-criterion"):
    """Compile a rubric into its DSPy judge program (imports DSPy: call only when judging)."""
    if rubric.kind == "checklist":
        from .checklist import ChecklistProgram as cls
    elif rubric.kind == "scale":
        from .scale import ScaleProgram as cls
    else:
        raise ValueError(f"no judge program for rubric kind {rubric.kind!r}")
    return cls(rubric, mode)
