"""Benchmark a replay: the whole `replay run --dry-run` process, and one replay in-process.

Run from the project root:  python -m benchmarks.bench_replay [--runs 15] [--quick]

Everything happens in a throwaway data folder with its own embedded PostgreSQL, which is
stopped and removed at the end; the user's own data is never touched. The sample trace
`support_bot.json` shipped with the package is imported and checkpointed; the replays start
from its last llm_call checkpoint (the one with the most conversation to restore).

1. The process: `agenttrace-replay replay run CHK --dry-run --json` from start to exit,
   median of `--runs` after one warm-up, with the server already running; next to it the
   floor every command pays, `agenttrace-replay --version` and `python -c pass`.
2. In-process: `ReplayExecutor.replay(chk, ReplayConfig(dry_run=True))` on a warm pool,
   median of 50, and the same work timed part by part (restoring the checkpoint, reading
   the recorded outputs, merging the input and choosing the executor, the mock executor,
   the diff, the transaction that stores the replay).

Exits non-zero when a median is over its target (300 ms and 20 ms). `--quick` leaves
docs/performance.md alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from typing import Any

from benchmarks._report import machine, write_section

PROCESS_TARGET_MS = 300.0
IN_PROCESS_TARGET_MS = 20.0
IN_PROCESS_RUNS = 50
SAMPLE = "support_bot.json"


def command_path() -> str:
    beside = Path(sys.executable).with_name("agenttrace-replay")
    return str(beside) if beside.exists() else (shutil.which("agenttrace-replay") or "agenttrace-replay")


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples)


# --- setup -------------------------------------------------------------------------------------


async def prepare(url: str) -> str:
    """Import the sample trace, checkpoint it; the id of its last llm_call checkpoint."""
    from agenttrace_replay import traces
    from agenttrace_replay.checkpoint import CheckpointManager
    from agenttrace_replay.db import Database, create_pool, migrations

    db = Database(await create_pool(url), owned=True)
    try:
        await migrations.migrate(db)
        text = resources.files("agenttrace_replay").joinpath("samples", SAMPLE).read_text()
        bundles = traces.parse_text(text, SAMPLE)
        await traces.import_bundles(db, bundles)
        manager = CheckpointManager(db)
        trace_id = bundles[0].trace.trace_id
        await manager.auto_checkpoint_trace(trace_id)
        llm_calls = [c for c in await manager.list_checkpoints(trace_id) if c.span_kind == "llm_call"]
        return llm_calls[-1].checkpoint_id
    finally:
        await db.close()


# --- 1. the process ------------------------------------------------------------------------------


def time_process(argv: list[str], env: dict[str, str], cwd: Path, runs: int, expect_json: bool = False) -> list[float]:
    samples = []
    for i in range(runs + 1):  # the first run warms the page cache and is not counted
        started = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
        elapsed = (time.perf_counter() - started) * 1000
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
        if expect_json:
            assert json.loads(proc.stdout)["success"] is True
        if i:
            samples.append(elapsed)
    return samples


def import_costs(argv: list[str], env: dict[str, str], cwd: Path, top: int = 10) -> list[tuple[str, float]]:
    """The costliest imports (cumulative ms, by `python -X importtime`), at the two outer
    levels of nesting: a module imported by the command itself, or by one of those."""
    proc = subprocess.run([sys.executable, "-X", "importtime", *argv], env=env, cwd=cwd, capture_output=True, text=True)
    costs: list[tuple[str, float]] = []
    for line in proc.stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        _self_us, cumulative_us, name = line.split(":", 1)[1].split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        if cumulative_us.strip().isdigit() and depth <= 1:
            costs.append(("  " * depth + name.strip(), int(cumulative_us) / 1000))
    return sorted(costs, key=lambda item: -item[1])[:top]


# --- 2. in-process -------------------------------------------------------------------------------


async def time_async(fn: Callable[[], Awaitable[Any]], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def time_sync(fn: Callable[[], Any], runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


async def in_process(url: str, checkpoint_id: str, runs: int) -> dict[str, list[float]]:
    from agenttrace_replay import ids
    from agenttrace_replay.checkpoint import CheckpointManager
    from agenttrace_replay.db import Database, create_pool
    from agenttrace_replay.differ import compute_diff
    from agenttrace_replay.executor import ReplayConfig, ReplayExecutor, ReplayResult
    from agenttrace_replay.executors import get_executor, resolve_executor_name
    from agenttrace_replay.inputs import merge_input

    db = Database(await create_pool(url), owned=True)
    try:
        manager = CheckpointManager(db)
        rx = ReplayExecutor(manager, db)
        config = ReplayConfig(dry_run=True)
        for _ in range(5):  # warm: connections, codecs, prepared statements, imports
            await rx.replay(checkpoint_id, config)

        times: dict[str, list[float]] = {"replay": await time_async(lambda: rx.replay(checkpoint_id, config), runs)}

        checkpoint = await manager.get_checkpoint(checkpoint_id)
        state = checkpoint.state or {}
        times["restore the checkpoint"] = await time_async(lambda: manager.get_checkpoint(checkpoint_id), runs)

        async def outputs() -> Any:
            async with db.acquire() as conn:
                return await conn.fetchrow(db.q.span_outputs, checkpoint.trace_id, checkpoint.span_id)

        recorded = await outputs()
        times["read the recorded outputs"] = await time_async(outputs, runs)

        def merge() -> Any:
            return merge_input(state.get("input"), config.modified_input or {})

        def choose() -> Any:
            framework = (state.get("agent") or {}).get("framework")
            return get_executor(resolve_executor_name(config.executor, config.dry_run, framework))

        times["merge the input (a deep copy)"] = time_sync(merge, runs)
        times["choose the executor"] = time_sync(choose, runs)
        merged, mock = merge(), choose()
        exec_config = {"timeout_seconds": 300.0, "original_output": recorded["span_output"], "run_output": recorded["run_output"], "settings": {}}

        async def execute() -> Any:
            async with asyncio.timeout(300):
                return await mock(merged, state, exec_config, None)

        result = await execute()
        times["mock executor"] = await time_async(execute, runs)
        times["diff"] = time_sync(lambda: compute_diff(recorded["span_output"], result["output"]), runs)
        diff = compute_diff(recorded["span_output"], result["output"])

        def record() -> ReplayResult:
            return ReplayResult(
                replay_id=ids.new_id("rpl"), checkpoint_id=checkpoint.checkpoint_id, trace_id=checkpoint.trace_id,
                original_output=recorded["span_output"], replay_output=result["output"], diff=diff, success=True,
                error=None, duration_ms=0.1, tokens_used=result.get("tokens"), cost_usd=0.0, executor="mock",
                executed=False, note=result.get("note"), input=merged, config={"dry_run": True},
            )

        times["store (one transaction)"] = await time_async(lambda: rx._store(record()), runs)
        return times
    finally:
        await db.close()


# --- report --------------------------------------------------------------------------------------


def report(process: dict[str, list[float]], parts: dict[str, list[float]], costs: list[tuple[str, float]], runs: int) -> str:
    replay_ms = median_ms(process["replay"])
    version_ms = median_ms(process["version"])
    python_ms = median_ms(process["python"])
    rows = "\n".join(
        f"| {name} | {median_ms(samples):.2f} ms |" for name, samples in parts.items() if name != "replay"
    )
    top = "\n".join(f"| `{name.strip()}`{' (nested)' if name.startswith(' ') else ''} | {ms:.0f} ms |" for name, ms in costs)
    return f"""## Replay

