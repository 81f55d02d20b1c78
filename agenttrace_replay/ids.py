"""Short ids people can type, and resolving a unique prefix to a full id (as git does)."""

from __future__ import annotations

import re
import secrets
from typing import Any

from agenttrace_replay.errors import AmbiguousId, InvalidInput, NotFound

# Ids are indexed, and an index entry must fit in about a third of a page (2,704 bytes): a
# (trace, span) pair of ids of at most 1,000 bytes of UTF-8 each always does.
MAX_ID_LENGTH = 1000
_HEX = re.compile(r"(?:chk-|rpl-)?[0-9a-f]+", re.IGNORECASE)  # OpenTelemetry ids, and ours


def too_long(value: str) -> bool:
    """More than MAX_ID_LENGTH bytes in UTF-8."""
    return len(value) > MAX_ID_LENGTH // 4 and len(value.encode("utf-8", "surrogatepass")) > MAX_ID_LENGTH


def new_id(prefix: str) -> str:
    """``prefix-`` plus 12 hex digits, e.g. ``chk-3f2a9c01b7de``."""
    return f"{prefix}-{secrets.token_hex(6)}"


def like_prefix(prefix: str) -> str:
    """A LIKE pattern matching ids that start with ``prefix`` literally."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def is_upper_hex(given: str) -> bool:
    """Hex digits with some in upper case: an OpenTelemetry id or one of ours (`CHK-D230...`),
    which are stored in lower case."""
    return given != given.lower() and _HEX.fullmatch(given) is not None


def require(given: str, what: str, hint: str) -> None:
    """An id or prefix must have something in it: an empty one would match every id."""
    if not given or not given.strip():
        raise InvalidInput(f"empty {what} id.", hint)


async def matching(conn: Any, sql: str, given: str, *leading: Any) -> tuple[str, list[str]]:
    """The ids ``sql`` finds for ``given`` (its arguments: ``leading``, the exact id, the LIKE
    pattern), and the form of ``given`` that found them: OpenTelemetry ids and ours are
    stored in lower case, so upper-case hex that finds nothing is tried in lower case."""
    rows = [r[0] for r in await conn.fetch(sql, *leading, given, like_prefix(given))]
    if not rows and is_upper_hex(given):
        given = given.lower()
        rows = [r[0] for r in await conn.fetch(sql, *leading, given, like_prefix(given))]
    return given, rows


async def resolve(conn: Any, sql: str, given: str, what: str, hint: str) -> str:
    """The one id that equals ``given`` or starts with it.

    ``sql`` takes ($1 exact id, $2 LIKE pattern) and returns the exact match first.
    """
    require(given, what, hint)
    if too_long(given):
        raise NotFound(f"no {what} '{given[:40]}...' (ids are at most {MAX_ID_LENGTH:,} bytes long).", hint)
    if "\x00" in given:  # no stored id has one (imports refuse it), and PostgreSQL text cannot hold it
        raise NotFound(f"no {what} {given!r}.", hint)
    given, rows = await matching(conn, sql, given)
    if not rows:
        raise NotFound(f"no {what} '{given}'.", hint)
    if rows[0] == given or len(rows) == 1:
        return rows[0]
    raise AmbiguousId(given, rows, what)
