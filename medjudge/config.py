"""Which judge to use: --judge, then the MEDJUDGE_JUDGE variable, then medjudge.toml / [tool.medjudge] of the
nearest pyproject.toml, then the embedded local model (the environment overrides files, as in git or pip)."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from .errors import InputError

EMBEDDED_JUDGE = "local/gemma-3-270m"
EMBEDDED_WARNING = (
    "Using the embedded local judge (Gemma 3 270M, a tiny base model running on the CPU). It proves the "
    "pipeline works offline; it is NOT a trustworthy judge. Choose a real one with --judge, MEDJUDGE_JUDGE "
    "or medjudge.toml: an API model (openai/gpt-4.1), Ollama (ollama/qwen3:8b), vLLM "
    "(hosted_vllm/MODEL@http://host:8000/v1) or a bigger GGUF (local//path/to/model.gguf)."
)


def project_config(start: Path | None = None) -> tuple[dict, str | None]:
    """The nearest medjudge.toml, or [tool.medjudge] of the nearest pyproject.toml, from start upwards."""
    here = (start or Path.cwd()).resolve()
    for folder in [here, *here.parents]:
        for name, section in (("medjudge.toml", None), ("pyproject.toml", ("tool", "medjudge"))):
            path = folder / name
            if not path.is_file():
                continue
            try:
                data = tomllib.loads(path.read_text(encoding="utf-8"))
            except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
                raise InputError(path, getattr(exc, "lineno", None), None, f"invalid TOML: {exc}") from None
            if section:
                for key in section:
                    data = data.get(key, {}) if isinstance(data, dict) else {}
                if not data:
                    continue
            return data, str(path)
    return {}, None


def resolve_judges(cli_judges: list[str] | None, start: Path | None = None) -> tuple[list[str], str]:
    """Return (judges, where they came from)."""
    if cli_judges:
        return list(cli_judges), "--judge"
    env = os.environ.get("MEDJUDGE_JUDGE", "").strip()
    if env:
        return [j.strip() for j in env.split(",") if j.strip()], "MEDJUDGE_JUDGE"
    cfg, path = project_config(start)
    judges = cfg.get("judges", cfg.get("judge"))
    if judges:
        judges = [judges] if isinstance(judges, str) else list(judges)
        if not all(isinstance(j, str) and j for j in judges):
            raise InputError(path, None, "judges", "must be a model string or a list of model strings")
        return judges, path
    return [EMBEDDED_JUDGE], "embedded"
