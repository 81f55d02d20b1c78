"""The diff views, rendered at fixed widths as a user would see them."""

from __future__ import annotations

import io

import pytest
from rich.color import ColorSystem
from rich.console import Console, RenderableType

from agenttrace_replay.cli.diffview import NEW_WORD, OLD_LINE, OLD_WORD, DiffSummary, SideBySide, Unified
from agenttrace_replay.differ import compute_diff

ORIGINAL = {
    "messages": [{"role": "assistant", "content": "The weather in Paris is sunny today"}],
    "model": "gpt-4o",
    "usage": {"completion_tokens": 12, "prompt_tokens": 40},
}
REPLAY = {
    "messages": [{"role": "assistant", "content": "The weather in London is sunny today"}],
    "model": "gpt-4o",
    "usage": {"completion_tokens": 12, "prompt_tokens": 40},
}


def render(renderable: RenderableType, width: int = 100, **console_options: object) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, **console_options)  # type: ignore[arg-type]
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def row_with(output: str, needle: str) -> str:
    (line,) = [line for line in output.splitlines() if needle in line]
    return line


class TestSideBySide:
    def test_both_columns_have_headers_and_content(self) -> None:
        output = render(SideBySide(ORIGINAL, REPLAY, context=None))
        header = row_with(output, "original")
        assert "replay" in header and header.index("original") < header.index("replay")
        assert row_with(output, '"model"').count('"model": "gpt-4o"') == 2

    def test_a_changed_line_sits_opposite_its_new_version(self) -> None:
        row = row_with(render(SideBySide(ORIGINAL, REPLAY)), "Paris")
        assert "London" in row and " | " in row
        assert row.index("Paris") < row.index("|") < row.index("London")

    def test_an_inserted_line_leaves_a_gap_and_keeps_later_lines_aligned(self) -> None:
        replay = {**ORIGINAL, "finish_reason": "stop"}  # sorts between "messages" and "model"
        output = render(SideBySide(ORIGINAL, replay, context=None))
        inserted = row_with(output, '"finish_reason"')
        left, right = inserted.split(">")
        assert left.strip() == ""
        assert right.split()[0] == "2"  # replay line 2, nothing opposite
        model = row_with(output, '"model"')
        old_number, new_number = [word for word in model.split() if word.isdigit()]
        assert (old_number, new_number) == ("8", "9")
        assert model.count('"model": "gpt-4o"') == 2

    def test_a_removed_line_is_marked(self) -> None:
        replay = {key: value for key, value in ORIGINAL.items() if key != "model"}
        row = row_with(render(SideBySide(ORIGINAL, replay)), '"model"')
        assert row.rstrip().endswith("<")

    def test_unchanged_stretches_are_folded(self) -> None:
        original = {"items": list(range(40)), "status": "ok"}
        replay = {"items": list(range(40)), "status": "failed"}
        output = render(SideBySide(original, replay, context=2))
        assert row_with(output, "unchanged").split() == ["⋯", "41", "unchanged", "lines"] * 2
        assert '"items": [' not in output
        assert row_with(output, '"status"').split() == ["44", '"status":', '"ok"', "|", "44", '"status":', '"failed"']
        numbers = [line.split()[0] for line in output.splitlines() if line[:4].strip().isdigit()]
        assert numbers == ["42", "43", "44", "45"]  # two lines of context, then the change
        full = render(SideBySide(original, replay, context=None))
        assert "unchanged" not in full and row_with(full, '"items"').count('"items": [') == 2

    def test_caption_is_the_summary(self) -> None:
        output = render(SideBySide(ORIGINAL, REPLAY, compute_diff(ORIGINAL, REPLAY)))
        assert "1 change: 1 changed" in output

    def test_identical_values_show_every_line_unmarked(self) -> None:
        output = render(SideBySide(ORIGINAL, ORIGINAL))
        assert "unchanged" not in output
        assert not any(marker in output for marker in (" | ", " < ", " > "))
        assert output.count('"prompt_tokens": 40') == 2

    @pytest.mark.parametrize("width", [12, 20, 37, 47, 48, 60, 100, 180])
    def test_any_width_fits_and_keeps_the_changed_words(self, width: int) -> None:
        long_text = {"content": "word " * 80 + "Paris"}
        output = render(SideBySide(long_text, {"content": "word " * 80 + "London"}), width=width)
        assert all(len(line) <= width for line in output.splitlines())
        squashed = "".join(output.split())
        assert "Paris" in squashed and "London" in squashed

    def test_narrow_console_stacks_old_over_new(self) -> None:
        output = render(SideBySide({"city": "Paris"}, {"city": "Rome"}), width=30)
        lines = [line.split() for line in output.splitlines() if "city" in line]
        assert lines == [["2", "-", '"city":', '"Paris"'], ["2", "+", '"city":', '"Rome"']]

    def test_changed_words_are_highlighted(self) -> None:
        console = Console(file=io.StringIO(), width=100, color_system="truecolor")
        console.print(SideBySide(ORIGINAL, REPLAY))
        output = console.file.getvalue()  # type: ignore[attr-defined]
        assert OLD_WORD.render("Paris", color_system=ColorSystem.TRUECOLOR) in output
        assert NEW_WORD.render("London", color_system=ColorSystem.TRUECOLOR) in output
        # Unchanged words of a changed line get only the line background.
        assert OLD_WORD.render("weather", color_system=ColorSystem.TRUECOLOR) not in output
        assert OLD_LINE.render('      "content": "The weather in ', color_system=ColorSystem.TRUECOLOR) in output

    def test_no_colour_console_still_shows_markers(self) -> None:
        output = render(SideBySide(ORIGINAL, REPLAY), no_color=True, force_terminal=True)
        assert "\x1b[48" not in output and "38;2" not in output
        assert " | " in row_with(output, "Paris")


