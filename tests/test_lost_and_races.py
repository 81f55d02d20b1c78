"""A replay whose storing fails after it ran, and a database that goes away or was never
migrated: documented errors, never a driver's, and the replay's result is handed back."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import asyncpg
import pytest
from builders import weather_trace
from typer.testing import CliRunner

from agenttrace_replay import traces
from agenttrace_replay.checkpoint import CheckpointManager, checkpoint_id_for
from agenttrace_replay.cli.app import app
from agenttrace_replay.db import Database, create_pool
from agenttrace_replay.errors import DatabaseUnavailable, NotFound
from agenttrace_replay.executor import ReplayConfig, ReplayExecutor

WEATHER = "trace-weather"
LLM1 = checkpoint_id_for(WEATHER, "s-llm1")


async def load(db: Database) -> ReplayExecutor:
    await traces.import_bundles(db, [weather_trace()])
    await CheckpointManager(db).auto_checkpoint_trace(WEATHER)
    return ReplayExecutor(CheckpointManager(db), db)


async def replay_count(db: Database) -> int:
    async with db.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM agenttrace.replays")


async def test_a_checkpoint_deleted_while_its_replay_runs_gives_not_found_with_the_result(db: Database, registered) -> None:
    rx = await load(db)

    async def deleting(input, state, config, overrides=None):
        await CheckpointManager(db).delete_checkpoint(LLM1)
        return {"output": {"messages": [{"role": "assistant", "content": "paid for"}]}}

    with pytest.raises(NotFound) as caught:
        await rx.replay(LLM1, ReplayConfig(executor=registered("deleting", deleting)))
    assert "was deleted (or its trace replaced) while replay" in str(caught.value)
    result = caught.value.result  # type: ignore[attr-defined]
    assert result.success and result.replay_output == {"messages": [{"role": "assistant", "content": "paid for"}]}
    assert await replay_count(db) == 0


async def test_the_server_stopping_while_a_replay_runs_gives_database_unavailable_with_the_result(
    tmp_path: Path, registered
) -> None:
    from agenttrace_replay.db import migrations
    from agenttrace_replay.db.embedded import ensure_server, stop_server

    data_dir = tmp_path / "own-server"
    data_dir.mkdir()
    data_dir.chmod(0o755)  # as root the server runs as its own user
    url = ensure_server(data_dir)
    try:
        db = Database(await create_pool(url, min_size=1, max_size=1), owned=True)
        await migrations.migrate(db)
        rx = await load(db)

        async def stopping(input, state, config, overrides=None):
            await asyncio.to_thread(stop_server, data_dir)
            return {"output": "the answer"}

        with pytest.raises(DatabaseUnavailable) as caught:
            await rx.replay(LLM1, ReplayConfig(executor=registered("stopping", stopping)))
        assert str(caught.value).startswith("lost the connection to the database: ")
        assert caught.value.result.replay_output == "the answer"  # type: ignore[attr-defined]
        await db.close()
    finally:
        stop_server(data_dir)


async def test_a_database_without_tables_is_unavailable_not_a_driver_error(pg_server: str) -> None:
    from conftest import _with_database

    admin = await asyncpg.connect(pg_server)
    try:
        await admin.execute('DROP DATABASE IF EXISTS "never_migrated"')
        await admin.execute('CREATE DATABASE "never_migrated"')
        pool = await asyncpg.create_pool(_with_database(pg_server, "never_migrated"), min_size=1, max_size=1)
        try:
            with pytest.raises(DatabaseUnavailable) as caught:
                await traces.list_traces(Database(pool))
            assert caught.value.hint == "Run: agenttrace-replay db migrate, with the same --db, AGENTTRACE_DATABASE_URL or config file."
            with pytest.raises(DatabaseUnavailable):
                await CheckpointManager(pool).list_checkpoints("anything")
        finally:
            await pool.close()
    finally:
        await admin.execute('DROP DATABASE IF EXISTS "never_migrated" WITH (FORCE)')
        await admin.close()


def test_cli_keeps_a_replay_it_could_not_store_in_a_file(db_url: str, registered, tmp_path: Path) -> None:
    async def setup() -> None:
        db = Database(await create_pool(db_url), owned=True)
        try:
            await load(db)
        finally:
            await db.close()

    asyncio.run(setup())

    async def deleting(input, state, config, overrides=None):  # on the CLI's executor thread and loop
        conn = await asyncpg.connect(db_url)
        try:
            await conn.execute("DELETE FROM agenttrace.checkpoints WHERE checkpoint_id = $1", LLM1)
        finally:
            await conn.close()
        return {"output": "kept anyway"}

    name = registered("deleting-cli", deleting)
    data_dir = tmp_path / "data"
    result = CliRunner().invoke(
        app, ["--db", db_url, "replay", "run", LLM1, "--executor", name, "--json"],
        env={"AGENTTRACE_DATA_DIR": str(data_dir)},
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    printed = json.loads(result.stdout)
    (kept,) = (data_dir / "unstored-replays").iterdir()
    assert kept.name == f"{printed['replay_id']}.json"
    assert json.loads(kept.read_text()) == printed and printed["replay_output"] == "kept anyway"
    assert result.stderr.startswith(f"error: checkpoint {LLM1} was deleted")
    assert result.stderr.rstrip().endswith(f"Its result is kept in {kept}.") and len(result.stderr.splitlines()) == 1


async def test_a_connection_ended_by_the_server_mid_use_names_the_servers_reason(db_url: str) -> None:
    db = Database(await create_pool(db_url, min_size=1, max_size=1), owned=True)
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with db.transaction() as conn:
                pid = await conn.fetchval("SELECT pg_backend_pid()")
                admin = await asyncpg.connect(db_url)
                try:
                    await admin.execute("SELECT pg_terminate_backend($1)", pid)
                finally:
                    await admin.close()
                await asyncio.sleep(0.2)
                await conn.fetchval("SELECT 1")
        assert "released back to the pool" not in str(caught.value)
        assert str(caught.value).startswith("lost the connection to the database: ")
        assert await traces.list_traces(db) == []  # and the pool carries on with a new connection
    finally:
        await db.close()


async def test_an_import_whose_connection_the_server_ends_mid_copy_fails_and_never_hangs(db_url: str) -> None:
    """asyncpg's COPY can wait forever on a socket the server closed: the import gives up on
    it once the connection is closed, reports the database as unavailable, and stores nothing."""
    from builders import long_trace

    bundle = long_trace(20000)
    db = Database(await create_pool(db_url, min_size=1, max_size=1), owned=True)
    admin = await asyncpg.connect(db_url)
    ended = asyncio.Event()

    def on_spans(count: int) -> None:
        if not ended.is_set():
            ended.set()
            asyncio.get_running_loop().create_task(admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ))  # fmt: skip

    try:
        with pytest.raises(DatabaseUnavailable):
            await asyncio.wait_for(traces.import_bundles(db, [bundle], on_spans=on_spans), timeout=120)
        assert await admin.fetchval("SELECT count(*) FROM agenttrace.spans") == 0
    finally:
        await admin.close()
        await db.close()


@pytest.mark.parametrize("meanwhile", ["replaced", "deleted"])
async def test_checkpoints_of_a_trace_replaced_or_deleted_while_they_are_made_are_not_written(
    db: Database, monkeypatch: pytest.MonkeyPatch, meanwhile: str
) -> None:
    """`checkpoint auto` builds its states outside the transaction: a `trace import --replace`
    (or a delete) in between must not leave checkpoints of the old copy's content."""
    import copy

    original = weather_trace()
    await traces.import_bundles(db, [original])
    changed = copy.deepcopy(original)
    changed.trace.name = "changed"
    read = traces.get_trace

    async def read_then_change(pool, trace_id):  # type: ignore[no-untyped-def]
        bundle = await read(pool, trace_id)
        if meanwhile == "replaced":
            await traces.import_bundles(db, [copy.deepcopy(changed)], replace=True, discard=True)
        else:
            await traces.delete_trace(db, trace_id)
        return bundle

    monkeypatch.setattr("agenttrace_replay.checkpoint.traces.get_trace", read_then_change)
    expected = DatabaseUnavailable if meanwhile == "replaced" else NotFound
    with pytest.raises(expected, match=f"was {meanwhile} while its checkpoints were being made"):
        await CheckpointManager(db).auto_checkpoint(original.trace.trace_id)
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM agenttrace.checkpoints") == 0
    monkeypatch.setattr("agenttrace_replay.checkpoint.traces.get_trace", read)
    if meanwhile == "replaced":  # the new copy checkpoints normally
        ids, created = await CheckpointManager(db).auto_checkpoint(original.trace.trace_id)
        assert created == len(ids) > 0


