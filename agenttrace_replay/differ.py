"""Structural diff of two JSON-like values: a recorded output and its replay.

Standard library only, so the core stays light (deepdiff is only a benchmark baseline).
docs/diff.md describes the result format, the path notation and the ignore patterns.

Speed comes from never walking equal subtrees in Python. Plain `==` cannot be trusted on
its own because it equates `1`, `1.0` and `True`, so a subtree counts as equal only when
`==` holds *and* the two sides marshal to the same bytes. Marshal format 2 is C-fast,
records the exact type of every number and, unlike later formats, does not depend on
reference counts or object sharing. When the bytes differ only because dict keys are in
another order, the walk descends and finds nothing: slower, never wrong.
"""

from __future__ import annotations

import difflib
import json
import marshal
import re
from collections.abc import Callable, Iterable
from typing import Any

from agenttrace_replay.errors import InvalidInput

ROOT = "root"
TEXT_DIFF_MIN_LENGTH = 200  # strings longer than this (or multi-line) also get a line diff

_MARSHAL_VERSION = 2
_SCALARS = (str, int, bool, type(None), bytes)
# After `==` hits the recursion limit, skip the fast check for this many levels below.
_SLOW_LEVELS = 200

# Work items of the walk: (kind, path, original value, replay value, slow countdown).
_COMPARE, _REMOVED, _ADDED = 0, 1, 2
Task = tuple[int, str, Any, Any, int]


def key_step(key: Any) -> str:
    """The path step for a dict key: a JSON string literal for str keys, repr() otherwise."""
    if isinstance(key, str):
        return "[" + json.dumps(key, ensure_ascii=False) + "]"
    return f"[{key!r}]"


def compile_ignore(patterns: Iterable[str] | None) -> Callable[[str], bool] | None:
    """Turn ignore patterns into one predicate on paths (None when there are no patterns)."""
    if isinstance(patterns, str):  # one pattern, not its letters
        patterns = [patterns]
    regexes = [_glob_to_regex(_expand_pattern(p)) for p in patterns or ()]
    if not regexes:
        return None
    combined = re.compile("|".join(f"(?:{r})" for r in regexes), re.DOTALL)
    return lambda path: combined.fullmatch(path) is not None


def _expand_pattern(pattern: str) -> str:
    """Bracket patterns are used as written; dotted shorthand becomes bracket form."""
    pattern = pattern.strip()
    if not pattern:
        raise InvalidInput("An ignore pattern is empty.", 'Use e.g. "*.id" or \'root["meta"]\'.')
    if "[" in pattern or "]" in pattern:
        return pattern
    segments = pattern.split(".")
    if segments[0] == ROOT:
        segments = segments[1:]
    steps = []
    for segment in segments:
        if not segment:
            raise InvalidInput(
                f"Ignore pattern '{pattern}' has an empty segment.",
                'For keys containing dots use the bracket form, e.g. \'*["a.b"]\'.',
            )
        if segment == "*":
            steps.append("*")
        elif segment.isdigit():
            steps.append(f"[{segment}]")
        else:
            steps.append(key_step(segment))
    return ROOT + "".join(steps)


def _glob_to_regex(glob: str) -> str:
    """`*` is any run of characters, `?` one character; everything else is literal."""
    return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in glob)


def _strict_equal(a: Any, b: Any) -> bool | None:
    """True if equal with identical types throughout; None if too deep to tell quickly."""
    if a is b:
        return True
    kind = type(a)
    if kind is not type(b):
        return False
    if kind in _SCALARS:
        return a == b
    if kind is float:
        return a == b or (a != a and b != b)  # NaN equals NaN here
    try:
        if a != b:
            return False
        return marshal.dumps(a, _MARSHAL_VERSION) == marshal.dumps(b, _MARSHAL_VERSION)
    except RecursionError:
        return None
    except ValueError:  # unmarshallable type or nesting beyond marshal's limit
        return False


