"""The listings' fast tables draw exactly what Rich's Table drew, one line per row."""

from __future__ import annotations

import io
import random
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agenttrace_replay.cli.render import Lines, checkpoint_table, lines_table, print_lines, trace_table

WORDS = ["chat gpt-4o", "execute_tool lookup_order", "名前の長いエージェント", "🚀 launch", "a" * 40, "", "x", "[/]", "é" * 7]


def drawn(renderable: object, width: int) -> str:
    out = io.StringIO()
    console = Console(file=out, width=width, color_system=None, legacy_windows=False)
    print_lines(console, renderable)
    return out.getvalue()


def rich_table(headers: list[str], rows: list[list[Text]], widths: list[int], right: set[int], pad_edge: bool) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=pad_edge)
    for i, header in enumerate(headers):
        table.add_column(header, no_wrap=True, overflow="ellipsis", min_width=widths[i], max_width=widths[i],
                         justify="right" if i in right else "left")  # fmt: skip
    for row in rows:
        table.add_row(*row)
    return table


@pytest.mark.parametrize("seed", range(12))
def test_lines_are_what_rich_draws_for_fixed_columns(seed: int) -> None:
    rng = random.Random(seed)
    columns = rng.randint(1, 6)
    headers = [rng.choice(["step", "checkpoint", "名前", "replays", "s"]) for _ in range(columns)]
    rows = [[Text(rng.choice(WORDS), style=rng.choice(["", "red", "bold"])) for _ in range(columns)] for _ in range(rng.randint(0, 9))]
    widths = [rng.randint(1, 14) for _ in range(columns)]
    right = {i for i in range(columns) if rng.random() < 0.4}
    pad_edge = rng.random() < 0.5
    lines = lines_table(headers, rows, widths, right, pad_edge=pad_edge, width=200)
    assert isinstance(lines, Lines)
    assert drawn(lines, 200) == drawn(rich_table(headers, rows, widths, right, pad_edge), 200)


def test_a_table_wider_than_the_console_is_left_to_rich() -> None:
    assert lines_table(["a", "b"], [[Text("x"), Text("y")]], [10, 10], set(), pad_edge=True, width=23) is None
    assert lines_table(["a", "b"], [[Text("x"), Text("y")]], [10, 10], set(), pad_edge=True, width=24) is not None


@pytest.mark.parametrize(("width", "fast"), [(40, False), (100, True), (200, True)])
def test_listings_are_drawn_fast_when_they_fit_and_by_rich_when_not(width: int, fast: bool) -> None:
    rng = random.Random(width)
    checkpoints = [SimpleNamespace(step=i * 37, checkpoint_id=f"chk-{rng.getrandbits(48):012x}", span_kind=rng.choice(["llm_call", "tool_call", None]),
                                   span_name=rng.choice(WORDS), agent_name=rng.choice(WORDS[:4]), agent_id="a1", replay_count=rng.randint(0, 120),
                                   name=rng.choice([None, "before the refund", "長い名前"])) for i in range(30)]  # fmt: skip
    traces = [{"trace_id": f"{rng.getrandbits(128):032x}", "name": rng.choice(WORDS), "status": rng.choice(["completed", "failed"]),
               "start_time": datetime(2026, 3, 1, 9, i, tzinfo=timezone.utc), "span_count": rng.randint(1, 20000),
               "total_tokens": rng.randint(0, 10**7), "total_latency_ms": rng.uniform(1, 10**6)} for i in range(30)]  # fmt: skip
    for table in (checkpoint_table(checkpoints, width), trace_table(traces, width)):
        assert isinstance(table, Lines) is fast
        lines = drawn(table, width).splitlines()
        assert len(lines) == 31 and all(cell_len(line) <= width for line in lines)
        if fast:  # every column there, the first row first
            assert lines[0].split()[0] in ("step", "trace") and lines[1].split()[0] in ("0", traces[0]["trace_id"][:12])


@pytest.mark.parametrize("seed", range(6))
def test_the_replay_listing_is_what_its_rich_table_draws(seed: int) -> None:
    from agenttrace_replay.cli.render_replay import replay_table

    rng = random.Random(seed)
    rows = [{"replay_id": f"rpl-{rng.getrandbits(48):012x}", "step": rng.randint(0, 30000), "span_name": rng.choice(WORDS + [None]),
             "span_kind": rng.choice(["llm_call", None]), "executor": rng.choice(["mock", "openai", "langgraph"]),
             "success": rng.random() < 0.7, "has_changes": rng.choice([None, True, False]),
             "duration_ms": rng.uniform(0.1, 400000)} for _ in range(rng.randint(1, 12))]  # fmt: skip
    lines, table = replay_table(rows, 200), replay_table(rows, 1)  # too narrow for lines: Rich's Table
    assert isinstance(lines, Lines) and isinstance(table, Table)
    assert drawn(lines, 200) == drawn(table, 200)