async def test_checkpoints_made_while_a_replace_is_still_uncommitted_say_replaced(db: Database, db_url: str) -> None:
    """The checkpoint rows wait for the replacing transaction; once it commits, the trace is a
    new copy (not a deleted one), and nothing is written."""
    bundle = weather_trace()
    await traces.import_bundles(db, [bundle])
    other = await asyncpg.connect(db_url)
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.execute("DELETE FROM agenttrace.traces WHERE trace_id = $1", bundle.trace.trace_id)
        await other.execute("INSERT INTO agenttrace.traces (trace_id, status) VALUES ($1, 'completed')", bundle.trace.trace_id)

        async def commit_soon() -> None:
            await asyncio.sleep(0.5)
            await transaction.commit()

        committing = asyncio.create_task(commit_soon())
        with pytest.raises(DatabaseUnavailable, match="was replaced while its checkpoints were being made"):
            await CheckpointManager(db).auto_checkpoint(bundle.trace.trace_id)
        await committing
    finally:
        await other.close()
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM agenttrace.checkpoints") == 0


async def test_a_checkpoint_at_a_span_the_replaced_trace_no_longer_has_is_not_found(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    import copy

    bundle = weather_trace()
    await traces.import_bundles(db, [bundle])
    gone = bundle.spans[-1].span_id
    read = traces.get_trace

    async def replaced_meanwhile(pool, trace_id):  # type: ignore[no-untyped-def]
        smaller = copy.deepcopy(bundle)
        smaller.spans = [s for s in smaller.spans if s.span_id != gone]
        await traces.import_bundles(db, [smaller], replace=True, discard=True)
        return await read(pool, trace_id)

    monkeypatch.setattr("agenttrace_replay.checkpoint.traces.get_trace", replaced_meanwhile)
    with pytest.raises(NotFound, match="no longer in trace"):
        await CheckpointManager(db).create_checkpoint(bundle.trace.trace_id, gone)


async def test_a_replay_stored_while_its_trace_is_being_replaced_is_not_lost_to_a_deadlock(db: Database, db_url: str) -> None:
    """A replacing import locks the trace row, then deletes its checkpoints; the replay's row
    checks its checkpoint, then the trace: PostgreSQL ends one of the two. When that is the
    replay, storing it is tried again; here the other transaction then gives up its locks."""
    engine = await load(db)
    other = await asyncpg.connect(db_url)
    try:
        transaction = other.transaction()
        await transaction.start()
        await other.execute("SELECT 1 FROM agenttrace.traces WHERE trace_id = $1 FOR UPDATE", "trace-weather")

        async def then_delete_checkpoints() -> None:
            await asyncio.sleep(0.3)  # the replay is waiting for the trace row by now
            try:
                await other.execute("DELETE FROM agenttrace.checkpoints WHERE trace_id = $1", "trace-weather")
            except asyncpg.DeadlockDetectedError:
                pass  # PostgreSQL may end this side instead
            finally:
                await transaction.rollback()

        racing = asyncio.create_task(then_delete_checkpoints())
        result = await engine.replay(LLM1, ReplayConfig(dry_run=True))
        await racing
        assert result.success and await replay_count(db) == 1
    finally:
        await other.close()
