"""Exception hierarchy raised by the core, and the exit codes the CLI maps them to.

The mapping lives here, in one place, so the CLI, the REST shim and the docs agree.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Process exit codes: part of the public interface (see docs/cli.md)."""

    OK = 0
    ERROR = 1  # unexpected internal error
    USAGE = 2  # bad arguments or bad input data
    NOT_FOUND = 3  # unknown trace, span, checkpoint or replay
    DATABASE = 4  # database unreachable or misconfigured
    EXECUTOR = 5  # the replay's executor failed or timed out
    DIFF_FOUND = 6  # --fail-on-diff and the outputs differ


class AgentTraceError(Exception):
    """Base class: every error the core raises on purpose."""

    exit_code: ExitCode = ExitCode.ERROR
    http_status: int = 500

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} {self.hint}" if self.hint else self.message


class InvalidInput(AgentTraceError):
    """The caller gave something malformed: a file, an option value, a URL."""

    exit_code = ExitCode.USAGE
    http_status = 422


class WouldDiscard(InvalidInput):
    """Replacing stored traces with changed copies would delete their checkpoints and replays."""

    def __init__(self, message: str, hint: str, discards: dict[str, tuple[int, int]]) -> None:
        super().__init__(message, hint)
        self.discards = discards  # trace id: (checkpoints, replays)


class AmbiguousId(InvalidInput):
    """An id prefix matches more than one object."""

    http_status = 409

    def __init__(self, prefix: str, candidates: list[str], what: str = "id") -> None:
        shown = ", ".join(candidates[:10]) + (" and more" if len(candidates) > 10 else "")
        super().__init__(
            f"{what} prefix '{prefix}' is ambiguous: {shown}.",
            "Type more characters of the id.",
        )
        self.candidates = candidates


class NotFound(AgentTraceError):
    """An id that names nothing."""

    exit_code = ExitCode.NOT_FOUND
    http_status = 404


class DatabaseUnavailable(AgentTraceError):
    """The database cannot be reached or started."""

    exit_code = ExitCode.DATABASE
    http_status = 503


class ExecutorError(AgentTraceError):
    """An executor is unknown, could not be loaded, raised, or ran past its timeout."""

    exit_code = ExitCode.EXECUTOR
    http_status = 502


class DiffFound(AgentTraceError):
    """Raised by the CLI under --fail-on-diff when the replay output differs."""

    exit_code = ExitCode.DIFF_FOUND
    http_status = 200
