"""The trace store on a real PostgreSQL: atomic, idempotent import; read, list, export, delete."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import asyncpg
import otel_traces  # tests/ is on sys.path (conftest.py)
import pytest

from agenttrace_replay import traces
from agenttrace_replay.db import Database, create_pool
from agenttrace_replay.errors import AmbiguousId, ExitCode, InvalidInput, NotFound
from agenttrace_replay.importers.native import dumps, parse_native
from agenttrace_replay.jsonio import dumps_pretty
from agenttrace_replay.records import AgentRecord, SpanRecord, TraceBundle, TraceRecord

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def genai_doc() -> str:
    return otel_traces.genai_multi_agent_trace()


@pytest.fixture(scope="module")
def fixture_docs(genai_doc: str) -> dict[str, str]:
    """One OTLP/JSON document per convention family, all written by the OpenTelemetry SDK."""
    return {
        "genai": genai_doc,
        "legacy": otel_traces.genai_legacy_trace(),
        "openinference": otel_traces.openinference_trace(),
        "langgraph": otel_traces.langgraph_trace("What is the weather in Lisbon?"),
    }


def small_trace(trace_id: str, name: str = "run", status: str = "completed", start: datetime = T0,
                spans: int = 2) -> TraceBundle:  # fmt: skip
    agent = AgentRecord(agent_id="a1", trace_id=trace_id, name="helper", model="m-1", config={"tools": ["t"]})
    records = [
        SpanRecord(span_id=f"{trace_id}-s{i}", trace_id=trace_id, name=f"step {i}", kind="llm_call", agent_id="a1",
                   parent_span_id=None if i == 0 else f"{trace_id}-s0", start_time=start + timedelta(seconds=i),
                   end_time=start + timedelta(seconds=i, milliseconds=500), model="m-1", input_tokens=10,
                   output_tokens=5, cost_usd=0.001, input={"messages": [{"role": "user", "content": f"q{i}"}]},
                   output={"messages": [{"role": "assistant", "content": f"a{i}"}]}, attributes={"i": i})
        for i in range(spans)
    ]  # fmt: skip
    trace = TraceRecord(trace_id=trace_id, name=name, status=status, start_time=start,
                        end_time=start + timedelta(seconds=spans), total_tokens=15 * spans, total_cost_usd=0.001 * spans,
                        total_latency_ms=1000.0 * spans, agent_count=1, metadata={"env": "test"})  # fmt: skip
    return TraceBundle(trace, [agent], records)


async def snapshot(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of the three tables, in a stable order, imported_at included."""
    async with db.acquire() as conn:
        return {
            table: [dict(r) for r in await conn.fetch(f"SELECT * FROM {db.schema}.{table} ORDER BY {order}")]
            for table, order in (("traces", "trace_id"), ("agents", "trace_id, agent_id"), ("spans", "trace_id, span_id"))
        }


async def counts(db: Database) -> dict[str, int]:
    return {table: len(rows) for table, rows in (await snapshot(db)).items()}


def by_id(bundle: TraceBundle) -> tuple[TraceRecord, dict[str, AgentRecord], dict[str, SpanRecord]]:
    return bundle.trace, {a.agent_id: a for a in bundle.agents}, {s.span_id: s for s in bundle.spans}


# --- import: atomic and idempotent ------------------------------------------------------------


async def test_import_writes_what_was_parsed(db: Database, genai_doc: str) -> None:
    (bundle,) = traces.parse_text(genai_doc, "genai.json")
    result = await traces.import_bundles(db, [bundle])
    assert result.imported == [bundle.trace.trace_id] and result.skipped == []
    assert result.spans == len(bundle.spans) == 10
    assert by_id(await traces.get_trace(db, bundle.trace.trace_id)) == by_id(bundle)


