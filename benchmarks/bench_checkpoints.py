"""Benchmark checkpoint storage against a full-snapshot-per-checkpoint layout.

Run from the project root:  python -m benchmarks.bench_checkpoints [--steps 1000] [--quick]

A trace of ``--steps`` LLM calls where each step adds a ~1 KB user message (its prompt
records only the new turn, as stateful APIs do) gets one checkpoint per step. The script
starts its own embedded PostgreSQL in a temporary folder (never the user's data), imports
the trace into a template database, and measures:

- ``auto`` on fresh copies of that database (median of several runs): the time reading the
  trace's existing checkpoints, encoding in Python, and the write transaction (advisory
  lock, COPY of blobs, checkpoints and lists, commit); the transaction is the database time;
- the size of the checkpoint tables (``pg_total_relation_size``, indexes and TOAST included)
  against the bytes of distinct content, i.e. the canonical JSON of each distinct value;
- restoring the middle checkpoint (median of 20 warm runs) and the queries it takes;
- the baseline, in the same run: one full state per checkpoint in a ``(checkpoint_id,
  state jsonb)`` table, its size and its insert time.

Exits non-zero if a target is missed; ``--quick`` leaves docs/performance.md alone.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import asyncpg

from agenttrace_replay import traces
from agenttrace_replay.checkpoint import CheckpointManager, _parts, checkpoint_id_for
from agenttrace_replay.db import Database, create_pool, init_connection, migrations
from agenttrace_replay.db.codecs import RawJSON
from agenttrace_replay.db.embedded import ensure_server, stop_server
from agenttrace_replay.records import AgentRecord, SpanRecord, TraceBundle, TraceRecord
from agenttrace_replay.state import build_states, iter_states
from agenttrace_replay.storage import canonical, digest_text
from benchmarks._report import machine, write_section

TARGET_RATIO = 3.0
TARGET_WRITE_MS = 100.0
TARGET_RESTORE_MS = 10.0
TRACE_ID = "trace-bench"
SEED = 20261125
TABLES = ("blobs", "checkpoints", "checkpoint_lists")
T0 = datetime(2026, 11, 1, 12, 0, 0, tzinfo=timezone.utc)


WORDS = (
    "the agent searched for flights from Paris to Lisbon and compared prices with the cached results "
    "before calling the booking tool again because the first response timed out while the user waited "
    "for a summary of options weather hotel refund policy customer account order status tracking number "
    "invoice amount currency euro dollar please check whether my parcel arrived yesterday or tomorrow"
).split()


def message(i: int, message_bytes: int, text: str, rng: random.Random) -> str:
    """A user turn of about ``message_bytes``: prose-like random words (compresses about as
    much as real chat text), or the repeated lorem ipsum of tests/builders.long_trace."""
    head = f"step {i}: "
    if text == "lorem":
        return head + ("lorem ipsum dolor sit amet " * (message_bytes // 27 + 1))[:message_bytes]
    words: list[str] = []
    size = len(head)
    while size < message_bytes:
        words.append(rng.choice(WORDS))
        size += len(words[-1]) + 1
    return head + " ".join(words)


def build_trace(steps: int, message_bytes: int = 1000, trace_id: str = TRACE_ID, text: str = "words") -> TraceBundle:
    """``steps`` LLM calls of one agent; each adds a ~``message_bytes`` user turn and a short reply."""
    rng = random.Random(SEED)
    spans = []
    for i in range(steps):
        text_i = message(i, message_bytes, text, rng)
        spans.append(SpanRecord(
            span_id=f"s{i:05d}", trace_id=trace_id, name="chat", kind="llm_call", agent_id="a", model="m",
            start_time=T0 + timedelta(milliseconds=i * 10), end_time=T0 + timedelta(milliseconds=i * 10 + 5),
            input={"messages": [{"role": "user", "content": text_i}]},
            output={"messages": [{"role": "assistant", "content": f"ok {i}"}], "finish_reason": "stop"},
        ))
    trace = TraceRecord(trace_id=trace_id, name="bench", start_time=T0, end_time=T0 + timedelta(milliseconds=steps * 10), agent_count=1)
    return TraceBundle(trace, [AgentRecord(agent_id="a", trace_id=trace_id, name="a", model="m")], spans)


def with_database(server_url: str, name: str) -> str:
    head, _, query = server_url.partition("?")
    return f"{head.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


def content_bytes(bundle: TraceBundle) -> tuple[int, int, int]:
    """(distinct values, their canonical-JSON bytes, bytes of distinct message text)."""
    seen: dict[bytes, int] = {}
    texts: dict[str, None] = {}
    for state in iter_states(bundle):
        single, lists = _parts(state)
        for value in [*single.values(), *(v for values in lists.values() for v in values)]:
            text = canonical(value)
            seen.setdefault(digest_text(text), len(text.encode()))
        for message in state.messages:
            if isinstance(message.get("content"), str):
                texts[message["content"]] = None
    return len(seen), sum(seen.values()), sum(len(t.encode()) for t in texts)


async def admin(server_url: str, *sql: str) -> None:
    conn = await asyncpg.connect(server_url)
    try:
        for statement in sql:
            await conn.execute(statement)
    finally:
        await conn.close()


async def relation_bytes(conn: Any, names: list[str]) -> dict[str, int]:
    return {n: await conn.fetchval("SELECT pg_total_relation_size($1::regclass)", n) for n in names}


async def time_auto(server_url: str, template: str, run: int) -> dict[str, float]:
    """One ``auto`` on a fresh copy of the template, on a connection that has run one small
    ``auto`` before (so statement preparation is not counted, as in a long-lived process)."""
    name = f"bench_run_{run}"
    # the copy writes WAL; a CHECKPOINT now keeps the server's write-back out of the timing
    await admin(server_url, f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}" TEMPLATE "{template}"', "CHECKPOINT")
    db = Database(await create_pool(with_database(server_url, name), min_size=1, max_size=1), owned=True)
    try:
        manager = CheckpointManager(db)
        await manager.auto_checkpoint("trace-warmup")
        cold = dict(manager.last_timings)
        started = time.perf_counter()
        ids, created = await manager.auto_checkpoint(TRACE_ID)
        timings = dict(manager.last_timings, total_ms=(time.perf_counter() - started) * 1000, warmup_write_ms=cold["write_ms"])
        assert created == len(ids)
        return timings
    finally:
        await db.close()
        if run:
            await admin(server_url, f'DROP DATABASE IF EXISTS "{name}"')


async def measure(server_url: str, steps: int, runs: int, text: str) -> dict[str, Any]:
    bundle = build_trace(steps, text=text)
    template = "bench_template"
    await admin(server_url, f'DROP DATABASE IF EXISTS "{template}"', f'CREATE DATABASE "{template}"')
    db = Database(await create_pool(with_database(server_url, template)), owned=True)
    try:
        await migrations.migrate(db)
        await traces.import_bundles(db, [bundle, build_trace(3, trace_id="trace-warmup")])
    finally:
        await db.close()

    results: dict[str, Any] = {"steps": steps, "text": text}
    auto_runs = [await time_auto(server_url, template, run) for run in range(runs)]
    for key in ("read_ms", "encode_ms", "write_ms", "total_ms", "warmup_write_ms"):
        results[key] = statistics.median(r[key] for r in auto_runs)
    results["write_runs"] = [r["write_ms"] for r in auto_runs]

    url = with_database(server_url, "bench_run_0")  # the database of run 0 has the checkpoints
    db = Database(await create_pool(url), owned=True)
    try:
        async with db.acquire() as conn:
            # the warm-up trace's 3 checkpoints share these tables: measure before/after them out
            await conn.execute("DELETE FROM agenttrace.traces WHERE trace_id = 'trace-warmup'")
            await conn.execute("VACUUM FULL agenttrace.blobs, agenttrace.checkpoints, agenttrace.checkpoint_lists")
            sizes = await relation_bytes(conn, [f"agenttrace.{t}" for t in TABLES])
            results["checkpoints"] = await conn.fetchval("SELECT count(*) FROM agenttrace.checkpoints")
            results["blobs"] = await conn.fetchval("SELECT count(*) FROM agenttrace.blobs")
            results["hash_bytes"] = await conn.fetchval("SELECT sum(length(added)) FROM agenttrace.checkpoint_lists")
        results["sizes"] = sizes
        results["total_bytes"] = sum(sizes.values())
        results["distinct_values"], results["distinct_bytes"], results["message_bytes"] = content_bytes(bundle)

        results.update(await measure_restore(url, bundle))
        results.update(await measure_baseline(db, bundle))
    finally:
        await db.close()
    return results


async def measure_restore(url: str, bundle: TraceBundle) -> dict[str, Any]:
    logged: list[str] = []

    async def init(conn: asyncpg.Connection) -> None:
        await init_connection(conn)
        conn.add_query_logger(lambda record: logged.append(record.query))

    pool = await asyncpg.create_pool(url, min_size=1, max_size=1, init=init)
    try:
        manager = CheckpointManager(pool)
        states = build_states(bundle)
        middle = states[len(states) // 2]
        cid = checkpoint_id_for(bundle.trace.trace_id, middle.span.span_id)
        for _ in range(3):
            state = await manager.restore(cid)
        assert state == middle.to_dict(cid), "the restored state differs from the reconstruction"
        times = []
        for _ in range(20):
            await asyncio.sleep(0)
            logged.clear()
            started = time.perf_counter()
            await manager.restore(cid)
            times.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(0)
            queries = [q for q in logged if not q.startswith("SELECT pg_advisory_unlock_all()")]  # the pool's reset
        return {"restore_ms": statistics.median(times), "restore_queries": len(queries), "restore_messages": len(state["messages"])}
    finally:
        await pool.close()


async def measure_baseline(db: Database, bundle: TraceBundle) -> dict[str, Any]:
    """The same states, one full JSON document per checkpoint, in a scratch schema."""
    trace_id = bundle.trace.trace_id
    raw = 0

    def records():  # generated while COPY sends them: a few hundred MB of JSON is never held at once
        nonlocal raw
        for state in build_states(bundle):
            cid = checkpoint_id_for(trace_id, state.span.span_id)
            text = canonical(state.to_dict(cid))
            raw += len(text.encode())
            yield cid, RawJSON(text)

    async with db.acquire() as conn:
        await conn.execute("DROP SCHEMA IF EXISTS bench_full CASCADE")
        await conn.execute("CREATE SCHEMA bench_full")
        await conn.execute("CREATE TABLE bench_full.snapshots (checkpoint_id text PRIMARY KEY, state jsonb NOT NULL)")
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table("snapshots", schema_name="bench_full", columns=("checkpoint_id", "state"), records=records())
        insert_ms = (time.perf_counter() - started) * 1000
        size = (await relation_bytes(conn, ["bench_full.snapshots"]))["bench_full.snapshots"]
        middle = checkpoint_id_for(trace_id, bundle.spans[len(bundle.spans) // 2].span_id)
        times = []
        for _ in range(23):
            started = time.perf_counter()
            await conn.fetchval("SELECT state FROM bench_full.snapshots WHERE checkpoint_id = $1", middle)
            times.append((time.perf_counter() - started) * 1000)
        await conn.execute("DROP SCHEMA bench_full CASCADE")
    return {"full_bytes": size, "full_raw_bytes": raw, "full_insert_ms": insert_ms, "full_restore_ms": statistics.median(times[3:])}


def mb(n: float) -> str:
    return f"{n / 1e6:.2f} MB"


def report(r: dict[str, Any], lorem: dict[str, Any] | None) -> tuple[str, list[str]]:
    ratio = r["total_bytes"] / r["distinct_bytes"]
    full_ratio = r["full_bytes"] / r["distinct_bytes"]
    misses = []
    if ratio > TARGET_RATIO:
        misses.append(f"storage {ratio:.1f}x distinct content, target {TARGET_RATIO:.0f}x")
    if r["write_ms"] > TARGET_WRITE_MS:
        misses.append(f"auto's write transaction {r['write_ms']:.0f} ms, target {TARGET_WRITE_MS:.0f} ms")
    if r["restore_ms"] > TARGET_RESTORE_MS:
        misses.append(f"restore {r['restore_ms']:.1f} ms, target {TARGET_RESTORE_MS:.0f} ms")
    sizes = r["sizes"]
    md = f"""## Checkpoints