def _scalar_equal(a: Any, b: Any) -> bool:
    if a == b:
        return True
    return isinstance(a, float) and a != a and b != b


def _is_text(value: str) -> bool:
    return len(value) > TEXT_DIFF_MIN_LENGTH or "\n" in value


NO_NEWLINE = "\\ No newline at end of file"


def text_diff(old: str, new: str) -> str:
    """A unified line diff of two strings, headed `--- original` / `+++ replay`.

    Lines end at newlines only (not at the other characters `str.splitlines` breaks on, such
    as U+2028), and line endings count: when only one text ends with a newline, its last
    line is followed by `\\ No newline at end of file`, as in `diff -u` and git, so two texts
    that differ only there, or in `\\r\\n` against `\\n`, never get an empty diff.
    """
    if old.endswith("\n") == new.endswith("\n"):  # the same ending: nothing to mark
        old, new = (text + "\n" if text and not text.endswith("\n") else text for text in (old, new))
    lines = difflib.unified_diff(
        _lines(old), _lines(new), fromfile="original", tofile="replay", lineterm=""
    )
    out: list[str] = []
    for n, line in enumerate(lines):
        if n < 2 or line.startswith("@@"):  # the two headers and hunk headers carry no ending
            out.append(line)
        elif line.endswith("\n"):
            out.append(line[:-1])
        else:
            out.extend((line, NO_NEWLINE))
    return "\n".join(out)


def _lines(text: str) -> list[str]:
    """The text's lines, each with its newline if it has one."""
    lines = text.split("\n")
    last = lines.pop()
    return [line + "\n" for line in lines] + ([last] if last else [])


def summarize(changed: int, added: int, removed: int, type_changes: int) -> str:
    """One sentence, e.g. '3 changes: 1 changed, 1 added, 1 removed'."""
    total = changed + added + removed + type_changes
    if not total:
        return "No changes"
    parts = [f"{changed} changed"] if changed else []
    if added:
        parts.append(f"{added} added")
    if removed:
        parts.append(f"{removed} removed")
    if type_changes:
        parts.append(f"{type_changes} type change{'s' if type_changes != 1 else ''}")
    return f"{total} change{'s' if total != 1 else ''}: " + ", ".join(parts)


def compute_diff(original: Any, replay: Any, ignore: list[str] | None = None) -> dict[str, Any]:
    """Compare two JSON-like values; see docs/diff.md for the shape of the result.

    The walk is iterative, so deeply nested values cannot exhaust the Python stack.
    """
    ignored = compile_ignore(ignore)
    changed: dict[str, dict[str, Any]] = {}
    added: dict[str, Any] = {}
    removed: dict[str, Any] = {}
    type_changes: dict[str, dict[str, Any]] = {}
    text_diffs: dict[str, str] = {}

    stack: list[Task] = []
    slow = _visit(original, replay, 0)
    if slow is not None and not (ignored and ignored(ROOT)):
        stack.append((_COMPARE, ROOT, original, replay, slow))

    while stack:
        task, path, a, b, slow = stack.pop()
        if task == _REMOVED:
            removed[path] = a
            continue
        if task == _ADDED:
            added[path] = b
            continue
        kind = type(a)
        if kind is not type(b):
            type_changes[path] = {
                "old": a,
                "new": b,
                "old_type": kind.__name__,
                "new_type": type(b).__name__,
            }
            continue
        if isinstance(a, dict):
            tasks = _dict_tasks(path, a, b, slow, ignored)
        elif isinstance(a, (list, tuple)):
            tasks = _sequence_tasks(path, a, b, slow, ignored)
        else:
            if not _scalar_equal(a, b):
                changed[path] = {"old": a, "new": b}
                if isinstance(a, str) and (_is_text(a) or _is_text(b)):
                    text_diffs[path] = text_diff(a, b)
            continue
        tasks.reverse()  # the stack pops last-in first: keep document order
        stack.extend(tasks)

    return {
        "has_changes": bool(changed or added or removed or type_changes),
        "summary": summarize(len(changed), len(added), len(removed), len(type_changes)),
        "changed": changed,
        "added": added,
        "removed": removed,
        "type_changes": type_changes,
        "text_diffs": text_diffs,
    }