async def test_an_invalid_second_trace_writes_nothing(db: Database, genai_doc: str) -> None:
    (good,) = traces.parse_text(genai_doc)
    bad = small_trace("trace-bad")
    bad.spans[1].input = {"text": "a\x00b"}  # PostgreSQL refuses NUL: the write fails on the second trace
    with pytest.raises(InvalidInput, match="trace trace-bad: the database refused it") as info:
        await traces.import_bundles(db, [good, bad])
    assert info.value.exit_code == ExitCode.USAGE
    assert await counts(db) == {"traces": 0, "agents": 0, "spans": 0}


async def test_token_counts_beyond_32_bits_are_stored_as_written(db: Database) -> None:
    document = json.loads(dumps([small_trace("trace-big")]))
    document["traces"][0]["spans"][0]["input_tokens"] = 3_000_000_000
    await traces.import_bundles(db, traces.parse_text(json.dumps(document), "big.json"))
    (span, *_) = (await traces.get_trace(db, "trace-big")).spans
    assert span.input_tokens == 3_000_000_000


async def test_a_file_whose_second_trace_is_malformed_is_refused_before_writing(db: Database) -> None:
    document = json.loads(dumps([small_trace("trace-ok"), small_trace("trace-wrong")]))
    document["traces"][1]["spans"][0]["input_tokens"] = "many"
    with pytest.raises(InvalidInput, match="trace trace-wrong: span 'trace-wrong-s0': input_tokens must be int"):
        traces.parse_text(json.dumps(document), "two.json")
    document["traces"][1]["spans"][0]["input_tokens"] = 2**63  # does not fit the bigint column
    with pytest.raises(InvalidInput, match="input_tokens must be int or null \\(in range\\)"):
        traces.parse_text(json.dumps(document), "two.json")
    document["traces"][1]["spans"][0]["input_tokens"] = 1
    document["traces"][1]["spans"][0]["kind"] = "llm"
    with pytest.raises(InvalidInput, match="unknown kind 'llm'"):
        traces.parse_text(json.dumps(document), "two.json")
    assert await counts(db) == {"traces": 0, "agents": 0, "spans": 0}


async def test_importing_again_changes_nothing(db: Database, fixture_docs: dict[str, str]) -> None:
    bundles = [b for doc in fixture_docs.values() for b in traces.parse_text(doc)]
    first = await traces.import_bundles(db, bundles)
    assert len(first.imported) == 4 and first.skipped == []
    before = await snapshot(db)

    again = await traces.import_bundles(db, [b for doc in fixture_docs.values() for b in traces.parse_text(doc)])
    assert again.imported == [] and again.spans == 0
    assert again.skipped == first.imported
    assert await snapshot(db) == before  # same rows, same content, same imported_at


async def test_a_trace_already_present_is_skipped_while_new_ones_go_in(db: Database) -> None:
    await traces.import_bundles(db, [small_trace("trace-a")])
    result = await traces.import_bundles(db, [small_trace("trace-a", name="changed"), small_trace("trace-b")])
    assert (result.imported, result.skipped) == (["trace-b"], ["trace-a"])
    assert (await traces.get_trace(db, "trace-a")).trace.name == "run"


async def test_replace_overwrites(db: Database) -> None:
    await traces.import_bundles(db, [small_trace("trace-r", spans=3)])
    newer = small_trace("trace-r", name="second attempt", status="failed", spans=1)
    result = await traces.import_bundles(db, [newer], replace=True)
    assert (result.imported, result.replaced, result.skipped) == (["trace-r"], ["trace-r"], [])
    stored = await traces.get_trace(db, "trace-r")
    assert (stored.trace.name, stored.trace.status, len(stored.spans)) == ("second attempt", "failed", 1)
    assert await counts(db) == {"traces": 1, "agents": 1, "spans": 1}


