"""In-process judge models (`local/...`) served to LiteLLM as a custom provider."""

from __future__ import annotations


def register(lib) -> None:
    """Register the `local` provider with LiteLLM (filled in by the local-model support)."""
    return None
