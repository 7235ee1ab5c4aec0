"""Answers to grade: medjudge answers JSONL and HealthBench JSONL, read into Items with line-numbered errors."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .errors import InputError
from .rubrics.base import UnitsProblem

MAX_LINE_BYTES = 8 * 1024 * 1024  # one answer line; larger lines are refused, not loaded
MAX_ANSWER_CHARS = 200_000  # far beyond any judge's context window: refused rather than sent


@dataclass
class Item:
    id: str
    prompt: list[dict[str, str]]
    answer: str
    source: str | None = None
    tags: list[str] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)
    criteria: list | None = None


def last_question(item) -> str:
    """The last user message before the answer: what a physician reads as the question."""
    return next((m["content"] for m in reversed(item.prompt) if m["role"] == "user"), "")


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    path = Path(path)
    try:
        if path.suffix == ".gz":
            import gzip

            fh = gzip.open(path, "rb")
        else:
            fh = path.open("rb")
    except OSError as exc:
        raise InputError(path, None, None, f"cannot open: {exc.strerror}") from None
    with fh:
        for lineno, raw in enumerate(fh, 1):
            if len(raw) > MAX_LINE_BYTES:
                raise InputError(path, lineno, None, f"line is {len(raw) // 1024 // 1024} MiB, over the {MAX_LINE_BYTES // 1024 // 1024} MiB limit")
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as exc:
                raise InputError(path, lineno, None, f"not valid JSON: {getattr(exc, 'msg', exc)}") from None
            if not isinstance(obj, dict):
                raise InputError(path, lineno, None, "each line must be a JSON object")
            yield lineno, obj


def as_messages(prompt, path, lineno, name="prompt") -> list[dict[str, str]]:
    if isinstance(prompt, str):
        return [{"role": "user", "content": prompt}]
    if isinstance(prompt, list) and prompt and all(
        isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in prompt
    ):
        return [{"role": m["role"], "content": m["content"]} for m in prompt]
    raise InputError(path, lineno, name, "must be a string or a non-empty list of {role, content} messages")


def answer_text(value, path, lineno, name) -> str:
    """An answer is a string, or messages whose last assistant turn is the answer."""
    if isinstance(value, str):
        if len(value) > MAX_ANSWER_CHARS:
            raise InputError(path, lineno, name, f"answer is {len(value):,} characters, over the "
                                                 f"{MAX_ANSWER_CHARS:,} that any judge could read: shorten or split it")
        return value
    if isinstance(value, list):
        turns = [m.get("content") for m in value if isinstance(m, dict) and m.get("role") == "assistant"]
        if turns and isinstance(turns[-1], str):
            return answer_text(turns[-1], path, lineno, name)
    raise InputError(path, lineno, name, "must be a string, or messages with an assistant turn")


def _str_list(value, path, lineno, name):
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise InputError(path, lineno, name, "must be a list of strings")
    return value


def _criteria(rubric, obj, path, lineno):
    """Per-example units, as the rubric's kind reads them from the record (None: the rubric's own units)."""
    try:
        return rubric.item_units(obj)
    except UnitsProblem as exc:
        raise InputError(path, lineno, exc.field, str(exc)) from None


ANSWER_KEYS = ("answer", "completion", "response")


def iter_answers(path, rubric) -> Iterator[Item]:
    """medjudge answers JSONL: id, prompt (text or messages), answer, source, any extra fields (streamed)."""
    seen = set()
    for lineno, obj in read_jsonl(path):
        yield answer_item(obj, rubric, path, lineno, seen)
    if not seen:
        raise InputError(path, None, None, "no answers in file")


def load_answers(path, rubric) -> list[Item]:
    return list(iter_answers(path, rubric))


def did_you_mean(obj: dict, wanted) -> str:
    """'; did you mean "answer"? (the line has "anwser")' when a field of the line is a near miss of a wanted one."""
    import difflib

    for field_name in obj:
        close = difflib.get_close_matches(field_name, list(wanted), n=1, cutoff=0.75)
        if close and field_name not in wanted:
            return f" (the line has {field_name!r}: did you mean {close[0]!r}?)"
    return ""


def answer_item(obj: dict, rubric, path, lineno, seen: set) -> Item:
    """One answers-JSONL object as an Item (also used for a rubric's worked examples)."""
    item_id = obj.get("id", obj.get("prompt_id"))
    if not isinstance(item_id, (str, int)) or isinstance(item_id, bool):
        raise InputError(path, lineno, "id", "missing: every answer needs an id (string or integer)")
    item_id = str(item_id)
    if item_id in seen:
        raise InputError(path, lineno, "id", f"duplicate id {item_id!r}")
    seen.add(item_id)
    key = next((k for k in ANSWER_KEYS if k in obj), None)
    if key is None:
        raise InputError(path, lineno, "answer", "missing: the text to grade" + did_you_mean(obj, ANSWER_KEYS))
    if "prompt" not in obj:
        raise InputError(path, lineno, "prompt", "missing: the question the answer responds to"
                         + did_you_mean(obj, ("prompt",)))
    source = obj.get("source", obj.get("system"))
    extra = {k: v for k, v in obj.items() if k not in {"id", "prompt", "source", "system", "tags", key}}
    prompt = as_messages(obj["prompt"], path, lineno)
    if isinstance(obj[key], list):  # a transcript: the turns before its last assistant turn join the prompt
        last = max((i for i, m in enumerate(obj[key]) if isinstance(m, dict) and m.get("role") == "assistant"),
                   default=None)
        if last:
            prompt += as_messages(obj[key][:last], path, lineno, key)
    return Item(
        id=item_id,
        prompt=prompt,
        answer=answer_text(obj[key], path, lineno, key),
        source=None if source is None else str(source),
        tags=_str_list(obj.get("tags"), path, lineno, "tags"),
        fields=extra,
        criteria=_criteria(rubric, obj, path, lineno),
    )


def example_items(loaded) -> list[Item]:
    """A rubric's worked examples as Items (ids ex1, ex2, ...)."""
    items, seen = [], set()
    for i, ex in enumerate(loaded.rubric.examples, 1):
        obj = {"id": f"ex{i}", "prompt": ex.prompt, "answer": ex.answer, **ex.fields}
        items.append(answer_item(obj, loaded.rubric, f"{loaded.path} examples[{i - 1}]", None, seen))
    return items


def load_healthbench(path, rubric, answers_path=None, answer_field="ideal", skipped=None) -> list[Item]:
    return list(iter_healthbench(path, rubric, answers_path, answer_field, skipped))


def iter_healthbench(path, rubric, answers_path=None, answer_field="ideal", skipped=None) -> Iterator[Item]:
    """HealthBench JSONL (streamed); the answer is the ideal completion, or comes from an answers file
    keyed by prompt_id. An answers file may hold several systems' answers to one prompt (their `source`): each
    is an answer of its own, id `PROMPT_ID@SOURCE`, its prompt_id kept for pairing."""
    answers = None
    if answers_path is not None:
        answers = {}
        for lineno, obj in read_jsonl(answers_path):
            pid = obj.get("prompt_id", obj.get("id"))
            if pid is None:
                raise InputError(answers_path, lineno, "prompt_id", "missing")
            key = next((k for k in ANSWER_KEYS if k in obj), None)
            if key is None:
                raise InputError(answers_path, lineno, "completion", "missing: the answer to grade")
            source = obj.get("source", obj.get("system"))
            found = answers.setdefault(str(pid), [])
            if any(s == source for _, s in found):
                raise InputError(answers_path, lineno, "source", f"a second answer of {source or 'this file'} to "
                                 f"prompt {pid!r}: give each system's answers their own `source`")
            found.append((answer_text(obj[key], answers_path, lineno, key), source))
    seen, produced = set(), 0
    for lineno, obj in read_jsonl(path):
        pid = obj.get("prompt_id")
        if not isinstance(pid, str):
            raise InputError(path, lineno, "prompt_id", "missing or not a string")
        if pid in seen:
            raise InputError(path, lineno, "prompt_id", f"duplicate {pid!r}")
        seen.add(pid)
        if "prompt" not in obj:
            raise InputError(path, lineno, "prompt", "missing")
        if answers is not None:
            if pid not in answers:
                if skipped is not None:
                    skipped.append((pid, "no answer in answers file"))
                continue
            given = [(text, source or Path(answers_path).stem) for text, source in answers[pid]]
        else:
            data = obj.get("ideal_completions_data") or {}
            text = data.get(f"{answer_field}_completion") if isinstance(data, dict) else None
            if not isinstance(text, str):
                if skipped is not None:
                    skipped.append((pid, f"no {answer_field}_completion"))
                continue
            given = [(text, "ideal_completion")]
        prompt = as_messages(obj["prompt"], path, lineno)
        tags = _str_list(obj.get("example_tags"), path, lineno, "example_tags")
        for text, source in given:
            produced += 1
            several = len(given) > 1
            yield Item(
                id=f"{pid}@{source}" if several else pid,
                prompt=prompt,
                answer=text,
                source=None if source is None else str(source),
                tags=tags,
                fields={"prompt_id": pid} if several else {},
                criteria=_criteria(rubric, obj, path, lineno),
            )
    if not produced:
        raise InputError(path, None, None, "no gradable examples (no answers matched)")


def meta_ids(rec: dict, criterion: str) -> tuple[str, str]:
    """A meta-eval row's answer id (its completion_id) and criterion id ("c" + the first 10 hex digits of the
    criterion text's SHA-1): the same whether the row is graded (`grade --format healthbench-meta`) or its
    physicians' labels imported, so the two join by construction."""
    item = rec.get("completion_id") or f"{rec.get('prompt_id')}:{rec.get('completion_index', 0)}"
    return str(item), "c" + hashlib.sha1(criterion.encode()).hexdigest()[:10]


def theme_of(category: str) -> str:
    name = category[len("cluster:"):] if category.startswith("cluster:") else category
    return name.split("_", 1)[0]


def iter_healthbench_meta(path, rubric, rows: int | None = None, seed: int = 0) -> Iterator[Item]:
    """HealthBench's meta-evaluation JSONL (one line per conversation x completion x criterion, with the physicians'
    binary_labels): one answer per completion (id: its completion_id), its criteria the lines that name it (ids as
    `annotations import --format healthbench-meta` gives them, so that judge and physicians join by construction;
    points from a `points` field, else +1; tags: the category and its theme). `rows`: a sample of that many lines
    drawn as simple-evals draws it (random.Random(seed).sample over the lines, seed 0 by default)."""
    import random

    lines = []
    for lineno, obj in read_jsonl(path):
        criterion = obj.get("rubric", obj.get("criterion"))
        if not isinstance(criterion, str):
            raise InputError(path, lineno, "rubric", "missing: the criterion text")
        if not isinstance(obj.get("completion"), str):
            raise InputError(path, lineno, "completion", "missing: the answer the physicians labelled")
        if "prompt" not in obj:
            raise InputError(path, lineno, "prompt", "missing")
        lines.append((lineno, obj, criterion))
    if not lines:
        raise InputError(path, None, None, "no meta-evaluation rows")
    if rows is not None and rows < len(lines):
        lines = random.Random(seed).sample(lines, rows)
    answers: dict = {}
    for lineno, obj, criterion in lines:
        item_id, unit_id = meta_ids(obj, criterion)
        category = obj.get("category")
        tags = [category, f"theme:{theme_of(category)}"] if isinstance(category, str) else []
        entry = answers.setdefault(item_id, {"lineno": lineno, "obj": obj, "criteria": {}})
        if entry["obj"].get("completion") != obj["completion"]:
            raise InputError(path, lineno, "completion", f"completion_id {item_id!r} names two different completions")
        entry["criteria"].setdefault(unit_id, {"id": unit_id, "criterion": criterion,
                                               "points": obj.get("points", 1), "tags": tags})
    for item_id, entry in answers.items():
        obj, lineno = entry["obj"], entry["lineno"]
        units = _criteria(rubric, {rubric.criteria_field: list(entry["criteria"].values())}, path, lineno)
        yield Item(id=item_id, prompt=as_messages(obj["prompt"], path, lineno), answer=obj["completion"],
                   tags=sorted({t for c in entry["criteria"].values() for t in c["tags"]}),
                   fields={"prompt_id": obj.get("prompt_id")} if obj.get("prompt_id") else {}, criteria=units)


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def load_kqa(path, rubric, questions_path, skipped=None) -> list[Item]:
    """K-QA: model answers [{Question, result}] (JSON list or JSONL) matched by question text to the K-QA
    questions file, whose Must_have / Nice_to_have statements are the references."""
    questions = {}
    for lineno, obj in read_jsonl(questions_path):
        q = obj.get("Question")
        if not isinstance(q, str):
            raise InputError(questions_path, lineno, "Question", "missing")
        questions.setdefault(_norm(q), (lineno, obj))
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, None, None, f"cannot read: {exc}") from None
    if text.lstrip().startswith("["):
        try:
            rows = list(enumerate(json.loads(text), 1))
        except json.JSONDecodeError as exc:
            raise InputError(path, exc.lineno, None, f"not valid JSON: {exc.msg}") from None
    else:
        rows = list(read_jsonl(path))
    items, seen = [], set()
    for n, obj in rows:
        if not isinstance(obj, dict) or not isinstance(obj.get("Question"), str):
            raise InputError(path, n, "Question", "missing (entry number given as line)")
        answer = obj.get("result", obj.get("answer"))
        if not isinstance(answer, str):
            raise InputError(path, n, "result", "missing: the model answer")
        match = questions.get(_norm(obj["Question"]))
        if match is None:
            if skipped is not None:
                skipped.append((obj["Question"][:60], "matches no K-QA question"))
            continue
        qline, q = match
        item_id = f"kqa-{qline}"
        if item_id in seen:
            raise InputError(path, n, "Question", f"a second answer to K-QA question {qline}")
        seen.add(item_id)
        items.append(Item(id=item_id, prompt=[{"role": "user", "content": q["Question"]}], answer=answer,
                          source=str(obj.get("source", path.stem)), tags=[],
                          fields={k: q[k] for k in ("Must_have", "Nice_to_have", "Free_form_answer") if k in q},
                          criteria=_criteria(rubric, q, questions_path, qline)))
    if not items:
        raise InputError(path, None, None, "no answer matched a K-QA question")
    return items


