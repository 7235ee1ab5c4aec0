"""YAML loading that remembers the line of every key, so errors can name file, line and field."""

from __future__ import annotations

import hashlib
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..errors import InputError


def _hint(problem: str, mark) -> str:
    """What the parser's words usually mean, in a rubric author's terms."""
    col = f" (column {mark.column + 1})" if mark is not None else ""
    if "expected <block end>" in problem or "mapping values are not allowed" in problem \
            or "did not find expected key" in problem or "did not find expected '-'" in problem:
        return (f": the indentation of this line{col} does not match the lines around it (keys of one mapping, "
                "and the items of one list, start at the same column; use spaces, not tabs)")
    if "found character '\\t'" in problem or "tab" in problem:
        return ": a tab character: YAML indents with spaces only"
    if "could not find expected ':'" in problem:
        return ": a key without its colon, or a text with a colon in it that needs quotes"
    return ""


def load_yaml_with_lines(text: str, path: str | Path):
    """Parse YAML text; return (data, lines) where lines maps a key path tuple to its 1-based line."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)
        node = loader.get_single_node()
        lines: dict[tuple, int] = {}
        data = _build(loader, node, (), lines) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(path, line, None, f"YAML syntax error: {problem}{_hint(problem, mark)}") from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, lines


def _build(loader, node, loc, lines):
    lines.setdefault(loc, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            lines[loc + (key,)] = key_node.start_mark.line + 1
            out[key] = _build(loader, value_node, loc + (key,), lines)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, loc + (i,), lines) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)


def format_loc(loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validation_messages(exc: ValidationError, data, lines, path, tags=()) -> list[InputError]:
    """Turn pydantic errors into InputErrors with the line of the deepest key that exists in the file."""
    errors = []
    for err in exc.errors():
        loc, node, line = [], data, lines.get((), None)
        parts = tuple(err["loc"]) + (("kind",) if err["type"] == "union_tag_invalid" else ())
        for part in parts:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node = node[part]
            elif isinstance(part, str) and (part in tags or "[" in part):
                continue  # discriminator tags and union member names are not in the file
            else:
                loc.append(part)
                continue
            loc.append(part)
            line = lines.get(tuple(loc), line)
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] not in {"missing"} and "input" in err and not isinstance(err["input"], (dict, list)):
            msg += f" (got {err['input']!r})"
        errors.append(InputError(path, line, format_loc(loc), msg))
    return errors


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
