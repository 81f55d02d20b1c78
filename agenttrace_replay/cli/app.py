"""The ``agenttrace-replay`` command: global options and the command groups.

Heavy modules (asyncpg, the core, Rich renderers) are imported inside the commands, so
``--help`` and ``--version`` stay fast.
"""

from __future__ import annotations

import sys
from typing import Annotated, Optional

import typer

from agenttrace_replay import __version__
from agenttrace_replay.cli import checkpoint_cmd, db_cmd, demo_cmd, replay_cmd, trace_cmd
from agenttrace_replay.cli.common import GlobalOptions

app = typer.Typer(
    name="agenttrace-replay",
    help="Time-travel debugger for AI agents: import traces, checkpoint, replay, diff.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"agenttrace-replay {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    db: Annotated[Optional[str], typer.Option("--db", help="PostgreSQL URL; overrides AGENTTRACE_DATABASE_URL and the config file.", metavar="URL")] = None,
    config: Annotated[Optional[str], typer.Option("--config", help="YAML config file (default: ./agenttrace.yaml, then the user config folder).", metavar="FILE")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    ctx.obj = GlobalOptions(db=db, config=config, debug=debug)


app.add_typer(db_cmd.app, name="db")
app.add_typer(trace_cmd.app, name="trace")
app.add_typer(checkpoint_cmd.app, name="checkpoint")
app.add_typer(replay_cmd.app, name="replay")
app.add_typer(replay_cmd.executors_app, name="executors")
app.command("diff")(replay_cmd.diff)
app.command("demo")(demo_cmd.demo)


def main(prog_name: str | None = None) -> None:
    _never_fail_on_encoding()
    try:
        try:
            app(prog_name=prog_name)
        finally:
            if sys.stdout is not None:  # None when the command was started with stdout closed
                sys.stdout.flush()
    except OSError as exc:  # the output could not be written: a full disk, a closed pipe
        _output_failed(exc)


def _output_failed(exc: OSError) -> None:
    import errno
    import os

    sys.stdout = open(os.devnull, "w")  # nothing more to flush at exit
    if exc.errno == errno.EPIPE:  # the reader stopped reading (`| head`): not an error
        raise SystemExit(0)
    sys.stderr.write(f"error: cannot write the output: {exc.strerror or exc}.\n")
    raise SystemExit(2)


def _never_fail_on_encoding() -> None:
    """On a terminal or pipe that is not UTF-8 (`PYTHONIOENCODING=ascii`, an old locale), a
    character it cannot show is printed as `?` instead of stopping the command; data
    (JSON, exports) is written as UTF-8 bytes anyway (`common.write_stdout`)."""
    from agenttrace_replay.cli.common import is_utf8

    for stream in (sys.stdout, sys.stderr):
        if not is_utf8(stream) and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
