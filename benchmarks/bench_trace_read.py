"""Reading a large trace back: `trace export`, `trace show --json` and `trace show` on 20,000 steps.

Run from the project root:  python -m benchmarks.bench_trace_read [--steps 20000] [--runs 3] [--quick]

The trace is bench_import's generator at N steps (N/2 model calls with their message
windows, N/2 tool calls: 20,001 spans, about 48 MB of OTLP/JSON), imported once into a
fresh database of a throwaway embedded PostgreSQL. Side by side, in one process, best of
the runs, interleaved:

* reading the trace with the cyclic garbage collector paused (`traces.gc_paused`) against on;
* writing the export document: `jsonio.dumps_pretty` (the standard library's C encoder,
  indented by msgspec) against `json.dumps(indent=2, sort_keys=True, ensure_ascii=False)`,
  which indents in Python and which it replaced;
* handing the read trace out of `asyncio.run`: kept aside (what `cli.common.run` does) against
  returned as the task's result, which made asyncio format the task's repr, and with it the
  whole trace, when it put back the SIGINT handler.

Then whole `agenttrace-replay` processes, start-up included, median of the runs. --quick:
2,000 steps, 2 runs, docs/performance.md untouched.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agenttrace_replay import traces
from agenttrace_replay.db import Database, create_pool
from agenttrace_replay.db.embedded import ensure_server, stop_server
from agenttrace_replay.importers.native import FORMAT, VERSION, bundle_to_dict
from agenttrace_replay.jsonio import dumps_pretty
from agenttrace_replay.records import TraceBundle
from benchmarks._report import machine, write_section
from benchmarks.bench_import import _admin, _with_database, best_of, generate_trace

DATABASE = "bench_trace_read"


async def _import(url: str, text: str) -> str:
    from agenttrace_replay.db import migrations

    db = Database(await create_pool(url, max_size=1), owned=True)
    try:
        await migrations.migrate(db)
        (bundle,) = traces.parse_text(text, "bench.json")
        await traces.import_bundles(db, [bundle])
        return bundle.trace.trace_id
    finally:
        await db.close()


async def _read(url: str, trace_id: str, into: list[TraceBundle]) -> float:
    """Seconds `traces.get_trace` takes; the trace is put in `into`, not returned (see `_returned`)."""
    db = Database(await create_pool(url, max_size=1), owned=True)
    try:
        started = time.perf_counter()
        into.append(await traces.get_trace(db, trace_id))
        return time.perf_counter() - started
    finally:
        await db.close()


def _returned(bundle: TraceBundle) -> TraceBundle:
    async def main() -> TraceBundle:
        return bundle

    return asyncio.run(main())


def _kept_aside(bundle: TraceBundle) -> TraceBundle:
    kept: list[TraceBundle] = []

    async def main() -> None:
        kept.append(bundle)

    asyncio.run(main())
    return kept[0]


def _process(url: str, *args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "agenttrace_replay", "--db", url, *args],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    if done.returncode:
        raise SystemExit(f"agenttrace-replay {' '.join(args)} failed: {done.stderr.strip()}")
    return time.perf_counter() - started


def measure(server_url: str, steps: int, runs: int) -> dict[str, Any]:
    text = generate_trace(steps)
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)', f'CREATE DATABASE "{DATABASE}"'))
    url = _with_database(server_url, DATABASE)
    try:
        trace_id = asyncio.run(_import(url, text))
        read: list[TraceBundle] = []
        asyncio.run(_read(url, trace_id, read))
        bundle = read.pop()
        document = {"format": FORMAT, "version": VERSION, "traces": [bundle_to_dict(bundle)]}
        new, old = dumps_pretty(document, sort_keys=True), json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)
        figures: dict[str, Any] = {"spans": len(bundle.spans), "file_mb": len(text.encode()) / 1e6,
                                   "export_mb": len(new.encode()) / 1e6, "same_text": new == old}  # fmt: skip
        timings: dict[str, list[float]] = {k: [] for k in ("read", "read_gc", "msgspec", "stdlib", "kept", "returned")}
        for _ in range(runs):
            timings["read"].append(asyncio.run(_read(url, trace_id, read)))
            read.clear()
            paused, traces.gc_paused = traces.gc_paused, contextlib.nullcontext  # type: ignore[assignment]
            try:
                timings["read_gc"].append(asyncio.run(_read(url, trace_id, read)))
            finally:
                traces.gc_paused = paused  # type: ignore[assignment]
            read.clear()
            timings["msgspec"].append(best_of(1, lambda: dumps_pretty(document, sort_keys=True)))
            timings["stdlib"].append(best_of(1, lambda: json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False)))
            timings["kept"].append(best_of(1, lambda: _kept_aside(bundle)))
            timings["returned"].append(best_of(1, lambda: _returned(bundle)))
        figures.update({k: min(v) for k, v in timings.items()})
        with tempfile.TemporaryDirectory() as folder:
            out = str(Path(folder) / "export.json")
            commands = {"export": ("trace", "export", trace_id, "-o", out), "show_json": ("trace", "show", trace_id, "--json"),
                        "show": ("trace", "show", trace_id)}  # fmt: skip
            process: dict[str, list[float]] = {k: [] for k in commands}
            for _ in range(runs):
                for key, args in commands.items():
                    process[key].append(_process(url, *args))
        figures.update({f"process_{k}": statistics.median(v) for k, v in process.items()})
        return figures
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))


def report(f: dict[str, Any], runs: int) -> str:
    def s(key: str) -> str:
        return f"{f[key] * 1000:.0f} ms" if f[key] < 1 else f"{f[key]:.2f} s"

    return f"""## Reading a large trace

