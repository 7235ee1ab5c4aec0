"""`medjudge probe`: re-judge a sample of a run's answers under controlled changes and measure each change's
effect beside the rerun-noise baseline (docs/PROBES.md).

Every re-judging is a stored run of its own (purpose "probe NAME"), made through the same panel path as
grading: the cache, capped retries, cost accounting, resume. A change of the judge's input that is not a
change of the answer (criteria order, reworded criteria, only some units) travels in the run's `probe`
setting and is applied by the judge program (JudgeProgram.varied). LLM-drafted texts (paraphrases,
compressions, must-flip edits) are stored in the drafts table, shown, and never drafted twice.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, field, replace

from ..errors import EXIT_COVERAGE, EXIT_INCOMPLETE, EXIT_OK, MedjudgeError
from ..store import content_id, dumps

PROBES = ("position", "length", "paraphrase", "perturb", "self")
RERUN_SEED_OFFSET = 1000  # the noise baseline: the same inputs judged again with seed + this
PAD = ("This information is general. It is provided for general reading. The text above is the answer; this "
       "paragraph adds no further information. ")


@dataclass
class ProbeConfig:
    run_id: str
    probes: list = field(default_factory=lambda: list(PROBES))
    n: int = 20  # answers sampled from the run
    k: int = 2  # paraphrases per unit
    seed: int = 0
    drafter: str | None = None  # the model that drafts paraphrases, compressions and edits (default: the first judge)
    self_source: dict = field(default_factory=dict)  # judge model -> the answer source that is its own family
    resamples: int = 1000
    dry_run: bool = False
    concurrency: int = 16
    timeout: float = 60.0
    max_retries: int = 4


@dataclass
class ProbeResult:
    id: str
    run_id: str
    status: str  # planned | complete | incomplete
    exit_code: int
    reason: str
    results: dict
    planned_calls: dict = field(default_factory=dict)
    runs: dict = field(default_factory=dict)
    drafts: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


def judge_spec(j) -> str:
    return j.model + (f"@{j.public_base}" if j.api_base else "") + (f"#{j.key_env}" if j.key_env else "")


def family(model_or_source: str) -> str:
    """A model family from a model string or an answer source: openai/gpt-4.1 -> gpt, claude-3.7-sonnet -> claude."""
    import re

    name = (model_or_source or "").lower().split("@")[0].split("/")[-1]
    m = re.match(r"[a-z]+", name)
    return m.group(0) if m else name


class Prober:
    def __init__(self, store, cfg: ProbeConfig):
        from ..rubrics import parse_rubric
        from ..stored import StoredRun

        bad = [p for p in cfg.probes if p not in PROBES]
        if bad:
            raise MedjudgeError(f"--probe takes {', '.join(PROBES)}, not {', '.join(bad)}")
        if cfg.n < 1 or cfg.k < 1:
            raise MedjudgeError("--n and --k must be at least 1")
        self.store, self.cfg = store, cfg
        self.run = StoredRun(store, cfg.run_id)
        self.loaded = parse_rubric(store.rubric_text(self.run.row["rubric_hash"]), f"run {self.run.id}")
        self.rubric = self.loaded.rubric
        self.judges = self.run.judges()
        self.drafter = cfg.drafter or judge_spec(self.judges[0])
        self.original = self.run.verdicts.panel
        self.items = self.sample()
        self.runs, self.complete, self.drafts = {}, True, {}
        self.planned = {}

    def sample(self) -> list:
        """n answers of the run, drawn at random (seeded) among those with at least one scored unit."""
        scored = [it for it, units, res in self.run.units() if any(a is not None and a.value is not None
                                                                   for a in res.values())]
        rng = random.Random(self.cfg.seed)
        picked = rng.sample(scored, min(self.cfg.n, len(scored)))
        return sorted(picked, key=lambda it: it.id)

    # -- re-judging through the panel -----------------------------------------------------------------
    def grade(self, name: str, items, probe: dict | None = None, seed_offset: int = 0):
        """A stored run of these items with the run's panel and settings (and a probe's change): its verdicts."""
        from ..grading import GradeConfig, grade_items
        from ..stored import StoredRun

        cfg = GradeConfig.of_run(self.run, drop=("limit", "probe"), input_path=f"probe of {self.run.id}",
                                 judges=[judge_spec(j) for j in self.judges], local_only=False,
                                 seed=(self.run.config.get("seed") or 0) + seed_offset, probe=probe,
                                 purpose=f"probe {name}", concurrency=self.cfg.concurrency,
                                 timeout=self.cfg.timeout, max_retries=self.cfg.max_retries)
        if self.cfg.dry_run:
            self.planned[name] = self.calls(cfg, items)
            return {}
        run_id, done = grade_items(self.store, cfg, self.loaded, items)
        self.runs[name] = run_id
        self.complete = self.complete and done.status == "complete"
        return StoredRun(self.store, run_id).verdicts.panel

    def calls(self, cfg, items) -> int:
        from ..judges import compile_rubric

        program = compile_rubric(self.rubric, cfg.mode)
        program.variant = dict(cfg.probe or {})
        per_judge = sum(len(program.calls(it)) for it in items) * cfg.samples
        return per_judge * (1 if cfg.cascade else len(self.judges))

    def rerun(self):
        if not hasattr(self, "_rerun"):
            self._rerun = self.grade("rerun", self.items, seed_offset=RERUN_SEED_OFFSET)
        return self._rerun

    def rows(self, probed, items=None, key=None):
        """Per unit of the sampled answers: the original verdict, the probe's and the rerun's."""
        rerun = self.rerun()
        out = []
        for it in self.items if items is None else items:
            for u in self.rubric.units(it):
                k = (it.id, u.id)
                pk = key(it, u) if key else k
                out.append({"answer": it.id, "unit": u.id, "text": self.rubric.unit_info(u).get("text"),
                            "original": _value(self.original.get(k)),
                            "probe": _value(probed.get(pk)), "rerun": _value(rerun.get(k))})
        return out

    # -- the probes ---------------------------------------------------------------------------------
    def position(self) -> dict:
        from .statistics import flip_effect

        if hasattr(self.rubric, "answer_b_field"):  # pairwise: both orders were judged; compare them
            rerun = self.rerun()
            rows = [{"answer": it.id, "original": _value(self.original.get((it.id, "ab"))),
                     "probe": _value(self.original.get((it.id, "ba"))), "rerun": _value(rerun.get((it.id, "ab")))}
                    for it in self.items]
            return {"change": "the two answers' order swapped (the run judged both orders)",
                    **flip_effect(rows, self.cfg.resamples, self.cfg.seed)}
        if self.run.row["mode"] != "batched":
            return {"change": "criteria order shuffled", "verdict": "not applicable",
                    "why": "a per-criterion run judges one unit per call: there is no order to change (probe a "
                           "--mode batched run)"}
        probed = self.grade("position", self.items, {"rotate": self.cfg.seed})
        moved = sum(1 for it in self.items if len(self.rubric.units(it)) > 1)
        return {"change": "the units of each batched call rotated (every unit, the first included, moves)",
                "answers_reordered": moved, **flip_effect(self.rows(probed), self.cfg.resamples, self.cfg.seed)}

    def length(self) -> dict:
        from ..authoring import compressed
        from .statistics import flip_effect

        out = {}
        padded = [replace(it, answer=pad(it.answer)) for it in self.items]
        probed = self.grade("length-padded", padded)
        out["padded"] = {"change": "the answer followed by content-free text of its own length",
                         **flip_effect(self.rows(probed), self.cfg.resamples, self.cfg.seed)}
        if self.cfg.dry_run:
            self.planned["drafts: compress"] = len(self.items)
            self.grade("length-compressed", self.items)
        else:
            short, failed = [], []
            for it in self.items:
                try:
                    text = compressed(self.store, self.drafter, it.answer)
                    short.append(replace(it, answer=text))
                    self.drafts.setdefault("compressed", {})[it.id] = text
                except MedjudgeError as exc:
                    failed.append(f"{it.id}: {exc}")
            probed = self.grade("length-compressed", short) if short else {}
            out["compressed"] = {"change": "the answer compressed to about half by the drafter, meaning kept",
                                 "drafts_failed": failed,
                                 **flip_effect(self.rows(probed, [it for it in self.items if it.id in
                                                                  {s.id for s in short}]),
                                               self.cfg.resamples, self.cfg.seed)}
        return out

    def paraphrase(self) -> dict:
        from ..authoring import paraphrases
        from .statistics import flip_effect

        texts = sorted({t for it in self.items for u in self.rubric.units(it)
                        if (t := self.rubric.unit_info(u).get("text")) and self.rubric.reword(u, t) is not None})
        if not texts:
            return {"change": "units reworded", "verdict": "not applicable", "why": "this rubric's units have no wording"}
        if self.cfg.dry_run:
            self.planned["drafts: paraphrase"] = len(texts)
            for i in range(self.cfg.k):
                self.grade(f"paraphrase-{i + 1}", self.items, {"reword": {t: t for t in texts}})
            return {}
        words, failed = {}, []
        for t in texts:
            try:
                words[t] = paraphrases(self.store, self.drafter, t, self.cfg.k)
            except MedjudgeError as exc:
                failed.append(f"{t[:60]}: {exc}")
        self.drafts["paraphrases"] = words
        rows = []
        for i in range(self.cfg.k):
            mapping = {t: p[i] for t, p in words.items() if len(p) > i}
            if not mapping:
                continue
            probed = self.grade(f"paraphrase-{i + 1}", self.items, {"reword": mapping})
            rows += [r for r in self.rows(probed) if r["text"] in mapping]
        return {"change": f"each unit's wording replaced by one of {self.cfg.k} drafted paraphrases (same meaning)",
                "drafts_failed": failed, **flip_effect(rows, self.cfg.resamples, self.cfg.seed)}

    def perturb(self) -> dict:
        from ..authoring import must_flip_edit
        from .statistics import miss_effect

        rng = random.Random(self.cfg.seed)
        edited, only, rows, failed = [], {}, [], []
        for it in self.items:
            units = [u for u in self.rubric.units(it) if _value(self.original.get((it.id, u.id))) is not None]
            if not units:
                continue
            u = rng.choice(units)
            value = _value(self.original[(it.id, u.id)])
            target = self.rubric.flip_target(u, value)
            new_id = f"{it.id}~edit~{u.id}"
            if self.cfg.dry_run:
                edited.append(replace(it, id=new_id))
                only[new_id] = [u.id]
                continue
            try:
                e = must_flip_edit(self.store, self.drafter, it.answer, self.rubric.unit_info(u).get("text") or u.id,
                                   self.rubric.value_label(u, value), self.rubric.value_label(u, target))
            except MedjudgeError as exc:
                failed.append(f"{it.id}: {exc}")
                continue
            self.drafts.setdefault("edits", {})[new_id] = e
            edited.append(replace(it, id=new_id, answer=e["answer"]))
            only[new_id] = [u.id]
            rows.append({"answer": it.id, "unit": u.id, "edit": e["edit"], "category": e.get("category", "other"),
                         "original": value, "target": target, "key": (new_id, u.id)})
        if self.cfg.dry_run:
            self.planned["drafts: perturb"] = len(edited)
            self.grade("perturb", edited, {"only": only})
            return {}
        probed = self.grade("perturb", edited, {"only": only}) if edited else {}
        for r in rows:
            r["probe"] = _value(probed.get(r.pop("key")))
        res = miss_effect(rows, self.cfg.resamples, self.cfg.seed)
        by_edit = {}
        for by in ("edit", "category"):  # per kind of edit, and per MedVAL error category
            for kind in sorted({r[by] for r in rows}):
                sub = miss_effect([r for r in rows if r[by] == kind], 0)
                by_edit[kind if by == "edit" else f"medval:{kind}"] = {"edits": sub["used"], "miss_rate": sub["miss_rate"]}
        return {"change": "a must-flip edit of the answer (injected clinical error, negated recommendation or "
                          "removed warning) drafted to move one unit's verdict to its opposite",
                "drafts_failed": failed, "by_edit": by_edit, **res}

    def value_range(self) -> float:
        """The spread of the values a verdict can take (1 for yes/no verdicts, 4 for a 1-5 scale)."""
        spans = [max(v) - min(v) for it in self.items for u in self.rubric.units(it) if (v := self.rubric.values(u))]
        return max(spans, default=1.0) or 1.0

    def self_preference(self) -> dict:
        """For runs with answer sources: per judge, own-family over-rating beyond the others' (no calls)."""
        from .statistics import self_preference

        from ..calibration.estimate import expert_values

        experts = expert_values(self.store, self.run, float)  # (answer, unit) -> the experts' mean label
        per_judge = self.run.verdicts.judges
        sources = {it.id: it.source for it in self.run.items}
        if not any(sources.values()):
            return {"verdict": "not applicable", "why": "the run's answers have no source (model) to compare"}
        out = {}
        for j in self.judges:
            mine = per_judge.get(j.name, {})
            others = [v for name, v in per_judge.items() if name != j.name]
            own_source = self.cfg.self_source.get(j.model)
            rows = []
            for (answer, unit), agg in mine.items():
                ref, ref_kind = experts.get((answer, unit)), "experts"
                if ref is None:
                    votes = [x for o in others if (x := _value(o.get((answer, unit)))) is not None]
                    ref, ref_kind = (sum(votes) / len(votes) if votes else None), "other judges"
                src = sources.get(answer)
                own = (src == own_source) if own_source else family(src or "") == family(j.model)
                rows.append({"answer": answer, "own": own, "judge": _value(agg), "reference": ref, "ref": ref_kind})
            res = self_preference(rows, self.cfg.resamples, self.cfg.seed, self.value_range())
            res["reference"] = sorted({r["ref"] for r in rows if r["reference"] is not None})
            if not res["reference"]:
                res["why"] = "no expert labels on these answers and no other judge to compare with"
            res["family"] = own_source or family(j.model)
            out[j.model] = res
        return out

    def execute(self) -> ProbeResult:
        cfg = self.cfg
        identity = dumps({"run": self.run.id, "probes": sorted(cfg.probes), "n": cfg.n, "k": cfg.k, "seed": cfg.seed,
                          "drafter": self.drafter, "self_source": cfg.self_source})
        probe_id = content_id("b", identity)
        results = {}
        for name in PROBES:
            if name in cfg.probes:
                results[name] = self.self_preference() if name == "self" else getattr(self, name)()
        if cfg.dry_run:
            return ProbeResult(probe_id, self.run.id, "planned", EXIT_OK, "", {}, self.planned)
        config = {"probes": sorted(cfg.probes), "n": cfg.n, "k": cfg.k, "seed": cfg.seed, "drafter": self.drafter,
                  "answers": [it.id for it in self.items], "runs": self.runs, "resamples": cfg.resamples}
        self.store.save_probe(probe_id, self.run.id, config | {"drafts": self.drafts}, results)
        verdicts = list(_verdicts(results))
        decided = [v for v in verdicts if v not in ("no verdict", "not applicable")]
        code, reason = EXIT_OK, ""
        if not self.complete:
            code, reason = EXIT_INCOMPLETE, "some re-judging is incomplete: rerun the same command"
        elif not decided:
            code, reason = EXIT_COVERAGE, (f"no probe reached a verdict ({len(verdicts)} without one): see why under "
                                           "each, and probe more answers (--n) or fix the drafter")
        return ProbeResult(probe_id, self.run.id, "complete" if self.complete else "incomplete", code, reason,
                           results, runs=self.runs, drafts=self.drafts)


def _verdicts(results: dict):
    """Every verdict in a probe's results (length has two parts, self one per judge)."""
    for res in results.values():
        if "verdict" in res:
            yield res["verdict"]
        else:
            yield from (x.get("verdict", "no verdict") for x in res.values() if isinstance(x, dict))


def pad(answer: str) -> str:
    """The answer followed by content-free text about as long as itself."""
    reps = max(1, len(answer) // len(PAD))
    return answer + "\n\n" + (PAD * reps).strip()


def _value(agg):
    return None if agg is None else agg.value


def probe(store, cfg: ProbeConfig) -> ProbeResult:
    return Prober(store, cfg).execute()
