"""medjudge: grade free-form health answers with LLM judges, and measure how far the judges can be trusted."""

__version__ = "0.1.0"

from .errors import InputError, MedjudgeError  # noqa: E402
from .rubrics import load_rubric, parse_rubric  # noqa: E402
from .store import Store  # noqa: E402

__all__ = ["InputError", "MedjudgeError", "Store", "load_rubric", "parse_rubric", "__version__"]