def iter_pairs(path, rubric) -> Iterator[Item]:
    """Answers JSONL with several systems per prompt (prompt_id, source, prompt, answer): one Item per pair of
    systems answering the same prompt, A and B in name order; the judge never sees the names."""
    from .rubrics.pairwise import pairs_of

    records, seen = [], set()
    for lineno, obj in read_jsonl(path):
        pid = obj.get("prompt_id", obj.get("id"))
        if not isinstance(pid, (str, int)) or isinstance(pid, bool):
            raise InputError(path, lineno, "prompt_id", "missing: pairs are made of answers to the same prompt_id")
        source = obj.get("source", obj.get("system"))
        if not isinstance(source, str) or not source:
            raise InputError(path, lineno, "source", "missing: the system that wrote the answer")
        if (str(pid), source) in seen:
            raise InputError(path, lineno, "source", f"a second answer of {source!r} to prompt {pid!r}")
        seen.add((str(pid), source))
        key = next((k for k in ANSWER_KEYS if k in obj), None)
        if key is None:
            raise InputError(path, lineno, "answer", "missing: the text to compare")
        records.append({"prompt_id": str(pid), "source": source, "line": lineno,
                        "prompt": as_messages(obj.get("prompt"), path, lineno),
                        "answer": answer_text(obj[key], path, lineno, key),
                        "tags": _str_list(obj.get("tags"), path, lineno, "tags")})
    pairs = pairs_of(records)
    if not pairs:
        raise InputError(path, None, "source", "no prompt has answers from two systems: nothing to compare")
    for pid, a, b in pairs:
        yield Item(id=f"{pid}:{a['source']}|{b['source']}", prompt=a["prompt"], answer=a["answer"],
                   source=f"{a['source']} vs {b['source']}", tags=a["tags"],
                   fields={rubric.answer_b_field: b["answer"], "system_a": a["source"], "system_b": b["source"],
                           "prompt_id": pid})
