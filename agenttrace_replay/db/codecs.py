"""JSON codecs: jsonb and json go in and out of PostgreSQL as Python objects.

Binary format, so the same codec also serves COPY (``copy_records_to_table``).
"""

from __future__ import annotations

import socket
import weakref
from typing import Any

from agenttrace_replay.jsonio import dumps_bytes, loads

_prepared: "weakref.WeakSet[Any]" = weakref.WeakSet()


class RawJSON(str):
    """JSON text that is sent as it is, without encoding it again."""


def _dumps(value: Any) -> bytes:
    if isinstance(value, RawJSON):
        return value.encode()
    return dumps_bytes(value)


def _encode_jsonb(value: Any) -> bytes:
    return b"\x01" + _dumps(value)


def _decode_jsonb(data: bytes) -> Any:
    return loads(data[1:])


async def init_connection(conn: Any) -> None:
    """Register the codecs on one connection (the pool's ``init`` hook)."""
    await _set_codec(conn, "jsonb")
    await _set_codec(conn, "json")
    _widen_send_buffer(conn)
    _prepared.add(_raw(conn))


_CODECS = {"jsonb": (_encode_jsonb, _decode_jsonb), "json": (_dumps, loads)}  # (encoder, decoder), binary


async def _set_codec(conn: Any, name: str) -> None:
    encoder, decoder = _CODECS[name]
    await conn.set_type_codec(name, schema="pg_catalog", encoder=encoder, decoder=decoder, format="binary")


def _widen_send_buffer(conn: Any) -> None:
    """Let the kernel hold a whole COPY batch on a local (Unix-socket) connection.

    The default buffer is about 200 kB. An import computes the next spans while the server
    stores the last ones; when the buffer is small, the server runs dry whenever Python is
    busy and the two stop overlapping (measured: 13 ms of a 57 ms write). TCP connections
    tune their own buffers and are left alone; the kernel caps the size at wmem_max.
    """
    transport = getattr(_raw(conn), "_transport", None)
    sock = transport.get_extra_info("socket") if transport is not None else None
    if sock is not None and sock.family == socket.AF_UNIX:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        except OSError:
            pass  # an unusual socket: the default buffer works, only slower


async def borrow_codecs(conn: Any) -> tuple[str, ...]:
    """Put the codecs on a connection of a pool the caller created without them, for one use.

    Returns the types whose codecs `return_codecs` must take off again: those the caller's
    connection had left at asyncpg's default (JSON text as `str`), which the caller's own
    code relies on. A type the caller gave a codec of its own (objects in and out, as ours)
    keeps ours from then on: asyncpg cannot hand back the caller's codec to restore.
    """
    raw = _raw(conn)
    if raw in _prepared:
        return ()
    row = await conn.fetchrow("SELECT '1'::jsonb, '1'::json")
    defaults = tuple(name for name, value in zip(("jsonb", "json"), row) if type(value) is str)
    for name in ("jsonb", "json"):
        await _set_codec(conn, name)
    if not defaults:
        _prepared.add(raw)
    return defaults


async def return_codecs(conn: Any, names: tuple[str, ...], *, failed: bool = False) -> None:
    """Give a borrowed connection back with asyncpg's default codecs for ``names``.

    If that fails, the connection is closed instead (the pool replaces it): it must not go
    back to the caller with our codecs. The error is raised unless the use itself ``failed``
    (its own error is the one to report).
    """
    if names and not conn.is_closed():
        try:
            for name in names:
                await conn.reset_type_codec(name, schema="pg_catalog")
        except BaseException:
            conn.terminate()
            if not failed:
                raise


def _raw(conn: Any) -> Any:
    # A pool hands out proxies; the codec state belongs to the underlying connection.
    return getattr(conn, "_con", None) or conn