A dry-run replay (mock executor) of the last llm_call checkpoint of the `{SAMPLE}`
sample trace, on the embedded PostgreSQL of a throwaway data folder. Targets: the whole
command under {PROCESS_TARGET_MS:.0f} ms, one in-process replay under {IN_PROCESS_TARGET_MS:.0f} ms.

**The command**, wall time from start to exit, median of {runs} after one warm-up, with the
server already running:

| command | median | min |
|---|---|---|
| `agenttrace-replay replay run CHK --dry-run --json` | {replay_ms:.0f} ms | {min(process['replay']):.0f} ms |
| `agenttrace-replay --version` | {version_ms:.0f} ms | {min(process['version']):.0f} ms |
| `python -c pass` | {python_ms:.0f} ms | {min(process['python']):.0f} ms |

The replay (its own imports, connecting, checking migrations, the replay, printing JSON)
adds {replay_ms - version_ms:.0f} ms to what `--version` costs. The costliest imports of the
replay command, by `python -X importtime` (cumulative; the tool inflates them somewhat):

| module | import |
|---|---|
{top}

**In-process**, `await ReplayExecutor.replay(chk, ReplayConfig(dry_run=True))` on a warm
pool: median **{median_ms(parts['replay']):.2f} ms**, min {min(parts['replay']):.2f} ms, of {len(parts['replay'])}.
The same work part by part (medians of {len(parts['replay'])}):