bench_import's trace at {f['spans'] - 1:,} steps: {f['spans']:,} spans, {f['file_mb']:.0f} MB of OTLP/JSON,
a {f['export_mb']:.0f} MB export. In one process, best of {runs} runs, interleaved:

| what | time |
|---|---|
| **reading the trace from the database** (`traces.get_trace`), cyclic garbage collector paused | {s('read')} |
| baseline: the same with the collector on, as before (it walks every decoded payload, again and again) | {s('read_gc')} |
| **writing the export document** (`jsonio.dumps_pretty`: the C encoder, indented by msgspec) | {s('msgspec')} |
| baseline: the standard library's `json.dumps(indent=2, sort_keys=True)` | {s('stdlib')} |
| **handing the trace out of `asyncio.run`**, kept aside | {s('kept')} |
| baseline: returned as the task's result (asyncio formats the task's repr, trace included) | {s('returned')} |

The two writers give the same text: {'yes' if f['same_text'] else 'no'}.

Whole processes, start-up included, median of {runs}:

| command | time |
|---|---|
| `agenttrace-replay trace export TRACE -o FILE` | {s('process_export')} |
| `agenttrace-replay trace show TRACE --json` | {s('process_show_json')} |
| `agenttrace-replay trace show TRACE` (the tree, {f['spans']:,} lines, Rich) | {s('process_show')} |

Measured on {machine()} with `python -m benchmarks.bench_trace_read`."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000, help="steps in the trace")
    parser.add_argument("--runs", type=int, default=3, help="runs per measurement")
    parser.add_argument("--quick", action="store_true", help="2,000 steps, 2 runs, docs/performance.md untouched")
    args = parser.parse_args(argv)
    steps, runs = (2_000, 2) if args.quick else (args.steps, args.runs)
    scratch = Path(tempfile.mkdtemp(prefix="agenttrace-bench-read-"))
    try:
        scratch.chmod(0o755)  # as root the server runs as its own user
        figures = measure(ensure_server(scratch), steps, runs)
    finally:
        stop_server(scratch)
        shutil.rmtree(scratch, ignore_errors=True)
    markdown = report(figures, runs)
    print(markdown)
    if not args.quick:
        write_section("trace-read", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
