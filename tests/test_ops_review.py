"""Running against a team's own PostgreSQL: limited roles, read-only databases, concurrent
imports, servers that say no (found by a review of the tool on an external server)."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import asyncpg
import pytest
from builders import long_trace
from typer.testing import CliRunner, Result

from agenttrace_replay import traces
from agenttrace_replay.cli.app import app
from agenttrace_replay.db import Database, create_pool
from agenttrace_replay.errors import DatabaseUnavailable

@pytest.fixture
def cli(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {"AGENTTRACE_DATABASE_URL": None, "AGENTTRACE_CONFIG": None, "AGENTTRACE_SCHEMA": None,
           "AGENTTRACE_DATA_DIR": str(tmp_path / "data"), "COLUMNS": "200"}  # fmt: skip

    def run(url: str, *args: str, **extra: str) -> Result:
        return CliRunner().invoke(app, ["--db", url, *args], env={**env, **extra})

    return run


async def admin(url: str, *statements: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def one_line(result: Result, code: int, *fragments: str) -> None:
    assert result.exit_code == code, f"exit {result.exit_code}: {result.stderr}"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


def demo_file(tmp_path: Path) -> Path:
    from agenttrace_replay.cli.demo_cmd import sample_files

    name, text = sample_files()[0]
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_read_only_database_is_a_database_error_and_a_replay_is_kept(cli, db_url: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The server saying no is exit 4 on one line, not an internal error; a replay that ran
    but could not be stored is kept in a file."""
    sample = demo_file(tmp_path)
    assert cli(db_url, "trace", "import", str(sample)).exit_code == 0
    trace_id = json.loads(cli(db_url, "trace", "list", "--json").stdout)[0]["trace_id"]
    auto = cli(db_url, "checkpoint", "auto", trace_id, "--json")
    checkpoint = json.loads(auto.stdout)["checkpoints"][0]["checkpoint_id"]
    name = db_url.split("?")[0].rsplit("/", 1)[1]
    asyncio.run(admin(db_url, f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
    one_line(cli(db_url, "trace", "delete", trace_id, "--yes"), 4, "read-only transaction", "read-only")
    replayed = cli(db_url, "replay", "run", checkpoint, "--dry-run")
    one_line(replayed, 4, "ran but could not be stored", "unstored-replays")
    kept = list((tmp_path / "data" / "unstored-replays").glob("*.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["checkpoint_id"] == checkpoint
    assert json.loads(cli(db_url, "trace", "list", "--json").stdout)[0]["trace_id"] == trace_id


def test_a_role_given_one_schema_can_migrate_it(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    """CREATE SCHEMA IF NOT EXISTS needs the right to create schemas even when the schema is
    there: a role that was only given the schema must still be able to migrate it."""
    role = f"schema_user_{os.getpid()}"
    schema = "tools"
    asyncio.run(admin(db_url, f"DROP ROLE IF EXISTS {role}", f"CREATE ROLE {role} LOGIN",
                      f"CREATE SCHEMA {schema}", f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {role}"))  # fmt: skip
    try:
        url = db_url.replace("postgres@", f"{role}@", 1)
        done = cli(url, "db", "migrate", AGENTTRACE_SCHEMA=schema)
        assert done.exit_code == 0, done.stderr
        assert cli(url, "trace", "list", "--json", AGENTTRACE_SCHEMA=schema).stdout.strip() == "[]"
        # a role without rights on a schema gets exit 4 and one line, not an internal error
        one_line(cli(url, "trace", "list"), 4, "permission denied for schema agenttrace", "rights")
    finally:
        asyncio.run(admin(db_url, f"DROP SCHEMA {schema} CASCADE", f"DROP OWNED BY {role}", f"DROP ROLE {role}"))


def test_a_database_migrated_by_a_newer_release_is_refused(cli, db_url: str) -> None:  # type: ignore[no-untyped-def]
    asyncio.run(admin(db_url, "INSERT INTO agenttrace.schema_migrations (version, name) VALUES (9999, 'from_the_future')"))
    one_line(cli(db_url, "trace", "list"), 4, "at migration 9999, newer than this agenttrace-replay knows", "Upgrade")
    assert cli(db_url, "db", "status", "--json").exit_code == 0  # still says what is there


async def test_imports_of_the_same_traces_in_other_orders_do_not_deadlock(db_url: str) -> None:
    """Each import inserted its traces in file order, so two imports given the same traces in
    opposite orders each waited for a row the other had inserted (deadlock detected)."""
    pools = [await create_pool(db_url, max_size=1) for _ in range(2)]
    try:
        for round_ in range(3):
            first, second = (long_trace(1500, f"t{round_}-{name}", message_bytes=400) for name in ("a", "b"))
            results = await asyncio.gather(
                traces.import_bundles(Database(pools[0]), [first, second]),
                traces.import_bundles(Database(pools[1]), [long_trace(1500, f"t{round_}-b", message_bytes=400),
                                                           long_trace(1500, f"t{round_}-a", message_bytes=400)]),
                return_exceptions=True,
            )  # fmt: skip
            assert not [r for r in results if isinstance(r, BaseException)], results
            assert sorted(results[0].imported + results[1].imported) == [f"t{round_}-a", f"t{round_}-b"]
            assert results[1].imported + results[1].skipped == [f"t{round_}-b", f"t{round_}-a"]  # in the order given
    finally:
        for pool in pools:
            await pool.close()


async def test_a_connection_the_server_ends_in_a_transaction_names_the_servers_reason(db_url: str) -> None:
    """Rolling back on the dead connection raises an error of its own; the message must be
    the server's reason for ending it, which that error hides."""
    db = Database(await create_pool(db_url, max_size=1), owned=True)
    try:
        with pytest.raises(DatabaseUnavailable, match="terminating connection due to administrator command"):
            async with db.transaction() as conn:
                await conn.execute("SELECT pg_terminate_backend(pg_backend_pid())")
    finally:
        await db.close()


async def test_a_replacing_import_and_a_plain_one_do_not_deadlock(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """`--replace` deletes a changed trace before writing: it then waited for a new trace the
    other import had inserted, which waited for the deleted row (deadlock detected)."""
    import copy

    stored = long_trace(50, "t-x", message_bytes=100)
    db = Database(await create_pool(db_url, max_size=3), owned=True)
    try:
        await traces.import_bundles(db, [copy.deepcopy(stored)])
        changed = copy.deepcopy(stored)
        changed.trace.name = "changed"
        write = traces._write_bundles
        first_write = asyncio.Event()

        async def slow_write(conn, db_, bundles, result, on_spans):  # type: ignore[no-untyped-def]
            if changed_given[0] in bundles and not first_write.is_set():
                first_write.set()
                await asyncio.sleep(0.5)  # the window in which the other import writes
            return await write(conn, db_, bundles, result, on_spans)

        changed_given = [long_trace(50, "t-w", message_bytes=100), changed]
        monkeypatch.setattr(traces, "_write_bundles", slow_write)
        replacing = asyncio.create_task(traces.import_bundles(db, changed_given, replace=True, discard=True))
        await asyncio.wait_for(first_write.wait(), 10)
        plain = asyncio.create_task(traces.import_bundles(db, [long_trace(50, "t-w", message_bytes=100), copy.deepcopy(stored)]))
        results = await asyncio.gather(replacing, plain, return_exceptions=True)
        assert not [r for r in results if isinstance(r, BaseException)], results
        assert (await traces.get_trace(db, "t-x")).trace.name == "changed"
    finally:
        await db.close()


async def test_an_import_waiting_for_another_says_so(db_url: str) -> None:
    """Imports take turns; one that has to wait tells the user instead of hanging silently."""
    holder = await asyncpg.connect(db_url)
    db = Database(await create_pool(db_url, max_size=1), owned=True)
    waits: list[str] = []
    try:
        transaction = holder.transaction()
        await transaction.start()
        await holder.execute("SELECT pg_advisory_xact_lock(hashtextextended('agenttrace-imports', 0))")
        importing = asyncio.create_task(traces.import_bundles(db, [long_trace(3, "t-wait")], on_wait=lambda: waits.append("waiting")))
        await asyncio.sleep(0.3)
        assert waits == ["waiting"] and not importing.done()
        await transaction.commit()
        assert (await importing).imported == ["t-wait"]
    finally:
        await holder.close()
        await db.close()
