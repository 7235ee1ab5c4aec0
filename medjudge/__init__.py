"""medjudge: grade free-form health answers with LLM judges, and measure how far the judges can be trusted.

The public API is re-exported here lazily, so that `medjudge --help` does not import what it does not use.
"""

__version__ = "0.1.0"

_EXPORTS = {
    "InputError": ("errors", "InputError"),
    "MedjudgeError": ("errors", "MedjudgeError"),
    "Store": ("store", "Store"),
    "load_rubric": ("rubrics", "load_rubric"),
    "parse_rubric": ("rubrics", "parse_rubric"),
    "GradeConfig": ("grading", "GradeConfig"),
    "grade": ("grading", "grade"),
    "summarize_run": ("report", "summarize_run"),
    "calibrate": ("calibration", "calibrate"),
    "FakeLLM": ("fakellm", "FakeLLM"),
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        module, attr = _EXPORTS[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module 'medjudge' has no attribute {name!r}")
