"""Every library rubric validates, compiles in both modes, and grades its worked examples correctly."""

import pytest

from medjudge.judges import compile_rubric
from medjudge.rubric_test import test_rubric as run_rubric_test
from medjudge.rubrics import library_files, load_rubric
from medjudge.store import Store
from oracle import oracle

LIBRARY = [p.stem for p in library_files()]


def test_library_is_listed(cli):
    code, out, _ = cli("rubric", "list")
    assert code == 0
    for rid in LIBRARY:
        assert rid in out


@pytest.mark.parametrize("rid", LIBRARY)
def test_library_rubric(rid, fake, tmp_path):
    loaded = load_rubric(rid)
    r = loaded.rubric
    assert r.citation and re.search(r"(19|20)\d\d", r.citation), "a citation with its year"
    assert len(r.examples) >= 2, "at least two worked examples"
    for mode in ("per-criterion", "batched"):
        program = compile_rubric(r, mode)
        assert program.output_schema()["type"] == "object"
    for mode in ("per-criterion", "batched"):
        fake.responder = oracle(loaded)
        store = Store(tmp_path / f"{mode}.db")
        checks = run_rubric_test(store, loaded, [fake.judge()], mode=mode)
        assert checks and all(c.ok for c in checks), [c for c in checks if not c.ok]
        check_scores_by_hand(store, loaded)
        # the judge saw each unit's own text and the answer it judged
        for ex in r.examples:
            assert any(ex.answer.strip() in req["messages"][-1]["content"] for req in fake.requests)
    fake.responder = oracle(loaded, wrong=True)
    checks = run_rubric_test(Store(tmp_path / "wrong.db"), loaded, [fake.judge("wrong")])
    assert checks and not any(c.ok for c in checks)


import re  # noqa: E402


def check_scores_by_hand(store, loaded):
    """The per-answer results of the examples' run, against each kind's formula applied by hand to the
    expected verdicts (independent of the oracle, which only echoes verdicts, and of medjudge's scoring)."""
    from medjudge.inputs import example_items
    from medjudge.summaries import summarize_run

    r = loaded.rubric
    run_id = store.list_runs()[0]["id"]
    per_answer = summarize_run(store, run_id, resamples=10).per_answer
    for ex, item in zip(r.examples, example_items(loaded)):
        score, detail = per_answer[item.id]
        units = {u.id: u for u in r.units(item)}
        if set(ex.expected) != set(units):
            assert detail["complete"] is False and score is None  # units without an expected verdict: partial
            continue
        assert detail["complete"] is True
        if r.kind == "checklist":
            possible = sum(u.points for u in units.values() if u.points > 0)
            assert score == pytest.approx(sum(units[k].points for k, v in ex.expected.items() if v) / possible)
        elif r.kind == "scale":
            assert detail["dimensions"] == {k: float(v) for k, v in ex.expected.items()}
        elif r.kind == "safety" and r.scope == "each_turn":  # the riskiest turn, named
            worst = max(ex.expected, key=lambda k: (ex.expected[k], -int(k[1:k.index(".")])))
            assert score == float(ex.expected[worst]) and detail["worst_turn"] == int(worst[1:worst.index(".")])
        elif r.kind == "safety":
            assert score == float(ex.expected["risk"])
        elif r.kind == "nli":
            must = [k for k in ex.expected if units[k].kind == "must_have"]
            if must:
                assert score == pytest.approx(sum(ex.expected[k] == "entailed" for k in must) / len(must))
            assert detail["contradicted"] == sum(v == "contradicted" for k, v in ex.expected.items()
                                                 if units[k].kind != "claim")