A {r['steps']:,}-step trace (one agent, one LLM call per step, each adding a ~1 KB user
message of prose-like random words), one checkpoint per step: {r['checkpoints']:,} checkpoints.
Content-addressed storage against one full state document per checkpoint, measured in the
same run on a throwaway embedded PostgreSQL. Targets: storage at most {TARGET_RATIO:.0f}x the
distinct content, `auto`'s database time at most {TARGET_WRITE_MS:.0f} ms, restoring the
middle checkpoint at most {TARGET_RESTORE_MS:.0f} ms.

| | content-addressed (this project) | full snapshot per checkpoint |
|---|---|---|
| size on disk (`pg_total_relation_size`, with indexes and TOAST) | {mb(r['total_bytes'])} | {mb(r['full_bytes'])} |
| ... as a multiple of the distinct content ({mb(r['distinct_bytes'])}) | **{ratio:.1f}x** | {full_ratio:.0f}x |
| JSON written | {mb(r['distinct_bytes'])} in {r['blobs']:,} blobs, plus {mb(r['hash_bytes'])} of hashes in the lists | {mb(r['full_raw_bytes'])} |
| write (database) | **{r['write_ms']:.0f} ms**: one transaction (lock, 3 COPY, commit) | {r['full_insert_ms']:,.0f} ms: one COPY |
| restore the middle checkpoint ({r['restore_messages']} messages) | **{r['restore_ms']:.1f} ms**, {r['restore_queries']} queries | {r['full_restore_ms']:.1f} ms, 1 query |

