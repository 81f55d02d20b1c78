"""JSON codecs: jsonb and json go in and out of PostgreSQL as Python objects.

Binary format, so the same codec also serves COPY (``copy_records_to_table``).
"""

from __future__ import annotations

import json
import weakref
from typing import Any

_prepared: "weakref.WeakSet[Any]" = weakref.WeakSet()


class RawJSON(str):
    """JSON text that is sent as it is, without encoding it again."""


# One encoder for every value: json.dumps with options builds a new encoder per call,
# which is a tenth of the encoding time of an import.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)


def _dumps(value: Any) -> str:
    if isinstance(value, RawJSON):
        return value
    return _ENCODER.encode(value)


def _encode_jsonb(value: Any) -> bytes:
    return b"\x01" + _dumps(value).encode()


def _decode_jsonb(data: bytes) -> Any:
    return json.loads(data[1:])


async def init_connection(conn: Any) -> None:
    """Register the codecs on one connection (the pool's ``init`` hook)."""
    await conn.set_type_codec(
        "jsonb", schema="pg_catalog", encoder=_encode_jsonb, decoder=_decode_jsonb, format="binary"
    )
    await conn.set_type_codec(
        "json", schema="pg_catalog", encoder=lambda v: _dumps(v).encode(), decoder=json.loads, format="binary"
    )
    _prepared.add(_raw(conn))


async def ensure_codecs(conn: Any) -> None:
    """Register the codecs on a connection from a pool the caller created without them."""
    if _raw(conn) not in _prepared:
        await init_connection(conn)


def _raw(conn: Any) -> Any:
    # A pool hands out proxies; the codec state belongs to the underlying connection.
    return getattr(conn, "_con", None) or conn
