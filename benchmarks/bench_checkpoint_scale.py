"""How `checkpoint auto` grows with the trace: wall time and peak memory from 1,000 to 60,000 steps.

Run from the project root:  python -m benchmarks.bench_checkpoint_scale [--sizes 1000 5000 20000 60000] [--quick]

The trace is bench_checkpoints' (one agent, one LLM call per step, each adding a ~1 KB user
turn), so step k's state holds k messages and a run's states together hold N²/2 of them.
Per size: a fresh database on a throwaway embedded PostgreSQL, the trace imported by this
process, then `CheckpointManager.auto_checkpoint` run alone in a child process, which
reports its wall time and peak RSS (`ru_maxrss`, which includes reading the trace). The
baseline is linear growth from the smallest size: the last two columns say how many times
that size's time and memory each figure is, against how many times its steps. --quick:
1,000 and 5,000 steps only, docs untouched.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from agenttrace_replay import traces
from agenttrace_replay.db import Database, create_pool, migrations
from agenttrace_replay.db.embedded import ensure_server, stop_server
from benchmarks._report import machine, write_section
from benchmarks.bench_checkpoints import TRACE_ID, admin, build_trace, with_database

MEMORY_CAP = 16 * 1024**3  # a child that grows past this fails instead of taking the machine down
TIMEOUT_S = 900


async def prepare(server_url: str, name: str, steps: int) -> None:
    await admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"')
    db = Database(await create_pool(with_database(server_url, name)), owned=True)
    try:
        await migrations.migrate(db)
        await traces.import_bundles(db, [build_trace(steps)])
    finally:
        await db.close()


async def measure(url: str) -> dict[str, float]:
    """In the child: auto-checkpoint the trace once."""
    from agenttrace_replay.checkpoint import CheckpointManager

    db = Database(await create_pool(url, min_size=1, max_size=1), owned=True)
    try:
        manager = CheckpointManager(db)
        started = time.perf_counter()
        ids, created = await manager.auto_checkpoint(TRACE_ID)
        wall = time.perf_counter() - started
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        return {"wall_s": wall, "peak_mb": peak_mb, "created": created, **manager.last_timings,
                **await measure_delete(manager, ids)}  # fmt: skip
    finally:
        await db.close()


def unused_by_search(candidates: set[bytes], singles: Any, rows: Any) -> list[bytes]:
    """The baseline: how `checkpoint._unused` worked before, one search of every entry per candidate."""
    from agenttrace_replay.checkpoint import searched_unused

    named = {h for hashes in singles for h in hashes}
    return searched_unused(candidates - named, b"".join(row.added for row in rows))


async def measure_delete(manager: Any, ids: list[str]) -> dict[str, float]:
    """`checkpoint delete` of the checkpoint at the largest power-of-two step, whose lists hold
    the most entries of their own; its search for unused values timed again on the same input,
    and with the baseline where that takes under a minute (up to 20,000 steps)."""
    from agenttrace_replay import checkpoint

    step = 1 << ((len(ids) - 1).bit_length() - 1)  # ids[k] is the checkpoint at step k
    seen: list[tuple[Any, ...]] = []
    unused = checkpoint._unused

    def keeping(*args: Any) -> list[bytes]:
        args = (args[0], [list(s) for s in args[1]], list(args[2]))
        seen.append(args)
        return unused(*args)

    checkpoint._unused = keeping  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        assert (await manager.get_checkpoint(ids[step])).step == step
        await manager.delete_checkpoint(ids[step])
        figures = {"delete_step": step, "delete_s": time.perf_counter() - started}
    finally:
        checkpoint._unused = unused  # type: ignore[assignment]
    started = time.perf_counter()
    now = sorted(unused(*seen[0]))
    figures["unused_s"] = time.perf_counter() - started
    figures["candidates"] = len(seen[0][0])
    if len(ids) <= 20_000:
        started = time.perf_counter()
        assert sorted(unused_by_search(*seen[0])) == now
        figures["unused_before_s"] = time.perf_counter() - started
    return figures


def run_size(server_url: str, steps: int) -> dict[str, float] | str:
    name = f"bench_scale_{steps}"
    asyncio.run(prepare(server_url, name, steps))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.bench_checkpoint_scale", "--child", with_database(server_url, name)],
            capture_output=True, text=True, timeout=TIMEOUT_S,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return f"did not finish in {TIMEOUT_S} s"
    finally:
        asyncio.run(admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    if done.returncode:
        return f"failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(results: list[tuple[int, dict[str, float] | str]]) -> str:
    first_steps, first = results[0]
    assert isinstance(first, dict), first
    rows = []
    for steps, result in results:
        if isinstance(result, str):
            rows.append(f"| {steps:,} | {result} | | | | |")
            continue
        rows.append(
            f"| {steps:,} | {result['wall_s']:.2f} s | {result['peak_mb']:.0f} MB | {result['encode_ms'] / 1000:.2f} s / "
            f"{result['write_ms'] / 1000:.2f} s | {result['wall_s'] / first['wall_s']:.1f}x / "
            f"{result['peak_mb'] / first['peak_mb']:.1f}x | {steps / first_steps:.0f}x |"
        )
    table = "\n".join(rows)
    deletes = "\n".join(
        f"| {steps:,} | {r['delete_step']:,} | {r['candidates']:,} | {r['delete_s']:.2f} s | {r['unused_s'] * 1000:.0f} ms | "
        + (f"{r['unused_before_s']:.2f} s |" if "unused_before_s" in r else "not run (minutes) |")
        for steps, r in results if isinstance(r, dict)
    )  # fmt: skip
    return f"""## Checkpoints at scale

