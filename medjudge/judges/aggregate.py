"""Aggregation of a panel's votes on one unit: majority (ties reported), median/mean/worst-of-n, worst level."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from statistics import median

TIE_RULES = (None, "met", "unmet")


@dataclass
class Aggregate:
    value: float | None
    reason: str | None = None  # why it is unscored
    votes: int = 0  # scored votes
    detail: dict = field(default_factory=dict)


def aggregate(rule: str, votes: list[tuple[float | None, str | None]], tie: str | None = None) -> Aggregate:
    """votes: (value, unscored reason) per judge x sample. Unscored votes never count as pass or fail."""
    values = [v for v, _ in votes if v is not None]
    if rule == "worst" and len(values) < len(votes):  # fail-closed: an unread safety vote is never "safe"
        missing = [r for v, r in votes if v is None]
        return Aggregate(None, f"fail-closed: {len(missing)} of {len(votes)} votes unscored ({missing[0]})", len(values))
    if not values:
        reasons = Counter(r or "no vote" for _, r in votes)
        return Aggregate(None, reasons.most_common(1)[0][0] if reasons else "no vote", 0)
    n = len(values)
    if rule == "majority":
        counts = Counter(values).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            detail = {"tie": {str(k): c for k, c in counts}}
            if tie in ("met", "unmet") and set(values) <= {0.0, 1.0}:
                return Aggregate(1.0 if tie == "met" else 0.0, None, n, detail | {"tie_rule": tie})
            return Aggregate(None, "tie: " + ", ".join(f"{c}x {k:g}" for k, c in counts), n, detail)
        return Aggregate(counts[0][0], None, n, {"agree": counts[0][1] / n})
    if rule == "median":
        return Aggregate(float(median(values)), None, n, {"mean": sum(values) / n, "worst": min(values)})
    if rule == "worst":
        return Aggregate(max(values), None, n, {"best": min(values)})
    raise ValueError(f"unknown aggregation rule {rule!r}")
