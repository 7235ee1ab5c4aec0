"""A scripted judge that answers a rubric's worked examples with their expected verdicts (or wrong ones).

It knows no rubric kind: it recognises each request by the messages the kind's own judge program builds,
and answers with the program's `reply` for the expected values."""

from medjudge.inputs import example_items
from medjudge.judges import compile_rubric
from medjudge.judges.program import MODES


def oracle(loaded, wrong=False):
    rubric = loaded.rubric
    known = {}  # last user message -> (program, units, example)
    for mode in MODES:
        program = compile_rubric(rubric, mode)
        for ex, item in zip(rubric.examples, example_items(loaded)):
            for _, units in program.calls(item):
                known[program.messages(item, units)[-1]["content"]] = (program, units, ex)

    def value(ex, unit):
        v = rubric.expected_value(unit, ex.expected[unit.id])
        if not wrong:
            return v
        values = rubric.values(unit)
        return values[(values.index(v) + 1) % len(values)]

    def responder(request):
        program, units, ex = known[request["messages"][-1]["content"]]
        units = [u for u in units if u.id in ex.expected]  # units without an expected verdict go unanswered
        return program.reply(units, [value(ex, u) for u in units]) if units else {}

    return responder
