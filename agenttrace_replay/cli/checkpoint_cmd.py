"""``checkpoint auto | create | list | show | delete``."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from agenttrace_replay.cli.common import JsonFlag, YesFlag, confirm, note, print_json, run, stdout

app = typer.Typer(help="Create, list, show and delete checkpoints.", no_args_is_help=True)

TraceArg = Annotated[str, typer.Argument(help="Trace id or a unique prefix.", metavar="TRACE")]
CheckpointArg = Annotated[str, typer.Argument(help="Checkpoint id or a unique prefix.", metavar="CHK")]


def _manager(db):  # type: ignore[no-untyped-def]
    from agenttrace_replay.checkpoint import CheckpointManager

    return CheckpointManager(db)


def _print_list(checkpoints, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        print_json([c.as_dict() for c in checkpoints])
        return
    from agenttrace_replay.cli.render import checkpoint_table, print_lines

    out = stdout()
    print_lines(out, checkpoint_table(checkpoints, out.width))


@app.command("auto")
def auto(
    ctx: typer.Context,
    trace: TraceArg,
    kinds: Annotated[Optional[str], typer.Option("--kinds", help="Comma-separated span kinds (default: llm_call,tool_call,handoff,checkpoint).")] = None,
    json: JsonFlag = False,
) -> None:
    """Place a checkpoint before every LLM call, tool call and handoff (idempotent)."""
    kind_list = [k.strip() for k in kinds.split(",") if k.strip()] if kinds is not None else None

    async def body(db):  # type: ignore[no-untyped-def]
        manager = _manager(db)
        ids, created = await manager.auto_checkpoint(trace, kind_list)
        listing = await manager.list_checkpoints(trace) if ids else []
        wanted = set(ids)
        return [c for c in listing if c.checkpoint_id in wanted], created

    checkpoints, created = run(ctx, body)
    if not checkpoints:
        # not an error: a CI script checkpointing many traces goes on (exit 0)
        kinds_text = ", ".join(kind_list or ["llm_call", "tool_call", "handoff", "checkpoint"])
        note(f"no spans of kind {kinds_text} in this trace: no checkpoints created")
    if json:
        print_json({"created": created, "checkpoints": [c.as_dict() for c in checkpoints]})
        return
    if checkpoints:
        _print_list(checkpoints, False)
        note(f"{created} new checkpoint(s), {len(checkpoints) - created} already there")


@app.command("create")
def create(
    ctx: typer.Context,
    trace: TraceArg,
    span: Annotated[str, typer.Option("--span", help="The span to checkpoint (id or unique prefix).")],
    name: Annotated[Optional[str], typer.Option("--name", help="A name to remember it by.")] = None,
    json: JsonFlag = False,
) -> None:
    """Place a checkpoint before one span."""

    async def body(db):  # type: ignore[no-untyped-def]
        manager = _manager(db)
        checkpoint_id = await manager.create_checkpoint(trace, span, name)
        return await manager.get_checkpoint(checkpoint_id)

    checkpoint = run(ctx, body)
    if json:
        checkpoint.state = None
        print_json(checkpoint.as_dict())
    else:
        from agenttrace_replay.cli.render import printable

        stdout().print(printable(
            f"{checkpoint.checkpoint_id}  step {checkpoint.step}  {checkpoint.span_kind or 'span'} {checkpoint.span_name}", one_line=True,
        ), markup=False)


@app.command("list")
def list_(ctx: typer.Context, trace: TraceArg, json: JsonFlag = False) -> None:
    """List a trace's checkpoints in execution order."""
    checkpoints = run(ctx, lambda db: _manager(db).list_checkpoints(trace))
    if not checkpoints and not json:
        note(f"no checkpoints for this trace (create them with: agenttrace-replay checkpoint auto {trace})")
        return
    _print_list(checkpoints, json)


@app.command("show")
def show(ctx: typer.Context, checkpoint: CheckpointArg, json: JsonFlag = False) -> None:
    """Show the state saved at a checkpoint: the conversation so far and the span's input."""
    result = run(ctx, lambda db: _manager(db).get_checkpoint(checkpoint))
    if json:
        print_json(result.as_dict())
        return
    from agenttrace_replay.cli.render import checkpoint_view

    stdout().print(checkpoint_view(result))


@app.command("delete")
def delete(ctx: typer.Context, checkpoint: CheckpointArg, yes: YesFlag = False, json: JsonFlag = False) -> None:
    """Delete a checkpoint and its replays."""
    full = run(ctx, lambda db: _manager(db).resolve_id(checkpoint))
    confirm(f"Delete checkpoint {full} and its replays?", yes)
    deleted = run(ctx, lambda db: _manager(db).delete_checkpoint(full))
    if json:
        print_json({"deleted": deleted})
    else:
        stdout().print(f"deleted checkpoint {deleted}", markup=False)
