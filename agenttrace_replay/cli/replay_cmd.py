"""``replay run | show | list``, ``diff`` and ``executors list``."""

from __future__ import annotations

import sys
from typing import Annotated, Any, Optional

import typer

from agenttrace_replay.cli.common import JsonFlag, guarded, load, print_json, printable, run, stdout
from agenttrace_replay.errors import AgentTraceError, ExitCode, InvalidInput

app = typer.Typer(help="Re-execute an agent from a checkpoint and inspect replays.", no_args_is_help=True)
executors_app = typer.Typer(help="List the executors replays can use.", no_args_is_help=True)

ReplayArg = Annotated[str, typer.Argument(help="Replay id or a unique prefix.", metavar="REPLAY")]
IgnoreOpt = Annotated[Optional[list[str]], typer.Option("--ignore", help="Diff path pattern to ignore (repeatable), e.g. '*.id'.", metavar="PATTERN")]


def _engine(db, own_thread: bool = False):  # type: ignore[no-untyped-def]
    from agenttrace_replay.checkpoint import CheckpointManager
    from agenttrace_replay.executor import ReplayExecutor

    return ReplayExecutor(CheckpointManager(db), db, own_thread=own_thread)


def _daemon_worker_threads() -> None:
    """Run the event loop's worker-thread jobs on daemon threads that nobody waits for.

    A replay's timeout stops *waiting* for the executor, but blocking code in a worker thread
    cannot be stopped. With the default thread pool, ``asyncio.run`` and then the interpreter
    wait for it at exit, so ``--timeout 5`` on a graph stuck for an hour would hang for an
    hour. On daemon threads the command reports the timeout and exits; the abandoned work
    dies with the process. (The executor itself runs on its own loop and thread, see
    executors/deadline.py; this covers what else the main loop hands to threads.)
    """
    import asyncio

    from agenttrace_replay.executors.deadline import DaemonThreads

    asyncio.get_running_loop().set_default_executor(DaemonThreads())


