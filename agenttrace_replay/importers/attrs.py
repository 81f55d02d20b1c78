"""Small helpers for reading span attributes: OTLP `AnyValue`s and flattened keys.

Conventions spread one structured value over many keys (`llm.input_messages.0.message.role`,
`gen_ai.prompt.1.content`) or pack it into a JSON string (`gen_ai.input.messages`). These
helpers turn either form back into Python values without ever raising on odd input: a trace
from the wild is read as far as it makes sense, and the raw attributes are kept anyway.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..errors import InvalidInput
from ..jsonio import PARSED_NESTING, capped, dumps_deep, loads

Attrs = Mapping[str, Any]


def parse_json(value: Any) -> Any:
    """`value` decoded when it is a string holding JSON, else `value` itself."""
    if isinstance(value, str | bytes):
        text = value.strip() if isinstance(value, str) else value
        if not text:
            return value
        try:
            parsed = loads(text)
        except (ValueError, RecursionError):
            return value
        if openings(text) > PARSED_NESTING:
            return capped(parsed, PARSED_NESTING)  # see jsonio.PARSED_NESTING
        return parsed
    return value


def openings(text: str | bytes) -> int:
    """How many `[` and `{` the text holds: more than any nesting depth in it (a quick bound)."""
    return text.count(b"[") + text.count(b"{") if isinstance(text, bytes) else text.count("[") + text.count("{")


def parse_json_container(value: Any) -> Any:
    """Like `parse_json`, but only accepts a JSON object or array: `"42"` stays a string.

    Tool arguments and message lists are containers; a bare number or quoted word that
    happens to parse is more likely plain text than JSON.
    """
    parsed = parse_json(value)
    return parsed if isinstance(parsed, dict | list) else value


def first(attrs: Attrs, *keys: str) -> Any:
    """The value of the first key present with a value other than None or ""."""
    for key in keys:
        value = attrs.get(key)
        if value is not None and value != "":
            return value
    return None


def as_int(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return int(number) if math.isfinite(number) else None
    return None


def as_float(value: Any) -> float | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def as_text(value: Any) -> str | None:
    """A string for display: strings as they are, other values as compact JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    return _DISPLAY.encode(value)


_DISPLAY = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))  # one encoder, not one per call


def indexed(attrs: Attrs, prefix: str) -> list[dict[str, Any]]:
    """Group `prefix.N.rest` keys into a list of `{rest: value}` dicts ordered by N.

    `indexed(a, "llm.input_messages")` on `llm.input_messages.0.message.role` gives
    `[{"message.role": ...}]`. Gaps in the numbering are skipped rather than padded.
    """
    head = prefix + "."
    groups: dict[int, dict[str, Any]] = {}
    for key, value in attrs.items():
        if not key.startswith(head):
            continue
        index_text, _, rest = key[len(head) :].partition(".")
        if not index_text.isdigit() or not rest:
            continue
        groups.setdefault(int(index_text), {})[rest] = value
    return [groups[i] for i in sorted(groups)]


def has_prefix(attrs: Attrs, prefix: str) -> bool:
    head = prefix + "."
    return any(key.startswith(head) for key in attrs)


def compact(mapping: Mapping[str, Any]) -> dict[str, Any]:
    """Drop keys whose value is None, so equal things serialise equally."""
    return {k: v for k, v in mapping.items() if v is not None}


def unique(values: Iterable[Any]) -> list[Any]:
    """The values other than None, each once, in order (linear for hashable values)."""
    out: list[Any] = []
    hashable: set[Any] = set()
    for value in values:
        if value is None:
            continue
        try:
            if value in hashable:
                continue
            hashable.add(value)
        except TypeError:  # a list or a dict: compared one by one
            if value in out:
                continue
        out.append(value)
    return out


# --- OTLP attribute values ------------------------------------------------------------------


_SNAKE: dict[str, str] = {}


def otlp_field(obj: Mapping[str, Any], camel: str) -> Any:
    """A field by its lowerCamelCase name or its protobuf snake_case name."""
    if camel in obj:
        return obj[camel]
    snake = _SNAKE.get(camel)
    if snake is None:
        snake = _SNAKE[camel] = re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)
    return obj.get(snake)


def any_value(value: Any, depth: int = 0) -> Any:
    """A Python value from an OTLP `AnyValue` (`{"stringValue": ...}`, arrays, kvlists, ...);
    arrays and kvlists nested more than `jsonio.PARSED_NESTING` levels are kept as JSON text."""
    if not isinstance(value, dict):
        return capped(value, PARSED_NESTING - depth)  # a writer that put plain JSON values: taken as they are
    if not value:
        return None
    if len(value) == 1:  # the usual case, one typed field: skip the general search
        ((field, found),) = value.items()
        if found is not None:
            if field == "stringValue":
                return str(found)
            if field == "intValue":
                return _int_value(found)
            if field == "doubleValue":
                return _double_value(found)
            if field == "boolValue":  # a bool; anything else (`"false"`) kept as written, never turned into its truth value
                return capped(found, PARSED_NESTING - depth)
    elif "stringValue" in value:
        found = value["stringValue"]
        if found is not None:
            return str(found)
    for key, convert in (
        ("stringValue", str),
        ("boolValue", lambda found: capped(found, PARSED_NESTING - depth)),
        ("intValue", _int_value),
        ("doubleValue", _double_value),
        ("bytesValue", str),
    ):
        found = otlp_field(value, key)
        if found is not None:
            return convert(found)
    array = otlp_field(value, "arrayValue")
    kvlist = otlp_field(value, "kvlistValue")
    if depth >= PARSED_NESTING and (array is not None or kvlist is not None):
        return dumps_deep(value)
    if isinstance(array, dict) and isinstance(items := array.get("values") or [], list):
        return [any_value(v, depth + 1) for v in items]
    if isinstance(kvlist, dict) and isinstance(items := kvlist.get("values") or [], list):
        return attributes(items, depth=depth + 1)
    return capped(dict(value), PARSED_NESTING - depth)  # not a value this reader knows: kept as written


_INT64 = re.compile(r"-?[0-9]{1,20}")


def _int_value(value: Any) -> Any:
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _INT64.fullmatch(value.strip()):
        return int(value)
    return value  # not an int64: keep what was written


def _double_value(value: Any) -> Any:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return value
    return number if number == number and abs(number) != float("inf") else str(value)


def attributes(items: Any, where: str = "", depth: int = 0) -> dict[str, Any]:
    """A flat `{key: value}` dict from an OTLP `KeyValue` list."""
    if items is None:
        return {}
    if not isinstance(items, list):
        raise InvalidInput(f"{where}: attributes must be a list of {{key, value}} objects")
    out: dict[str, Any] = {}
    for item in items:
        if isinstance(item, dict) and isinstance(key := item.get("key"), str):
            value = item.get("value")
            # most values are plain strings: take them without the general search
            if type(value) is dict and len(value) == 1 and type(text := value.get("stringValue")) is str:
                out[key] = text
            else:
                out[key] = any_value(value, depth)
        elif where:
            raise InvalidInput(f"{where}: an attribute is not a {{key, value}} object")
    return out
