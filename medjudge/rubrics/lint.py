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


def _words(text):
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
    if r.kind == "checklist" and r.criteria:
        seen = []
        for i, c in enumerate(r.criteria):
            loc, where = ("criteria", i, "text"), f"criteria[{i}] {c.id}"
            m = COMPOUND.search(c.text)
            if m:
                add("C001", "warning", loc, where, f"joins two requirements ('{m.group(1)} {m.group(2)}')",
                    "split it into one criterion per requirement (`medjudge rubric atomize`)")
            v = VAGUE.search(c.text)
            if v:
                add("C002", "warning", loc, where, f"vague word '{v.group(1)}' without a definition",
                    "say what counts, e.g. name the actions or facts that make it met")
            if NEGATIVE.search(c.text) and c.points > 0:
                add("C003", "error", ("criteria", i, "points"), where,
                    "negatively worded criterion has positive points",
                    "reword it positively, or give it negative points")
            if POSITIVE.search(c.text) and c.points < 0:
                add("C004", "warning", ("criteria", i, "points"), where,
                    "positively worded criterion has negative points",
                    "describe the undesirable behaviour in the text, or make the points positive")
            words = _words(c.text)
            for j, (other_id, other) in enumerate(seen):
                if c.text.strip().lower() == r.criteria[j].text.strip().lower():
                    add("C005", "error", loc, where, f"duplicates {other_id}", "delete one of them")
                elif words and other and len(words & other) / len(words | other) >= 0.8:
                    add("C006", "warning", loc, where, f"overlaps {other_id}",
                        "merge them or make each one ask about something different")
            seen.append((c.id, words))
    if r.kind == "scale":
        for i, d in enumerate(r.dimensions):
            loc, where = ("dimensions", i, "anchors"), f"dimensions[{i}] {d.id}"
            if not d.anchors:
                add("S001", "error", ("dimensions", i), where, "levels without anchors",
                    f"describe at least levels {d.min} and {d.max} under anchors")
            elif d.min not in d.anchors or d.max not in d.anchors:
                add("S002", "warning", loc, where, "the lowest or highest level has no anchor",
                    f"add anchors for {d.min} and {d.max}")
            v = VAGUE.search(d.question)
            if v:
                add("C002", "warning", ("dimensions", i, "question"), where,
                    f"vague word '{v.group(1)}' without a definition", "say what counts in the anchors")
    if r.kind == "safety":
        for i, lv in enumerate(r.levels):
            v = VAGUE.search(lv.definition)
            if v:
                add("C002", "warning", ("levels", i, "definition"), f"levels[{i}]",
                    f"vague word '{v.group(1)}' without a definition", "say what the level contains")
    return sorted(out, key=lambda f: (f.line or 0, f.rule))
