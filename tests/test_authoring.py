"""Authoring: templates, lint, rubric tests, LLM drafts and atomization (fake judge, real instructor/LiteLLM)."""

import json

import pytest
import yaml

from conftest import EXAMPLES, write
from medjudge.authoring import split_points
from medjudge.rubrics import load_rubric
from oracle import oracle


@pytest.mark.parametrize("kind", ["checklist", "scale", "safety", "nli"])
def test_new_templates_validate_and_lint_clean(cli, tmp_path, kind):
    code, out, err = cli("rubric", "new", "--kind", kind, "-o", f"{kind}.yaml")
    assert code == 0, err
    assert cli("rubric", "validate", f"{kind}.yaml")[0] == 0
    code, out, _ = cli("rubric", "lint", f"{kind}.yaml")
    assert code == 0 and "clean" in out
    code, _, err = cli("rubric", "new", "--kind", kind, "-o", f"{kind}.yaml")
    assert code == 2 and "exists" in err


BAD = """\
id: bad
version: 1
kind: checklist
title: Bad
criteria:
  - id: a
    text: Advises rest and recommends fluids.
    points: 5
  - id: b
    text: Gives appropriate advice.
    points: 3
  - id: c
    text: Fails to mention emergency services.
    points: 4
  - id: d
    text: Advises rest and recommends fluids.
    points: 2
  - id: e
    text: Correctly names the drug.
    points: -2
"""


def test_lint_rules_with_lines_and_exit_code(cli, tmp_path):
    f = write(tmp_path / "bad.yaml", BAD)
    code, out, err = cli("rubric", "lint", f)
    assert code == 1
    lines = out.splitlines()
    def has(rule, line):
        return any(f"{f}:{line}: " in l and rule in l for l in lines)
    assert has("C001", 7)  # two requirements joined by "and recommends"
    assert has("C002", 10)  # vague "appropriate"
    assert has("C003", 14)  # negative wording, positive points (points line)
    assert has("C005", 16)  # duplicate of a
    assert has("C004", 20)  # positive wording, negative points
    assert has("R001", 1) and has("R002", 1)
    assert all("Fix:" in l for l in lines)
    s = write(tmp_path / "s.yaml", "id: s\nversion: 1\nkind: scale\ntitle: S\ncitation: X 2020\ndimensions:\n"
              "  - id: d\n    question: q\n  - id: e\n    question: r\n    anchors: {1: low}\n")
    code, out, _ = cli("rubric", "lint", s)
    assert code == 1 and f"{s}:7: error S001" in out and "S002" in out


def test_rubric_test_command(cli, fake, tmp_path):
    loaded = load_rubric(EXAMPLES / "chest-pain-checklist.yaml")
    fake.responder = oracle(loaded)
    code, out, err = cli("rubric", "test", EXAMPLES / "chest-pain-checklist.yaml", "--judge", fake.judge(), "--db", "t.db")
    assert code == 0, err
    assert "8 of 8 expected verdicts matched" in out
    fake.responder = oracle(loaded, wrong=True)
    code, out, err = cli("rubric", "test", EXAMPLES / "chest-pain-checklist.yaml", "--judge", fake.judge("w"), "--db", "t.db")
    assert code == 1 and "0 of 8" in out and "Verdicts the judge got wrong" in out
    # verdicts in the rubric's words: an expected met beside the judge's unmet, never 1 beside 0
    rows = [line for line in out.splitlines() if line.startswith("│") and ("met" in line)]
    assert rows and all(("│ met " in r and "│ unmet " in r) for r in rows), out
    assert not any("│ 1 " in r or "│ 0 " in r for r in rows)


DRAFTED = {"id": "uti-advice", "version": "0.1", "kind": "checklist", "title": "UTI advice",
           "citation": "NICE NG109, 2018", "description": "d", "instructions": "i",
           "criteria": [{"id": "see_gp", "text": "Advises seeing a GP if symptoms last over 48 hours.", "points": 5,
                         "tags": []},
                        {"id": "fever", "text": "Says to seek urgent care for fever or back pain.", "points": 8, "tags": []}]}


