"""Commented templates for `medjudge rubric new --kind KIND`. Each one validates as it is."""

COMMON = '''\
# A medjudge rubric. Validate with `medjudge rubric validate FILE`, check with `medjudge rubric lint FILE`,
# test the worked examples with `medjudge rubric test FILE --judge MODEL`.
id: my-rubric            # lower-case id: letters, digits, - _ .
version: "1.0"           # bump when the judging changes: the content hash identifies each version in the db
kind: {kind}
title: A short title
citation: "Author et al., Paper or guideline, 2025"   # where the criteria come from
description: >
  Where this rubric comes from and how the original work used it.
instructions: |
  What the judge should keep in mind beyond the criteria (audience, setting, what to ignore).
# source_field: source_document   # optional: a field of each example with a document to judge against
'''

def template(kind: str) -> str:
    """The template of a registered kind (MedjudgeError naming the kinds when there is none)."""
    from .kinds import get

    return COMMON.format(kind=kind) + get(kind).template
