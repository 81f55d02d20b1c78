"""Rich renderables for replays (imported only by the replay commands)."""

from __future__ import annotations

import json
from typing import Any

from rich.console import Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from agenttrace_replay.cli.render import fmt_ms, when


def replay_summary(result: Any, *, show_diff: bool = True, show_outputs: bool = False) -> Group:
    from agenttrace_replay.cli.diffview import DiffSummary

    head = Text()
    head.append(result.replay_id, style="bold")
    head.append(f"  of {result.checkpoint_id}  executor={result.executor}  ")
    if result.success:
        head.append("succeeded", style="green")
    else:
        head.append("failed", style="red")
    head.append(f"  {fmt_ms(result.duration_ms)}")
    if result.tokens_used is not None:
        head.append(f"  {result.tokens_used} tokens")
    if result.cost_usd:
        head.append(f"  ${result.cost_usd:.4f}")
    if result.created_at is not None:
        head.append(f"  {when(result.created_at)}", style="dim")
    parts: list[Any] = [head]
    if result.note:
        parts.append(Text(f"note: {result.note}", style="yellow"))
    if not result.executed and not result.note:
        parts.append(Text("nothing was re-executed by this executor", style="yellow"))
    if result.error:
        parts.append(Text(f"error: {result.error}", style="red"))
    if show_outputs:
        for title, value in (("input used", result.input), ("original output", result.original_output), ("replay output", result.replay_output)):
            parts.append(Panel(
                Syntax(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True), "json", word_wrap=True, background_color="default"),
                title=title, title_align="left",
            ))
    if show_diff and result.diff is not None:
        parts.append(DiffSummary(result.diff))
        parts.append(Text(f"side by side: agenttrace-replay diff {result.replay_id}", style="dim"))
    return Group(*parts)


def replay_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(box=None, header_style="bold")
    for col in ("replay", "checkpoint", "step", "span", "executor", "result", "changes", "duration", "when"):
        table.add_column(col, no_wrap=col in ("replay", "checkpoint"))
    for r in rows:
        if r["success"]:
            outcome = Text("ok", style="green")
        else:
            outcome = Text("failed", style="red")
        changes = "-" if r["has_changes"] is None else ("yes" if r["has_changes"] else "no")
        cells = (r["replay_id"], r["checkpoint_id"], str(r["step"]), f"{r['span_kind'] or 'span'} {r['span_name'] or ''}", r["executor"])
        # Text, not str: Rich would read "[...]" in a span or executor name as markup
        table.add_row(*(Text(c) for c in cells), outcome, changes, fmt_ms(r["duration_ms"]), when(r["created_at"]))
    return table
