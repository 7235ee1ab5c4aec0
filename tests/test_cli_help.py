"""Every command's --help: no traceback, a description for the command and each option, documented."""

import pytest

from conftest import ROOT


def commands():
    import typer.main

    from medjudge.cli import _register, app

    _register()
    root = typer.main.get_command(app)
    out = []

    def walk(cmd, path):
        out.append((path, cmd))
        for name, sub in (getattr(cmd, "commands", None) or {}).items():
            walk(sub, path + [name])

    walk(root, [])
    return out


DOCS = "\n".join(p.read_text() for p in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))])
COMMANDS = commands()


@pytest.mark.parametrize("path,cmd", COMMANDS, ids=[" ".join(p) or "medjudge" for p, _ in COMMANDS])
def test_help(path, cmd, cli):
    code, out, err = cli(*path, "--help")
    assert code == 0 and "Traceback" not in out + err, err
    assert (cmd.help or "").strip(), f"medjudge {' '.join(path)} has no description"
    assert "<bool>" not in out  # a flag takes no value
    for p in cmd.params:
        if p.param_type_name == "option" and p.name != "help":
            assert (p.help or "").strip(), f"medjudge {' '.join(path)} {p.opts[0]} has no description"
    if path:
        assert f"medjudge {' '.join(path)}" in DOCS, f"medjudge {' '.join(path)} is not in the README or docs/"


def test_short_options_mean_one_thing_everywhere():
    seen = {}
    for path, cmd in COMMANDS:
        for p in cmd.params:
            for o in p.opts:
                if o.startswith("-") and not o.startswith("--"):
                    seen.setdefault(o, set()).add(p.opts[-1] if p.opts[-1].startswith("--") else p.opts[0])
    assert {o: names for o, names in seen.items() if len(names) > 1} == {}


def test_version(cli):
    from medjudge import __version__

    code, out, _ = cli("--version")
    assert code == 0 and out.strip() == f"medjudge {__version__}"


def test_the_store_loads_without_pandas_and_pandas_still_loads_after():
    """sqlite-utils would import pandas (0.6-1.0 s of every command's start-up) only for DataFrame column types."""
    import subprocess
    import sys

    code = ("import sys; import medjudge.store as s; print('pandas' in sys.modules); import pandas; "
            "print(pandas.DataFrame({'a': [1]}).shape); print(s.sqlite_utils.Database(':memory:')['t'].insert({'a': 1}).count)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "(1,", "1)", "1"]


def test_the_public_door_opens_without_dspy():
    """Commands that do not grade (runs, show, calibrate, compare) never pay for DSPy's import (about 1 s)."""
    import subprocess
    import sys

    code = ("import sys, medjudge.api as api; print('medjudge.grading' in sys.modules, 'dspy' in sys.modules); "
            "api.GradeResult; print('medjudge.grading' in sys.modules, 'dspy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    # GradeResult, asked for, brings grading in; grading itself imports DSPy only to format a prompt not yet stored
    assert out == ["False", "False", "True", "False"]