async def test_replace_keeps_an_identical_trace_and_refuses_to_drop_checkpoints_unasked(db: Database) -> None:
    from agenttrace_replay.checkpoint import CheckpointManager
    from agenttrace_replay.errors import WouldDiscard

    await traces.import_bundles(db, [small_trace("trace-r", spans=3)])
    ids = await CheckpointManager(db).auto_checkpoint_trace("trace-r", kinds=["llm_call", "tool_call", "handoff", "agent_message"])
    assert ids
    same = await traces.import_bundles(db, [small_trace("trace-r", spans=3), small_trace("trace-n")], replace=True)
    assert (same.unchanged, same.replaced, same.imported) == (["trace-r"], [], ["trace-n"])
    assert len(await CheckpointManager(db).list_checkpoints("trace-r")) == len(ids)

    before = await counts(db)
    with pytest.raises(WouldDiscard) as caught:
        await traces.import_bundles(db, [small_trace("trace-r", name="changed", spans=3), small_trace("trace-m")], replace=True)
    assert caught.value.discards == {"trace-r": (len(ids), 0)}
    assert await counts(db) == before and (await traces.get_trace(db, "trace-r")).trace.name == "run"

    done = await traces.import_bundles(db, [small_trace("trace-r", name="changed", spans=3)], replace=True, discard=True)
    assert (done.replaced, done.discarded_checkpoints, done.discarded_replays) == (["trace-r"], len(ids), 0)
    assert await CheckpointManager(db).list_checkpoints("trace-r") == []


async def test_replace_of_a_new_trace_just_imports_it(db: Database) -> None:
    result = await traces.import_bundles(db, [small_trace("trace-new")], replace=True)
    assert (result.imported, result.replaced) == (["trace-new"], [])


# --- the convention families, as stored -------------------------------------------------------


async def stored_kinds(db: Database, trace_id: str) -> list[tuple[str, str | None]]:
    return [(s.name, s.kind) for s in (await traces.get_trace(db, trace_id)).spans]


async def test_genai_trace_is_stored_with_kinds_agents_and_tokens(db: Database, genai_doc: str) -> None:
    (bundle,) = traces.parse_text(genai_doc)
    await traces.import_bundles(db, [bundle])
    stored = await traces.get_trace(db, bundle.trace.trace_id)
    kinds = {}
    for span in stored.spans:
        kinds[span.kind] = kinds.get(span.kind, 0) + 1
    assert kinds == {"agent_message": 2, "llm_call": 4, "tool_call": 2, "handoff": 1, None: 1}
    agents = {a.agent_id: (a.name, a.model) for a in stored.agents}
    assert agents == {
        otel_traces.SUPERVISOR_ID: ("supervisor", "gpt-4o-2024-08-06"),
        "agent-billing-specialist": ("billing_specialist", "claude-3-5-sonnet"),
    }
    llm = [s for s in stored.spans if s.kind == "llm_call"]
    assert [(s.input_tokens, s.output_tokens) for s in llm] == [(412, 38), (530, 22), (610, 95), (720, 64)]
    assert stored.trace.total_tokens == sum(s.input_tokens + s.output_tokens for s in llm) == 2491
    assert stored.trace.agent_count == 2 and stored.trace.status == "completed"
    invoice = next(s for s in stored.spans if s.name == "execute_tool get_invoice")
    assert (invoice.status, invoice.error) == ("error", "invoice service HTTP 503")
    first = llm[0]
    assert first.input["messages"][0] == {"role": "system", "content": otel_traces.SUPERVISOR_SYSTEM}
    assert first.output["messages"][0]["tool_calls"][0]["name"] == "lookup_customer"


async def test_openinference_trace_is_stored(db: Database, fixture_docs: dict[str, str]) -> None:
    (bundle,) = traces.parse_text(fixture_docs["openinference"])
    await traces.import_bundles(db, [bundle])
    stored = await traces.get_trace(db, bundle.trace.trace_id)
    assert sorted(k or "-" for _, k in await stored_kinds(db, bundle.trace.trace_id)) == sorted(
        ["agent_message", "-", "llm_call", "tool_call", "tool_call", "llm_call"]
    )
    assert [(a.agent_id, a.name, a.framework) for a in stored.agents] == [("agent-researcher", "researcher", "llama_index")]
    assert all(s.agent_id == "agent-researcher" for s in stored.spans)
    assert stored.trace.total_tokens == 120 + 24 + 210 + 17
    assert stored.trace.metadata["session.id"] == "sess-42"


