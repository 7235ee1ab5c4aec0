"""DSPy's optimisers on a compiled judge program: expert labels as gold, the rubric kind's metric, calls through
optimizing/engine.py (cache, retries, cost, budget). The orchestration (split, held-out check) is optimizing/__init__.py.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter, defaultdict
from dataclasses import dataclass

from ..errors import MedjudgeError
from ..judges.program import render_conversation

OPTIMIZERS = ("bootstrap-fewshot", "miprov2", "simba", "gepa")
SPLITS = ("train", "dev", "test")


@dataclass
class Labelled:
    """One unit of one answer with the experts' labels and their gold value (None: the experts tie)."""

    item: object
    unit: object
    labels: list
    gold: float | None
    group: str  # the question (conversation) it belongs to: no question is in two splits
    rationales: tuple = ()  # what the experts wrote about their labels, where they did

    @property
    def key(self) -> str:
        return f"{self.item.id}\t{self.unit.id}"


def question_key(item) -> str:
    return hashlib.sha256(render_conversation(item.prompt).encode("utf-8")).hexdigest()[:16]


def labelled_units(rubric, items, annotations) -> list[Labelled]:
    """The units of these items that experts labelled. annotations: rows with item_id, unit_id, value."""
    by_key, why = defaultdict(list), defaultdict(list)
    for r in annotations:
        by_key[(r["item_id"], r["unit_id"])].append(r["value"])
        if r.get("rationale"):
            why[(r["item_id"], r["unit_id"])].append(r["rationale"])
    out = []
    for it in items:
        for u in rubric.units(it):
            values = by_key.get((it.id, u.id))
            if values:
                out.append(Labelled(it, u, values, rubric.gold_value(u, values), question_key(it),
                                    tuple(why.get((it.id, u.id), ()))))
    return out


def split(units: list[Labelled], fractions=(0.3, 0.2, 0.5), seed: int = 0) -> dict[str, str]:
    """question -> train | dev | test. Questions are ordered by their most common gold label (the stratum) and
    shuffled (seeded) within it; each in turn goes to the split furthest below its share of the units so far,
    so that every stratum is spread over the splits in their shares."""
    groups = defaultdict(list)
    for u in units:
        groups[u.group].append(u)

    def stratum(g):
        golds = Counter(u.gold for u in groups[g] if u.gold is not None)
        return min(golds.items(), key=lambda kv: (-kv[1], kv[0]))[0] if golds else float("inf")

    rng = random.Random(seed)
    strata = defaultdict(list)
    for g in sorted(groups):
        strata[stratum(g)].append(g)
    out = {}
    count = dict.fromkeys(SPLITS, 0)
    for s in sorted(strata):
        members = strata[s]
        rng.shuffle(members)
        for g in members:
            total = sum(count.values()) + len(groups[g])
            name = max(SPLITS, key=lambda n: (fractions[SPLITS.index(n)] * total - count[n], -SPLITS.index(n)))
            out[g] = name
            count[name] += len(groups[g])
    return out


def weights(units: list[Labelled], rubric) -> dict[str, float]:
    """Per unit, the weight that makes the mean of weighted scores the kind's metric: every gold class weighs
    the same for a balanced metric (balanced accuracy), every unit the same otherwise."""
    if not rubric.balanced_metric:
        return {u.key: 1.0 for u in units}
    n = Counter(u.gold for u in units)
    return {u.key: len(units) / (len(n) * n[u.gold]) for u in units}


def metric_value(rows, rubric, costs=None) -> float | None:
    """The kind's metric over (unit, judged, gold) rows: weighted mean of unit scores (weights as above)."""
    rows = list(rows)
    if not rows:
        return None
    if rubric.balanced_metric:
        n = Counter(g for _, _, g in rows)
        w = [1 / (len(n) * n[g]) for _, _, g in rows]
    else:
        w = [1 / len(rows)] * len(rows)
    return sum(wi * rubric.unit_score(u, j, g, costs) for wi, (u, j, g) in zip(w, rows))


def examples(program, units: list[Labelled], rubric):
    """DSPy examples: the judge's inputs, the reply in which a judge gives the experts' label (the gold
    outputs labelled demonstrations show), and the bookkeeping the metric reads."""
    import dspy

    w = weights(units, rubric)
    out = []
    for u in units:
        inputs = program.inputs(u.item, [u.unit])
        gold = program.reply([u.unit], [u.gold])
        out.append(dspy.Example(**inputs, **gold, unit_key=u.key, gold_value=u.gold, weight=w[u.key])
                   .with_inputs(*inputs))
    return out


