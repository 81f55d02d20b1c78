"""Rich renderables for replays (imported only by the replay commands)."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from rich.console import Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from agenttrace_replay.cli.render import Lines, fmt_ms, lines_table, printable, when
from agenttrace_replay.differ import pretty_json


def replay_summary(result: Any, *, show_diff: bool = True, show_outputs: bool = False) -> Group:
    from agenttrace_replay.cli.diffview import DiffSummary

    head = Text()
    head.append(result.replay_id, style="bold")
    head.append(f"  of {result.checkpoint_id}  executor={result.executor}  ")
    if result.success:
        head.append("succeeded", style="green")
    else:
        head.append("failed", style="red")
    # the figures on a line of their own: 80 columns wrap between lines, not mid-figure
    head.append(f"\n{fmt_ms(result.duration_ms)}")
    if result.tokens_used is not None:
        head.append(f"  {result.tokens_used} tokens")
    if result.cost_usd:
        head.append(f"  ${result.cost_usd:.4f}")
    if result.created_at is not None:
        head.append(f"  {when(result.created_at)}", style="dim")
    parts: list[Any] = [head]
    if result.note:
        parts.append(Text(f"note: {printable(result.note)}", style="yellow"))
    if not result.executed and not result.note:
        parts.append(Text("nothing was re-executed by this executor", style="yellow"))
    if result.error:
        parts.append(Text(f"error: {printable(result.error)}", style="red"))
    if show_outputs:
        for title, value in (("input used", result.input), ("original output", result.original_output), ("replay output", result.replay_output)):
            parts.append(Panel(
                Syntax(pretty_json(value), "json", word_wrap=True, background_color="default"),
                title=title, title_align="left",
            ))
    if show_diff and result.diff is not None:
        parts.append(DiffSummary(result.diff))
        parts.append(Text(f"side by side: agenttrace-replay diff {result.replay_id}", style="dim"))
    return Group(*parts)


def replay_table(rows: list[dict[str, Any]], width: int | None = None) -> Table | Lines:
    """One line per replay, fitting 80 columns: the checkpoint is given by its step, and
    `replay show` or --json has everything else. Drawn as fixed-width lines when it fits
    `width` (a CI job's replays add up to thousands), else as a Rich Table."""
    headers = ["replay", "step", "span", "executor", "result", "diff", "took"]
    texts = []
    for r in rows:
        outcome = Text("ok", style="green") if r["success"] else Text("failed", style="red")
        changes = "-" if r["has_changes"] is None else ("changed" if r["has_changes"] else "same")
        span = r["span_name"] or r["span_kind"] or "span"
        texts.append([Text(r["replay_id"]), Text(str(r["step"])), Text(printable(span, one_line=True)), Text(r["executor"]),
                      outcome, Text(changes), Text(fmt_ms(r["duration_ms"]))])  # fmt: skip
    widths = [max([cell_len(header)] + [row[i].cell_len for row in texts]) for i, header in enumerate(headers)]
    widths[2] = min(widths[2], _SPAN_WIDTH)
    lines = lines_table(headers, texts, widths, {1, 6}, pad_edge=True, width=width)
    if lines is not None:
        return lines
    table = Table(box=None, header_style="bold")
    table.add_column("replay", no_wrap=True)
    table.add_column("step", justify="right", no_wrap=True)
    table.add_column("span", overflow="ellipsis", no_wrap=True, max_width=_SPAN_WIDTH)
    table.add_column("executor", no_wrap=True)
    table.add_column("result", no_wrap=True)
    table.add_column("diff", no_wrap=True)
    table.add_column("took", justify="right", no_wrap=True)
    for row in texts:
        table.add_row(*row)
    return table


_SPAN_WIDTH = 18
