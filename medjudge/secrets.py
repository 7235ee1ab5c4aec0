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


_NAMES: set[str] = set()  # variables a judge reads its key from (`#VAR`), whatever they are called
_VALUES: set[str] = set()  # credentials given in an API base (user, password, secret query parameters)
MIN_SECRET = 4  # shorter values are not replaced (they would blank ordinary words)


def key_variables(environ=None) -> list[str]:
    """Variables holding a key: named like one (KEY_SUFFIXES), or named by a judge (#VAR), and set. The names are
    scanned, then only their values read (decoding every value of the environment cost 60 us a reply)."""
    env = os.environ if environ is None else environ
    return sorted(k for k in env if (k.upper().endswith(KEY_SUFFIXES) or k in _NAMES) and env.get(k))


def register_variable(name: str | None):
    """A variable a judge reads its key from: its value is redacted by value, whatever the variable's name."""
    if name:
        _NAMES.add(name)


def register_value(value: str | None):
    """A credential that is not in the environment (a user or password in an API base)."""
    if value and len(value) >= MIN_SECRET:
        _VALUES.add(value)


_MEMO: dict = {}


def secret_values() -> list[str]:
    """Every value to redact, longest first (so that a secret containing another is replaced whole). Worked out
    again whenever a variable is added or removed, a key variable's value changes, or a name or credential is
    registered; else the last answer (it was read for every reply: 0.1 ms a call)."""
    env_names = tuple(getattr(os.environ, "_data", os.environ))  # the names as stored, none decoded
    state = (env_names, frozenset(_NAMES), frozenset(_VALUES))
    if _MEMO.get("state") != state:
        _MEMO.update(state=state, names=key_variables(), values=None)
    current = tuple(os.environ.get(n) for n in _MEMO["names"])
    if _MEMO["values"] != current:
        found = {v for v in current if v} | _VALUES
        _MEMO.update(values=current, found=sorted((v for v in found if len(v) >= MIN_SECRET), key=len, reverse=True))
    return _MEMO["found"]


def redact_values(text):
    """Replace every secret value (API-key variables by their usual names, the variables judges name with #VAR,
    credentials in API bases), and the tail of a long one, by [redacted]: what a server can echo of the key it
    was sent (judge replies are stored after this)."""
    if not text or not isinstance(text, str):
        return text
    for value in secret_values():
        if value[-8:] in text:
            text = text.replace(value, "[redacted]")
            if len(value) >= 16:
                text = text.replace(value[-8:], "[redacted]")  # providers often echo the tail of a key
    return text


def redact(text):
    """redact_values, then credentials in URLs and key-shaped strings: for every message and reason."""
    if not text or not isinstance(text, str):
        return text
    text = redact_values(text)
    text = URL_USERINFO.sub(r"\1[redacted]@", text)  # https://user:pass@host
    text = URL_SECRET_PARAM.sub(r"\1[redacted]", text)  # ?api_key=...
    return KEY_PATTERNS.sub("[redacted]", text)
