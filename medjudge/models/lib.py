"""The one place that imports and finds LiteLLM: offline-safe and quiet, once per process."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

_litellm = None


def litellm():
    """Import LiteLLM once, offline-safe and quiet: local price map, no telemetry, no callbacks."""
    global _litellm
    if _litellm is None:
        import litellm as lib

        lib.telemetry = False
        lib.drop_params = True  # seed and the like are sent only where the provider takes them
        lib.suppress_debug_info = True
        lib.callbacks, lib.success_callback, lib.failure_callback = [], [], []
        bundle = os.environ.get("REQUESTS_CA_BUNDLE")
        if bundle and not os.environ.get("SSL_VERIFY") and not os.environ.get("SSL_CERT_FILE"):
            lib.ssl_verify = bundle  # the CA bundle requests users set: LiteLLM's route verifies with it too
        from .local import register

        register(lib)
        _litellm = lib
    return _litellm


def litellm_file(*parts: str) -> Path | None:
    """A file of the installed LiteLLM, found without importing it (that takes seconds)."""
    spec = importlib.util.find_spec("litellm")
    if not (spec and spec.submodule_search_locations):
        return None
    return Path(list(spec.submodule_search_locations)[0]).joinpath(*parts)
