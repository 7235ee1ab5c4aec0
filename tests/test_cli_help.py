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
