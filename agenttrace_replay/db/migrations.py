"""Versioned SQL migrations, each applied in one transaction and recorded in a table.

Files are ``migrations/NNNN_name.sql``; ``{schema}`` in them is the project's schema. An
advisory lock serialises concurrent migrators, so two processes never apply one twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING

from agenttrace_replay.db.queries import quote_ident
from agenttrace_replay.errors import DatabaseUnavailable

if TYPE_CHECKING:
    from agenttrace_replay.db import Database

_FILE_RE = re.compile(r"^(\d{4})_(\w+)\.sql$")
_LOCK_KEY = 0x41675472  # advisory lock id: "AgTr"


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


@lru_cache(maxsize=1)
def available() -> tuple[Migration, ...]:
    folder = resources.files("agenttrace_replay.db").joinpath("migrations")
    found = []
    for entry in folder.iterdir():
        match = _FILE_RE.match(entry.name)
        if match:
            found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    return tuple(sorted(found, key=lambda m: m.version))


async def applied_versions(db: "Database") -> list[int]:
    async with db.acquire() as conn:
        exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", f"{quote_ident(db.schema)}.schema_migrations")
        if not exists:
            return []
        return [r[0] for r in await conn.fetch(db.q.applied_migrations)]


async def migrate(db: "Database") -> list[Migration]:
    """Apply every pending migration; return those applied now."""
    applied_now: list[Migration] = []
    # the common case, every command on an up-to-date database: one look, no transactions
    if not await pending(db):
        return applied_now
    schema = quote_ident(db.schema)
    async with db.acquire() as conn:
        for migration in available():
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
                # only when missing: CREATE SCHEMA IF NOT EXISTS needs the right to create
                # schemas in the database even when it exists (a role given one schema has not)
                if not await conn.fetchval("SELECT 1 FROM pg_namespace WHERE nspname = $1", db.schema):
                    await conn.execute(f"CREATE SCHEMA {schema}")
                await conn.execute(db.q.create_migrations_table)
                if await conn.fetchval(db.q.migration_applied, migration.version):
                    continue
                await conn.execute(migration.sql.replace("{schema}", schema))
                await conn.execute(db.q.record_migration, migration.version, migration.name)
                applied_now.append(migration)
    return applied_now


async def pending(db: "Database") -> list[Migration]:
    """The migrations still to apply; a database migrated by a newer release is refused."""
    done = set(await applied_versions(db))
    known = available()
    if done and max(done) > known[-1].version:
        raise DatabaseUnavailable(
            f"the database schema '{db.schema}' is at migration {max(done):04d}, newer than this "
            f"agenttrace-replay knows (up to {known[-1].version:04d}).",
            "Upgrade agenttrace-replay (pip install -U agenttrace-replay), or use another schema.",
        )
    return [m for m in known if m.version not in done]


async def require_current(db: "Database") -> None:
    """Fail with a clear message if an external database is not migrated."""
    todo = await pending(db)
    if todo:
        raise DatabaseUnavailable(
            f"the database schema '{db.schema}' is missing {len(todo)} migration(s) (up to {todo[-1].version:04d}_{todo[-1].name}).",
            "Run: agenttrace-replay db migrate, with the same --db, AGENTTRACE_DATABASE_URL or config file.",
        )