async def test_langgraph_trace_is_stored(db: Database, fixture_docs: dict[str, str]) -> None:
    (bundle,) = traces.parse_text(fixture_docs["langgraph"])
    await traces.import_bundles(db, [bundle])
    stored = await traces.get_trace(db, bundle.trace.trace_id)
    (agent,) = stored.agents
    assert (agent.framework, agent.model) == ("langgraph", "fake-deterministic-1")
    llm = [s for s in stored.spans if s.kind == "llm_call"]
    tools = [s for s in stored.spans if s.kind == "tool_call"]
    assert len(llm) == 2 and [t.input["name"] for t in tools] == ["get_weather"]
    assert tools[0].input["arguments"] == {"city": "Lisbon"}
    assert stored.trace.total_tokens == sum(s.input_tokens + s.output_tokens for s in llm) > 0


async def test_legacy_genai_trace_is_stored(db: Database, fixture_docs: dict[str, str]) -> None:
    (bundle,) = traces.parse_text(fixture_docs["legacy"])
    await traces.import_bundles(db, [bundle])
    stored = await traces.get_trace(db, bundle.trace.trace_id)
    assert stored.agents == [] and stored.trace.total_tokens == 52 + 18 + 71 + 9
    assert [s.kind for s in stored.spans].count("llm_call") == 4


async def test_jsonl_and_single_document_store_the_same_rows(db: Database, genai_doc: str) -> None:
    await traces.import_bundles(db, traces.parse_text(otel_traces.jsonl_variant(genai_doc, batch_size=3)))
    from_lines = await snapshot(db)
    await traces.import_bundles(db, traces.parse_text(genai_doc), replace=True)
    from_document = await snapshot(db)
    strip = lambda snap: {t: [{k: v for k, v in r.items() if k != "imported_at"} for r in rows] for t, rows in snap.items()}  # noqa: E731
    assert strip(from_lines) == strip(from_document)


# --- export round trip ------------------------------------------------------------------------


