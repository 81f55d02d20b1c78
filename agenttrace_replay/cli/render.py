"""Rich renderables for traces, checkpoints and replays (imported only by commands)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from agenttrace_replay.cli.common import printable
from agenttrace_replay.records import SpanRecord, TraceBundle

KIND_STYLE = {
    "llm_call": "magenta",
    "tool_call": "cyan",
    "handoff": "yellow",
    "agent_message": "blue",
    "checkpoint": "green",
}
STATUS_STYLE = {"completed": "green", "ok": "green", "failed": "red", "error": "red", "running": "yellow", "timeout": "red"}


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def duration_ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (end - start).total_seconds() * 1000


def fmt_ms(ms: float | None) -> str:
    if ms is None:
        return "-"
    if ms < 0:  # the recording's clocks say it ended before it started
        return "? (end before start)"
    if ms < 10:
        return f"{ms:.1f} ms"
    return f"{ms:.0f} ms" if ms < 10_000 else f"{ms / 1000:.1f} s"


def short_id(trace_id: str) -> str:
    """A long id (OTLP's are 32 hex digits) cut to 12 characters: still a unique prefix
    in practice, and every command takes a prefix, as git does."""
    return trace_id if len(trace_id) <= 16 else trace_id[:12]


class Lines(Text):
    """Text already cut to the console's width, line by line: print it with `print_lines`."""


def print_lines(console: Any, renderable: Any) -> None:
    """Print a table: `Lines` without Rich's wrapping pass (soft_wrap), which costs as much
    as the table itself would."""
    console.print(renderable, soft_wrap=isinstance(renderable, Lines))


def lines_table(
    headers: list[str], rows: list[list[Text]], widths: list[int], right: set[int], *, pad_edge: bool, width: int | None
) -> Lines | None:
    """What `Table(box=None, header_style="bold", pad_edge=pad_edge)` draws when each column
    has its width fixed (no wrapping, cells cut with an ellipsis) and the whole fits in `width`,
    as one Text to print with soft_wrap; None when it does not fit (Rich then shares the width
    out). Rich's Table measures every cell again: 0.35 ms a row, 7 s for 20,000 checkpoints."""
    if width is not None and sum(widths) + 2 * (len(widths) - 1) + (2 if pad_edge else 0) > width:
        return None
    last = len(widths) - 1
    out = Lines(end="")

    def line(cells: list[Text]) -> None:
        for i, (cell, column_width) in enumerate(zip(cells, widths)):
            if cell.cell_len > column_width:
                cell = cell.copy()
                cell.truncate(column_width, overflow="ellipsis")
            gap = " " * (column_width - cell.cell_len)
            out.append(" " if i or pad_edge else "")
            out.append(gap if i in right else "")
            out.append_text(cell)
            out.append("" if i in right else gap)
            out.append(" " if i < last or pad_edge else "")
        out.append("\n")

    line([Text(header, style="bold") for header in headers])
    for row in rows:
        line(row)
    out.right_crop(1)  # the last newline: print adds one
    return out


def fixed_table(
    headers: list[str], rows: list[list[Text]], widths: list[int], right: set[int], *, pad_edge: bool, width: int | None
) -> Lines | Table:
    """Columns of fixed widths: `lines_table` when they fit `width`, else Rich's Table of them."""
    lines = lines_table(headers, rows, widths, right, pad_edge=pad_edge, width=width)
    if lines is not None:
        return lines
    table = Table(box=None, header_style="bold", pad_edge=pad_edge)
    for i, header in enumerate(headers):
        table.add_column(header, no_wrap=True, overflow="ellipsis", min_width=widths[i], max_width=widths[i],
                         justify="right" if i in right else "left")  # fmt: skip
    for cells in rows:  # Text, never markup: a name like "[/]" is shown as written
        table.add_row(*cells)
    return table


def trace_table(rows: list[dict[str, Any]], width: int | None = None) -> Table | Text:
    """The traces, one line each in ``width`` columns: only the name gives way."""
    if not rows:
        return Text("no traces (import some with: agenttrace-replay trace import FILE, or try: agenttrace-replay demo)")
    cells = [
        [
            printable(short_id(r["trace_id"]), one_line=True), printable(r["name"] or "", one_line=True),
            r["start_time"].strftime("%Y-%m-%d %H:%M") if r["start_time"] else "-", r["status"],
            str(r["span_count"]), str(r["total_tokens"]), fmt_ms(r["total_latency_ms"]),
        ]
        for r in rows
    ]
    columns = ("trace", "name", "started", "status", "spans", "tokens", "latency")
    widths = [max(cell_len(col), *(cell_len(c[i]) for c in cells)) for i, col in enumerate(columns)]
    if width is not None:  # ids and times are copied from here: the name is cut, with an ellipsis
        widths[1] = min(widths[1], max(6, width - sum(widths) + widths[1] - 2 * (len(columns) - 1)))
        for c in cells:
            if cell_len(c[1]) > widths[1]:
                name = Text(c[1])
                name.truncate(widths[1], overflow="ellipsis")
                c[1] = name.plain
    texts = [[Text(c, style=STATUS_STYLE.get(c, "") if i == 3 else "") for i, c in enumerate(row)] for row in cells]
    return fixed_table(list(columns), texts, widths, set(), pad_edge=False, width=width)


def span_label(span: SpanRecord, agents: dict[str, str]) -> Text:
    text = Text()
    kind = span.kind or "span"
    text.append(f"[{kind}] ", style=KIND_STYLE.get(kind, "dim"))
    text.append(printable(span.name, one_line=True), style="bold")
    text.append(f"  {fmt_ms(duration_ms(span.start_time, span.end_time))}", style="dim")
    if span.agent_id and span.agent_id in agents:
        text.append(f"  agent={printable(agents[span.agent_id], one_line=True)}", style="blue")
    if span.model:
        text.append(f"  model={printable(span.model, one_line=True)}")
    if span.input_tokens is not None or span.output_tokens is not None:
        text.append(f"  tokens={span.input_tokens or 0}+{span.output_tokens or 0}")
    if span.status != "ok":
        text.append(f"  {span.status}", style=STATUS_STYLE.get(span.status, "red"))
        if span.error:
            text.append(f": {printable(span.error[:120], one_line=True)}", style="red")
    text.append(f"  {printable(span.span_id, one_line=True)}", style="dim")
    return text


def trace_tree(bundle: TraceBundle, width: int = 80) -> Tree:
    """The spans as a tree. Rich draws about 4 columns of guides per level and nothing once
    the width is used up, so spans deeper than the width allows are drawn beside their
    ancestor at the deepest level shown, marked with their depth (`↳7`), in order."""
    t = bundle.trace
    head = Text()
    head.append(printable(t.name or t.trace_id, one_line=True), style="bold")
    head.append(f"  {printable(t.trace_id, one_line=True)}  ", style="dim")
    head.append(t.status, style=STATUS_STYLE.get(t.status, ""))
    # the figures on a line of their own: a narrow terminal wraps between lines, not mid-figure
    head.append(f"\n{fmt_ms(t.total_latency_ms)}  {t.total_tokens} tokens  {len(bundle.spans)} spans  {t.agent_count} agents")
    tree = Tree(head)
    agents = {a.agent_id: a.name for a in bundle.agents}
    ids = {s.span_id for s in bundle.spans}
    children: dict[str | None, list[SpanRecord]] = {}
    for span in bundle.spans:  # already in execution order
        parent = span.parent_span_id if span.parent_span_id in ids else None
        children.setdefault(parent, []).append(span)
    deepest = max(2, (width - 32) // 4)
    stack: list[tuple[SpanRecord, Tree, int]] = [(span, tree, 1) for span in reversed(children.get(None, []))]
    while stack:  # depth first, children in execution order
        span, container, depth = stack.pop()
        label = span_label(span, agents)
        if depth > deepest:
            label = Text.assemble((f"↳{depth} ", "dim"), label)
        node = container.add(label)
        below = node if depth <= deepest else container  # past the deepest level: beside
        stack.extend((child, below, depth + 1) for child in reversed(children.get(span.span_id, [])))
    return tree


def checkpoint_table(checkpoints: list[Any], width: int = 80) -> Table | Lines:
    """One line per checkpoint in ``width`` columns: only span names and checkpoint names
    are cut short (the full ones are in ``checkpoint show`` and --json)."""
    named = any(c.name for c in checkpoints)
    rows = [
        [printable(cell, one_line=True) for cell in (
            str(c.step), c.checkpoint_id, c.span_kind or "span", c.span_name or "", c.agent_name or c.agent_id or "",
            str(c.replay_count), *([c.name or ""] if named else []))]
        for c in checkpoints
    ]
    headers = ["step", "checkpoint", "kind", "span", "agent", "replays"] + (["name"] if named else [])
    natural = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    flexible = [i for i, h in enumerate(headers) if h in ("span", "name")]
    spare = width - 2 * len(headers) - sum(w for i, w in enumerate(natural) if i not in flexible)
    limits = {i: natural[i] for i in flexible}
    while sum(limits.values()) > max(spare, 8 * len(flexible)):  # shave the widest flexible column
        widest = max(limits, key=lambda i: limits[i])
        limits[widest] -= 1
    texts = []
    for row in rows:
        cells = [Text(cell) for cell in row]
        cells[2].stylize(KIND_STYLE.get(row[2], ""))
        texts.append(cells)
    widths = [limits.get(i, natural[i]) for i in range(len(headers))]
    right = {i for i, header in enumerate(headers) if header in ("step", "replays")}
    return fixed_table(headers, texts, widths, right, pad_edge=True, width=width)


ROLE_STYLE = {"system": "dim", "user": "bold green", "assistant": "bold magenta", "tool": "bold cyan"}


def message_text(message: dict[str, Any]) -> Text:
    import json as _json

    role = printable(message.get("role", "?"), one_line=True)
    text = Text()
    label = role if role != "tool" else printable(f"tool {message.get('name') or ''}".strip(), one_line=True)
    text.append(f"{label}: ", style=ROLE_STYLE.get(role, "bold"))
    content = message.get("content")
    if content is not None:
        text.append(printable(content if isinstance(content, str) else _json.dumps(content, ensure_ascii=False)))
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        if not isinstance(call, dict):
            continue  # not a tool call: the state's JSON below still shows it
        args = call.get("arguments")
        args_text = args if isinstance(args, str) else _json.dumps(args, ensure_ascii=False, sort_keys=True)
        text.append(printable(f"\n  -> {printable(call.get('name'), one_line=True)}({args_text})"), style="cyan")
        if call.get("id"):
            text.append(f"  [{printable(call['id'], one_line=True)}]", style="dim")
    return text


def checkpoint_view(checkpoint: Any) -> Any:
    import json as _json

    from rich.console import Group
    from rich.panel import Panel
    from rich.syntax import Syntax

    state = checkpoint.state or {}
    span = state.get("span") or {}
    agent = state.get("agent") or {}
    head = Text()
    head.append(f"{checkpoint.checkpoint_id}", style="bold")
    head.append(printable(
        f"  step {checkpoint.step}  before {span.get('kind') or 'span'} '{span.get('name')}' ({span.get('span_id')})", one_line=True,
    ))
    if agent:
        head.append(f"\nagent {printable(agent.get('name'), one_line=True)}", style="blue")
        for key in ("role", "model", "framework"):
            if agent.get(key):
                head.append(printable(f"  {key}={agent[key]}", one_line=True))
    if checkpoint.name:
        head.append(f"\nname: {printable(checkpoint.name, one_line=True)}")
    head.append(f"\nreplays: {checkpoint.replay_count}")
    messages = state.get("messages") or []
    transcript: list[Any] = [message_text(m) for m in messages if isinstance(m, dict)]
    transcript = transcript or [Text("(no messages yet)", style="dim")]
    parts: list[Any] = [
        head,
        Panel(Group(*transcript), title=f"conversation so far ({len(messages)} messages)", title_align="left"),
    ]
    inp = state.get("input")
    # json.dumps escapes C0 controls but not DEL and C1: printable() catches those
    parts.append(Panel(
        Syntax(printable(_json.dumps(inp, indent=2, ensure_ascii=False, sort_keys=True)), "json", word_wrap=True,
               background_color="default"),
        title="input of the span", title_align="left",
    ))
    completed = state.get("completed") or []
    if completed:
        done = Text("\n").join(
            Text(printable(f"{entry.get('kind') or 'span'} {entry.get('name')}  {entry.get('status')}", one_line=True),
                 style="dim" if entry.get("status") == "ok" else "red")
            for entry in completed
        )
        parts.append(Panel(done, title=f"finished before it ({len(completed)} spans)", title_align="left"))
    return Group(*parts)
