"""Errors that reach the user as one line, never as a traceback."""


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


class JudgeError(MedjudgeError):
    """A judge cannot be used at all (bad credentials, unknown model): the run stops, keeping its work."""