@pytest.fixture
async def empty_db(db_url: str) -> Any:
    """A second, empty, migrated database next to ``db``."""
    name = db_url.split("?")[0].rsplit("/", 1)[1] + "_copy"
    admin = await asyncpg.connect(db_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE agenttrace_template')
    finally:
        await admin.close()
    head, _, query = db_url.partition("?")
    pool = await create_pool(f"{head.rsplit('/', 1)[0]}/{name}?{query}")
    yield Database(pool)
    await pool.close()
    admin = await asyncpg.connect(db_url)
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def test_export_import_export_gives_identical_bytes(
    db: Database, empty_db: Database, fixture_docs: dict[str, str]
) -> None:
    bundles = [b for doc in fixture_docs.values() for b in traces.parse_text(doc)] + [small_trace("trace-hand")]
    await traces.import_bundles(db, bundles)
    ids = [b.trace.trace_id for b in bundles]
    first = await traces.export_traces(db, ids)

    assert await counts(empty_db) == {"traces": 0, "agents": 0, "spans": 0}
    result = await traces.import_bundles(empty_db, traces.parse_text(first, "export.json"))
    assert sorted(result.imported) == sorted(ids)
    second = await traces.export_traces(empty_db, ids)
    assert second == first

    document = json.loads(first)
    assert (document["format"], document["version"]) == ("agenttrace-replay", 1)
    assert [t["trace"]["trace_id"] for t in document["traces"]] == ids
    assert parse_native(document)[0].trace == (await traces.get_trace(db, ids[0])).trace

    again = await traces.import_bundles(db, traces.parse_text(first, "export.json"))  # same ids: skipped
    assert again.imported == [] and sorted(again.skipped) == sorted(ids)


# --- list, show, delete ---------------------------------------------------------------------


@pytest.fixture
async def listed(db: Database) -> Database:
    await traces.import_bundles(db, [
        small_trace("trace-1", name="checkout flow", start=T0),
        small_trace("trace-2", name="support_bot", status="failed", start=T0 + timedelta(hours=1)),
        small_trace("trace-3", name="supportXbot", start=T0 + timedelta(hours=2)),
        small_trace("trace-4", name="Checkout retry", status="timeout", start=T0 + timedelta(days=1)),
    ])  # fmt: skip
    return db


def ids_of(rows: list[dict[str, Any]]) -> list[str]:
    return [r["trace_id"] for r in rows]


async def test_list_is_newest_first_with_counts(listed: Database) -> None:
    rows = await traces.list_traces(listed)
    assert ids_of(rows) == ["trace-4", "trace-3", "trace-2", "trace-1"]
    assert rows[0]["span_count"] == 2 and rows[0]["total_tokens"] == 30 and rows[0]["agent_count"] == 1


async def test_list_filters(listed: Database) -> None:
    assert ids_of(await traces.list_traces(listed, name="checkout")) == ["trace-4", "trace-1"]  # any case
    assert ids_of(await traces.list_traces(listed, name="support_bot")) == ["trace-2"]  # '_' is literal
    assert ids_of(await traces.list_traces(listed, status="failed")) == ["trace-2"]
    assert ids_of(await traces.list_traces(listed, since=T0 + timedelta(minutes=30))) == ["trace-4", "trace-3", "trace-2"]
    assert ids_of(await traces.list_traces(listed, limit=2)) == ["trace-4", "trace-3"]
    assert ids_of(await traces.list_traces(listed, name="support", status="completed", limit=5)) == ["trace-3"]
    assert await traces.list_traces(listed, name="nothing like it") == []


async def test_list_refuses_bad_filters(listed: Database) -> None:
    with pytest.raises(InvalidInput, match="unknown status 'done'"):
        await traces.list_traces(listed, status="done")
    with pytest.raises(InvalidInput, match="--limit must be between 1 and"):
        await traces.list_traces(listed, limit=0)


async def test_get_trace_by_unique_prefix(listed: Database) -> None:
    await traces.import_bundles(listed, [small_trace("other-7")])
    assert (await traces.get_trace(listed, "oth")).trace.trace_id == "other-7"
    with pytest.raises(AmbiguousId) as info:
        await traces.get_trace(listed, "trace-")
    assert info.value.candidates == ["trace-1", "trace-2", "trace-3", "trace-4"]
    with pytest.raises(NotFound, match="no trace 'nope'") as missing:
        await traces.get_trace(listed, "nope")
    assert missing.value.exit_code == ExitCode.NOT_FOUND


async def test_an_exact_id_wins_over_longer_ids_it_prefixes(db: Database) -> None:
    await traces.import_bundles(db, [small_trace("t-1"), small_trace("t-10"), small_trace("t-11")])
    assert (await traces.get_trace(db, "t-1")).trace.trace_id == "t-1"


async def test_delete_removes_the_trace_its_agents_and_spans(listed: Database) -> None:
    assert await traces.delete_trace(listed, "trace-2") == "trace-2"
    assert ids_of(await traces.list_traces(listed)) == ["trace-4", "trace-3", "trace-1"]
    snap = await snapshot(listed)
    assert {r["trace_id"] for r in snap["spans"]} == {"trace-1", "trace-3", "trace-4"}
    assert {r["trace_id"] for r in snap["agents"]} == {"trace-1", "trace-3", "trace-4"}
    with pytest.raises(NotFound):
        await traces.delete_trace(listed, "trace-2")


def test_records_round_trip_through_the_native_format() -> None:
    bundle = small_trace("trace-native")
    (back,) = parse_native(json.loads(dumps([bundle])))
    assert dataclasses.asdict(back) == dataclasses.asdict(bundle)


async def test_hex_ids_are_found_whatever_their_case_and_a_nul_is_simply_not_found(db: Database) -> None:
    await traces.import_bundles(db, [small_trace("abcdef0123456789abcdef0123456789")])
    assert await traces.resolve_trace_id(db, "ABCDEF0123456789ABCDEF0123456789") == "abcdef0123456789abcdef0123456789"
    assert await traces.resolve_trace_id(db, "ABCDEF01") == "abcdef0123456789abcdef0123456789"
    with pytest.raises(NotFound):
        await traces.resolve_trace_id(db, "abc\x00")


@pytest.mark.parametrize(("stored_value", "given_value", "same"), [
    (1, True, False), (True, 1, False), (1, 1.0, True), (1e23, 1e23, True), (0.1, 0.1, True),
    ("1", 1, False), ({"a": [1, {"b": None}]}, {"a": [1, {"b": None}]}, True), ([1, 2], [2, 1], False),
])
async def test_replace_compares_as_json_does(db: Database, stored_value, given_value, same: bool) -> None:
    """`true` is not `1`; numbers equal by value are the same (jsonb gives 1e23 back as an integer)."""
    first = small_trace("trace-j", spans=2)
    first.spans[0].attributes = {"value": stored_value}
    await traces.import_bundles(db, [first])
    second = small_trace("trace-j", spans=2)
    second.spans[0].attributes = {"value": given_value}
    result = await traces.import_bundles(db, [second], replace=True)
    assert (result.unchanged, result.replaced) == ((["trace-j"], []) if same else ([], ["trace-j"]))


async def test_replace_with_the_same_copy_given_twice_is_unchanged_and_missing_metadata_is_empty(db: Database) -> None:
    bundle = small_trace("trace-t", spans=2)
    bundle.trace.metadata = None
    await traces.import_bundles(db, [bundle])
    copies = [small_trace("trace-t", spans=2), small_trace("trace-t", spans=2)]
    for copy in copies:
        copy.trace.metadata = None
    result = await traces.import_bundles(db, copies, replace=True)
    assert result.unchanged == ["trace-t"] and result.replaced == []
    copies[1].trace.metadata = {"env": "test"}  # copies that differ: which one is meant?
    with pytest.raises(InvalidInput, match="trace trace-t is given twice, with different content"):
        await traces.import_bundles(db, copies, replace=True)


async def test_a_checkpoint_written_while_replace_waits_for_its_lock_counts(db: Database, db_url: str) -> None:
    """Another command is writing a checkpoint of the trace (its foreign key holds a share lock
    on the trace row): --replace waits for it, and then counts it."""
    import asyncio

    import asyncpg
    from builders import weather_trace

    from agenttrace_replay.errors import WouldDiscard

    await traces.import_bundles(db, [weather_trace()])
    other = await asyncpg.connect(db_url)
    try:
        async with other.transaction():
            await other.execute(
                "INSERT INTO agenttrace.checkpoints (checkpoint_id, trace_id, span_id, step, span_hash, agent_hash, input_hash)"
                " VALUES ('chk-000000000001', 'trace-weather', 's-llm1', 1, '\\x00', '\\x00', '\\x00')"
            )
            changed = weather_trace()
            changed.trace.name = "weather v2"
            task = asyncio.ensure_future(traces.import_bundles(db, [changed], replace=True))
            await asyncio.sleep(0.3)
            assert not task.done()  # waiting for the row lock
        with pytest.raises(WouldDiscard) as caught:
            await task
        assert caught.value.discards == {"trace-weather": (1, 0)}
        assert await other.fetchval("SELECT count(*) FROM agenttrace.checkpoints") == 1
    finally:
        await other.close()


@pytest.mark.parametrize("sort_keys", [False, True])
def test_indented_json_is_written_as_the_standard_library_writes_it(sort_keys: bool) -> None:
    value = {
        "zeta": [1, -2, 2**70, -(2**70), 0.5, -0.0, 1.2345678901234567, True, False, None],
        "alpha": {"": "", "empty": {}, "list": [], "nested": [[], [{}], {"b": [1]}]},
        "Été": "naïve café ✓ 😀 \u2028 \t\n\r\b\f \x00\x1f\x7f \" \\ /",
        "B": "x" * 5000,
    }
    assert dumps_pretty(value, sort_keys=sort_keys) == json.dumps(value, indent=2, sort_keys=sort_keys, ensure_ascii=False)


@pytest.mark.parametrize("value", [
    [1e16, 1e-05, 5.04e-05, 1.5e300, 1e22, -0.0], {"nan": float("nan"), "inf": [float("inf")]}, {"lone": "a\ud800b"},
    {"when": datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc), "n": 3},
])  # fmt: skip
def test_indented_json_is_the_standard_librarys_for_floats_and_what_msgspec_cannot_read(value: Any) -> None:
    assert dumps_pretty(value, default=str) == json.dumps(value, indent=2, ensure_ascii=False, default=str)


