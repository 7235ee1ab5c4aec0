"""Judges: DSPy programs per rubric kind, the LiteLLM panel that runs them, aggregation of votes."""

from __future__ import annotations

import os

# before DSPy or LiteLLM is imported anywhere: the bundled price map (no fetch at import), no telemetry
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("LITELLM_TELEMETRY", "False")
os.environ.setdefault("DSPY_CACHEDIR", os.path.join(os.path.expanduser("~"), ".cache", "medjudge", "dspy"))


def compile_rubric(rubric, mode: str = "per-criterion"):
    """Compile a rubric into the DSPy judge program its kind names (imports DSPy: call only when judging)."""
    import importlib

    module, _, name = type(rubric).program.partition(":")
    return getattr(importlib.import_module(module), name)(rubric, mode)
