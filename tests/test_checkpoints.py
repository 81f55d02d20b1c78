"""CheckpointManager on a real PostgreSQL: create, restore, list, delete, ids, races.

The reference for every restore is `state.build_states`, the pure reconstruction: what the
database gives back must equal it exactly, whatever was created, in what order, and
whatever was deleted since.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from collections import Counter
from typing import Any

import asyncpg
import pytest
from builders import long_trace, span, weather_trace
from otel_traces import genai_legacy_trace, genai_multi_agent_trace, langgraph_trace, openinference_trace

from agenttrace_replay import traces
from agenttrace_replay.checkpoint import CheckpointManager, checkpoint_id_for
from agenttrace_replay.db import Database, create_pool, init_connection
from agenttrace_replay.errors import AmbiguousId, InvalidInput, NotFound
from agenttrace_replay.records import AgentRecord, TraceBundle, TraceRecord
from agenttrace_replay.state import build_states

TABLES = ("blobs", "checkpoints", "checkpoint_lists")
DEFAULT_KINDS = ("llm_call", "tool_call", "handoff", "checkpoint")


async def load(db: Database, *bundles: TraceBundle) -> None:
    await traces.import_bundles(db, list(bundles))


async def counts(db: Database) -> dict[str, int]:
    async with db.acquire() as conn:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {db.schema}.{t}") for t in TABLES}


def expected_states(bundle: TraceBundle, span_ids: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """checkpoint id -> the state the pure reconstruction gives."""
    trace_id = bundle.trace.trace_id
    return {
        checkpoint_id_for(trace_id, s.span.span_id): s.to_dict(checkpoint_id_for(trace_id, s.span.span_id))
        for s in build_states(bundle, span_ids)
    }


async def assert_restores(manager: CheckpointManager, bundle: TraceBundle) -> int:
    """Every checkpoint of the trace restores to exactly the reconstructed state."""
    listed = await manager.list_checkpoints(bundle.trace.trace_id)
    want = expected_states(bundle, [c.span_id for c in listed])
    assert [c.checkpoint_id for c in listed] == list(want)  # same execution order
    for checkpoint in listed:
        assert await manager.restore(checkpoint.checkpoint_id) == want[checkpoint.checkpoint_id], checkpoint.span_name
    return len(listed)


def eligible(bundle: TraceBundle, kinds=DEFAULT_KINDS) -> list[str]:
    return [s.span.span_id for s in build_states(bundle) if s.span.kind in kinds]


# --- the library API ----------------------------------------------------------------------


async def test_auto_create_get_list_restore_round_trip(db: Database) -> None:
    bundle = weather_trace()
    await load(db, bundle)
    manager = CheckpointManager(db)

    ids = await manager.auto_checkpoint_trace("trace-weather")
    assert ids == [checkpoint_id_for("trace-weather", s) for s in ("s-llm1", "s-tool", "s-llm2")]
    assert all(len(i) == 16 and i.startswith("chk-") and int(i[4:], 16) >= 0 for i in ids)

    checkpoint = await manager.get_checkpoint(ids[1])
    assert (checkpoint.trace_id, checkpoint.span_id, checkpoint.step) == ("trace-weather", "s-tool", 2)
    assert (checkpoint.span_kind, checkpoint.span_name, checkpoint.agent_name) == ("tool_call", "execute_tool get_weather", "weather")
    assert checkpoint.auto is True and checkpoint.name is None and checkpoint.replay_count == 0
    assert checkpoint.created_at is not None
    assert checkpoint.state == expected_states(bundle)[ids[1]]
    assert checkpoint.as_dict()["state"] == checkpoint.state

    listed = await manager.list_checkpoints("trace-weather")
    assert [c.checkpoint_id for c in listed] == ids
    assert [c.step for c in listed] == [1, 2, 3]
    assert [c.agent_name for c in listed] == ["weather"] * 3
    assert all(c.state is None for c in listed)
    assert await assert_restores(manager, bundle) == 3

    # a manual checkpoint at a span auto skips, with a name
    manual = await manager.create_checkpoint("trace-weather", "s-agent", name="start")
    got = await manager.get_checkpoint(manual)
    assert (got.step, got.name, got.auto, got.span_kind) == (0, "start", False, "agent_message")
    assert got.state == expected_states(bundle)[manual]
    assert "FINAL: sunny in Paris" not in json.dumps(got.state)
    assert [c.checkpoint_id for c in await manager.list_checkpoints("trace-weather")] == [manual, *ids]

    await manager.delete_checkpoint(ids[0])
    with pytest.raises(NotFound):
        await manager.get_checkpoint(ids[0])
    assert await assert_restores(manager, bundle) == 3


async def test_manager_accepts_a_plain_asyncpg_pool(db_url: str, db: Database) -> None:
    await load(db, weather_trace())
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=2)  # no codecs: the manager adds them
    try:
        manager = CheckpointManager(pool)
        ids = await manager.auto_checkpoint_trace("trace-weather")
        state = await manager.restore(ids[-1])
        assert state["messages"][-1]["role"] == "tool"
        assert state["agent"]["config"] == {"tools": ["get_weather"]}
    finally:
        await pool.close()


async def test_the_callers_pool_keeps_its_own_json_handling(db_url: str, db: Database) -> None:
    """The library's codecs are on a caller's connection only while the library uses it: the
    caller's own queries still send and get JSON as text (asyncpg's default)."""
    await load(db, weather_trace())
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=1)
    try:
        async with pool.acquire() as conn:
            await conn.execute("CREATE TABLE app_notes (id int, body jsonb, raw json)")
        manager = CheckpointManager(pool)
        ids = await manager.auto_checkpoint_trace("trace-weather")
        assert (await manager.restore(ids[-1]))["messages"][-1]["role"] == "tool"
        async with pool.acquire() as conn:
            await conn.execute("INSERT INTO app_notes VALUES (1, $1, $2)", json.dumps({"a": 1}), '{"b": 2}')
            row = await conn.fetchrow("SELECT body, raw, jsonb_typeof(body) AS t FROM app_notes")
        assert (row["body"], row["raw"], row["t"]) == ('{"a": 1}', '{"b": 2}', "object")
        # and the library still works on the same connection afterwards
        assert (await manager.restore(ids[0]))["span"]["span_id"] == "s-llm1"
    finally:
        await pool.close()


async def test_a_callers_own_json_codec_is_replaced_by_one_that_works_alike(db_url: str, db: Database) -> None:
    await load(db, weather_trace())

    async def init(conn: asyncpg.Connection) -> None:
        await conn.set_type_codec("jsonb", schema="pg_catalog", encoder=json.dumps, decoder=json.loads)

    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=1, init=init)
    try:
        manager = CheckpointManager(pool)
        ids = await manager.auto_checkpoint_trace("trace-weather")
        await manager.restore(ids[-1])
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT $1::jsonb", {"a": [1, "x"]}) == {"a": [1, "x"]}
            assert await conn.fetchval("SELECT '{\"b\": 2}'::json") == '{"b": 2}'  # json left at the default
    finally:
        await pool.close()


async def test_auto_kinds_are_configurable_and_checked(db: Database) -> None:
    await load(db, weather_trace())
    manager = CheckpointManager(db)
    ids = await manager.auto_checkpoint_trace("trace-weather", kinds=["tool_call"])
    assert ids == [checkpoint_id_for("trace-weather", "s-tool")]
    ids = await manager.auto_checkpoint_trace("trace-weather", kinds=["agent_message", "llm_call"])
    assert ids == [checkpoint_id_for("trace-weather", s) for s in ("s-agent", "s-llm1", "s-llm2")]
    assert (await counts(db))["checkpoints"] == 4
    with pytest.raises(InvalidInput, match="unknown span kind.*tool_cal\\b"):
        await manager.auto_checkpoint_trace("trace-weather", kinds=["tool_cal"])
    await assert_restores(manager, weather_trace())


async def test_explicit_checkpoint_spans_are_checkpointed(db: Database) -> None:
    bundle = weather_trace("trace-explicit")
    bundle.spans.append(span("trace-explicit", "s-mark", "checkpoint after tool", 205, 205, kind="checkpoint", agent_id="agent-weather",
                             parent_span_id="s-agent", input={"value": "mark"}))
    await load(db, bundle)
    manager = CheckpointManager(db)
    ids = await manager.auto_checkpoint_trace("trace-explicit")
    spans = [(await manager.get_checkpoint(i)).span_id for i in ids]
    assert spans == ["s-llm1", "s-tool", "s-mark", "s-llm2"]
    await assert_restores(manager, bundle)


# --- idempotency and races ----------------------------------------------------------------


async def test_auto_twice_returns_the_same_ids_and_writes_nothing(db: Database) -> None:
    bundle = long_trace(50)
    await load(db, bundle)
    manager = CheckpointManager(db)
    first, created = await manager.auto_checkpoint("trace-long")
    assert created == 50
    before = await counts(db)
    async with db.acquire() as conn:
        stamps = await conn.fetch(f"SELECT checkpoint_id, created_at, xmin::text FROM {db.schema}.checkpoints ORDER BY 1")
    second, created_again = await manager.auto_checkpoint("trace-long")
    assert second == first and created_again == 0
    assert await counts(db) == before
    async with db.acquire() as conn:
        assert await conn.fetch(f"SELECT checkpoint_id, created_at, xmin::text FROM {db.schema}.checkpoints ORDER BY 1") == stamps
    assert before["checkpoints"] == 50


async def test_two_concurrent_autos_on_two_pools_make_one_set(db_url: str, db: Database) -> None:
    bundle = long_trace(200)
    await load(db, bundle)
    from agenttrace_replay.db import create_pool

    other = Database(await create_pool(db_url), owned=True)
    try:
        # Hold the trace's lock so both runs are in flight, then let them race.
        async with db.acquire() as holder:
            await holder.execute("SELECT pg_advisory_lock(hashtextextended('agenttrace:' || $1, 0))", "trace-long")
            runs = [
                asyncio.create_task(CheckpointManager(db).auto_checkpoint("trace-long")),
                asyncio.create_task(CheckpointManager(other).auto_checkpoint("trace-long")),
            ]
            await wait_for_lock_waiters(holder, 2)
            await holder.execute("SELECT pg_advisory_unlock(hashtextextended('agenttrace:' || $1, 0))", "trace-long")
        (ids_a, created_a), (ids_b, created_b) = await asyncio.gather(*runs)
    finally:
        await other.close()
    assert ids_a == ids_b and len(ids_a) == 200
    assert sorted([created_a, created_b]) == [0, 200]
    assert (await counts(db))["checkpoints"] == 200
    await assert_restores(CheckpointManager(db), bundle)


async def test_concurrent_autos_without_help_also_make_one_set(db_url: str, db: Database) -> None:
    bundle = weather_trace()
    await load(db, bundle)
    from agenttrace_replay.db import create_pool

    pools = [Database(await create_pool(db_url), owned=True) for _ in range(3)]
    try:
        results = await asyncio.gather(*(CheckpointManager(p).auto_checkpoint_trace("trace-weather") for p in pools))
    finally:
        for p in pools:
            await p.close()
    assert results[0] == results[1] == results[2]
    assert (await counts(db))["checkpoints"] == 3


async def wait_for_lock_waiters(conn: Any, n: int, timeout: float = 30.0) -> None:
    """Until ``n`` sessions wait for an advisory lock (the racers are all at the door)."""
    for _ in range(int(timeout / 0.05)):
        waiting = await conn.fetchval(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        if waiting >= n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{n} sessions never waited for the trace's lock")


async def test_two_processes_running_auto_at_once_make_one_set(db_url: str, db: Database) -> None:
    bundle = long_trace(120)
    await load(db, bundle)
    cmd = [sys.executable, "-m", "agenttrace_replay", "--db", db_url, "checkpoint", "auto", "trace-long", "--json"]
    env = {**os.environ, "NO_COLOR": "1"}
    async with db.acquire() as holder:
        await holder.execute("SELECT pg_advisory_lock(hashtextextended('agenttrace:' || $1, 0))", "trace-long")
        procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env) for _ in range(2)]
        try:
            await wait_for_lock_waiters(holder, 2)
        finally:
            await holder.execute("SELECT pg_advisory_unlock(hashtextextended('agenttrace:' || $1, 0))", "trace-long")
        outputs = [await asyncio.to_thread(p.communicate, timeout=60) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
    docs = [json.loads(out) for out, _err in outputs]
    assert [c["checkpoint_id"] for c in docs[0]["checkpoints"]] == [c["checkpoint_id"] for c in docs[1]["checkpoints"]]
    assert sorted(d["created"] for d in docs) == [0, 120]
    assert (await counts(db))["checkpoints"] == 120
    await assert_restores(CheckpointManager(db), bundle)


# --- faithful restores --------------------------------------------------------------------


def _otel(text: str) -> TraceBundle:
    (bundle,) = traces.parse_text(text)
    return bundle


@pytest.mark.parametrize("make", [
    pytest.param(lambda: long_trace(200), id="long_trace-200"),
    pytest.param(weather_trace, id="weather"),
    pytest.param(lambda: _otel(genai_multi_agent_trace()), id="genai-multi-agent"),
    pytest.param(lambda: _otel(genai_legacy_trace()), id="genai-legacy"),
    pytest.param(lambda: _otel(openinference_trace()), id="openinference"),
    pytest.param(lambda: _otel(langgraph_trace()), id="langgraph-openinference"),
])
async def test_every_restore_equals_the_reconstructed_state(db: Database, make) -> None:
    bundle = make()
    await load(db, bundle)
    manager = CheckpointManager(db)
    trace_id = bundle.trace.trace_id
    ids = await manager.auto_checkpoint_trace(trace_id)
    assert ids == [checkpoint_id_for(trace_id, s) for s in eligible(bundle)]
    assert ids
    assert await assert_restores(manager, bundle) == len(ids)
    # and every other span too, created one by one afterwards, between the auto ones
    for state in build_states(bundle):
        await manager.create_checkpoint(trace_id, state.span.span_id)
    assert await assert_restores(manager, bundle) == len(bundle.spans)


async def test_restore_of_the_trace_as_read_back_from_the_database(db: Database) -> None:
    bundle = _otel(genai_multi_agent_trace())
    await load(db, bundle)
    manager = CheckpointManager(db)
    await manager.auto_checkpoint_trace(bundle.trace.trace_id)
    await assert_restores(manager, await traces.get_trace(db, bundle.trace.trace_id))


async def test_storage_holds_each_distinct_value_once(db: Database) -> None:
    bundle = long_trace(100)
    await load(db, bundle)
    await CheckpointManager(db).auto_checkpoint_trace("trace-long")
    async with db.acquire() as conn:
        values = [r[0] for r in await conn.fetch(f"SELECT value::text FROM {db.schema}.blobs")]
        added = await conn.fetchval(f"SELECT sum(length(added)) FROM {db.schema}.checkpoint_lists")
    assert len(values) == len(set(values))
    contents = Counter(v for v in values if "lorem ipsum" in v)
    assert len(contents) == 100  # each ~1 KB user turn once
    # hashes stored in the lists grow like n log n, far from the n^2 of full copies
    n_entries = sum(len(s.messages) + len(s.completed) for s in build_states(bundle))
    assert added < 16 * n_entries / 4


# --- manual checkpoints, auto around them, deletes ----------------------------------------


async def test_manual_then_auto_around_it_then_deletes_keep_every_other_restore(db: Database) -> None:
    bundle = long_trace(200)
    await load(db, bundle)
    manager = CheckpointManager(db)
    manual = await manager.create_checkpoint("trace-long", "s00100", name="middle")
    assert manual == checkpoint_id_for("trace-long", "s00100")
    ids = await manager.auto_checkpoint_trace("trace-long")
    assert len(ids) == 200 and ids[100] == manual
    middle = await manager.get_checkpoint(manual)
    assert (middle.name, middle.auto) == ("middle", False)
    await assert_restores(manager, bundle)

    # delete the checkpoints most others are stored against, one after another
    for _round in range(4):
        async with db.acquire() as conn:
            row = await conn.fetchrow(
                f"SELECT base_checkpoint_id, count(*) AS n FROM {db.schema}.checkpoint_lists "
                "WHERE base_checkpoint_id IS NOT NULL AND base_checkpoint_id <> checkpoint_id GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
            )
        assert row is not None and row["n"] >= 2
        assert await manager.delete_checkpoint(row["base_checkpoint_id"]) == row["base_checkpoint_id"]
        await assert_restores(manager, bundle)
    # and the first and the last
    await manager.delete_checkpoint(ids[0])
    await manager.delete_checkpoint(ids[-1])
    assert await assert_restores(manager, bundle) == 194
    # auto puts the deleted ones back, with the same ids
    assert await manager.auto_checkpoint_trace("trace-long") == ids
    assert await assert_restores(manager, bundle) == 200


async def test_delete_takes_its_replays_with_it(db: Database) -> None:
    from agenttrace_replay.executor import ReplayConfig, ReplayExecutor

    await load(db, weather_trace())
    manager = CheckpointManager(db)
    ids = await manager.auto_checkpoint_trace("trace-weather")
    await ReplayExecutor(manager).replay(ids[1], ReplayConfig(dry_run=True))
    assert [c.replay_count for c in await manager.list_checkpoints("trace-weather")] == [0, 1, 0]
    async with db.acquire() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {db.schema}.replays WHERE checkpoint_id = $1", ids[1]) == 1
    await manager.delete_checkpoint(ids[1][:9])
    async with db.acquire() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {db.schema}.replays") == 0
    await assert_restores(manager, weather_trace())


async def test_create_again_returns_the_same_checkpoint_and_renames_it(db: Database) -> None:
    await load(db, weather_trace())
    manager = CheckpointManager(db)
    first = await manager.create_checkpoint("trace-weather", "s-tool")
    before = await counts(db)
    again = await manager.create_checkpoint("trace-weather", "s-tool", name="before the tool")
    assert again == first
    assert (await manager.get_checkpoint(first)).name == "before the tool"
    assert await counts(db) == before


# --- ids and prefixes ---------------------------------------------------------------------


def spans_sharing_a_prefix(trace_id: str) -> tuple[list[str], str]:
    """Span ids whose checkpoint ids share their first hex digit, and one that does not."""
    first: dict[str, list[str]] = {}
    n = 0
    while True:
        span_id = f"span-{n}"
        first.setdefault(checkpoint_id_for(trace_id, span_id)[4], []).append(span_id)
        n += 1
        shared = [v for v in first.values() if len(v) >= 2]
        if shared and len(first) >= 2:
            alone = next(v[0] for k, v in first.items() if v is not shared[0])
            return shared[0][:2], alone


def bundle_with_spans(trace_id: str, span_ids: list[str]) -> TraceBundle:
    spans = [span(trace_id, sid, f"chat {i}", i * 10, i * 10 + 5, kind="llm_call", agent_id="a",
                  input={"messages": [{"role": "user", "content": f"q{i}"}]}) for i, sid in enumerate(span_ids)]
    return TraceBundle(TraceRecord(trace_id=trace_id), [AgentRecord(agent_id="a", trace_id=trace_id, name="a")], spans)


async def test_unique_prefix_resolves_and_ambiguous_prefix_lists_candidates(db: Database) -> None:
    pair, alone = spans_sharing_a_prefix("trace-ids")
    await load(db, bundle_with_spans("trace-ids", [*pair, alone]))
    manager = CheckpointManager(db)
    await manager.auto_checkpoint_trace("trace-ids")
    a, b = (checkpoint_id_for("trace-ids", s) for s in pair)
    c = checkpoint_id_for("trace-ids", alone)

    assert (await manager.get_checkpoint(c[:5])).checkpoint_id == c
    assert await manager.resolve_id(c[:5]) == c
    assert (await manager.restore(c[:5]))["span"]["span_id"] == alone
    common = os.path.commonprefix([a, b])
    assert await manager.resolve_id(a[: len(common) + 1]) == a
    for call in (manager.get_checkpoint, manager.restore, manager.delete_checkpoint, manager.resolve_id):
        with pytest.raises(AmbiguousId) as raised:
            await call(common)
        assert sorted(raised.value.candidates) == sorted([a, b])
        assert a in str(raised.value) and b in str(raised.value)
        assert raised.value.exit_code == 2
    assert (await counts(db))["checkpoints"] == 3  # the ambiguous delete deleted nothing


async def test_prefix_characters_are_literal(db: Database) -> None:
    await load(db, weather_trace())
    manager = CheckpointManager(db)
    await manager.auto_checkpoint_trace("trace-weather")
    for pattern in ("chk-%", "chk-_", "%", "_"):
        with pytest.raises(NotFound):
            await manager.get_checkpoint(pattern)


async def test_trace_and_span_prefixes_work_in_create(db: Database) -> None:
    await load(db, weather_trace())
    manager = CheckpointManager(db)
    cid = await manager.create_checkpoint("trace-wea", "s-too")
    assert cid == checkpoint_id_for("trace-weather", "s-tool")
    with pytest.raises(AmbiguousId, match="s-llm1.*s-llm2"):
        await manager.create_checkpoint("trace-weather", "s-llm")


# --- bad input ----------------------------------------------------------------------------


async def test_unknown_trace_span_and_checkpoint_are_not_found(db: Database) -> None:
    await load(db, weather_trace())
    manager = CheckpointManager(db)
    for call in (
        manager.auto_checkpoint_trace("no-such-trace"),
        manager.create_checkpoint("no-such-trace", "s-tool"),
        manager.list_checkpoints("no-such-trace"),
        manager.get_checkpoint("chk-000000000000"),
        manager.restore("chk-ffffffffffff"),
        manager.delete_checkpoint("chk-nothing"),
    ):
        with pytest.raises(NotFound) as raised:
            await call
        assert raised.value.exit_code == 3
    with pytest.raises(InvalidInput, match="empty checkpoint id") as empty:  # bad input, not a missing thing
        await manager.get_checkpoint("")
    assert empty.value.exit_code == 2
    with pytest.raises(NotFound, match="no span 'nope' in trace trace-weather"):
        await manager.create_checkpoint("trace-weather", "nope")
    assert (await counts(db))["checkpoints"] == 0


async def test_a_span_of_another_trace_is_a_clear_error(db: Database) -> None:
    await load(db, weather_trace("trace-a"), long_trace(3, "trace-b"))
    manager = CheckpointManager(db)
    with pytest.raises(InvalidInput) as raised:
        await manager.create_checkpoint("trace-a", "s00001")
    assert "belongs to trace trace-b" in raised.value.message and "not to trace trace-a" in raised.value.message
    assert "checkpoint create trace-b --span s00001" in (raised.value.hint or "")
    assert raised.value.exit_code == 2
    assert (await counts(db))["checkpoints"] == 0


async def test_a_trace_without_eligible_spans_creates_nothing(db: Database) -> None:
    trace = TraceBundle(TraceRecord(trace_id="trace-quiet"), [], [
        span("trace-quiet", "s1", "plan", 0, 10, kind="agent_message", input={"value": "x"}),
        span("trace-quiet", "s2", "step", 10, 20),
    ])
    await load(db, trace, TraceBundle(TraceRecord(trace_id="trace-empty")))
    manager = CheckpointManager(db)
    assert await manager.auto_checkpoint_trace("trace-quiet") == []
    assert await manager.auto_checkpoint_trace("trace-empty") == []
    assert await manager.auto_checkpoint("trace-quiet", ["tool_call"]) == ([], 0)
    assert await counts(db) == {t: 0 for t in TABLES}
    assert await manager.list_checkpoints("trace-quiet") == []


# --- restore cost ---------------------------------------------------------------------------


async def test_restore_takes_at_most_two_queries_for_a_full_id(db_url: str, db: Database) -> None:
    bundle = long_trace(300)
    await load(db, bundle)
    await CheckpointManager(db).auto_checkpoint_trace("trace-long")
    logged: list[str] = []

    async def init(conn: asyncpg.Connection) -> None:
        await init_connection(conn)
        conn.add_query_logger(lambda record: logged.append(record.query))

    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=1, init=init)
    try:
        manager = CheckpointManager(pool)
        want = expected_states(bundle)
        for cid in list(want)[::37] + [list(want)[-1]]:
            await manager.restore(cid)  # the first use of a statement may add type look-ups
            await asyncio.sleep(0)
            logged.clear()
            assert await manager.restore(cid) == want[cid]
            await asyncio.sleep(0)  # loggers are called soon after each query
            # the pool's own reset on release (asyncpg's RESET ALL) is not the restore's
            queries = [q for q in logged if not q.startswith("SELECT pg_advisory_unlock_all()")]
            assert len(queries) <= 2, queries
            assert "WITH RECURSIVE" in queries[0]
        # a prefix costs one more query, to resolve it
        cid = list(want)[150]
        await manager.restore(cid[:8])
        await asyncio.sleep(0)
        logged.clear()
        assert await manager.restore(cid[:8]) == want[cid]
        await asyncio.sleep(0)
        assert len([q for q in logged if not q.startswith("SELECT pg_advisory_unlock_all()")]) == 3
    finally:
        await pool.close()


# --- the stored form ------------------------------------------------------------------------


async def test_blobs_hold_the_canonical_text_their_hash_names(db: Database) -> None:
    from agenttrace_replay.storage import canonical, digest_text

    bundle = _otel(genai_multi_agent_trace())
    await load(db, bundle)
    await CheckpointManager(db).auto_checkpoint_trace(bundle.trace.trace_id)
    async with db.acquire() as conn:
        rows = await conn.fetch(f"SELECT hash, value::text AS text FROM {db.schema}.blobs")
    assert rows
    for row in rows:
        assert digest_text(row["text"]) == row["hash"]
        assert canonical(json.loads(row["text"])) == row["text"]


async def test_deleting_a_trace_takes_its_checkpoints_and_content_only(db: Database) -> None:
    await load(db, weather_trace("trace-a"), weather_trace("trace-b"))
    manager = CheckpointManager(db)
    await manager.auto_checkpoint_trace("trace-a")
    kept = await manager.auto_checkpoint_trace("trace-b")
    both = await counts(db)
    await traces.delete_trace(db, "trace-a")
    after = await counts(db)
    assert after == {t: both[t] // 2 for t in TABLES}  # same content, stored once per trace
    async with db.acquire() as conn:
        assert {r[0] for r in await conn.fetch(f"SELECT DISTINCT trace_id FROM {db.schema}.blobs")} == {"trace-b"}
    for cid in kept:
        await manager.restore(cid)


async def test_two_deletes_of_one_checkpoint_at_once(db_url: str, db: Database) -> None:
    bundle = long_trace(60)
    await load(db, bundle)
    ids = await CheckpointManager(db).auto_checkpoint_trace("trace-long")
    from agenttrace_replay.db import create_pool

    other = Database(await create_pool(db_url), owned=True)
    third = Database(await create_pool(db_url), owned=True)
    try:
        async with third.acquire() as holder:  # both find the checkpoint, then wait for the lock
            await holder.execute("SELECT pg_advisory_lock(hashtextextended('agenttrace:' || $1, 0))", "trace-long")
            runs = asyncio.gather(
                CheckpointManager(db).delete_checkpoint(ids[31]), CheckpointManager(other).delete_checkpoint(ids[31]),
                return_exceptions=True,
            )
            await wait_for_lock_waiters(holder, 2)
            await holder.execute("SELECT pg_advisory_unlock(hashtextextended('agenttrace:' || $1, 0))", "trace-long")
            results = await runs
    finally:
        await other.close()
        await third.close()
    assert sorted(type(r).__name__ for r in results) == ["NotFound", "str"]
    assert await assert_restores(CheckpointManager(db), bundle) == 59


async def test_deleting_checkpoints_takes_the_content_only_they_used(db: Database) -> None:
    bundle = long_trace(60)
    await load(db, bundle)
    manager = CheckpointManager(db)
    ids = await manager.auto_checkpoint_trace("trace-long")

    async def blob_count() -> int:
        async with db.acquire() as conn:
            return await conn.fetchval(f"SELECT count(*) FROM {db.schema}.blobs")

    full = await blob_count()
    await manager.delete_checkpoint(ids[-1])  # the last step's input and history entries are its own
    assert await blob_count() < full
    await assert_restores(manager, bundle)
    for checkpoint_id in random.Random(7).sample(ids[:-1], len(ids) - 1):
        await manager.delete_checkpoint(checkpoint_id)
        if random.Random(checkpoint_id).random() < 0.2:
            await assert_restores(manager, bundle)
    assert await blob_count() == 0
    # and putting them back stores the content again
    assert await manager.auto_checkpoint_trace("trace-long") == ids
    assert await blob_count() == full
    await assert_restores(manager, bundle)


async def test_a_restore_racing_the_delete_of_its_checkpoint_restores_or_says_it_is_gone(db_url: str, db: Database) -> None:
    """The delete also removes the checkpoint's own blobs: a restore that read the row just
    before must not report a damaged database."""
    other = Database(await create_pool(db_url), owned=True)
    try:
        await load(db, long_trace(5))
        writer, reader = CheckpointManager(db), CheckpointManager(other)
        outcomes: Counter[str] = Counter()
        rng = random.Random(3)
        for _ in range(150):
            cid = await writer.create_checkpoint("trace-long", "s00003")

            async def restore() -> str:
                await asyncio.sleep(rng.random() * 0.004)
                try:
                    await reader.restore(cid)
                    return "restored"
                except NotFound as exc:
                    return "gone" if exc.message.startswith("no checkpoint") else exc.message

            outcome, _ = await asyncio.gather(restore(), writer.delete_checkpoint(cid))
            outcomes[outcome] += 1
        assert set(outcomes) <= {"restored", "gone"}, outcomes
    finally:
        await other.close()


async def test_checkpoint_ids_are_found_in_upper_case(db: Database) -> None:
    await load(db, weather_trace())
    ids = await CheckpointManager(db).auto_checkpoint_trace("trace-weather")
    assert await CheckpointManager(db).resolve_id(ids[0].upper()) == ids[0]
    assert await CheckpointManager(db).resolve_id(ids[0][:9].upper()) == ids[0]


@pytest.mark.parametrize("count", [5, 32, 33, 400])
def test_the_hashes_only_a_deleted_checkpoint_used_are_found_among_few_or_many(count: int) -> None:
    """A search per candidate when there are few, one pass over the entries when there are many."""
    from agenttrace_replay.checkpoint import _unused
    from agenttrace_replay.storage import HASH_SIZE, ListRow

    rng = random.Random(count)
    candidates = [rng.randbytes(HASH_SIZE) for _ in range(count)]
    others = [rng.randbytes(HASH_SIZE) for _ in range(500)]
    split = candidates[-1]  # its bytes are there, across two entries: that is no entry of it
    in_singles, in_lists = set(candidates[0::5]) - {split}, set(candidates[1::3]) - {split}
    entries = others + sorted(in_lists - in_singles)
    rng.shuffle(entries)
    straddling = b"".join(entries) + b"\1" * 8 + split[:8] + split[8:] + b"\2" * 8
    assert straddling.find(split) % HASH_SIZE == 8
    rows = [ListRow("c1", "messages", None, None, 0, straddling[: len(straddling) // 32 * 16]),
            ListRow("c2", "messages", None, None, 0, straddling[len(straddling) // 32 * 16 :])]  # fmt: skip
    unused = _unused(set(candidates), [list(in_singles)], rows)
    assert len(unused) == len(set(unused))
    assert set(unused) == set(candidates) - in_singles - in_lists