def test_a_command_never_formats_the_value_it_worked_out(db_url: str) -> None:
    """asyncio.run made Python format the command task's repr, and with it its result (a
    whole trace: 1.2 s for 20,000 spans), when it put back the SIGINT handler."""
    import click

    from agenttrace_replay.cli.common import GlobalOptions, run

    formatted = []

    class Large:
        def __repr__(self) -> str:
            formatted.append(self)
            return "Large()"

    async def body(_db: Any) -> Large:
        return Large()

    ctx = click.Context(click.Command("show"), obj=GlobalOptions(db=db_url))
    result = run(ctx, body)  # in the main thread, where asyncio.run sets its SIGINT handler
    assert isinstance(result, Large) and formatted == []


# --- many traces in one import: one statement for their rows, COPY batches across them ----------


async def test_many_traces_in_one_import_are_all_written_whole(db: Database) -> None:
    bundles = [small_trace(f"t-{i:02d}", spans=3 + i % 4) for i in range(40)]
    await traces.import_bundles(db, [small_trace("t-03", spans=6)])  # already stored: skipped
    steps: list[int] = []
    result = await traces.import_bundles(db, bundles, on_spans=steps.append)
    assert result.skipped == ["t-03"] and result.imported == [b.trace.trace_id for b in bundles if b.trace.trace_id != "t-03"]
    assert result.spans == sum(len(b.spans) for b in bundles) - 6 and sum(steps) == sum(len(b.spans) for b in bundles)
    for bundle in bundles[:5] + bundles[-5:]:
        assert by_id(await traces.get_trace(db, bundle.trace.trace_id)) == by_id(bundle)
    assert await counts(db) == {"traces": 40, "agents": 40, "spans": sum(len(b.spans) for b in bundles)}


