"""medjudge: grade free-form health answers with LLM judges, and measure how far the judges can be trusted.

The public API is re-exported here lazily, so that `medjudge --help` does not import what it does not use.
"""

__version__ = "0.1.0"


def installed_version(name: str) -> str | None:
    """An installed distribution's version (DSPy's, LiteLLM's), or None: read from its folder name beside the
    package (`NAME-X.dist-info`, as pip installs it), without importing it or scanning every distribution
    (importlib.metadata: 30 ms); any other layout asks importlib.metadata."""
    from importlib.metadata import PackageNotFoundError, version
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec(name)
    if spec is not None and spec.origin:
        found = list(Path(spec.origin).parent.parent.glob(f"{name}-*.dist-info"))
        if len(found) == 1:
            return found[0].name[len(name) + 1:-len(".dist-info")]
    try:
        return version(name)
    except PackageNotFoundError:
        return None

_EXPORTS = {
    "grade": ("api", "grade"),
    "calibrate": ("api", "calibrate"),
    "agreement": ("api", "agreement"),
    "sample": ("api", "sample"),
    "compare_runs": ("api", "compare_runs"),
    "generate": ("api", "generate"),
    "write_report": ("api", "write_report"),
    "estimate": ("api", "estimate"),
    "optimize": ("api", "optimize"),
    "probe": ("api", "probe"),
    "batch_status": ("api", "batch_status"),
    "grade_plan": ("api", "grade_plan"),
    "plan_labels": ("api", "plan_labels"),
    "summarize": ("api", "summarize"),
    "runs": ("api", "runs"),
    "get_run": ("api", "get_run"),
    "open_db": ("api", "open_db"),
    "judgment_rows": ("api", "judgment_rows"),
    "import_annotations": ("api", "import_annotations"),
    "GradeResult": ("api", "GradeResult"),
    "CalibrationResult": ("api", "CalibrationResult"),
    "RunSummary": ("api", "RunSummary"),
    "RunInfo": ("api", "RunInfo"),
    "StoredRun": ("stored", "StoredRun"),
    "load_rubric": ("rubrics", "load_rubric"),
    "parse_rubric": ("rubrics", "parse_rubric"),
    "rubric_kinds": ("rubrics.kinds", "kinds"),
    "register_kind": ("rubrics.kinds", "register"),
    "GradeConfig": ("grading", "GradeConfig"),
    "Store": ("store", "Store"),
    "InputError": ("errors", "InputError"),
    "MedjudgeError": ("errors", "MedjudgeError"),
    "FakeLLM": ("fakellm", "FakeLLM"),
}
__all__ = sorted(_EXPORTS) + ["__version__"]


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        module, attr = _EXPORTS[name]
        return getattr(importlib.import_module(f"{__name__}.{module}"), attr)
    raise AttributeError(f"module 'medjudge' has no attribute {name!r}")
