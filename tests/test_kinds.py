"""Conformance of every rubric kind in the registry, the example plugin kind (examples/custom_kind.py) included:
its template validates and lints clean, compiles in both modes, grades its worked examples through the fake
judge, summarises, renders, exports, and imports expert labels in its own words."""

import io
import json
import sys

import pytest
from rich.console import Console

from conftest import EXAMPLES, write
from medjudge import api
from medjudge.inputs import example_items
from medjudge.judges import compile_rubric
from medjudge.judges.program import MODES
from medjudge.rubric_test import test_rubric as run_rubric_test
from medjudge.rubrics import kinds, parse_rubric
from medjudge.rubrics.lint import lint
from medjudge.rubrics.templates import template
from medjudge.store import Store
from oracle import oracle

sys.path.insert(0, str(EXAMPLES))
from custom_kind import YesNoRubric  # noqa: E402

kinds.register(YesNoRubric)  # adding a kind: its module, plus this one line (or an entry point)
KINDS = list(kinds.names())


def test_registry_has_the_builtin_kinds_and_the_plugin():
    assert KINDS[:5] == ["checklist", "scale", "safety", "nli", "pairwise"] and "yesno" in KINDS


@pytest.mark.parametrize("kind", KINDS)
def test_template_validates_lints_clean_and_compiles(kind):
    loaded = parse_rubric(template(kind), f"template:{kind}")
    assert loaded.rubric.kind == kind
    assert lint(loaded) == []
    for mode in MODES:
        program = compile_rubric(loaded.rubric, mode)
        assert program.output_schema()["type"] == "object"
        for ex, item in zip(loaded.rubric.examples, example_items(loaded)):
            calls = program.calls(item)
            assert {u.id for _, units in calls for u in units} == {u.id for u in loaded.rubric.units(item)}
            for _, units in calls:
                messages = program.messages(item, units)
                # formatted once per program, then only the user message: the same as DSPy's whole format
                assert messages == program.adapter.format(program.signature, program.demos, program.inputs(item, units))
                text = messages[-1]["content"]
                assert ex.answer in text
                # what the program writes as a judge's reply, it reads back as the same verdicts
                values = [loaded.rubric.values(u)[-1] for u in units]
                votes = program.parse(json.dumps(program.reply(units, values)), units)
                assert [votes[u.id].value for u in units] == values


def _variants(reply: dict) -> list[str]:
    """Replies around a valid one: as is, reordered, with extra keys, a field missing, each value as a string, as
    a number, as null, a nested list emptied or broken, fenced, and not JSON at all."""
    out = [json.dumps(reply), json.dumps(dict(reversed(list(reply.items())))), json.dumps({**reply, "extra": 1}),
           "```json\n" + json.dumps(reply) + "\n```", "no json here", "[1, 2]", "{}", json.dumps(reply)[:-2]]
    for k, v in reply.items():
        out.append(json.dumps({x: y for x, y in reply.items() if x != k}))
        for other in (json.dumps(v), str(v), f"Literal[{v!r}]", f" {v} ", 1, 0, 2.5, 2.0, None, True, "yes", "True",
                      "null", "None", "2.0", " 2 ", "[]", '["a"]', [], {}, [{"id": "x"}], ["a", 3]):
            out.append(json.dumps({**reply, k: other}))
        if isinstance(v, list) and v:
            first = dict(v[0]) if isinstance(v[0], dict) else v[0]
            if isinstance(first, dict):
                out.append(json.dumps({**reply, k: [{**first, **{f: "1" for f in first}}]}))
                out.append(json.dumps({**reply, k: [{x: y for x, y in list(first.items())[1:]}]}))
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_reply_read_as_dspy_reads_it(kind):
    """A reply read without DSPy's adapter (judges/program.py plain_fields) gives exactly DSPy's
    JSONAdapter.parse result, or is left to DSPy: every variant either matches DSPy's fields or fails as DSPy does."""
    from medjudge.judges.program import plain_fields

    loaded = parse_rubric(template(kind), f"template:{kind}")
    taken = 0
    for mode in MODES:
        program = compile_rubric(loaded.rubric, mode)
        for item in example_items(loaded):
            for _, units in program.calls(item):
                values = [loaded.rubric.values(u)[-1] for u in units]
                for text in _variants(program.reply(units, values)):
                    try:
                        expected = program.adapter.parse(program.signature, text)
                    except Exception as exc:
                        expected = type(exc)
                    fast = plain_fields(program.spec.outputs, text)
                    if fast is not None:
                        taken += 1
                        assert fast == expected and list(fast) == list(expected), text
                    try:
                        got = program.read_reply(text)
                    except Exception:
                        got = "refused"
                    assert got == ("refused" if isinstance(expected, type) else expected), text
    assert taken > 20  # the plain read is the one taken for ordinary replies