async def test_two_copies_of_a_trace_among_many_are_stored_once_or_refused_when_they_differ(db: Database) -> None:
    result = await traces.import_bundles(db, [small_trace("t-1"), small_trace("t-2"), small_trace("t-1"), small_trace("t-3")])
    assert result.imported == ["t-1", "t-2", "t-3"] and result.skipped == ["t-1"]
    assert await counts(db) == {"traces": 3, "agents": 3, "spans": 6}
    with pytest.raises(InvalidInput, match="trace t-5 is given twice, with different spans"):
        await traces.import_bundles(db, [small_trace("t-5"), small_trace("t-4"), small_trace("t-5", spans=3)])
    assert await counts(db) == {"traces": 3, "agents": 3, "spans": 6}


def _refused_in(bundle: TraceBundle, where: str) -> None:
    if where == "trace name":
        bundle.trace.name = "a\x00b"
    elif where == "trace metadata":
        bundle.trace.metadata = {"note": "a\x00b"}
    elif where == "span input":
        bundle.spans[1].input = {"text": "a\x00b"}
    elif where == "span name":
        bundle.spans[0].name = "a\x00b"
    elif where == "surrogate":
        bundle.spans[1].output = {"messages": [{"role": "assistant", "content": "x\ud800"}]}
    elif where == "text that looks like the server's context":  # a tool's output quoting psql
        bundle.spans[1].output = {"result": "psql: ERROR: bad row\nCONTEXT:  COPY users, line 2\x00"}
    elif where == "tokens out of range":  # no line: refused while the row is encoded
        bundle.spans[2].input_tokens = 2**70
    elif where == "span of an unknown trace":  # no line: the foreign key is checked after the rows
        bundle.spans[2].trace_id = "nope"
    else:
        bundle.agents[0].name = "a\x00b"


