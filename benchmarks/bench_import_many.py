"""Importing a Collector-style file of many small traces: 400 traces of 50 steps, as JSON Lines.

Run from the project root:  python -m benchmarks.bench_import_many [--traces 400] [--runs 5] [--quick]

Each trace is bench_import's generator at 50 steps (51 spans with message content), one
OTLP request per line, the way the Collector's file exporter writes. Side by side, best of
the runs, each into a fresh database of a throwaway embedded PostgreSQL, interleaved:

* `import_bundles` as it is: the traces' rows in one statement, the spans of all of them in
  COPY batches that run on from one trace into the next, the agents in one COPY;
* baseline, what it did before: the same writes a trace at a time in the one transaction
  (its row, its spans' COPY batches, its agents' COPY), a few round trips per trace.

Then the whole `agenttrace-replay trace import FILE` process. --quick: 100 traces, 2 runs,
docs/performance.md untouched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from agenttrace_replay import traces
from agenttrace_replay.db import Database, create_pool
from agenttrace_replay.db.embedded import ensure_server, stop_server
from benchmarks._report import machine, write_section
from benchmarks.bench_import import drop_database, fresh_database, generate_trace, make_template, time_cli_import

STEPS = 50


def collector_file(count: int) -> str:
    return "".join(json.dumps(json.loads(generate_trace(STEPS, seed=10_000 + i))) + "\n" for i in range(count))


async def time_import(server_url: str, text: str, *, per_trace: bool) -> tuple[float, float, int]:
    """(read seconds, write seconds, spans) of one import into a fresh database."""
    url = await fresh_database(server_url, "bench_import_many")
    db = Database(await create_pool(url, max_size=1), owned=True)
    try:
        async with db.acquire():
            pass  # connected before the clock starts
        started = time.perf_counter()
        bundles = traces.parse_text(text, "collector.jsonl", pending=True)
        parsed = time.perf_counter()
        if per_trace:
            result = traces.ImportResult()
            with traces.gc_paused():
                async with db.transaction() as conn:
                    for bundle in bundles:
                        await traces._write_bundles(conn, db, [bundle], result, lambda _n: None)
        else:
            result = await traces.import_bundles(db, bundles)
        written = time.perf_counter()
        assert result.spans == sum(len(b.spans) for b in bundles) and not result.skipped
        return parsed - started, written - parsed, result.spans
    finally:
        await db.close()
        await drop_database(server_url, "bench_import_many")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=400, help="traces in the file")
    parser.add_argument("--runs", type=int, default=5, help="runs per variant")
    parser.add_argument("--quick", action="store_true", help="100 traces, 2 runs, docs/performance.md untouched")
    args = parser.parse_args(argv)
    count, runs = (100, 2) if args.quick else (args.traces, args.runs)
    text = collector_file(count)
    scratch = Path(tempfile.mkdtemp(prefix="agenttrace-bench-many-"))
    try:
        scratch.chmod(0o755)  # as root the server runs as its own user
        server_url = ensure_server(scratch)
        asyncio.run(make_template(server_url))
        now, before = [], []
        for _ in range(runs):
            now.append(asyncio.run(time_import(server_url, text, per_trace=False)))
            before.append(asyncio.run(time_import(server_url, text, per_trace=True)))
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "collector.jsonl"
            path.write_text(text)
            cli = [asyncio.run(time_cli_import(server_url, path)) for _ in range(runs)]
    finally:
        stop_server(scratch)
        shutil.rmtree(scratch, ignore_errors=True)

    spans = now[0][2]

    def row(what: str, results: list[tuple[float, float, int]]) -> str:
        read, write, _ = min(results, key=lambda r: r[0] + r[1])
        total, median = read + write, statistics.median(r[0] + r[1] for r in results)
        return f"| {what} | {total:.2f} s | {read:.2f} s | {write:.2f} s | {spans / total:,.0f} spans/s | {median:.2f} s |"

    markdown = f"""## Import of many small traces

A Collector-style JSON Lines file of {count:,} traces of {STEPS} steps each (bench_import's
generator: {spans:,} spans, {len(text.encode()) / 1e6:.0f} MB), one OTLP request per line. Best and median of {runs} runs,
each into a fresh database, the variants interleaved.

| what | total | reading and checking | writing | rate (best) | median |
|---|---|---|---|---|---|
{row("**`import_bundles`**: the traces' rows in one statement, COPY batches across traces", now)}
{row("baseline, as before: the same writes a trace at a time (its row, its COPY batches, its agents)", before)}

The whole `agenttrace-replay trace import FILE` process: {min(cli):.2f} s best, {statistics.median(cli):.2f} s median.

Measured on {machine()} with `python -m benchmarks.bench_import_many`."""
    print(markdown)
    if not args.quick:
        write_section("import-many", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
