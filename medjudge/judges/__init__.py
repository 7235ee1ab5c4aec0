"""Judges: DSPy programs per rubric kind, the LiteLLM panel that runs them, aggregation of votes."""

from __future__ import annotations

import os

# before DSPy or LiteLLM is imported anywhere: the bundled price map (no fetch at import), no telemetry
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")
os.environ.setdefault("DSPY_CACHEDIR", os.path.join(os.path.expanduser("~"), ".cache", "medjudge", "dspy"))


def compile_rubric(rubric, mode: str = "per-criterion"):
    """Compile a rubric into its DSPy judge program (imports DSPy: call only when judging)."""
    if rubric.kind == "checklist":
        from .checklist import ChecklistProgram as cls
    elif rubric.kind == "scale":
        from .scale import ScaleProgram as cls
    elif rubric.kind == "nli":
        from .nli import NliProgram as cls
    elif rubric.kind == "safety":
        from .safety import SafetyProgram as cls
    else:
        raise ValueError(f"no judge program for rubric kind {rubric.kind!r}")
    return cls(rubric, mode)