@app.command("run")
def run_(
    ctx: typer.Context,
    checkpoint: Annotated[str, typer.Argument(help="Checkpoint id or a unique prefix.", metavar="CHK")],
    input: Annotated[Optional[list[str]], typer.Option("--input", "-i", help="KEY=VALUE merged into the span's input; VALUE is JSON when it parses; dotted keys reach into objects (repeatable).", metavar="KEY=VALUE")] = None,
    input_file: Annotated[Optional[str], typer.Option("--input-file", help="JSON or YAML object merged into the span's input (before --input).", metavar="FILE")] = None,
    override: Annotated[Optional[list[str]], typer.Option("--override", "-o", help="Agent override KEY=VALUE, e.g. model=gpt-4o-mini (repeatable).", metavar="KEY=VALUE")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Use the mock executor: no network, no LLM calls.")] = False,
    executor: Annotated[Optional[str], typer.Option("--executor", "-e", help="Executor name (see: agenttrace-replay executors list).")] = None,
    graph: Annotated[Optional[str], typer.Option("--graph", help="LangGraph graph to run, as module:attr.", metavar="MODULE:ATTR")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint for the openai executor.", metavar="URL")] = None,
    stop_at: Annotated[Optional[str], typer.Option("--stop-at", help="Stop before this later span of the trace (id or prefix); executors that run on past the checkpoint's span (langgraph) honour it.", metavar="SPAN")] = None,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds before the replay is stopped and stored as timed out.")] = 300.0,
    fail_on_diff: Annotated[bool, typer.Option("--fail-on-diff", help=f"Exit {int(ExitCode.DIFF_FOUND)} when the replay output differs from the original.")] = False,
    ignore: IgnoreOpt = None,
    json: JsonFlag = False,
) -> None:
    """Replay from a checkpoint, store the result, and print a summary and the diff."""
    from agenttrace_replay.executor import ReplayConfig
    from agenttrace_replay.inputs import combine_patches, parse_assignments, read_input_file

    def build() -> ReplayConfig:
        given = {"--executor": executor, "--graph": graph, "--base-url": base_url, "--stop-at": stop_at, "--input-file": input_file}
        for flag, value in given.items():
            if value is not None and not value.strip():
                raise InvalidInput(f"{flag} must not be empty.", "Give a value or leave the option out.")
        patch: dict[str, Any] = read_input_file(input_file) if input_file else {}
        if input:
            patch = combine_patches(patch, parse_assignments(input, "--input"))
        overrides = parse_assignments(override, "--override") if override else None
        settings = load(ctx).executor
        # --executor > --dry-run > the config file's default > the agent's framework
        chosen = executor or (None if dry_run else settings.get("default"))
        return ReplayConfig(
            modified_input=patch or None, agent_overrides=overrides, timeout_seconds=timeout, dry_run=dry_run,
            stop_at_span=stop_at,
            executor=chosen, graph=graph or settings.get("graph"),
            base_url=base_url or settings.get("base_url"), api_key_env=settings.get("api_key_env") or "OPENAI_API_KEY",
            ignore=list(ignore or []), settings=settings,
        )

    config = guarded(ctx, build)
    guarded(ctx, config.validate)

    async def replay(db):  # type: ignore[no-untyped-def]
        import asyncio

        _daemon_worker_threads()
        engine = _engine(db, own_thread=True)
        try:
            return await engine.replay(checkpoint, config)
        except asyncio.CancelledError:  # Ctrl-C or a termination signal: the stored interrupted replay
            if json and engine.interrupted is not None:
                print_json(engine.interrupted.as_dict())
            raise
        except AgentTraceError as exc:
            unstored = getattr(exc, "result", None)
            if unstored is None:
                raise
            # it ran but could not be stored: keep it in a file and say where
            path = _save_unstored(unstored, load(ctx).data_dir)
            if json:
                print_json(unstored.as_dict())
            exc.hint = f"Its result is kept in {path}."
            raise

    result = run(ctx, replay)
    if json:
        print_json(result.as_dict())
    else:
        from agenttrace_replay.cli.render_replay import replay_summary

        stdout().print(replay_summary(result, show_diff=True))
    # the reason on stderr also with --json (stdout stays the JSON): it is what a CI log shows
    if not result.success:  # one line, not wrapped to the console's width
        sys.stderr.write(f"error: replay {result.replay_id} failed: {_one_line(result.error)}\n")
        raise typer.Exit(int(ExitCode.EXECUTOR))
    if fail_on_diff and result.diff and result.diff.get("has_changes"):
        sys.stderr.write(f"outputs differ: {_one_line(result.diff.get('summary'))}\n")
        raise typer.Exit(int(ExitCode.DIFF_FOUND))


def _save_unstored(result: Any, data_dir: Any) -> Any:
    """Write a replay that could not be stored to the data folder; its path (else a note why not)."""
    import json as jsonlib
    from pathlib import Path

    from agenttrace_replay.cli.common import _json_default

    folder = Path(data_dir) / "unstored-replays"
    path = folder / f"{result.replay_id}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path.write_text(jsonlib.dumps(result.as_dict(), indent=2, ensure_ascii=False, default=_json_default) + "\n")
    except OSError as exc:
        return f"no file either ({path}: {exc.strerror or exc}); --json prints it"
    return path


def _one_line(text: str | None) -> str:
    return printable(" ".join((text or "unknown error").split()), one_line=True)


@app.command("show")
def show(ctx: typer.Context, replay: ReplayArg, json: JsonFlag = False) -> None:
    """Show a stored replay: its config, outcome, outputs and diff summary."""
    result = run(ctx, lambda db: _engine(db).get_replay(replay))
    if json:
        print_json(result.as_dict())
        return
    from agenttrace_replay.cli.render_replay import replay_summary

    stdout().print(replay_summary(result, show_diff=True, show_outputs=True))


@app.command("list")
def list_(ctx: typer.Context, trace: Annotated[str, typer.Argument(help="Trace id or a unique prefix.", metavar="TRACE")], json: JsonFlag = False) -> None:
    """List a trace's replays, oldest first."""
    rows = run(ctx, lambda db: _engine(db).list_replays(trace))
    if json:
        print_json(rows)
        return
    if not rows:
        sys.stderr.write("no replays for this trace yet (run one with: agenttrace-replay replay run CHK)\n")
        return
    from agenttrace_replay.cli.render import print_lines
    from agenttrace_replay.cli.render_replay import replay_table

    out = stdout()
    print_lines(out, replay_table(rows, out.width))


def diff(
    ctx: typer.Context,
    replay: ReplayArg,
    unified: Annotated[bool, typer.Option("--unified", help="A unified text diff instead of two columns.")] = False,
    side_by_side: Annotated[bool, typer.Option("--side-by-side", help="Two columns (the default).")] = False,
    ignore: IgnoreOpt = None,
    json: JsonFlag = False,
) -> None:
    """Show how a replay's output differs from the original: side by side, unified or JSON."""
    if unified and side_by_side:
        sys.stderr.write("error: choose one of --unified and --side-by-side.\n")
        raise typer.Exit(int(ExitCode.USAGE))
    result = run(ctx, lambda db: _engine(db).get_replay(replay))
    if not result.success:
        sys.stderr.write(f"error: replay {result.replay_id} failed ({_one_line(result.error)}): it has no output to compare.\n")
        raise typer.Exit(int(ExitCode.EXECUTOR))
    report = result.diff or {}
    if ignore:
        from agenttrace_replay.differ import compute_diff

        report = guarded(ctx, lambda: compute_diff(result.original_output, result.replay_output, list(ignore)))
    if json:
        print_json(report)
        return
    from agenttrace_replay.cli.diffview import DiffSummary, SideBySide, Unified

    out = stdout()
    if unified:
        out.print(Unified(result.original_output, result.replay_output))
    else:
        out.print(SideBySide(result.original_output, result.replay_output))
    out.print(DiffSummary(report, text_diffs=False))


@executors_app.command("list")
def executors_list(json: JsonFlag = False) -> None:
    """List the executors: built in, registered and from installed plugins (not imported)."""
    from agenttrace_replay.executors import available_executors

    rows = available_executors()
    if json:
        print_json(rows)
        return
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold")
    for col in ("name", "source", "target"):
        table.add_column(col)
    for row in rows:  # Text: an entry point such as "pkg.mod:fn [extra]" is not markup
        table.add_row(Text(row["name"]), Text(row["source"]), Text(row.get("target", "")))
    stdout().print(table)
