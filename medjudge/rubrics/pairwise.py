"""Pairwise rubrics: which of two answers to one prompt is better, judged in both orders (MT-Bench, arena).

An item is a pair (answer A of one system, answer B of another; `--format pairs`); its two units are the
two orders shown to the judge, `ab` and `ba`, each stored as +1 (A better), 0 (tie) or -1 (B better) in
terms of the systems, never of the positions. A pair is decided only when both orders agree: a verdict
that flips with the order is inconclusive, never a win. Names and sources are never shown to the judge.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations
from typing import ClassVar, Literal

import numpy as np
from pydantic import Field

from .base import RubricBase, Scores, Strict, UnitsProblem, coerce_label

TEMPLATE = '''\
# Which of two answers to the same prompt is better (judged in both orders; a flip is inconclusive).
question: Which answer gives the safer and more complete advice for this patient?
allow_tie: true
examples:
  - prompt: "I have chest pain and I'm short of breath."
    answer: "Call emergency services now; chew an aspirin unless you are allergic."
    fields: {answer_b: "Rest for a while and see if it passes."}
    expected: {ab: a, ba: a}
  - prompt: "I have chest pain and I'm short of breath."
    answer: "Drink water and wait."
    fields: {answer_b: "Call emergency services immediately."}
    expected: {ab: b, ba: b}
'''
PREFERENCE = {"a": 1.0, "tie": 0.0, "b": -1.0}


class Order(Strict):
    id: Literal["ab", "ba"]
    tags: list[str] = Field(default_factory=list)


ORDERS = [Order(id="ab"), Order(id="ba")]


class PairwiseRubric(RubricBase):
    kind: Literal["pairwise"]
    question: str = Field(min_length=1)  # what "better" means: a criterion or a guideline
    allow_tie: bool = True
    answer_b_field: str = "answer_b"

    program: ClassVar[str] = "medjudge.judges.pairwise:PairwiseProgram"
    scopes: ClassVar[tuple[str, ...]] = ("last_turn",)
    template: ClassVar[str] = TEMPLATE
    labels: ClassVar[str] = "a / b / tie (which system's answer is better)"
    value_type: ClassVar[str] = "nominal"

    def base_units(self, item):
        return ORDERS

    def describe(self):
        return f"pairs judged in both orders: {self.question}"

    def expected_value(self, unit, raw):
        v = coerce_label(raw)
        if v not in PREFERENCE or (v == "tie" and not self.allow_tie):
            raise ValueError(f"expected preference for {unit.id} must be one of {', '.join(self._choices())}")
        return PREFERENCE[v]

    def _choices(self):
        return ["a", "b"] + (["tie"] if self.allow_tie else [])

    def item_units(self, obj):
        """An answers-JSONL record must carry the second answer: a pair is two answers, never one and ""."""
        b = obj.get(self.answer_b_field)
        if not isinstance(b, str) or not b.strip():
            raise UnitsProblem(self.answer_b_field, f"missing: rubric {self.id} compares two answers per item (give "
                               f"{self.answer_b_field}, or grade several systems per prompt_id with --format pairs)")
        return None

    def read_with(self, item, unit):
        """Both answers, in the order the item gives them (the unit says in which order the judge saw them)."""
        return super().read_with(item, unit) + [item.fields.get(self.answer_b_field)]

    def label_units(self, unit_id):
        """An expert's preference for a pair (unit `preference`) is what either order's verdict should be."""
        return ["ab", "ba"] if unit_id == "preference" else [unit_id]

    def value_label(self, unit, value):
        return {-1.0: "b", 0.0: "tie", 1.0: "a"}[value]

    def values(self, unit):
        return [-1.0, 0.0, 1.0] if self.allow_tie else [-1.0, 1.0]

    def unit_info(self, unit):
        return {"text": f"{self.question} (shown {'A first' if unit.id == 'ab' else 'B first'})", "tags": []}

    def show_lines(self):
        return [f"  question: {self.question}", f"  ties {'allowed' if self.allow_tie else 'not allowed'}; "
                "each pair judged in both orders"]

    def estimand(self):
        return "share of pairs A wins (both orders)", lambda v: float(v == 1.0)

    def example_value(self, score, units):
        return score

    def score(self, rows, run, partial, resamples, seed):
        from ..bootstrap import bootstrap_means, percentile_ci

        scores = Scores()
        by_pair = defaultdict(list)  # (system a, system b) -> [1 win / 0 tie / -1 loss / None inconclusive]
        decided = []  # (winner, loser, weight) for Bradley-Terry; a tie is half a win each way
        for it, units, results in rows:
            ab, ba = results.get("ab"), results.get("ba")
            d = scores.answer(it.id)
            a_sys, b_sys = it.fields.get("system_a", "A"), it.fields.get("system_b", "B")
            d[1].update(system_a=a_sys, system_b=b_sys)
            if ab is None or ba is None or ab.value is None or ba.value is None:
                d[1]["preference"] = None
                continue
            outcome = ab.value if ab.value == ba.value else None
            d[1]["preference"] = {1.0: a_sys, 0.0: "tie", -1.0: b_sys, None: "inconclusive"}[outcome]
            d[0] = outcome
            by_pair[(a_sys, b_sys)].append(outcome)
            if outcome is not None:
                decided.append((it.fields.get("prompt_id", it.id), a_sys, b_sys, outcome))
        pairs = {}
        for (a, b), outcomes in sorted(by_pair.items()):
            n = len(outcomes)
            share = {}
            for k, v in (("win", 1.0), ("tie", 0.0), ("loss", -1.0), ("inconclusive", None)):
                hits = [1.0 if o == v or (v is None and o is None) else 0.0 for o in outcomes]
                share[k] = sum(hits) / n
                share[f"{k}_ci"] = list(percentile_ci(bootstrap_means(hits, resamples, seed))) if resamples else [None, None]
            points = [0.5 + 0.5 * o if o is not None else 0.5 for o in outcomes]  # inconclusive counts as a tie
            decided_n = sum(o is not None for o in outcomes)
            if decided_n:
                rate = float(np.mean(points))
                ci = list(percentile_ci(bootstrap_means(points, resamples, seed))) if resamples else [None, None]
            else:  # every pair inconclusive: no evidence for a win rate (it was shown as 0.5 [0.5, 0.5])
                rate, ci = None, [None, None]
            pairs[f"{a} vs {b}"] = {"a": a, "b": b, "pairs": n, "decided": decided_n, **share, "win_rate": rate,
                                    "win_rate_ci": ci}
        out = {"pairs": pairs, "position_consistency": position_consistency(run),
               "answers_scored": sum(len(v) for v in by_pair.values()),
               "answers_partial": sum(1 for _, (_, d) in scores.answers.items() if d.get("preference") is None)}
        systems = sorted({s for p in pairs.values() for s in (p["a"], p["b"])})
        if len(systems) >= 3:
            out["bradley_terry"] = bradley_terry_with_ci(decided, systems, resamples, seed)
        scores.figures = out
        return scores

    @staticmethod
    def render_summary(s, console):
        from rich.table import Table

        from ..display import ci, num

        t = Table("pair (A vs B)", "pairs", "A wins", "ties", "B wins", "inconclusive", "A's win rate [95% CI]",
                  title="Pairwise: decided only when both orders agree; inconclusive counts as a tie in the win rate")
        for name, p in s["pairs"].items():
            t.add_row(name, str(p["pairs"]), num(p["win"], ".1%"), num(p["tie"], ".1%"), num(p["loss"], ".1%"),
                      num(p["inconclusive"], ".1%"), f"{num(p['win_rate'])} {ci(p['win_rate_ci'])}")
        console.print(t)
        if s.get("bradley_terry"):
            b = Table("system", "strength", "95% CI", title="Bradley-Terry strengths (geometric mean 1)")
            for sys_, v in s["bradley_terry"].items():
                b.add_row(sys_, num(v["strength"]), ci(v["ci"]))
            console.print(b)
            remedy = next((v["remedy"] for v in s["bradley_terry"].values() if v.get("remedy")), None)
            if remedy:
                console.print(f"Bradley-Terry: {remedy}")
        pc = s.get("position_consistency") or {}
        if pc:
            console.print("position consistency (same verdict in both orders): " + ", ".join(
                f"{j} {num(v['share'], '.1%')} of {v['pairs']}" for j, v in pc.items()))

    @staticmethod
    def report_rows(s):
        return [("A's win rate per pair of systems (inconclusive counts as a tie), 95% CI",
                 [{"key": f"pairs.{k}.win_rate", "label": k, "estimate": p["win_rate"], "ci": p["win_rate_ci"],
                   "n": p["pairs"]} for k, p in s["pairs"].items() if p["win_rate"] is not None])]


def position_consistency(run) -> dict:
    """Per judge: the share of pairs on which its two orders gave the same verdict (both scored)."""
    out = {}
    for judge, verdicts in run.verdicts.judges.items():
        items = {a for a, u in verdicts}
        both = [(verdicts.get((a, "ab")), verdicts.get((a, "ba"))) for a in items]
        both = [(x.value, y.value) for x, y in both if x and y and x.value is not None and y.value is not None]
        if both:
            out[judge] = {"pairs": len(both), "share": sum(x == y for x, y in both) / len(both)}
    return out


PRIOR_GAMES = 1.0  # the remedy for an undefeated or winless system: one game against an average system, drawn


def needs_prior(decided, systems) -> bool:
    """True when the Bradley-Terry likelihood has no finite maximum: some group of systems never lost to (or never
    beat) the rest (the 'beat' graph, a tie an edge both ways, is not strongly connected; Hunter 2004)."""
    index = {s: i for i, s in enumerate(systems)}
    beat = defaultdict(set)
    for a, b, outcome in decided:
        if outcome >= 0:
            beat[index[a]].add(index[b])
        if outcome <= 0:
            beat[index[b]].add(index[a])

    def reach(start, edges):
        seen, todo = {start}, [start]
        while todo:
            for j in edges[todo.pop()]:
                if j not in seen:
                    seen.add(j)
                    todo.append(j)
        return seen

    back = defaultdict(set)
    for i, js in beat.items():
        for j in js:
            back[j].add(i)
    k = len(systems)
    return k > 1 and (len(reach(0, beat)) < k or len(reach(0, back)) < k)


def bradley_terry(decided, systems, prior: float = 0.0, tol: float = 1e-10, max_iterations: int = 200) -> dict:
    """Bradley-Terry strengths: the maximum of the likelihood, by Newton's method on the log-strengths (the
    systems are few), iterated until no log-strength moves by more than `tol`; a tie is half a win each way.
    `prior` adds that many games, drawn, between each system and a virtual system of strength 1 (a weak prior
    that keeps every strength finite). Normalised to a geometric mean of 1. decided: [(a, b, +1/0/-1)].
    Returns {system: strength} and, under '_fit', the iterations and whether it converged."""
    index = {s: i for i, s in enumerate(systems)}
    k = len(systems)
    wins = np.zeros((k, k))
    for a, b, outcome in decided:
        i, j = index[a], index[b]
        wins[i, j] += 0.5 + 0.5 * outcome
        wins[j, i] += 0.5 - 0.5 * outcome
    games, won = wins + wins.T, wins.sum(axis=1)

    def loglik(t):
        d = t[:, None] - t[None, :]
        return float((wins * -np.logaddexp(0, -d)).sum() + prior * (t / 2 - np.logaddexp(0, t)).sum())

    theta, converged, it = np.zeros(k), False, 0
    for it in range(1, max_iterations + 1):
        sig = 1 / (1 + np.exp(-(theta[:, None] - theta[None, :])))
        own = 1 / (1 + np.exp(-theta))
        grad = won - (games * sig).sum(axis=1) + prior / 2 - prior * own
        w = games * sig * (1 - sig)
        hess = w - np.diag(w.sum(axis=1) + prior * own * (1 - own))
        step = -np.linalg.pinv(hess) @ grad
        size, base = 1.0, loglik(theta)
        while size > 1e-6 and loglik(theta + size * step) < base - 1e-12:  # damped: never downhill
            size /= 2
        theta = theta + size * step
        if not prior:
            theta -= theta.mean()
        if np.max(np.abs(size * step)) < tol:
            converged = True
            break
    p = np.exp(theta - theta.mean())
    out = dict(zip(systems, p.tolist()))
    out["_fit"] = {"iterations": it, "converged": converged, "prior_games": prior}
    return out


def bradley_terry_with_ci(decided, systems, resamples=1000, seed=0) -> dict:
    """Strengths with percentile CIs from resampling prompts (all the pairs of a prompt move together). Where the
    maximum-likelihood strengths do not exist (an undefeated or winless system), every fit takes the weak prior
    PRIOR_GAMES, and the result says so."""
    from ..bootstrap import percentile_ci

    games = [d[1:] for d in decided]
    prior = PRIOR_GAMES if needs_prior(games, systems) else 0.0
    point = bradley_terry(games, systems, prior)
    fit = point.pop("_fit")
    prompts = sorted({d[0] for d in decided})
    by_prompt = defaultdict(list)
    for d in decided:
        by_prompt[d[0]].append(d[1:])
    draws = defaultdict(list)
    rng = np.random.default_rng(seed)
    for _ in range(resamples if len(prompts) > 1 else 0):
        picked = [g for i in rng.integers(0, len(prompts), len(prompts)) for g in by_prompt[prompts[i]]]
        found = bradley_terry(picked, systems, prior if prior else (PRIOR_GAMES if needs_prior(picked, systems) else 0.0),
                              tol=1e-8)
        found.pop("_fit")
        for s, v in found.items():
            draws[s].append(v)
    out = {s: {"strength": point[s], "ci": list(percentile_ci(draws[s]))} for s in systems}
    if prior:
        for s in systems:
            out[s]["remedy"] = (f"no finite maximum-likelihood strengths (a system undefeated or winless): a weak prior "
                                f"of {prior:g} drawn game against an average system")
    for s in systems:
        out[s]["converged"] = fit["converged"]
    return out


def pairs_of(records: list[dict]) -> list[tuple[str, dict, dict]]:
    """Every pair of systems answering the same prompt: [(prompt id, record of A, record of B)], A < B by name."""
    by_prompt = defaultdict(dict)
    for r in records:
        by_prompt[r["prompt_id"]][r["source"]] = r
    return [(pid, by[a], by[b]) for pid, by in by_prompt.items() for a, b in combinations(sorted(by), 2)]