Where `auto` spends its time (median of {len(r['write_runs'])} runs, each on a fresh copy of the
database, on a connection that has run one small `auto` before): reading the trace's
existing checkpoints {r['read_ms']:.1f} ms; building the states and encoding them in Python
{r['encode_ms']:.0f} ms (outside the transaction); the write transaction {r['write_ms']:.0f} ms
(runs: {', '.join(f'{w:.0f}' for w in r['write_runs'])} ms; this includes asyncpg encoding
the COPY records). The whole call, reading the trace too, takes {r['total_ms']:.0f} ms. On a
brand-new connection the first write also prepares its statements ({r['warmup_write_ms']:.0f} ms
for a 3-step trace).

Table sizes: blobs {mb(sizes['agenttrace.blobs'])}, checkpoints {mb(sizes['agenttrace.checkpoints'])},
checkpoint_lists {mb(sizes['agenttrace.checkpoint_lists'])}. Distinct content: {r['distinct_values']:,} values
(messages, inputs, span descriptions, finished spans' outputs); the message text alone is
{mb(r['message_bytes'])}.
"""
    if lorem is not None:
        md += f"""
With the highly repetitive messages of `tests/builders.long_trace` (lorem ipsum repeated),
TOAST compression hides much of the full snapshots' quadratic growth: {mb(lorem['full_bytes'])}
({lorem['full_bytes'] / lorem['distinct_bytes']:.0f}x of {mb(lorem['distinct_bytes'])} distinct content,
{mb(lorem['full_raw_bytes'])} of JSON written in {lorem['full_insert_ms']:,.0f} ms) against
{mb(lorem['total_bytes'])} ({lorem['total_bytes'] / lorem['distinct_bytes']:.1f}x) content-addressed.
"""
    md += f"""
Measured on {machine()} with `python -m benchmarks.bench_checkpoints`.
"""
    return md, misses


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000, help="steps (checkpoints) in the trace (default 1000)")
    parser.add_argument("--runs", type=int, default=5, help="auto runs to take the median of (default 5)")
    parser.add_argument("--quick", action="store_true", help="skip the lorem ipsum variant and leave docs/performance.md alone")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="agenttrace-bench-") as tmp:
        data_dir = Path(tmp)
        server_url = ensure_server(data_dir)
        try:
            results = asyncio.run(measure(server_url, args.steps, args.runs, "words"))
            lorem = None if args.quick else asyncio.run(measure(server_url, args.steps, 1, "lorem"))
        finally:
            stop_server(data_dir)

    md, misses = report(results, lorem)
    print(md)
    for miss in misses:
        print(f"MISSED: {miss}", file=sys.stderr)
    if not args.quick and args.steps == 1000:
        write_section("checkpoints", md)
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