class TestUnified:
    def test_lines_are_prefixed(self) -> None:
        lines = render(Unified(ORIGINAL, REPLAY)).splitlines()
        assert lines[:2] == ["--- original", "+++ replay"]
        assert '-      "content": "The weather in Paris is sunny today",' in lines
        assert '+      "content": "The weather in London is sunny today",' in lines

    def test_no_changes(self) -> None:
        assert render(Unified(ORIGINAL, ORIGINAL)).strip() == "No changes"

    def test_colours_removals_and_additions(self) -> None:
        console = Console(file=io.StringIO(), width=100, color_system="standard")
        console.print(Unified({"a": 1}, {"a": 2}))
        output = console.file.getvalue()  # type: ignore[attr-defined]
        assert '\x1b[31m-  "a": 1\x1b[0m' in output
        assert '\x1b[32m+  "a": 2\x1b[0m' in output


class TestDiffSummary:
    def test_lists_every_path_with_old_and_new_values(self) -> None:
        original = {"a": 1, "gone": [1, 2], "model": "gpt-4o", "n": 3}
        replay = {"a": 1.0, "new": True, "model": "gpt-4o-mini", "n": 3}
        output = render(DiffSummary(compute_diff(original, replay)))
        assert output.splitlines()[0] == "4 changes: 1 changed, 1 added, 1 removed, 1 type change"
        changed = row_with(output, 'root["model"]')
        assert changed.split()[0] == "changed" and '"gpt-4o"' in changed and '"gpt-4o-mini"' in changed
        assert "1 (int)" in row_with(output, 'root["a"]') and "1.0 (float)" in row_with(output, 'root["a"]')
        assert row_with(output, 'root["new"]').split() == ["added", 'root["new"]', "true"]
        assert row_with(output, 'root["gone"]').split() == ["removed", 'root["gone"]', "[1,", "2]"]

    def test_long_values_are_truncated_and_text_diffs_shown(self) -> None:
        old, new = "alpha " * 60, "alpha " * 59 + "omega"
        output = render(DiffSummary(compute_diff({"c": old}, {"c": new}), limit=30), width=120)
        row = row_with(output, "changed  ")
        assert 'root["c"]' in row and "…" in row and len(row.rstrip()) < 120
        assert "+++ replay" in output and output.rstrip().endswith("omega")

    def test_no_changes(self) -> None:
        assert render(DiffSummary(compute_diff(ORIGINAL, ORIGINAL))).strip() == "No changes"
