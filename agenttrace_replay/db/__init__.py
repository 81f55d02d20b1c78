"""Database access: the pool, codecs, named queries and the embedded server.

All SQL lives in ``queries.sql`` and ``migrations/``; the project's tables are in their own
schema (default ``agenttrace``), so SQL names them as ``{schema}.table``.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import asyncpg

from agenttrace_replay.config import Settings, redact_url, validate_schema, DEFAULT_SCHEMA
from agenttrace_replay.db.codecs import borrow_codecs, init_connection, return_codecs
from agenttrace_replay.db.queries import Queries, queries_for
from agenttrace_replay.errors import DatabaseUnavailable, InvalidInput

CONNECT_TIMEOUT = 5.0

__all__ = ["Database", "connect", "create_pool", "init_connection"]


class Database:
    """A pool plus the schema its tables live in. Accepts a pool the caller created."""

    def __init__(self, pool: asyncpg.Pool, schema: str = DEFAULT_SCHEMA, *, owned: bool = False) -> None:
        self.pool = pool
        self.schema = validate_schema(schema)
        self.q: Queries = queries_for(self.schema)
        self._owned = owned

    @classmethod
    def wrap(cls, pool_or_db: "asyncpg.Pool | Database", schema: str | None = None) -> "Database":
        """A `Database` for an asyncpg pool (``schema`` or the default), or the one given."""
        if isinstance(pool_or_db, Database):
            if schema is not None and validate_schema(schema) != pool_or_db.schema:
                raise InvalidInput(
                    f"schema '{schema}' was given with a Database whose schema is '{pool_or_db.schema}'.",
                    "Leave schema out, or pass the pool itself.",
                )
            return pool_or_db
        if not isinstance(pool_or_db, asyncpg.Pool):
            raise TypeError(
                f"expected an asyncpg pool (asyncpg.create_pool) or an agenttrace_replay Database, "
                f"not {type(pool_or_db).__name__}"
            )
        return cls(pool_or_db, schema or DEFAULT_SCHEMA)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection of the pool. A database that went away or has no tables is a
        `DatabaseUnavailable`, not a driver error."""
        own_error: BaseException | None = None  # raised by the caller's code on a working connection
        try:
            async with self.pool.acquire() as conn:
                # a pool made without our codecs: they are put on for this use only, so the
                # caller's own queries still get JSON as text
                borrowed = await borrow_codecs(conn)
                try:
                    yield conn
                except BaseException as exc:
                    maybe_ours = isinstance(exc, (OSError, asyncpg.InterfaceError))  # only if the connection died
                    if not isinstance(exc, _CONNECTION_LOST) or (maybe_ours and not _closed(conn)):
                        own_error = exc
                    await return_codecs(conn, borrowed, failed=True)
                    raise
                await return_codecs(conn, borrowed)
        except _CONNECTION_LOST as exc:
            if exc is own_error:
                raise
            cause = _first_cause(exc)
            reason = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
            raise DatabaseUnavailable(
                f"lost the connection to the database: {reason}.",
                "Check that the server still runs (agenttrace-replay db status) and try again.",
            ) from exc
        except (asyncpg.UndefinedTableError, asyncpg.InvalidSchemaNameError) as exc:
            raise DatabaseUnavailable(
                f"the database has no agenttrace-replay tables in schema '{self.schema}' ({exc}).",
                "Run: agenttrace-replay db migrate, with the same --db, AGENTTRACE_DATABASE_URL or config file.",
            ) from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        async with self.acquire() as conn:
            async with conn.transaction():
                yield conn

    async def close(self) -> None:
        if self._owned:
            await self.pool.close()


# What a connection that died (the server stopped, the network went) raises, at acquire or in use.
_CONNECTION_LOST = (
    OSError, asyncpg.PostgresConnectionError, asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError, asyncpg.CannotConnectNowError, asyncpg.InterfaceError,
)


def _first_cause(exc: BaseException) -> BaseException:
    """The error that started it: rolling back on a connection the server ended raises an
    error of its own (`Transaction.__aexit__` on a closed connection) that hides the server's
    reason (an idle-in-transaction timeout, an administrator's pg_terminate_backend)."""
    chain = [exc]
    while chain[-1].__context__ is not None and len(chain) < 10:
        chain.append(chain[-1].__context__)
    said = [e for e in chain if isinstance(e, asyncpg.PostgresError)]  # the server's own words
    return said[-1] if said else exc


def _closed(conn: Any) -> bool:
    """Whether a pool connection is closed; one asyncpg has already taken back (it does, when
    the server ends it) counts as closed, and asking it would raise an error of its own."""
    try:
        return bool(conn.is_closed())
    except asyncpg.InterfaceError:
        return True


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 4) -> asyncpg.Pool:
    """A pool with the JSON codecs on every connection; errors name the URL without password."""
    dsn, timeout = _connect_timeout(url)
    try:
        return await asyncpg.create_pool(dsn, min_size=min_size, max_size=max_size, init=init_connection, timeout=timeout)
    except (ValueError, asyncpg.ClientConfigurationError) as exc:
        raise InvalidInput(f"invalid database URL '{redact_url(url)}': {exc}.") from exc
    except asyncpg.InvalidCatalogNameError as exc:
        name = urlsplit(url).path.lstrip("/") or "(the user's default)"
        raise DatabaseUnavailable(f"database '{name}' does not exist on the server at {redact_url(url)}.", "Create it or fix the URL.") from exc
    except asyncpg.InvalidAuthorizationSpecificationError as exc:
        raise DatabaseUnavailable(f"cannot log in to {redact_url(url)}: {exc}.", "Check the user and password.") from exc
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = str(exc) or type(exc).__name__
        raise DatabaseUnavailable(
            f"cannot connect to the database at {redact_url(url)}: {reason}.",
            "Check that the server runs and the URL is right (--db, AGENTTRACE_DATABASE_URL or the config file).",
        ) from exc


def _connect_timeout(url: str) -> tuple[str, float]:
    """libpq's `connect_timeout=SECONDS` query parameter, which asyncpg does not know (it would
    send it to the server as a setting, and the server refuses it): taken out of the URL and
    used as the connection timeout."""
    head, question, query = url.partition("?")
    if not question or "connect_timeout" not in query:
        return url, CONNECT_TIMEOUT
    kept, timeout = [], CONNECT_TIMEOUT
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if key != "connect_timeout":
            kept.append(pair)
            continue
        try:
            seconds = float(value)
        except ValueError:
            raise InvalidInput(f"invalid database URL '{redact_url(url)}': connect_timeout={value!r:.20} is not a number of seconds.") from None
        timeout = seconds if seconds > 0 else CONNECT_TIMEOUT
    return head + (f"?{'&'.join(kept)}" if kept else ""), timeout


async def connect(settings: Settings, *, migrate: bool = True, max_size: int = 4) -> Database:
    """Open the database the settings point at; the embedded one is started and migrated."""
    from agenttrace_replay.db import migrations

    if settings.embedded:
        from agenttrace_replay.db.embedded import ensure_server

        url = await asyncio.to_thread(ensure_server, settings.data_dir)
    else:
        url = settings.database_url or ""
    pool = await create_pool(url, max_size=max_size)
    db = Database(pool, settings.schema, owned=True)
    try:
        if settings.embedded and migrate:
            await migrations.migrate(db)
        elif migrate:
            await migrations.require_current(db)
    except BaseException:
        await pool.close()
        raise
    return db


def pool_kwargs() -> dict[str, Any]:
    """Keyword arguments for callers creating their own pool: ``asyncpg.create_pool(url, **pool_kwargs())``."""
    return {"init": init_connection}
