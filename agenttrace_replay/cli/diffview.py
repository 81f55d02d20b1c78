"""Terminal views of a diff: side by side, unified, and a summary table.

Built as Rich renderables so the CLI only prints them and tests render them at a fixed
width. Every view also reads without colour: markers (`|`, `<`, `>`, `-`, `+`) carry the
meaning that the backgrounds carry on a colour terminal.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.style import Style
from rich.table import Table
from rich.text import Text

from agenttrace_replay.cli.common import printable
from agenttrace_replay.differ import pretty_json, unified_text, visible_json

OLD_LINE = Style(bgcolor="#3f1518")
NEW_LINE = Style(bgcolor="#14391f")
OLD_WORD = Style(bold=True, color="#ffffff", bgcolor="#a3262e")
NEW_WORD = Style(bold=True, color="#ffffff", bgcolor="#22803c")
MARKER_STYLE = {"|": "yellow", "<": "red", ">": "green", " ": ""}
KIND_STYLE = {"changed": "yellow", "type": "magenta", "added": "green", "removed": "red"}

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_AUTOJUNK_ABOVE = 4000  # lines; below this, align exactly even around repeated `},` lines
_PAIRING_LIMIT = 2500  # old x new lines in one replaced block; above it, pair by position
STACK_BELOW = 48  # console columns; narrower consoles get the two sides stacked
_SIMILAR = 0.5  # word-similarity ratio from which two lines count as one changed line


def _word_diff(old: str, new: str) -> tuple[Text, Text]:
    """Both lines with the words that differ between them styled strongly."""
    left, right = Text(), Text()
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        left.append("".join(a[i1:i2]), None if tag == "equal" else OLD_WORD)
        right.append("".join(b[j1:j2]), None if tag == "equal" else NEW_WORD)
    return left, right


def _pair_lines(old: list[str], new: list[str]) -> list[tuple[int | None, int | None]]:
    """Pair the lines of a replaced block, most similar first, keeping their order.

    Position alone would pair `"long": ...` with an unrelated inserted `"extra": true`; this
    pairs each line with its most similar counterpart and leaves the rest unpaired.
    """
    if len(old) * len(new) > _PAIRING_LIMIT:
        return _pair_by_position(0, len(old), 0, len(new))
    words_old = [_TOKEN.findall(line) for line in old]
    words_new = [_TOKEN.findall(line) for line in new]
    matcher = difflib.SequenceMatcher(None, autojunk=False)

    def pair(i1: int, i2: int, j1: int, j2: int) -> list[tuple[int | None, int | None]]:
        best, best_i, best_j = _SIMILAR, -1, -1
        for j in range(j1, j2):
            matcher.set_seq2(words_new[j])
            for i in range(i1, i2):
                matcher.set_seq1(words_old[i])
                if (
                    matcher.real_quick_ratio() > best
                    and matcher.quick_ratio() > best
                    and matcher.ratio() > best
                ):
                    best, best_i, best_j = matcher.ratio(), i, j
        if best_i < 0:
            return _pair_by_position(i1, i2, j1, j2)
        return [*pair(i1, best_i, j1, best_j), (best_i, best_j), *pair(best_i + 1, i2, best_j + 1, j2)]

    return pair(0, len(old), 0, len(new))


def _pair_by_position(i1: int, i2: int, j1: int, j2: int) -> list[tuple[int | None, int | None]]:
    pairs: list[tuple[int | None, int | None]] = []
    for k in range(max(i2 - i1, j2 - j1)):
        i, j = i1 + k, j1 + k
        pairs.append((i if i < i2 else None, j if j < j2 else None))
    return pairs


def _filled(text: Text, style: Style) -> Padding:
    """A cell whose background covers its whole width, not only the characters."""
    return Padding(text, 0, style=style, expand=True)


class SideBySide:
    """Original and replay as pretty JSON in two columns, lines aligned, changes marked.

    `context` unchanged lines are kept around each change and longer unchanged stretches
    are folded into one row; `context=None` shows every line.
    """

    def __init__(
        self, original: Any, replay: Any, diff: dict[str, Any] | None = None, context: int | None = 3
    ) -> None:
        self.left = pretty_json(original).split("\n")
        self.right = pretty_json(replay).split("\n")
        self.diff = diff
        self.context = context

    def _rows(self) -> Iterator[tuple[int | None, RenderableType, str, int | None, RenderableType]]:
        left, right = self.left, self.right
        matcher = difflib.SequenceMatcher(
            None, left, right, autojunk=len(left) + len(right) > _AUTOJUNK_ABOVE
        )
        opcodes = matcher.get_opcodes()
        for n, (tag, i1, i2, j1, j2) in enumerate(opcodes):
            if tag == "equal":
                yield from self._equal_rows(i1, i2, j1, first=n == 0, last=n == len(opcodes) - 1)
                continue
            for pi, pj in _pair_lines(left[i1:i2], right[j1:j2]):
                if pi is not None and pj is not None:
                    i, j = i1 + pi, j1 + pj
                    old, new = _word_diff(left[i], right[j])
                    yield i + 1, _filled(old, OLD_LINE), "|", j + 1, _filled(new, NEW_LINE)
                elif pi is not None:
                    i = i1 + pi
                    yield i + 1, _filled(Text(left[i]), OLD_LINE), "<", None, Text()
                elif pj is not None:
                    j = j1 + pj
                    yield None, Text(), ">", j + 1, _filled(Text(right[j]), NEW_LINE)

    def _equal_rows(
        self, i1: int, i2: int, j1: int, first: bool, last: bool
    ) -> Iterator[tuple[int | None, RenderableType, str, int | None, RenderableType]]:
        head, tail = i2 - i1, 0
        if self.context is not None and not (first and last):
            # Before the first change and after the last one, no context is needed.
            head = 0 if first else self.context
            tail = 0 if last else self.context
            if i2 - i1 <= head + tail + 1:
                head, tail = i2 - i1, 0
        folded = i2 - i1 - head - tail

        def row(i: int) -> tuple[int, Text, str, int, Text]:
            j = j1 + i - i1
            return i + 1, Text(self.left[i]), " ", j + 1, Text(self.right[j])

        yield from (row(i) for i in range(i1, i1 + head))
        if folded:
            note = Text(f"⋯ {folded} unchanged line{'s' if folded != 1 else ''}", style="dim italic")
            yield None, note, " ", None, note.copy()
        yield from (row(i) for i in range(i2 - tail, i2))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        digits = len(str(max(len(self.left), len(self.right), 1)))
        if options.max_width < STACK_BELOW:
            yield self._stacked(digits)
            return
        table = self._table()
        table.add_column("", justify="right", style="dim", no_wrap=True, min_width=digits)
        table.add_column("original", ratio=1, overflow="fold")
        table.add_column("", width=1, no_wrap=True)
        table.add_column("", justify="right", style="dim", no_wrap=True, min_width=digits)
        table.add_column("replay", ratio=1, overflow="fold")
        for old_no, old, marker, new_no, new in self._rows():
            table.add_row(_number(old_no), old, Text(marker, style=MARKER_STYLE[marker]), _number(new_no), new)
        yield table

    def _stacked(self, digits: int) -> Table:
        """Too narrow for two columns: each changed line shows as `-` old over `+` new."""
        table = self._table()
        table.add_column("", justify="right", style="dim", no_wrap=True, min_width=digits)
        table.add_column("", width=1, no_wrap=True)
        table.add_column("- original / + replay", ratio=1, overflow="fold")
        for old_no, old, marker, new_no, new in self._rows():
            if marker == " ":
                table.add_row(_number(old_no), "", old)
                continue
            if old_no is not None:
                table.add_row(_number(old_no), Text("-", style=MARKER_STYLE["<"]), old)
            if new_no is not None:
                table.add_row(_number(new_no), Text("+", style=MARKER_STYLE[">"]), new)
        return table

    def _table(self) -> Table:
        return Table(
            box=box.SIMPLE_HEAD,
            expand=True,
            padding=(0, 1),
            pad_edge=False,
            caption=self.diff["summary"] if self.diff else None,
            caption_justify="left",
        )


def _number(line: int | None) -> str:
    return "" if line is None else str(line)


def colour_unified(diff_text: str) -> Text:
    """A unified diff as Text: headers bold, hunks cyan, removals red, additions green."""
    text = Text(overflow="fold")
    # lines end at newlines only, as differ.text_diff cuts them: a \r or U+2028 is part of its line
    lines = diff_text.split("\n")
    if diff_text.endswith("\n"):
        lines.pop()
    for n, line in enumerate(lines):
        if n:
            text.append("\n")
        if line.startswith(("---", "+++")):
            style = "bold"
        elif line.startswith("@@"):
            style = "cyan"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("+"):
            style = "green"
        else:
            style = ""
        text.append(printable(line), style)  # the lines of texts from a trace or a model
    return text


class Unified:
    """A coloured unified diff of both values as pretty JSON (`diff --unified`)."""

    def __init__(self, original: Any, replay: Any) -> None:
        self.text = unified_text(original, replay)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield colour_unified(self.text) if self.text else Text("No changes", style="dim")


def short(value: Any, limit: int = 60) -> str:
    """A one-line JSON rendering of value, cut to limit characters."""
    try:
        shown = visible_json(json.dumps(value, ensure_ascii=False, default=repr))
    except (TypeError, ValueError, RecursionError):
        shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


class DiffSummary:
    """The summary sentence, a table of every changed path and the line diffs of long texts."""

    def __init__(self, diff: dict[str, Any], limit: int = 60, text_diffs: bool = True) -> None:
        self.diff = diff
        self.limit = limit
        self.text_diffs = text_diffs

    def _rows(self) -> Iterator[tuple[str, str, str, str]]:
        diff, limit = self.diff, self.limit
        for path, change in diff["changed"].items():
            yield "changed", path, short(change["old"], limit), short(change["new"], limit)
        for path, change in diff["type_changes"].items():
            old = f"{short(change['old'], limit)} ({change['old_type']})"
            yield "type", path, old, f"{short(change['new'], limit)} ({change['new_type']})"
        for path, value in diff["added"].items():
            yield "added", path, "", short(value, limit)
        for path, value in diff["removed"].items():
            yield "removed", path, short(value, limit), ""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text(self.diff["summary"], style="bold")
        if not self.diff["has_changes"]:
            return
        table = Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False)
        table.add_column("", no_wrap=True)
        table.add_column("path", overflow="fold")
        table.add_column("original", overflow="fold")
        table.add_column("replay", overflow="fold")
        for kind, path, old, new in self._rows():
            # values are data, never Rich markup: `[mock ...]` must print as it is
            table.add_row(Text(kind, style=KIND_STYLE[kind]), Text(path), Text(old), Text(new))
        yield table
        if self.text_diffs:
            for path, diff_text in self.diff["text_diffs"].items():
                yield Group(Text(path, style="bold"), colour_unified(diff_text), Text())
