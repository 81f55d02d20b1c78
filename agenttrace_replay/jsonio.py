"""Fast JSON reading and writing for the hot paths (import, the jsonb codec).

msgspec does the work: it decodes a few times faster than the standard library, keeps
integers of any size exact (orjson turns integers above 64 bits into floats) and encodes
about ten times faster. Where msgspec refuses a document the standard library reads it
again, so the errors callers see, and their messages (`Extra data`, line and column), are
the standard library's. The one difference on purpose: `NaN`, `Infinity` and numbers too
large for a float are refused, because PostgreSQL's jsonb cannot hold them.
"""

from __future__ import annotations

import json
import math
from typing import Any

import msgspec

_decoder = msgspec.json.Decoder()


def _unknown(value: Any) -> Any:
    """Values JSON has no form for (datetimes aside, which msgspec writes as RFC 3339) become text."""
    return str(value)


_encoder = msgspec.json.Encoder(enc_hook=_unknown)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(f"the number {text[:40]} is too large")
    return number


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > 4300:  # Python's own limit on reading integers from text
        raise ValueError(f"an integer has {len(text.lstrip('-')):,} digits; at most 4,300 are read")
    return int(text)


# The standard library's decoder with `loads`' rules (no NaN, infinities or over-long integers),
# for reading JSON documents one after another (`raw_decode`).
STRICT_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite, parse_int=_integer)


def loads(data: str | bytes) -> Any:
    """A JSON document as Python values; `json.JSONDecodeError` or `ValueError` when it is not."""
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, RecursionError):
        pass
    # msgspec said no: let the standard library decide, and word the error, on the rare input
    return json.loads(data, parse_constant=_no_constant, parse_float=_finite, parse_int=_integer)


# How deep stored values may nest. Values a trace carries (JSON text in attributes, nested
# OTLP values, plain JSON attributes) are taken apart up to PARSED_NESTING levels, and what
# lies deeper is kept as its JSON text (`capped`); a native file may hold values up to
# STORED_NESTING levels (what such a trace becomes, with its payloads' few levels of wrapping),
# and so may an executor's output. Reading, copying, hashing and printing values are recursive
# in places, and Python's recursion limit allows some hundreds of levels.
PARSED_NESTING = 100
STORED_NESTING = 200


def nested_deeper(value: Any, limit: int) -> bool:
    """Whether objects and lists in `value` nest more than `limit` levels (`{}` is one level)."""
    return isinstance(value, (dict, list)) and not _within(value, limit)


def _within(value: Any, levels: int) -> bool:
    # recursive, to at most `levels` calls deep: quicker than a stack of (value, depth) pairs
    if levels <= 0:
        return False
    for child in value.values() if type(value) is dict or isinstance(value, dict) else value:
        if type(child) in _SCALARS:  # most values: skipped with one look-up
            continue
        if isinstance(child, (dict, list)) and not _within(child, levels - 1):
            return False
    return True


_SCALARS = frozenset((str, int, float, bool, type(None)))


def capped(value: Any, limit: int) -> Any:
    """`value`, or when it nests more than `limit` levels a copy in which every object or list
    below level `limit` is replaced by its JSON text."""
    if not nested_deeper(value, limit):
        return value

    def cut(item: Any, level: int) -> Any:
        if not isinstance(item, (dict, list)):
            return item
        if level > limit:
            return dumps_deep(item)
        if isinstance(item, dict):
            return {key: cut(child, level + 1) for key, child in item.items()}
        return [cut(child, level + 1) for child in item]

    return cut(value, 1)


# Compact UTF-8 JSON of a value. Non-finite floats are written as null (JSON has no form for them).
dumps_bytes = _encoder.encode


def dumps_text(value: Any) -> str:
    return _encoder.encode(value).decode()


def dumps_pretty(value: Any, *, sort_keys: bool = False, default: Any = None) -> str:
    """`json.dumps(value, indent=2, ensure_ascii=False, sort_keys=sort_keys, default=default)`,
    the same text, about three times faster on large values (a 97 MB export: 0.7 s against
    2.0 s): the standard library indents in Python, so its C encoder writes the value
    compact and msgspec indents that. What msgspec cannot read back (NaN, infinities, a lone
    surrogate) is left to the standard library, as is a value nested too deep."""
    compact = json.dumps(value, ensure_ascii=False, sort_keys=sort_keys, default=default)
    try:
        return msgspec.json.format(compact.encode(), indent=2).decode()
    except (msgspec.DecodeError, UnicodeEncodeError, RecursionError):
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=sort_keys, default=default)


class _Raw(str):
    """Text `dumps_deep` writes as it is (brackets, separators, keys)."""


def dumps_deep(value: Any) -> str:
    """`dumps_text` without recursion, for values nested deeper than an encoder's recursion
    allows (the parts `capped` keeps as text can be some hundreds of levels deep)."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if type(item) is _Raw:
            out.append(item)
        elif isinstance(item, dict):
            out.append("{")
            stack.append(_Raw("}"))
            entries = list(item.items())
            for index in range(len(entries) - 1, -1, -1):
                key, child = entries[index]
                stack.append(child)
                stack.append(_Raw(dumps_text(str(key)) + ":"))
                if index:
                    stack.append(_Raw(","))
        elif isinstance(item, list):
            out.append("[")
            stack.append(_Raw("]"))
            for index in range(len(item) - 1, -1, -1):
                stack.append(item[index])
                if index:
                    stack.append(_Raw(","))
        else:
            out.append(dumps_text(item))
    return "".join(out)
