"""Modified inputs: the merge rule, and parsing ``--input key=value`` and input files.

The merge rule (``merge_input(recorded, patch)``), applied recursively:

- an object merged into an object merges key by key;
- a key whose value is ``null`` is removed (in a list edit, ``{"0": null}``, the item is);
- a key ending in ``+`` appends to the list under the key without the ``+``
  (``{"messages+": [{...}]}`` adds a message);
- an object whose keys are all integers, merged into a list, merges into the items at
  those indexes (negative indexes count from the end): ``{"messages": {"-1": {"content":
  "..."}}}`` edits the last message;
- anything else (a list, a string, a number, true/false) replaces the recorded value, so a
  list given in full replaces the recorded list.

An empty object changes nothing, also where the recorded value is a list. Several patches
(``--input-file`` and then ``--input``) are combined with `combine_patches`, never with
`merge_input`, so their removals and appends reach the recorded input.
"""

from __future__ import annotations

import copy
import json
import math
import re
from pathlib import Path
from typing import Any

from agenttrace_replay.errors import InvalidInput
from agenttrace_replay.jsonio import STORED_NESTING, loads, nested_deeper

MAX_DEPTH = STORED_NESTING  # levels of objects and lists in an input patch; real inputs use a handful


_INTEGER = re.compile(r"-?[0-9]+")


def _index(key: Any, length: int, where: str) -> int | None:
    """The list index a patch key names: an int, or text of ASCII digits with an optional
    minus. `int()` alone would also read " 1", "1_0" (ten) and non-ASCII digits."""
    if isinstance(key, bool) or not isinstance(key, (int, str)):
        return None
    if isinstance(key, str) and not _INTEGER.fullmatch(key):
        return None
    i = int(key)
    if not -length <= i < length:
        raise InvalidInput(f"{where}: index {i} is out of range for a list of {length} item(s).")
    return i % length


def merge_input(recorded: Any, patch: Any, where: str = "input") -> Any:
    """``recorded`` with ``patch`` merged in; neither argument is changed."""
    return _merge(copy.deepcopy(recorded), patch, where)


def _merge(target: Any, patch: Any, where: str) -> Any:
    if isinstance(patch, dict) and isinstance(target, list):
        if not patch:  # no keys, so vacuously all integers: nothing to patch
            return target
        indexes = {key: _index(key, len(target), where) for key in patch}
        if all(i is not None for i in indexes.values()):
            removed: set[int] = set()
            for key, value in patch.items():
                i = indexes[key]
                assert i is not None
                if value is None:  # null removes, here the item (after all edits, by position)
                    removed.add(i)
                else:
                    removed.discard(i)
                    target[i] = _merge(target[i], value, f"{where}[{i}]")
            for i in sorted(removed, reverse=True):
                del target[i]
            return target
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = target if isinstance(target, dict) else {}
    for key, value in patch.items():
        key = str(key)
        if value is None:
            result.pop(key, None)
        elif key.endswith("+") and len(key) > 1:
            base = key[:-1]
            current = result.get(base, [])
            if not isinstance(current, list):
                raise InvalidInput(f"{where}.{base} is not a list, so '{key}' cannot append to it.")
            current.extend(copy.deepcopy(value) if isinstance(value, list) else [copy.deepcopy(value)])
            result[base] = current
        else:
            result[key] = _merge(result.get(key), value, f"{where}.{key}")
    return result


