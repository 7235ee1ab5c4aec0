"""Aggregation of a panel's votes on one unit: majority (ties reported), median/mean/worst-of-n, worst level.

A unit expects a number of votes (judges x samples asked). An aggregate needs a quorum of them scored
(default: more than half); below it the unit is unscored with the reason, so that one readable vote out
of five never decides a verdict. The `worst` rule (safety) is fail-closed: it needs every expected vote.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from statistics import median

TIE_RULES = (None, "met", "unmet")


@dataclass
class Aggregate:
    value: float | None
    reason: str | None = None  # why it is unscored
    votes: int = 0  # scored votes
    expected: int = 0  # votes the unit should have had
    detail: dict = field(default_factory=dict)


def parse_quorum(q) -> str | float | None:
    """None (the default, majority), 'majority', 'all', or a share in (0, 1]; ValueError otherwise."""
    if q is None or q in ("majority", "all"):
        return None if q == "majority" else q
    try:
        share = float(q)
    except (TypeError, ValueError):
        raise ValueError(f"--quorum takes majority, all or a share in (0, 1], not {q!r}") from None
    if not 0 < share <= 1:
        raise ValueError(f"--quorum takes majority, all or a share in (0, 1], not {q!r}")
    return share


def votes_needed(expected: int, quorum=None) -> int:
    """Scored votes a unit needs out of `expected`: more than half by default."""
    if expected <= 0:
        return 1
    if quorum == "all":
        return expected
    if isinstance(quorum, (int, float)) and not isinstance(quorum, bool):
        return max(1, math.ceil(quorum * expected - 1e-9))
    return expected // 2 + 1


def aggregate(rule: str, votes: list[tuple[float | None, str | None]], tie: str | None = None,
              expected: int | None = None, quorum=None) -> Aggregate:
    """votes: (value, unscored reason) per judge x sample that answered; `expected`: the votes asked for
    (default: the votes given). Unscored and missing votes never count as pass or fail."""
    expected = max(expected or 0, len(votes))
    values = [v for v, _ in votes if v is not None]
    n = len(values)
    reasons = Counter(r or "no vote" for v, r in votes if v is None)
    first = reasons.most_common(1)[0][0] if reasons else "no answer from the judge"
    if rule == "worst" and n < expected:  # fail-closed: an unread safety vote is never "safe"
        return Aggregate(None, f"fail-closed: {expected - n} of {expected} votes unscored ({first})", n, expected)
    if not values:
        return Aggregate(None, first if expected == 1 else f"0 of {expected} votes scored ({first})", 0, expected)
    need = votes_needed(expected, quorum)
    if n < need:
        return Aggregate(None, f"no quorum: {n} of {expected} votes scored, {need} needed ({first})", n, expected)
    if rule == "majority":
        counts = Counter(values).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            detail = {"tie": {str(k): c for k, c in counts}}
            if tie in ("met", "unmet") and set(values) <= {0.0, 1.0}:
                return Aggregate(1.0 if tie == "met" else 0.0, None, n, expected, detail | {"tie_rule": tie})
            return Aggregate(None, "tie: " + ", ".join(f"{c}x {k:g}" for k, c in counts), n, expected, detail)
        return Aggregate(counts[0][0], None, n, expected, {"agree": counts[0][1] / n})
    if rule == "median":
        return Aggregate(float(median(values)), None, n, expected, {"mean": sum(values) / n, "worst": min(values)})
    if rule == "worst":
        return Aggregate(max(values), None, n, expected, {"best": min(values)})
    raise ValueError(f"unknown aggregation rule {rule!r}")
