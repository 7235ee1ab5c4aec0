"""`medjudge compare`: systems graded on the same examples, compared pairwise on the examples all of them
scored: each system's mean with a bootstrap CI, each difference with a paired bootstrap CI (examples
resampled, both systems together) and a sign-flip permutation p-value; overall, per unit and per tag."""

from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import numpy as np

from .bootstrap import percentile_ci, resample_indices
from .errors import MedjudgeError
from .summaries import run_summary
from .stored import StoredRun


def example_key(item) -> str:
    """What pairs two systems' answers: the prompt id when the answers file gives one, else the answer id.
    Where a run has several answers to one prompt, compare pairs by prompt id and answer id together."""
    return str(item.fields.get("prompt_id") or item.id)


def prompt_key(item) -> str:
    """What pairs two systems' answers within one run: the prompt id, else the prompt itself (answer ids differ)."""
    from .store import content_id

    return str(item.fields.get("prompt_id") or content_id("q", item.prompt))


def systems_of(run) -> list[str]:
    """The systems whose answers a run graded (the answers' `source`), in the order they first appear."""
    return list(dict.fromkeys(it.source for it in run.items if it.source))


def shared_prompts(store, run_id, source=None, key_of=example_key) -> int:
    """How many prompt ids of a run (of one system's answers) have more than one answer."""
    from collections import Counter

    counts = Counter(key_of(it) for it in StoredRun(store, run_id).items if source is None or it.source == source)
    return sum(1 for n in counts.values() if n > 1)


def per_example(store, run_id, partial="exclude", by_answer=False, source=None, answers=None, key_of=example_key):
    """(run, {group: {example: value}}): the overall value per example and the per-unit / per-tag ones, of the
    run's answers (of one system's, `source`). An example is a prompt id (else the answer id); with `by_answer`,
    the prompt id and the answer id together. `answers`: the run's answer rows when already read."""
    run = StoredRun(store, run_id)
    if answers is None:
        answers = run_summary(store, run.id, resamples=0, partial=partial)[1]
    items = {it.id: it for it in run.items}
    answers = [a for a in answers if source is None or items[a["answer_id"]].source == source]
    rubric = run.rubric
    _, transform = rubric.estimand()
    groups = defaultdict(dict)
    for a in answers:
        it = items[a["answer_id"]]
        key = f"{key_of(it)}/{it.id}" if by_answer else key_of(it)
        v = rubric.example_value(a["score"], a["units"])
        if v is not None:
            groups["overall"][key] = v
            for t in it.tags:
                groups[f"tag {t}"][key] = v
        for t, tv in rubric.unit_tag_values(a["units"]).items():
            groups[f"tag {t}"][key] = tv
        if rubric.fixed_units():
            for u in a["units"]:
                if u["value"] is not None:
                    groups[f"unit {u['unit_id']}"][key] = transform(u["value"])
    return run, dict(groups)