| part | median |
|---|---|
{rows}

Measured on {machine()} with `python -m benchmarks.bench_replay`.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="process runs per command (after one warm-up)")
    parser.add_argument("--quick", action="store_true", help="fewer runs, and leave docs/performance.md alone")
    args = parser.parse_args(argv)
    runs = 3 if args.quick else args.runs
    in_process_runs = 10 if args.quick else IN_PROCESS_RUNS

    from agenttrace_replay.db.embedded import ensure_server, stop_server

    data_dir = Path(tempfile.mkdtemp(prefix="agenttrace-bench-"))
    data_dir.chmod(0o755)  # as root the server runs as its own user, which must reach the folder
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTTRACE_")}
    env["AGENTTRACE_DATA_DIR"] = str(data_dir)
    env["XDG_CONFIG_HOME"] = str(data_dir / "config")  # no config file: not the user's, none in cwd
    try:
        url = ensure_server(data_dir)
        checkpoint_id = asyncio.run(prepare(url))
        print(f"data folder {data_dir}, checkpoint {checkpoint_id}")

        cli = command_path()
        replay_argv = [cli, "replay", "run", checkpoint_id, "--dry-run", "--json"]
        process = {
            "replay": time_process(replay_argv, env, data_dir, runs, expect_json=True),
            "version": time_process([cli, "--version"], env, data_dir, runs),
            "python": time_process([sys.executable, "-c", "pass"], env, data_dir, runs),
        }
        for name, samples in process.items():
            print(f"process {name}: median {median_ms(samples):.0f} ms, min {min(samples):.0f} ms")
        module_argv = ["-m", "agenttrace_replay", "replay", "run", checkpoint_id, "--dry-run", "--json"]
        costs = import_costs(module_argv, env, data_dir)
        print("largest imports (cumulative):")
        for name, ms in costs:
            print(f"  {name:<45} {ms:6.1f} ms")

        parts = asyncio.run(in_process(url, checkpoint_id, in_process_runs))
        for name, samples in parts.items():
            print(f"in-process {name}: median {median_ms(samples):.2f} ms")
    finally:
        stop_server(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)

    failures = []
    if median_ms(process["replay"]) > PROCESS_TARGET_MS:
        failures.append(f"the replay command took {median_ms(process['replay']):.0f} ms, over {PROCESS_TARGET_MS:.0f} ms")
    if median_ms(parts["replay"]) > IN_PROCESS_TARGET_MS:
        failures.append(f"an in-process replay took {median_ms(parts['replay']):.1f} ms, over {IN_PROCESS_TARGET_MS:.0f} ms")
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    if not args.quick:
        write_section("replay", report(process, parts, costs, runs))
        print("wrote the replay section of docs/performance.md")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
