"""Optimised judge programs as versioned artifacts: what `medjudge optimize` writes and `grade --program` reads.

An artifact is a JSON object. What decides the prompts a judge sees (the format, the rubric's hash, the mode,
the instructions and the demonstrations) makes its id, `p` + 11 hex digits of their hash; the rest records
how it was made: optimiser and settings, seed, the labels' hash, the base model, the split, the metric.
It is stored in the programs table and can be written to and read from a file.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import MedjudgeError
from ..store import content_id

FORMAT = "medjudge-program/1"
IDENTITY = ("format", "rubric_hash", "mode", "instructions", "demos")
REQUIRED = IDENTITY + ("id", "rubric_id")


def program_id(artifact: dict) -> str:
    return content_id("p", {k: artifact[k] for k in IDENTITY})


def demo_fields(demo, signature) -> dict:
    """A demonstration's signature fields as JSON values (DSPy keeps bookkeeping fields beside them)."""
    from pydantic_core import to_jsonable_python

    return {k: to_jsonable_python(demo[k]) for k in signature.fields if k in demo and demo[k] is not None}


def from_program(module, loaded, **made) -> dict:
    """The artifact of a compiled judge program (JudgeProgram.module, as an optimiser compiled it: its instructions
    and demonstrations); `made` says how."""
    predict = module.predict
    art = {"format": FORMAT, "rubric_hash": loaded.hash, "rubric_id": loaded.rubric.id, "mode": module.mode,
           "instructions": predict.signature.instructions,
           "demos": [demo_fields(d, predict.signature) for d in predict.demos], **made}
    art["id"] = program_id(art)
    return art


def read(path: str | Path) -> dict:
    """An artifact file, checked: its id must match its content (an edited file gets a new id, never the old one)."""
    try:
        art = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MedjudgeError(f"{path}: no such program file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MedjudgeError(f"{path}: not a medjudge program (JSON): {exc}") from None
    if not isinstance(art, dict) or art.get("format") != FORMAT:
        raise MedjudgeError(f"{path}: format: expected {FORMAT!r}, found {art.get('format') if isinstance(art, dict) else art!r}")
    for key in REQUIRED:
        if key not in art:
            raise MedjudgeError(f"{path}: {key}: missing")
    if not isinstance(art["demos"], list) or not all(isinstance(d, dict) for d in art["demos"]):
        raise MedjudgeError(f"{path}: demos: expected a list of objects")
    if program_id(art) != art["id"]:
        raise MedjudgeError(f"{path}: id: {art['id']} does not match the content (its hash is {program_id(art)}): "
                            "the file was edited; save it under the new id or restore it")
    return art


def write(art: dict, path: str | Path):
    Path(path).write_text(json.dumps(art, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def resolve(store, ref: str) -> dict:
    """A program by stored id or by file (which is then stored, so that workers and resumes find it by id)."""
    if Path(ref).is_file():
        art = read(ref)
        if store.program(art["id"]) is None:
            store.save_program(art)
        return art
    found = store.program(ref)
    if found is None:
        raise MedjudgeError(f"--program {ref}: no such file, and no program with that id in {store.path}")
    return found["artifact"]


def check_fits(art: dict, loaded, mode: str):
    if art["rubric_hash"] != loaded.hash:
        raise MedjudgeError(f"program {art['id']} was optimised for rubric {art['rubric_id']} "
                            f"(hash {art['rubric_hash'][:12]}), not for {loaded.rubric.id} (hash {loaded.hash[:12]}): "
                            "a changed rubric needs a new optimisation")
    if art["mode"] != mode:
        raise MedjudgeError(f"program {art['id']} was optimised in --mode {art['mode']}, not {mode}")