def test_draft_retries_on_validation_errors_and_marks_unreviewed(cli, fake, tmp_path):
    replies = []

    def responder(request):
        replies.append(request)
        bad = json.loads(json.dumps(DRAFTED))
        bad["criteria"][0]["points"] = 0  # invalid: instructor must re-ask with the error
        return bad if len(replies) == 1 else DRAFTED

    fake.responder = responder
    g = write(tmp_path / "g.txt", "NICE: seek urgent care for fever with UTI symptoms.")
    code, out, err = cli("rubric", "draft", "--question", "I think I have a UTI, what should I do?",
                         "--guideline", g, "--judge", fake.judge("drafter"), "-o", "d.yaml")
    assert code == 0, err
    assert len(replies) == 2
    assert "points must be non-zero" in replies[1]["messages"][-1]["content"]
    assert "I think I have a UTI" in replies[0]["messages"][-1]["content"] and "NICE: seek urgent" in replies[0]["messages"][-1]["content"]
    text = (tmp_path / "d.yaml").read_text()
    assert text.startswith("# Machine-drafted by openai/drafter: NOT REVIEWED")
    r = load_rubric(tmp_path / "d.yaml").rubric
    assert r.drafted_by == "openai/drafter" and [c.id for c in r.criteria] == ["see_gp", "fever"]
    code, out, _ = cli("rubric", "lint", "d.yaml")
    assert "R003" in out and "not reviewed" in out


def test_draft_gives_up_with_a_clear_error(cli, fake):
    fake.responder = lambda r: {"id": "x"}
    code, out, err = cli("rubric", "draft", "--question", "q?", "--judge", fake.judge(), "-o", "d.yaml")
    assert code == 2 and "gave no valid ChecklistRubric" in err
    assert f"after {fake.count} tries" in err  # the attempts made, as many as the requests the judge got (issue 14)


def test_draft_with_an_unreachable_key_counts_no_tries(cli, fake):
    from medjudge.models.fakellm import Fault

    fake.responder = lambda r: Fault("401")
    code, out, err = cli("rubric", "draft", "--question", "q?", "--judge", fake.judge(), "-o", "d.yaml")
    assert code == 2 and "tries" not in err and "AuthenticationError" in err and fake.count == 1


def test_atomize_splits_compound_criteria_keeping_points(cli, fake, tmp_path):
    f = write(tmp_path / "r.yaml", BAD.split("  - id: b")[0] + "  - id: z\n    text: Mentions hydration.\n    points: 2\n"
              "examples:\n  - prompt: q\n    answer: a\n    expected: {a: true, z: false}\n")
    fake.responder = lambda r: {"parts": ["Advises rest.", "Recommends fluids."]}
    code, out, err = cli("rubric", "atomize", f, "--judge", fake.judge())
    assert code == 0, err
    assert fake.count == 1  # only the compound criterion is sent
    data = yaml.safe_load((tmp_path / "r.atomized.yaml").read_text())
    crit = {c["id"]: c for c in data["criteria"]}
    assert crit["a_1"]["text"] == "Advises rest." and crit["a_2"]["text"] == "Recommends fluids."
    assert crit["a_1"]["points"] + crit["a_2"]["points"] == 5 and "z" in crit
    assert data["examples"][0]["expected"] == {"z": False}
    assert load_rubric(tmp_path / "r.atomized.yaml").rubric.drafted_by == "openai/fake-judge"


@pytest.mark.parametrize("points,n", [(5, 2), (-10, 3), (1, 3), (7.5, 4)])
def test_split_points_sum_and_sign(points, n):
    parts = split_points(points, n)
    assert len(parts) == n and sum(parts) == pytest.approx(points)
    assert all(p != 0 and (p > 0) == (points > 0) for p in parts)
