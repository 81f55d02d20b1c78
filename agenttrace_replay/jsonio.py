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


def loads(data: str | bytes) -> Any:
    """A JSON document as Python values; `json.JSONDecodeError` or `ValueError` when it is not."""
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, RecursionError):
        pass
    # msgspec said no: let the standard library decide, and word the error, on the rare input
    return json.loads(data, parse_constant=_no_constant, parse_float=_finite, parse_int=_integer)


# How deep stored values may nest. JSON a trace carries as text (tool arguments, messages) or
# as nested OTLP values is taken apart up to PARSED_NESTING levels and kept as its text past
# that; a native file may hold values up to STORED_NESTING levels (what such a trace becomes,
# with its payloads' few levels of wrapping). Reading, copying, hashing and printing values are
# recursive in places, and Python's recursion limit allows some hundreds of levels.
PARSED_NESTING = 100
STORED_NESTING = 200


def nested_deeper(value: Any, limit: int) -> bool:
    """Whether objects and lists in `value` nest more than `limit` levels (`{}` is one level)."""
    if not isinstance(value, (dict, list)):
        return False
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


# Compact UTF-8 JSON of a value. Non-finite floats are written as null (JSON has no form for them).
dumps_bytes = _encoder.encode



def dumps_text(value: Any) -> str:
    return _encoder.encode(value).decode()
