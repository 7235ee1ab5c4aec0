"""The `medjudge` command: a thin typer shell over the library. Heavy imports happen inside commands."""

from __future__ import annotations

import sys

import typer

from ..errors import MedjudgeError

app = typer.Typer(help="Grade free-form health answers with LLM judges; measure how far the judges can be trusted.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False, rich_markup_mode=None)


def _version(value: bool):
    if value:
        from .. import __version__

        typer.echo(f"medjudge {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="print the version and exit")):
    """Grade free-form health answers with LLM judges; measure how far the judges can be trusted."""


def _register():
    # each registers its commands; this order is the order of `medjudge --help`
    from . import quickstart, generate, grade, batch, runs, compare, calibrate, estimate, probe, optimize, review, rubric, doctor  # noqa: F401,I001


INTERRUPTED = "interrupted: finished judgments are saved; rerun the same command (or grade --resume RUN_ID) to resume"


def main(argv=None):
    import warnings

    # cancelling in-flight LiteLLM calls (Ctrl-C, an unreachable judge) leaves coroutines it never awaited
    warnings.filterwarnings("ignore", message="coroutine .* was never awaited", category=RuntimeWarning)
    _register()
    try:
        rc = app(args=argv, standalone_mode=False)
    except MedjudgeError as exc:
        from ..errors import Interrupted
        from ..secrets import redact

        typer.echo(redact(str(exc)) if isinstance(exc, Interrupted) else f"error: {redact(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        rc = 130
    except Exception as exc:
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):  # typer's (vendored click) usage errors
            exc.show()
            sys.exit(exc.exit_code)
        raise
    if rc == 130:  # typer turns Ctrl-C into exit code 130
        typer.echo(INTERRUPTED, err=True)
    sys.exit(rc if isinstance(rc, int) else 0)


def run():
    """The `medjudge` console script: main(), then the interpreter's teardown without its garbage collections
    (gc.freeze: what is left is freed by reference counting and the operating system). Those collections walked
    every object DSPy and pydantic created at import, 0.2-0.3 s after every grade (benchmarks/bench_peer.py);
    atexit handlers and stream flushes still run, and every store is closed first (store.close_all: the database
    file alone then holds every judgment). Not in main(), which tests call in-process."""
    try:
        main()
    finally:
        import gc

        if "medjudge.store" in sys.modules:
            sys.modules["medjudge.store"].close_all()
        gc.disable()
        gc.freeze()

