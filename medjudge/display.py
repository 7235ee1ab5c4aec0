"""Small formatting helpers shared by the summaries each rubric kind prints."""

from __future__ import annotations


def num(x, spec=".3f") -> str:
    return "—" if x is None else format(x, spec)


def bounds(b, spec=".3f") -> str:
    return f"[{num(b[0], spec)}, {num(b[1], spec)}]" if b else "—"


def ci(c, spec=".3f") -> str:
    return f"[{num(c[0], spec)}, {num(c[1], spec)}]"


def left_out(s) -> str:
    n = s.get("answers_partial") or 0
    return f"; {n} partial answers left out, see coverage" if n else ""


def clip(text: str, limit: int = 300) -> str:
    """At most `limit` characters, cut at a word boundary with an ellipsis: never mid-word."""
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"