@pytest.mark.parametrize("kind", KINDS)
def test_grades_summarises_renders_exports(kind, fake, tmp_path):
    loaded = parse_rubric(template(kind), f"template:{kind}")
    r = loaded.rubric
    for mode in MODES:
        fake.responder = oracle(loaded)
        store = Store(tmp_path / f"{mode}.db")
        checks = run_rubric_test(store, loaded, [fake.judge()], mode=mode)
        assert checks and all(c.ok for c in checks), [c for c in checks if not c.ok]
        run_id = store.list_runs()[0]["id"]
        result = api.summarize(store, run_id, resamples=20)
        assert result.summary["kind"] == kind and result.coverage["share"] == 1.0
        assert result.summary["answers_scored"] == len(r.examples)
        out = io.StringIO()
        from medjudge.view.console import render

        render(result.summary, Console(file=out, width=200))
        assert f"({kind}, {mode})" in out.getvalue() and "coverage: " in out.getvalue()
        # the export puts each verdict beside its unit's text, and the verdict is the expected one
        for ex, item, row in zip(r.examples, example_items(loaded), result.answers):
            units = {u.id: u for u in r.units(item)}
            for u in row["units"]:
                assert u["text"] and u["value"] == r.expected_value(units[u["unit_id"]], ex.expected[u["unit_id"]])
        judgments = list(api.judgment_rows(store, run_id))
        assert judgments and all(j["unit_text"] for j in judgments)
        # the HTML report renders the kind, with every figure its report_rows names
        html_path = tmp_path / f"{mode}.html"
        api.write_report(store, run_id, html_path)
        html = html_path.read_text()
        for _, rows in r.report_rows(result.summary):
            assert all(f'data-key="{row["key"]}"' in html for row in rows)


@pytest.mark.parametrize("kind", KINDS)
def test_imports_expert_labels_in_its_own_words(kind, tmp_path):
    loaded = parse_rubric(template(kind), f"template:{kind}")
    r = loaded.rubric
    path = tmp_path / "rubric.yaml"
    write(path, loaded.text)
    lines, expected = ["item_id,unit_id,rater,value"], {}
    for i, (ex, item) in enumerate(zip(r.examples, example_items(loaded))):
        units = {u.id: u for u in r.units(item)}
        for unit_id, raw in ex.expected.items():
            word = str(raw).lower() if isinstance(raw, bool) else str(raw)  # as a spreadsheet writes it
            lines.append(f"ex{i},{unit_id},dr_a,{word}")
            expected[(f"ex{i}", unit_id)] = r.expected_value(units[unit_id], raw)
    lines.append("ex0,%s,dr_b,not-a-label" % next(iter(r.examples[0].expected)))
    report = api.import_annotations(tmp_path / "a.db", write(tmp_path / "labels.csv", "\n".join(lines) + "\n"),
                                    rubric=str(path))
    assert report.valid == len(expected) and report.rows == len(expected) + 1
    assert list(report.problems) and r.labels  # the bad label is reported, and the kind says what fits
    got = {(a["item_id"], a["unit_id"]): a["value"] for a in Store(tmp_path / "a.db").annotations()}
    assert got == expected


@pytest.mark.parametrize("kind,word,value", [
    ("checklist", "Met", 1.0), ("checklist", "unmet", 0.0), ("checklist", "1", 1.0), ("checklist", "no", 0.0),
    ("scale", "4", 4.0), ("scale", "3.5", 3.5), ("safety", "High risk", 4.0), ("safety", "2", 2.0),
    ("nli", "Entailment", 1.0), ("nli", "contradicted", -1.0), ("nli", "Neutral", 0.0), ("yesno", "yes", 1.0),
    ("pairwise", "A", 1.0), ("pairwise", "tie", 0.0), ("pairwise", "b", -1.0)])
def test_label_words(kind, word, value):
    r = parse_rubric(template(kind), "t").rubric
    unit = r.units(example_items(parse_rubric(template(kind), "t"))[0])[0]
    assert r.label_value(unit, word) == value


@pytest.mark.parametrize("kind,word", [("checklist", "2"), ("scale", "6"), ("safety", "extreme risk"),
                                       ("nli", "2"), ("nli", "true"), ("yesno", "maybe"), ("pairwise", "first")])
def test_label_words_that_do_not_fit(kind, word):
    r = parse_rubric(template(kind), "t").rubric
    unit = r.units(example_items(parse_rubric(template(kind), "t"))[0])[0]
    with pytest.raises(ValueError):
        r.label_value(unit, word)


def test_rubric_new_lists_every_kind_when_the_kind_is_unknown(cli):
    code, _, err = cli("rubric", "new", "--kind", "ranking")
    assert code == 2 and "unknown rubric kind 'ranking'" in err and "checklist, scale, safety, nli, pairwise" in err
