"""Keep API keys out of everything medjudge writes: the database, logs, exports, reports, error messages."""

from __future__ import annotations

import os
import re

KEY_SUFFIXES = ("_API_KEY", "_API_TOKEN", "_ACCESS_KEY_ID", "_SECRET_ACCESS_KEY", "_SECRET", "_TOKEN")
# well-known key shapes, in case a provider echoes a key that is not in the environment
KEY_PATTERNS = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,}|"
                          r"hf_[A-Za-z0-9]{20,}|gsk_[A-Za-z0-9]{20,}|xai-[A-Za-z0-9]{20,})")


URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
URL_SECRET_PARAM = re.compile(r"(?i)([?&][^=&\s]*(?:key|token|secret|password|passwd|sig|signature|auth|credential)"
                              r"[^=&\s]*=)[^&\s]+")


def key_variables(environ=None) -> list[str]:
    env = os.environ if environ is None else environ
    return sorted(k for k, v in env.items() if k.upper().endswith(KEY_SUFFIXES) and v)


def redact(text):
    """Replace every API-key value found in the environment, and key-shaped strings, by [redacted]."""
    if not text or not isinstance(text, str):
        return text
    for name in key_variables():
        value = os.environ[name]
        if len(value) >= 8:
            text = text.replace(value, "[redacted]")
            text = text.replace(value[-8:], "[redacted]")  # providers often echo the tail of a key
    text = URL_USERINFO.sub(r"\1[redacted]@", text)  # https://user:pass@host
    text = URL_SECRET_PARAM.sub(r"\1[redacted]", text)  # ?api_key=...
    return KEY_PATTERNS.sub("[redacted]", text)
