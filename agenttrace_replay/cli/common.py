"""What every command shares: settings from the global options, running the async core,
turning errors into one line and an exit code, and writing data to stdout.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Awaitable, Callable, NoReturn, TypeVar

import typer

from agenttrace_replay.errors import AgentTraceError, DatabaseUnavailable, ExitCode, InvalidInput

if TYPE_CHECKING:
    from rich.console import Console

    from agenttrace_replay.config import Settings
    from agenttrace_replay.db import Database

T = TypeVar("T")


@dataclass
class GlobalOptions:
    db: str | None = None
    config: str | None = None
    debug: bool = False


def options(ctx: typer.Context) -> GlobalOptions:
    root = ctx.find_root()
    return root.obj if isinstance(root.obj, GlobalOptions) else GlobalOptions()


# Text from a trace or a file is not to be trusted: an escape sequence in a fetched web page
# or a model's answer could clear the screen, retitle the window or hide the lines around it,
# and a bidirectional override would reorder the rest of the line (ids included). Shown as
# escapes: C0 controls but tab and newline, DEL, C1 controls, the bidirectional marks,
# embeddings, overrides and isolates, and the invisible zero-width space, word joiner and
# byte-order mark (not the zero-width (non-)joiners, which scripts and emoji need), and the
# line and paragraph separators (Rich breaks lines there); with one_line also newline and tab.
_UNSAFE = "\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
_CONTROL = re.compile(f"[{_UNSAFE}]")
_CONTROL_LINE = re.compile(f"[{_UNSAFE}\n\t]")


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return {"\n": "\\n", "\t": "\\t", "\r": "\\r"}.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


# Unicode tag characters are invisible: text hidden in them ("ASCII smuggling") is a way to
# slip instructions past a reader of a model's input or output. Shown as escapes, except
# in a flag emoji, where they follow U+1F3F4 (England's flag is one).
_TAGS = re.compile("(?<![\U0001F3F4\U000E0000-\U000E007F])[\U000E0000-\U000E007F]+")


def _escape_tags(match: re.Match[str]) -> str:
    return "".join(f"\\U{ord(char):08x}" for char in match.group())


def printable(value: Any, *, one_line: bool = False) -> str:
    """Text from a trace made safe to print: control characters shown as escapes (``\\x1b``);
    with ``one_line``, newlines and tabs too, so a table row or a heading stays one line."""
    text = value if isinstance(value, str) else str(value)
    text = (_CONTROL_LINE if one_line else _CONTROL).sub(_escape, text)
    return _TAGS.sub(_escape_tags, text) if "\U000E0000" <= max(text, default="\x00") else text


def stdout() -> "Console":
    from rich.console import Console

    return Console(soft_wrap=False, highlight=False)


def stderr() -> "Console":
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def fail(error: AgentTraceError, debug: bool = False) -> NoReturn:
    if debug:
        import traceback

        traceback.print_exception(error, file=sys.stderr)
    sys.stderr.write(f"error: {printable(error, one_line=True)}\n")
    raise typer.Exit(int(error.exit_code))


def load(ctx: typer.Context) -> "Settings":
    from agenttrace_replay.config import load_settings

    opts = options(ctx)
    return load_settings(opts.db, opts.config)


def run(ctx: typer.Context, body: Callable[["Database"], Awaitable[T]], *, migrate: bool = True) -> T:
    """Connect, run ``body(db)``, close; every core error becomes one line and its exit code."""

    import asyncio  # here, not at the top: --help never needs it (a fifth of its start-up)

    # The result is handed over here, not as the task's result: when asyncio.run restores the
    # SIGINT handler, the signal module tries the old one (which holds the task) as an enum
    # member and formats a message with the task's repr, which holds the result's: a whole
    # trace, 1.2 s for one of 20,000 spans.
    results: list[T] = []

    async def main() -> None:
        from agenttrace_replay.db import connect

        if not options(ctx).debug:  # asyncpg's own warnings (a pool that lost its server) would print tracebacks
            import logging

            for name in ("asyncpg", "asyncio"):  # asyncio: "socket.send() raised exception." per write
                logger = logging.getLogger(name)
                if not logger.handlers:
                    logger.addHandler(logging.NullHandler())

        import asyncio

        _stop_on_termination_signals(asyncio.current_task())
        db = await connect(load(ctx), migrate=migrate)
        try:
            results.append(await body(db))
        finally:
            await db.close()

    guarded(ctx, lambda: asyncio.run(main()))
    return results[0]


# The signal that stopped the command, when it was not Ctrl-C: its exit code is 128 + it.
_stopped_by: int | None = None


def _stop_on_termination_signals(task: Any) -> None:
    """SIGTERM and SIGHUP (a CI job cancelled, `timeout`, `docker stop`, a closed terminal)
    stop a command the way Ctrl-C does: its task is cancelled, so a running replay is stored
    as interrupted and a write is rolled back. Through the event loop, so it works whatever
    SIGINT's disposition (background jobs of a script start with SIGINT ignored). A signal
    the parent set to be ignored (`nohup`) stays ignored; a second one changes nothing, the
    command is already stopping."""
    import asyncio
    import signal

    loop = asyncio.get_running_loop()

    def stop(number: int) -> None:
        global _stopped_by
        if _stopped_by is None:
            _stopped_by = number
            task.cancel()
        for other in numbers:  # from now on ignored, also once the loop has closed: it is stopping
            loop.remove_signal_handler(other)
            signal.signal(other, signal.SIG_IGN)

    numbers: list[int] = []

    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is None or signal.getsignal(number) == signal.SIG_IGN:
            continue
        try:
            loop.add_signal_handler(number, stop, number)
        except (NotImplementedError, RuntimeError, ValueError):  # Windows, or not the main thread
            return
        numbers.append(number)


def guarded(ctx: typer.Context, fn: Callable[[], T]) -> T:
    global _stopped_by
    debug = options(ctx).debug
    _stopped_by = None
    try:
        return fn()
    except AgentTraceError as exc:
        fail(exc, debug)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort, SystemExit):
        raise
    except Exception as exc:  # an unexpected failure: one line, the traceback only with --debug
        if debug:
            raise
        refused = _refused_value(exc)
        if refused is not None:
            fail(refused, debug)
        reason = printable(f"{type(exc).__name__}: {exc}", one_line=True)
        sys.stderr.write(f"error: internal error: {reason} (run with --debug for the traceback)\n")
        raise typer.Exit(int(ExitCode.ERROR)) from None
    except BaseException as exc:  # the task cancelled by SIGTERM or SIGHUP
        asyncio = sys.modules.get("asyncio")
        if _stopped_by is not None and asyncio is not None and isinstance(exc, asyncio.CancelledError):
            sys.stderr.write(f"terminated (signal {_stopped_by})\n")
            raise typer.Exit(128 + _stopped_by) from None
        raise


def _refused_value(exc: Exception) -> AgentTraceError | None:
    """A value given on the command line that cannot be stored or looked up, as bad input."""
    if isinstance(exc, UnicodeEncodeError):  # undecodable bytes in an argument
        return InvalidInput("a value given is not valid UTF-8 text.", "Check the arguments' encoding.")
    asyncpg = sys.modules.get("asyncpg")
    if asyncpg is None or not isinstance(exc, asyncpg.PostgresError):
        return None
    reason = (str(exc).splitlines()[0] if str(exc) else type(exc).__name__).rstrip(".")  # no DETAIL or HINT lines
    if isinstance(exc, (asyncpg.DataError, asyncpg.ProgramLimitExceededError)):
        return InvalidInput(f"the database refused a value given: {reason}.")
    return DatabaseUnavailable(f"the database refused: {reason}.", _refusal_hint(asyncpg, exc))


def _refusal_hint(asyncpg: Any, exc: Exception) -> str:
    """What to do about an error the server raised: the server said no, this tool did not fail."""
    if isinstance(exc, asyncpg.InsufficientPrivilegeError):
        return "The database role needs the rights docs/configuration.md lists; nothing was changed."
    if isinstance(exc, asyncpg.ReadOnlySQLTransactionError):
        return "The server or database is read-only: use a writable one for this command; nothing was changed."
    if isinstance(exc, asyncpg.QueryCanceledError):
        return "A statement ran past the server's statement_timeout: raise it for this role; nothing was changed."
    if isinstance(exc, (asyncpg.SerializationError, asyncpg.DeadlockDetectedError)):
        return "Another command changed the same data at the same time; nothing was changed: run it again."
    if isinstance(exc, asyncpg.DuplicateTableError):
        return "The schema already has tables of that name from another tool: choose another schema (AGENTTRACE_SCHEMA)."
    return "Nothing was changed. Run with --debug for the details."


def _json_default(value: Any) -> Any:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "as_dict"):
        return value.as_dict()
    return str(value)


def print_json(data: Any) -> None:
    from agenttrace_replay.jsonio import dumps_pretty

    write_stdout(dumps_pretty(data, default=_json_default) + "\n")


def note(text: str) -> None:
    """One line for the user on stderr: never wrapped at the console width, escapes shown."""
    sys.stderr.write(printable(text, one_line=True) + "\n")


def print_line(text: str) -> None:
    """One plain line of data on stdout: never wrapped at the console width, never markup."""
    write_stdout(text + "\n")


def is_utf8(stream: Any) -> bool:
    """Whether a text stream encodes as UTF-8 (`utf-8`, `UTF8`, `utf_8` all count)."""
    encoding = getattr(stream, "encoding", None) or ""
    return encoding.lower().replace("-", "").replace("_", "") == "utf8"


def write_stdout(text: str) -> None:
    """Text on stdout in UTF-8 whatever the locale says: JSON and exports are UTF-8, and a
    stdout set to ASCII (`LANG=C`, `PYTHONIOENCODING=ascii`) must not crash a command."""
    if sys.stdout is None:  # started with stdout closed: nowhere to write
        return
    buffer = getattr(sys.stdout, "buffer", None)
    if is_utf8(sys.stdout) or buffer is None:
        sys.stdout.write(text)
        return
    sys.stdout.flush()
    buffer.write(text.encode("utf-8"))
    buffer.flush()


def confirm(question: str, yes: bool) -> None:
    """Ask on a terminal; refuse without --yes when nobody can answer."""
    if yes:
        return
    if not sys.stdin.isatty():
        sys.stderr.write("error: nothing deleted: standard input is not a terminal. Pass --yes to confirm.\n")
        raise typer.Exit(int(ExitCode.USAGE))
    if not typer.confirm(printable(question, one_line=True), default=False, err=True):
        sys.stderr.write("nothing deleted\n")
        raise typer.Exit(int(ExitCode.OK))


JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON to stdout instead of text.")]
YesFlag = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