@pytest.mark.parametrize("where", [
    "trace name", "trace metadata", "span input", "span name", "surrogate", "agent name",
    "text that looks like the server's context", "tokens out of range", "span of an unknown trace",
])  # fmt: skip
async def test_a_value_refused_among_many_traces_names_its_trace_and_writes_nothing(db: Database, where: str) -> None:
    bundles = [small_trace(f"t-{i:02d}", spans=3) for i in range(30)]
    _refused_in(bundles[17], where)
    with pytest.raises(InvalidInput, match="^trace t-17: ") as info:
        await traces.import_bundles(db, bundles)
    assert info.value.trace_id == "t-17"  # type: ignore[attr-defined]
    assert await counts(db) == {"traces": 0, "agents": 0, "spans": 0}
    del bundles[17]
    assert len((await traces.import_bundles(db, bundles)).imported) == 29  # and the connection is fine


async def test_a_stored_trace_skipped_among_many_is_kept_until_the_import_commits(db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `trace delete` of it waits for the import, instead of making it fail half-way."""
    db = Database(await create_pool(db_url, max_size=2), owned=True)
    try:
        await traces.import_bundles(db, [small_trace("stored")])
        copy_spans = traces._copy_spans
        copying = asyncio.Event()

        async def slow_copy(*args: Any) -> None:
            copying.set()
            await asyncio.sleep(0.5)  # the window in which the delete comes
            await copy_spans(*args)

        monkeypatch.setattr(traces, "_copy_spans", slow_copy)
        importing = asyncio.create_task(traces.import_bundles(db, [small_trace("stored")] + [small_trace(f"n{i}") for i in range(5)]))
        await asyncio.wait_for(copying.wait(), 10)
        deleting = asyncio.create_task(traces.delete_trace(db, "stored"))
        result = await importing
        assert result.skipped == ["stored"] and len(result.imported) == 5
        assert await asyncio.wait_for(deleting, 10) == "stored"
    finally:
        await db.close()


async def test_many_traces_export_in_one_snapshot_as_each_alone(db: Database) -> None:
    bundles = [small_trace(f"t-{i:02d}", spans=1 + i % 3) for i in range(30)]
    bundles[4].agents = []
    bundles[5].spans = []
    await traces.import_bundles(db, bundles)
    asked = ["t-29", "t-0", "t-01", "t-15", "t-29", "t-04", "t-05"]  # "t-0" is a prefix of t-00..t-09: ambiguous
    with pytest.raises(AmbiguousId):
        await traces.export_traces(db, asked)
    asked[1] = "t-00"
    together = json.loads(await traces.export_traces(db, asked))["traces"]
    alone = [json.loads(await traces.export_traces(db, [t]))["traces"][0] for t in ["t-29", "t-00", "t-01", "t-15", "t-04", "t-05"]]
    assert together == alone and [t["trace"]["trace_id"] for t in together] == ["t-29", "t-00", "t-01", "t-15", "t-04", "t-05"]
    assert together[4]["agents"] == [] and together[5]["spans"] == []
