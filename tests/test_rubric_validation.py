"""Rubric files: one-line errors naming file, line and field; exit 2 from `medjudge rubric validate`."""

import pytest

from conftest import write
from medjudge.errors import InputError
from medjudge.rubrics import RubricInvalid, load_rubric, parse_rubric

GOOD = """\
id: demo
version: 1
kind: checklist
title: Demo
criteria:
  - id: a
    text: Says to see a doctor.
    points: 5
  - id: b
    text: Recommends an unproven remedy.
    points: -4
"""


def test_good_rubric_loads_and_hash_identifies_text():
    lr = parse_rubric(GOOD, "demo.yaml")
    assert lr.rubric.kind == "checklist" and [c.id for c in lr.rubric.criteria] == ["a", "b"]
    assert lr.hash == parse_rubric(GOOD, "other.yaml").hash
    assert lr.hash != parse_rubric(GOOD.replace("Demo", "Demo 2"), "demo.yaml").hash


@pytest.mark.parametrize("text,line,field,words", [
    (GOOD.replace("points: -4", "points: lots"), 11, "criteria[1].points", "valid number"),
    (GOOD.replace("points: -4", "points: 0"), 11, "criteria[1].points", "non-zero"),
    (GOOD.replace("kind: checklist", "kind: likert"), 3, "kind", "does not match"),
    (GOOD.replace("    text: Says to see a doctor.\n", ""), 6, "criteria[0].text", "Field required"),
    (GOOD.replace("title: Demo\n", "title: Demo\ncolour: red\n"), 5, "colour", "Extra inputs"),
    (GOOD.replace("id: b", "id: a"), 5, "criteria", "duplicate criterion id"),
    ("id: s\nversion: 1\nkind: scale\ntitle: S\ndimensions:\n  - id: d\n    question: q\n    anchors: {7: x}\n",
     6, "dimensions[0]", "outside 1..5"),
])
def test_errors_name_file_line_and_field(text, line, field, words):
    with pytest.raises(RubricInvalid) as info:
        parse_rubric(text, "bad.yaml")
    err = info.value.errors[0]
    assert (err.path, err.line, err.field) == ("bad.yaml", line, field)
    assert words in err.problem
    assert str(err).startswith(f"bad.yaml:{line}: {field}:")
    assert "\n" not in str(info.value)


def test_yaml_syntax_error_has_a_line():
    with pytest.raises(InputError) as info:
        parse_rubric("id: x\nkind: [checklist\ntitle: t\n", "broken.yaml")
    assert info.value.line is not None and "YAML syntax error" in str(info.value)


def test_unknown_reference_is_a_clear_error():
    with pytest.raises(Exception) as info:
        load_rubric("no-such-rubric-anywhere")
    assert "no such rubric file" in str(info.value)


def test_cli_validate_exit_codes(cli, tmp_path):
    good = write(tmp_path / "good.yaml", GOOD)
    bad = write(tmp_path / "bad.yaml", GOOD.replace("points: -4", "points: lots"))
    code, out, err = cli("rubric", "validate", good)
    assert code == 0 and "ok:" in out and "demo@1" in out
    code, out, err = cli("rubric", "validate", bad)
    assert code == 2
    assert f"{bad}:11: criteria[1].points:" in err and "Traceback" not in err


def test_cli_show_and_list(cli):
    code, out, _ = cli("rubric", "list")
    assert code == 0 and "healthbench" in out and "medhelm-quality" in out
    code, out, _ = cli("rubric", "show", "medhelm-quality")
    assert code == 0 and "accuracy" in out and "1: Contains errors" in out


def test_a_yaml_syntax_error_says_what_it_means_for_indentation(cli, tmp_path):
    from conftest import write

    bad = write(tmp_path / "r.yaml", "id: x\nversion: 1\nkind: checklist\ntitle: T\ncriteria:\n  - id: a\n"
                                     "    text: b\n   points: 3\n")
    code, _, err = cli("rubric", "validate", bad)
    assert code == 2 and f"{bad}:8: YAML syntax error" in err and "indentation of this line (column 4)" in err
    tabbed = write(tmp_path / "t.yaml", "id: x\ncriteria:\n\t- id: a\n")
    code, _, err = cli("rubric", "validate", tabbed)
    assert code == 2 and "YAML indents with spaces only" in err