def combine_patches(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """One patch that merges like ``first`` and then ``second`` (``--input-file``, then ``--input``).

    Patches cannot be combined with `merge_input` itself: that would apply the removals
    (``null``) and appends (``key+``) to the first patch instead of carrying them to the
    recorded input. Objects combine key by key, appends accumulate, and any other value of
    ``second`` replaces the first's. One corner is not exact: when ``first`` replaces a key
    with a value that is not an object or a list and ``second`` patches into that key with
    an object, the combined patch merges that object into the recorded value instead.
    """
    result = copy.deepcopy(first)
    for key, value in second.items():
        key = str(key)
        earlier = result.get(key)
        if key.endswith("+") and len(key) > 1 and key in result:
            result[key] = _as_list(earlier) + copy.deepcopy(_as_list(value))
        elif isinstance(value, dict) and isinstance(earlier, dict):
            result[key] = combine_patches(earlier, value)
        elif isinstance(value, dict) and isinstance(earlier, list):
            result[key] = merge_input(earlier, value, f"input.{key}")
        else:
            result[key] = copy.deepcopy(value)
    return result


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def parse_value(text: str) -> Any:
    """JSON when it parses (numbers, true, null, objects, lists, quoted strings), else the text.

    `NaN` and `Infinity` are not JSON: they stay text, as anything else that is not.
    """
    try:
        return loads(text)
    except (ValueError, RecursionError):
        return text


def parse_assignments(items: list[str], option: str = "--input") -> dict[str, Any]:
    """``["a.b=1", "q=hello"]`` -> ``{"a": {"b": 1}, "q": "hello"}`` (later items win)."""
    patch: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidInput(f"{option} {item!r} is not KEY=VALUE.", f"Example: {option} " + ('model=gpt-4o-mini' if option == "--override" else 'query="a new question"'))
        parts = key.split(".")
        if any(not p for p in parts):
            raise InvalidInput(f"{option} {item!r}: the key {key!r} has an empty part.", "Use dotted keys like a.b.c=VALUE.")
        if len(parts) > MAX_DEPTH:
            raise InvalidInput(f"{option} {key[:60]}...=: the key is nested more than {MAX_DEPTH} levels deep.", "Flatten it.")
        node = patch
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = node[part] = {}
            node = child
        value = parse_value(raw)
        last = parts[-1]
        if last.endswith("+") and len(last) > 1 and last in node:  # appends accumulate
            value = _as_list(node[last]) + _as_list(value)
        node[last] = value
        if nested_deeper(node[parts[-1]], MAX_DEPTH - len(parts)):
            raise InvalidInput(f"{option} {key}=...: the value is nested more than {MAX_DEPTH} levels deep.", "Flatten it.")
    return patch


def read_input_file(path: str | Path) -> dict[str, Any]:
    """A JSON or YAML file holding an object to merge into the input."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InvalidInput(f"input file {path}: no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"input file {path}: cannot read it: {exc}.") from None
    try:
        data = loads(text)
    except json.JSONDecodeError:  # not JSON at all: YAML, then
        data = _read_yaml(text, path)
    except RecursionError:
        raise InvalidInput(f"input file {path}: the JSON is nested too deeply to read.") from None
    except ValueError as exc:  # JSON, but with NaN, Infinity or a number too large for a double
        raise InvalidInput(f"input file {path}: {exc}.", "Give a number or a string there.") from None
    if not isinstance(data, dict):
        kind = "nothing (it is empty)" if data is None else type(data).__name__
        raise InvalidInput(f"input file {path} must hold an object (a mapping of keys), not {kind}.")
    if nested_deeper(data, MAX_DEPTH):
        raise InvalidInput(f"input file {path}: the input is nested more than {MAX_DEPTH} levels deep.", "Flatten it.")
    if (where := _non_finite(data)) is not None:
        raise InvalidInput(f"input file {path}: {where} is NaN or infinite, which JSON cannot hold.", "Give a number or a string.")
    return data


def _read_yaml(text: str, path: Path) -> Any:
    """YAML without anchors and aliases: expanding aliases is how a file of a few hundred
    bytes becomes gigabytes of input (a "billion laughs"), and an input patch never needs them."""
    import yaml

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            event = self.peek_event()
            if getattr(event, "anchor", None) is not None:
                what = f"alias *{event.anchor}" if isinstance(event, yaml.AliasEvent) else f"anchor &{event.anchor}"
                raise InvalidInput(
                    f"input file {path}: line {event.start_mark.line + 1} has the YAML {what}; input files may not use anchors or aliases.",
                    "Write the values out in full.",
                )
            return super().compose_node(parent, index)

    try:
        return yaml.load(text, Loader=Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        raise InvalidInput(f"input file {path} is neither JSON nor YAML: {str(exc).splitlines()[0]}.") from None
    except RecursionError:
        raise InvalidInput(f"input file {path}: the YAML is nested too deeply to read.", "Flatten it.") from None


def check_storable(value: Any, what: str) -> None:
    """Refuse, before a replay runs, a patch the database could not store with the replay:
    NUL characters (PostgreSQL text and jsonb cannot hold them) and NaN or infinite numbers
    (JSON has no form for them). Found only after the executor ran, they would lose the
    replay it produced."""
    if nested_deeper(value, MAX_DEPTH):
        raise InvalidInput(f"{what}: nested more than {MAX_DEPTH} levels deep, more than can be stored.", "Flatten it.")
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str) and "\x00" in item:
            raise InvalidInput(f"{what}: {path or 'the value'} holds a NUL character (\\u0000), which cannot be stored.", "Remove it.")
        if isinstance(item, float) and not math.isfinite(item):
            raise InvalidInput(f"{what}: {path or 'the value'} is NaN or infinite, which JSON cannot hold.", "Give a number or a string.")
        if isinstance(item, dict):
            for key, child in item.items():
                step = f"{path}.{key}" if path else str(key)
                if not isinstance(key, str):  # JSON keys are text: 1 and "1" would become one key
                    raise InvalidInput(f"{what}: key {key!r:.40} at {path or 'the top'} is not a string.", "Use text keys.")
                if "\x00" in key:
                    raise InvalidInput(f"{what}: a key holds a NUL character (\\u0000), which cannot be stored.", "Remove it.")
                stack.append((child, step))
        elif isinstance(item, list):
            stack.extend((child, f"{path}[{i}]") for i, child in enumerate(item))
        elif item is not None and not isinstance(item, (str, int, float)):  # bool is an int
            raise InvalidInput(
                f"{what}: {path or 'the value'} is a {type(item).__name__}, which JSON cannot hold as it is.",
                "Use objects, lists, strings, numbers, true/false and null.",
            )


def _non_finite(value: Any, path: str = "") -> str | None:
    """The dotted path of the first NaN or infinite number in a YAML-read value, else None."""
    if isinstance(value, float) and not math.isfinite(value):
        return path or "the value"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if (found := _non_finite(item, f"{path}.{key}" if path else str(key))) is not None:
            return found
    return None