def compare(store, run_ids, resamples=2000, seed=0, partial="exclude") -> dict:
    """Two or more runs (each a system), or one run whose answers come from two or more systems (their
    `source`), compared on the examples every system scored."""
    entries, key_of = [(r, None) for r in run_ids], example_key
    answers = {}
    if len(run_ids) == 1:
        run = StoredRun(store, run_ids[0])
        systems = systems_of(run)
        if len(systems) < 2:
            raise MedjudgeError(f"compare needs two or more runs, or one run with answers from two or more systems "
                                f"(their `source`): run {run.id} has {len(systems) or 'no'} named system"
                                f"{'' if len(systems) == 1 else 's'}")
        entries, key_of = [(run.id, s) for s in systems], prompt_key
        answers[run.id] = run_summary(store, run.id, resamples=0, partial=partial)[1]
    elif not run_ids:
        raise MedjudgeError("compare needs two or more runs")
    by_answer = any(shared_prompts(store, r, s, key_of) for r, s in entries)  # several answers to a prompt: by answer id
    loaded = [per_example(store, r, partial, by_answer, s, answers.get(r), key_of) for r, s in entries]
    runs = [r for r, _ in loaded]
    kinds = {type(r.rubric) for r in runs}
    ids = {r.rubric.id for r in runs}
    if len(kinds) > 1 or len(ids) > 1:
        raise MedjudgeError("compare needs runs of one rubric: " + ", ".join(f"{r.id} ({r.rubric.id})" for r in runs))
    names = [s or _name(r) for r, (_, s) in zip(runs, entries)]
    if len(set(names)) < len(names):
        names = [r.id for r in runs]
    rubric = runs[0].rubric
    label, _ = rubric.estimand()
    out = {"runs": list(dict.fromkeys(r.id for r in runs)), "systems": names, "measure": rubric.compare_label(),
           "higher_is_better": rubric.higher_is_better, "groups": [],
           "paired_by": "prompt id and answer id" if by_answer else
           "prompt id (else the prompt's text)" if key_of is prompt_key else "prompt id (else answer id)",
           "incomplete": [{"run": r.id, "status": r.row["status"]} for r in {r.id: r for r in runs}.values()
                       if r.row["status"] != "complete"]}
    group_names = list(dict.fromkeys(g for _, groups in loaded for g in groups))
    for g in group_names:
        per_run = [groups.get(g, {}) for _, groups in loaded]
        keys = sorted(set.intersection(*(set(p) for p in per_run)))
        union = set().union(*(set(p) for p in per_run))
        if len(keys) < 2:
            continue
        x = np.array([[p[k] for k in keys] for p in per_run])  # systems x examples
        idx = resample_indices(len(keys), resamples, seed) if resamples else None
        systems = []
        for s, name in enumerate(names):
            ci = list(percentile_ci(x[s][idx].mean(axis=1))) if idx is not None else [None, None]
            systems.append({"system": name, "run": runs[s].id, "mean": float(x[s].mean()), "ci": ci})
        diffs = []
        for a, b in combinations(range(len(names)), 2):
            d = x[a] - x[b]
            ci = paired_ci(x[a], x[b], idx)
            diffs.append({"a": names[a], "b": names[b], "difference": float(d.mean()), "ci": ci,
                          "p": sign_flip_p(d, resamples, seed)})
        out["groups"].append({"group": g, "examples": len(keys), "left_out": len(union) - len(keys),
                              "systems": systems, "differences": diffs})
    if not out["groups"]:
        raise MedjudgeError(f"the {'systems' if key_of is prompt_key else 'runs'} share fewer than 2 scored examples: "
                            f"nothing to compare (examples pair by {out['paired_by']}" + (
                                "; prompts with several answers pair by prompt id and answer id, and these runs' "
                                "answer ids differ" if by_answer else "") + ")")
    return out


def paired_ci(xa, xb, idx) -> list:
    """The percentile CI of mean(xa - xb), resampling examples with both systems together (paired)."""
    if idx is None:
        return [None, None]
    d = np.asarray(xa) - np.asarray(xb)
    return list(percentile_ci(d[idx].mean(axis=1)))


def sign_flip_p(d, resamples=2000, seed=0) -> float | None:
    """Two-sided paired permutation p-value: how often a random sign for each example's difference gives a
    mean at least as far from 0 as the observed one (Monte Carlo, with the observed one counted)."""
    d = np.asarray(d, dtype=float)
    if not resamples or not len(d):
        return None
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    signs = rng.choice([-1.0, 1.0], size=(resamples, len(d)))
    extreme = int((np.abs((signs * d).mean(axis=1)) >= observed - 1e-12).sum())
    return (1 + extreme) / (1 + resamples)


def leaderboard(result) -> list[dict]:
    """Systems ranked on the overall measure, with the pairwise differences each wins (CI excluding 0)."""
    overall = next(g for g in result["groups"] if g["group"] == "overall")
    sign = 1 if result["higher_is_better"] else -1
    wins = defaultdict(int)
    for d in overall["differences"]:
        lo, hi = d["ci"]
        if lo is not None and lo > 0:
            wins[d["a"] if sign > 0 else d["b"]] += 1
        elif hi is not None and hi < 0:
            wins[d["b"] if sign > 0 else d["a"]] += 1
    rows = sorted(overall["systems"], key=lambda s: -sign * s["mean"])
    return [{**s, "rank": i + 1, "significant_wins": wins[s["system"]]} for i, s in enumerate(rows)]


def _name(run) -> str:
    """A system's name: the one answer source its run graded, else the run id."""
    sources = {it.source for it in run.items}
    return next(iter(sources)) if len(sources) == 1 and None not in sources else run.id