def _visit(a: Any, b: Any, slow: int) -> int | None:
    """None when the pair is known equal; else the slow countdown for visiting it."""
    if slow > 0 and not (type(a) is type(b) and type(a) in _SCALARS):
        return slow - 1
    same = _strict_equal(a, b)
    if same:
        return None
    return _SLOW_LEVELS if same is None else 0


def _dict_tasks(
    path: str, a: dict, b: dict, slow: int, ignored: Callable[[str], bool] | None
) -> list[Task]:
    tasks: list[Task] = []
    strict_keys = not set(map(type, a)) | set(map(type, b)) <= {str}
    if strict_keys:  # 1, 1.0 and True are one dict key to Python but three keys here
        a = {(type(k), k): (k, v) for k, v in a.items()}
        b = {(type(k), k): (k, v) for k, v in b.items()}
    for key, x in a.items():
        if key in b:
            y = b[key]
            if strict_keys:
                (real_key, x), y = x, y[1]
            else:
                real_key = key
            child_slow = _visit(x, y, slow)
            if child_slow is None:
                continue
            child = path + key_step(real_key)
            if not (ignored and ignored(child)):
                tasks.append((_COMPARE, child, x, y, child_slow))
        else:
            real_key, x = x if strict_keys else (key, x)
            child = path + key_step(real_key)
            if not (ignored and ignored(child)):
                tasks.append((_REMOVED, child, x, None, 0))
    for key, y in b.items():
        if key not in a:
            real_key, y = y if strict_keys else (key, y)
            child = path + key_step(real_key)
            if not (ignored and ignored(child)):
                tasks.append((_ADDED, child, None, y, 0))
    return tasks


def _sequence_tasks(
    path: str, a: list | tuple, b: list | tuple, slow: int, ignored: Callable[[str], bool] | None
) -> list[Task]:
    tasks: list[Task] = []
    common = min(len(a), len(b))
    for i in range(common):
        x, y = a[i], b[i]
        child_slow = _visit(x, y, slow)
        if child_slow is None:
            continue
        child = f"{path}[{i}]"
        if not (ignored and ignored(child)):
            tasks.append((_COMPARE, child, x, y, child_slow))
    for i in range(common, len(a)):
        child = f"{path}[{i}]"
        if not (ignored and ignored(child)):
            tasks.append((_REMOVED, child, a[i], None, 0))
    for i in range(common, len(b)):
        child = f"{path}[{i}]"
        if not (ignored and ignored(child)):
            tasks.append((_ADDED, child, None, b[i], 0))
    return tasks


# Characters JSON may leave unescaped that would break or hide a line on a terminal: C1
# controls (U+0085 and U+2028/U+2029 are line breaks to `str.splitlines`), DEL, zero-width
# and bidirectional-override characters. In printed JSON they are written as \\uXXXX escapes,
# which is still the same JSON.
_INVISIBLE = [*range(0x7F, 0xA0), *range(0x200B, 0x2010), *range(0x2028, 0x202F), *range(0x2060, 0x2065), *range(0x2066, 0x206A), 0xFEFF]
_ESCAPES = {code: f"\\u{code:04x}" for code in _INVISIBLE}


def visible_json(text: str) -> str:
    """JSON text with the characters above escaped, so one line of JSON prints as one line."""
    return text.translate(_ESCAPES)


def pretty_json(value: Any) -> str:
    """Indented JSON with sorted keys; falls back to insertion order for unsortable keys."""
    try:
        text = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=repr)
    except TypeError:
        text = json.dumps(value, indent=2, ensure_ascii=False, default=repr)
    return visible_json(text)


def unified_text(original: Any, replay: Any) -> str:
    """A unified line diff of both values as pretty JSON; empty when they print the same."""
    return text_diff(pretty_json(original), pretty_json(replay))
