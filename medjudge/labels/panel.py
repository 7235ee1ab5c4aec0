"""A panel of raters on one review server (`medjudge review RUN --raters a,b,c`): who labels which units, with a
planned overlap for the physicians' ceiling, each rater's link, and the progress and agreement as labels come.

Assignment (`assign`): every rater gets `per_rater` units. A share of those rater-slots (`overlap_share`) goes to
overlap units, each given to `overlap` raters (the least loaded, rotating); the rest are single units, one rater
each, spread so that loads stay equal. Units are taken from the sample in a seeded order that alternates between
strata (criteria where the rubric has several, else sources), so both sets are balanced by stratum. Stored once
per sample (review_assignments), with each unit's overlap flag; each label records whether it was on an overlap unit.

Links: each rater's token and the coordinator's are random (secrets.token_urlsafe), shown once, and kept only as
their SHA-256 (review_tokens); a request's token is hashed and compared with every stored hash in constant time;
a rater's link can be revoked or reissued. The rater a label is stored under comes from the token, never from the
page.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets

from ..errors import MedjudgeError

COORDINATOR = "(coordinator)"


def assign(keys: list, raters: list[str], per_rater: int, overlap: int = 2, overlap_share: float = 0.2,
           seed: int = 0, strata: dict | None = None) -> dict:
    """{rater: {(answer, unit): overlap unit?}}, every rater `per_rater` units."""
    n_raters = len(raters)
    if len(set(raters)) != n_raters or not raters:
        raise MedjudgeError("--raters must name each rater once")
    if per_rater < 1:
        raise MedjudgeError("--per-rater must be 1 or more")
    if n_raters > 1 and not 2 <= overlap <= n_raters:
        raise MedjudgeError(f"--overlap must be between 2 and the {n_raters} raters: raters per overlap unit")
    if not 0 <= overlap_share <= 1:
        raise MedjudgeError("--overlap-share must be a share between 0 and 1")
    n_overlap = int(round(overlap_share * per_rater * n_raters)) // overlap if n_raters > 1 else 0
    n_single = per_rater * n_raters - n_overlap * overlap
    if n_overlap + n_single > len(keys):
        raise MedjudgeError(f"{n_raters} raters x {per_rater} units with {n_overlap} overlap units need "
                            f"{n_overlap + n_single} units; the sample has {len(keys)}: draw more (--n) or ask less")
    order = balanced_order(sorted(keys), strata or {}, seed)
    load = dict.fromkeys(raters, 0)
    out: dict = {r: {} for r in raters}
    for i, key in enumerate(order[:n_overlap]):
        chosen = sorted(raters, key=lambda r: (load[r], (raters.index(r) - i) % n_raters))[:overlap]
        for r in chosen:
            out[r][key] = True
            load[r] += 1
    for key in order[n_overlap:n_overlap + n_single]:
        r = min(raters, key=lambda r: (load[r], raters.index(r)))
        out[r][key] = False
        load[r] += 1
    return out


def balanced_order(keys: list, strata: dict, seed: int) -> list:
    """The keys shuffled (seeded) within their strata, then taken from each stratum in turn."""
    rng = random.Random(seed)
    groups: dict = {}
    for k in keys:
        groups.setdefault(strata.get(k, ""), []).append(k)
    for members in groups.values():
        rng.shuffle(members)
    out, lists = [], [groups[g] for g in sorted(groups)]
    while any(lists):
        for members in lists:
            if members:
                out.append(members.pop())
    return out


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue(store, run_id: str, sample: str, rater: str, role: str = "rater") -> str:
    """A new link token for the rater (or the coordinator); the previous one stops working."""
    token = secrets.token_urlsafe(24)
    store.save_token(run_id, sample, rater, role, digest(token))
    return token


def holder(store, run_id: str, sample: str, token: str) -> tuple[str, str] | None:
    """(rater, role) of a valid token, else None; every stored hash is compared, in constant time."""
    wanted, found = digest(token or ""), None
    for row in store.tokens(run_id, sample):
        if hmac.compare_digest(row["token_sha256"], wanted) and not row["revoked"]:
            found = (row["rater"], row["role"])
    return found


def status(store, run, sample: str, resamples: int = 1000, seed: int = 0) -> dict:
    """Per rater: units assigned, labelled, 'cannot judge', overlap units done; and the agreement among the panel
    on the units two or more of them labelled (the multi-rater statistics of `medjudge agreement --run`)."""
    from ..calibration.measure import measure_agreement
    from .review import review_labels

    assigned = store.assignments(run.id, sample)
    labels = {}
    for lab in review_labels(store, run):
        labels[(lab.rater, lab.answer_id, lab.unit_id)] = lab.value
    raters = []
    for rater, units in sorted(assigned.items()):
        done = [k for k in units if (rater, *k) in labels]
        raters.append({"rater": rater, "assigned": len(units), "labelled": len(done),
                       "cannot_judge": sum(1 for k in done if labels[(rater, *k)] is None),
                       "overlap_assigned": sum(units.values()),
                       "overlap_labelled": sum(1 for k in done if units[k])})
    agreement = None
    names = sorted(assigned)
    if len(names) > 1 and any(labels.get((r, *k)) is not None for r in names for k in assigned[r] if assigned[r][k]):
        try:
            rows = measure_agreement(store, raters=names, by="none", run=run.id, resamples=resamples, seed=seed)
            agreement = rows[0] if rows else None
        except MedjudgeError as exc:
            agreement = {"error": str(exc)}
    return {"run": run.id, "sample": sample, "raters": raters, "agreement": agreement}


def open_panel(store, run, sample: str, chosen: dict, raters: list[str], per_rater: int | None, overlap: int = 2,
               overlap_share: float = 0.2, seed: int = 0, reissue=()) -> dict:
    """The panel of a sample: its stored assignment (made now if there is none) and a link for each rater and the
    coordinator who has no valid one (or is in `reissue`). Returns {assigned, links: {name: token}, kept: [names]}:
    only new tokens are returned; kept links were shown when they were issued and still work."""
    from ..calibration.sampling import default_strata, judged_units, stratum_of

    assigned = store.assignments(run.id, sample)
    if assigned and sorted(assigned) != sorted(raters):
        raise MedjudgeError(f"sample {sample!r} of run {run.id} is assigned to {', '.join(sorted(assigned))}: name the "
                            "same raters, or give another --name for a new panel")
    if not assigned:
        if per_rater is None:
            per_rater = len(chosen) // len(raters) if len(raters) == 1 else None
        if per_rater is None:
            raise MedjudgeError("--raters needs --per-rater N: how many units each rater labels")
        units = judged_units(run)
        by = store.sample_design(run.id, sample).get("strata") or default_strata(units)  # a stratified sample's own
        strata = {k: stratum_of(k, units[k], by) for k in chosen if k in units}
        assigned = assign(list(chosen), raters, per_rater, overlap, overlap_share, seed, strata)
        store.save_assignments(run.id, sample, assigned)
    valid = {(t["rater"], t["role"]) for t in store.tokens(run.id, sample) if not t["revoked"]}
    links, kept = {}, []
    for name, role in [(r, "rater") for r in raters] + [(COORDINATOR, "coordinator")]:
        if (name, role) in valid and name not in reissue:
            kept.append(name)
        else:
            links[name] = issue(store, run.id, sample, name, role)
    return {"assigned": assigned, "links": links, "kept": kept}
