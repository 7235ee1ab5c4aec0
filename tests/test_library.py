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
        checks = run_rubric_test(Store(tmp_path / f"{mode}.db"), loaded, [fake.judge()], mode=mode)
        assert checks and all(c.ok for c in checks), [c for c in checks if not c.ok]
    fake.responder = oracle(loaded, wrong=True)
    checks = run_rubric_test(Store(tmp_path / "wrong.db"), loaded, [fake.judge("wrong")])
    assert checks and not any(c.ok for c in checks)


import re  # noqa: E402
