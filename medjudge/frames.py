"""Typed results as pandas frames (the `pandas` extra), for the Python API's `.to_pandas()`."""

from __future__ import annotations

from .errors import MedjudgeError


def frame(rows: list[dict]):
    try:
        import pandas as pd
    except ImportError:
        raise MedjudgeError("to_pandas needs pandas: pip install 'medjudge[pandas]'") from None
    return pd.DataFrame(rows)
