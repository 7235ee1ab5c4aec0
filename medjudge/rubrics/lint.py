"""Rubric lint: what makes judges disagree. Each finding has a rule id, a line and how to fix it."""

from __future__ import annotations

import re
from dataclasses import dataclass

VERBS = (r"advises|recommends|mentions|explains|states|asks|tells|lists|describes|suggests|provides|includes|"
         r"avoids|gives|names|says|warns|offers|refers|encourages|discusses|clarifies|notes|identifies")
COMPOUND = re.compile(rf"\b(and|as well as|and also|along with)\s+(?:then\s+)?({VERBS})\b", re.I)
VAGUE = re.compile(r"\b(appropriate(ly)?|adequate(ly)?|good|reasonable|sufficient(ly)?|proper(ly)?|suitable|"
                   r"relevant|satisfactory|well)\b", re.I)
NEGATIVE = re.compile(r"^\s*(fails to|does not|doesn't|do not|never|omits|misses|neglects|incorrectly|falsely|"
                      r"wrongly|contains (an )?(error|incorrect)|recommends against seeking)\b", re.I)
POSITIVE = re.compile(r"^\s*(correctly|accurately|appropriately|clearly explains|helpfully)\b", re.I)
WORD = re.compile(r"[a-z]{4,}")


@dataclass
class Finding:
    rule: str
    severity: str  # error | warning
    line: int | None
    where: str
    message: str
    fix: str

    def __str__(self):
        return f"{self.line or '-'}: {self.severity} {self.rule} {self.where}: {self.message}. Fix: {self.fix}"


def words(text):
    return set(WORD.findall(text.lower()))


def lint(loaded) -> list[Finding]:
    r, lines = loaded.rubric, loaded.lines
    out: list[Finding] = []

    def add(rule, severity, loc, where, message, fix):
        out.append(Finding(rule, severity, lines.get(loc, lines.get(loc[:-1] if loc else ())), where, message, fix))

    if not r.citation:
        add("R001", "warning", ("id",), "citation", "no citation", "name the paper or guideline and its year")
    if not r.examples:
        add("R002", "warning", ("id",), "examples", "no worked examples",
            "add at least two `examples:` with expected verdicts, then run `medjudge rubric test`")
    if r.drafted_by:
        add("R003", "warning", ("drafted_by",), "drafted_by", f"machine-drafted by {r.drafted_by} and not reviewed",
            "review every criterion, then delete the drafted_by line")
    r.lint_units(add)
    return sorted(out, key=lambda f: (f.line or 0, f.rule))