`checkpoint auto` on traces of N steps (one agent, one LLM call per step, each adding a
~1 KB user turn: step k's state holds k messages), one checkpoint per step. Each size on a
fresh database of a throwaway embedded PostgreSQL; `auto` alone in a child process. Peak
memory is that process's peak RSS, reading the trace included. The baseline is linear
growth from the smallest size: its last two columns.

| steps | wall time | peak memory | encoding / write transaction | time / memory vs {first_steps:,} steps | steps vs {first_steps:,} |
|---|---|---|---|---|---|
{table}

`checkpoint delete` of the checkpoint at the largest power-of-two step (its lists hold the
most entries of their own, so the most stored values may be its alone), after the `auto` run;
then its search for the values no other checkpoint uses, timed again on the same input, now
(many candidates: one pass over every entry) and as before (one search of every entry per
candidate):

| steps | step deleted | candidate values | delete | search now | search before |
|---|---|---|---|---|---|
{deletes}

Before commit b1e20db the states each copied the whole history, and the encoder hashed all
of every copy: on this trace 20,000 steps took 168 s and 9.5 GB, and a 60,001-span trace
was killed at 23.7 GB (measured then, not re-run here).

Measured on {machine()} with `python -m benchmarks.bench_checkpoint_scale`."""


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    if args_list[:1] == ["--child"]:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
        print(json.dumps(asyncio.run(measure(args_list[1]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000, 60000], help="trace sizes in steps")
    parser.add_argument("--quick", action="store_true", help="1,000 and 5,000 steps, docs/performance.md untouched")
    args = parser.parse_args(args_list)
    sizes = [1000, 5000] if args.quick else sorted(args.sizes)
    with tempfile.TemporaryDirectory(prefix="agenttrace-bench-scale-") as folder:
        Path(folder).chmod(0o755)  # the server runs as its own user under root
        server_url = ensure_server(Path(folder))
        try:
            results = []
            for steps in sizes:
                results.append((steps, run_size(server_url, steps)))
                print(steps, results[-1], flush=True)
        finally:
            stop_server(Path(folder))
    markdown = report(results)
    print(markdown)
    if not args.quick:
        write_section("checkpoint-scale", markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
