"""Errors that reach the user as one line, never as a traceback; the exit codes (README, "Exit codes")."""

EXIT_OK = 0  # a complete run, every expected unit scored (at least --min-coverage)
EXIT_INPUT = 2  # bad input, bad option, bad configuration: nothing was judged
EXIT_INCOMPLETE = 3  # some units were not judged (failed calls after retries): rerun to finish
EXIT_FAILED = 4  # the run stopped: a judge cannot be used, or a worker failed
EXIT_COVERAGE = 5  # complete, but fewer units scored than --min-coverage (grade) or too few for a verdict (calibrate)
EXIT_GATE = 6  # a gate the user set was not met: --fail-under/--fail-over (grade), --require (calibrate), --require-better (compare)
EXIT_INTERRUPTED = 130  # Ctrl-C: finished judgments are kept


class MedjudgeError(Exception):
    """A user-facing error: bad input, bad configuration. The CLI prints it on one line, exit 2."""

    exit_code = 2


class InputError(MedjudgeError):
    """Malformed input file; the message names file, line and field."""

    def __init__(self, path, line, field, problem):
        self.path, self.line, self.field, self.problem = str(path), line, field, problem
        where = f"{self.path}:{line}" if line else self.path
        what = f" {field}:" if field else ""
        super().__init__(f"{where}:{what} {problem}")


class RunFailed(MedjudgeError):
    """The run stopped before it could finish; its finished judgments are kept."""

    exit_code = EXIT_FAILED


class Interrupted(MedjudgeError):
    """Ctrl-C: the run stopped; its finished judgments are kept, and the message says how to resume it."""

    exit_code = EXIT_INTERRUPTED


class JudgeError(RunFailed):
    """A judge cannot be used at all (bad credentials, unknown model): the run stops, keeping its work."""