def make_metric(program, rubric, units: list[Labelled], costs=None, feedback=False):
    """The per-example metric DSPy optimisers maximise; its mean over a set is the kind's metric. An unreadable
    reply scores 0 here (for the optimiser); the held-out report counts it as unscored, never as wrong.
    With feedback (GEPA), the reply also says what the physicians said, for the reflective optimiser."""
    import dspy

    by_key = {u.key: u for u in units}
    outputs = list(program.signature.output_fields)

    def read(pred, unit):
        try:
            return program.read_single({k: pred.get(k) for k in outputs}, unit).value
        except Exception:  # a prediction missing a field, a value of the wrong type
            return None

    def metric(example, pred, trace=None, pred_name=None, pred_trace=None):
        u = by_key[example.unit_key]
        judged = read(pred, u.unit)
        score = 0.0 if judged is None else rubric.unit_score(u.unit, judged, u.gold, costs)
        if trace is not None and not feedback:  # bootstrapping a demonstration: only a right verdict
            return score >= 1.0
        if not feedback:
            return score * example.weight
        said = "no readable verdict" if judged is None else _label(program, u.unit, judged)
        text = (f"The physicians' label for this unit is {_label(program, u.unit, u.gold)} "
                f"({len(u.labels)} label{'s' if len(u.labels) != 1 else ''}); the judge said {said}.")
        if u.rationales:
            text += " The physicians explained: " + " | ".join(dict.fromkeys(u.rationales))
        return dspy.Prediction(score=score, feedback=text)

    return metric


def _label(program, unit, value) -> str:
    reply = program.single_reply(unit, value)
    return ", ".join(f"{k}={v}" for k, v in reply.items() if k != "explanation") or str(value)


@dataclass
class Settings:
    demos: int = 4  # at most this many demonstrations in the prompt
    candidates: int = 6  # candidate programs (bootstrap-fewshot, simba) / instruction candidates (miprov2)
    steps: int = 4  # simba's steps
    threads: int = 8


def build(name: str, metric, settings: Settings, seed: int, lm, budget: int | None):
    import dspy

    if name == "bootstrap-fewshot":
        return dspy.BootstrapFewShotWithRandomSearch(
            metric=metric, max_bootstrapped_demos=settings.demos, max_labeled_demos=settings.demos,
            num_candidate_programs=settings.candidates, num_threads=settings.threads)
    if name == "miprov2":
        return dspy.MIPROv2(metric=metric, prompt_model=lm, task_model=lm, auto=None,
                            num_candidates=settings.candidates, max_bootstrapped_demos=settings.demos,
                            max_labeled_demos=settings.demos, num_threads=settings.threads, seed=seed,
                            verbose=False, track_stats=False)
    if name == "simba":
        return dspy.SIMBA(metric=metric, bsize=settings.candidates * 2, num_candidates=settings.candidates,
                          max_steps=settings.steps, max_demos=settings.demos, num_threads=settings.threads)
    if name == "gepa":
        calls = {"max_metric_calls": budget} if budget else {"auto": "light"}
        return dspy.GEPA(metric=metric, reflection_lm=lm, num_threads=settings.threads, seed=seed,
                         track_stats=False, **calls)
    raise MedjudgeError(f"--optimizer must be one of {', '.join(OPTIMIZERS)}, not {name!r}")


def compile_program(name, optimizer, program, train, dev, seed, settings: Settings):
    if name == "bootstrap-fewshot":
        random.seed(seed)
        return optimizer.compile(program, trainset=train, valset=dev)
    if name == "miprov2":
        return optimizer.compile(program, trainset=train, valset=dev, num_trials=max(2, settings.candidates),
                                 minibatch=len(dev) > 35, requires_permission_to_run=False, seed=seed)
    if name == "simba":
        return optimizer.compile(program, trainset=train, seed=seed)
    return optimizer.compile(program, trainset=train, valset=dev)


def planned_calls(name: str, n_train: int, n_dev: int, settings: Settings, budget: int | None) -> int:
    """At most how many judge calls an optimiser makes (the cache answers repeats), for --dry-run."""
    if name == "bootstrap-fewshot":  # zero-shot, labelled-only, unshuffled and `candidates` bootstrapped programs
        n = (settings.candidates + 3) * n_dev + (settings.candidates + 1) * n_train
    elif name == "miprov2":
        n = (settings.candidates + 1) * n_train + 2 * settings.candidates + max(2, settings.candidates) * n_dev + n_dev
    elif name == "simba":
        n = settings.steps * settings.candidates * 2 * (settings.candidates + 1) + n_train
    else:
        n = budget or 10 * (n_train + n_dev)
    return n if budget is None else min(n, budget)
