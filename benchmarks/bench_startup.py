"""Benchmark start-up: `--help`, `--version`, and the first against later commands.

Run from the project root:  python -m benchmarks.bench_startup [--runs 20] [--quick]

Wall time of whole processes, as a user meets them (median of --runs, like hyperfine):
`agenttrace-replay --help` and `--version` against `python -c pass`; then, on a new data
folder, the first command (initdb, start the embedded PostgreSQL, migrate) against the
second and later ones (find the running server through postmaster.pid, connect, check the
schema). The scratch server is stopped and its folder removed at the end. The script exits
non-zero if `--help` takes 150 ms or more. --quick: fewer runs, docs/performance.md untouched.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from agenttrace_replay.db.embedded import stop_server
from benchmarks._report import machine, write_section

HELP_TARGET_MS = 150.0


def command() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m``."""
    script = Path(sys.executable).with_name("agenttrace-replay")
    return [str(script)] if script.exists() else [sys.executable, "-m", "agenttrace_replay"]


def user_env(**extra: str) -> dict[str, str]:
    """The environment a user has: no AGENTTRACE_* settings, bytecode caching on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTTRACE_") and k != "PYTHONDONTWRITEBYTECODE"}
    return {**env, **extra}


def wall_ms(argv: list[str], env: dict[str, str] | None = None) -> float:
    env = env if env is not None else user_env()
    started = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, stdin=subprocess.DEVNULL)
    elapsed = (time.perf_counter() - started) * 1000
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {proc.stderr.decode().strip()}")
    return elapsed


def sample(argv: list[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    wall_ms(argv, env)  # warm-up: page cache and .pyc files, as for a user's second call
    return [wall_ms(argv, env) for _ in range(runs)]


def summary(times: list[float]) -> str:
    return f"{statistics.median(times):.0f} ms (min {min(times):.0f}, max {max(times):.0f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per command (the median is reported)")
    parser.add_argument("--quick", action="store_true", help="5 runs, print only, leave docs/performance.md alone")
    args = parser.parse_args(argv)
    runs = 5 if args.quick else args.runs
    cli = command()

    baseline = sample([sys.executable, "-c", "pass"], runs)
    help_times = sample([*cli, "--help"], runs)
    version_times = sample([*cli, "--version"], runs)

    data_dir = Path(tempfile.mkdtemp(prefix="agenttrace-startup-"))
    data_dir.chmod(0o755)  # as root the server runs as its own user, which must reach the folder
    env = user_env(AGENTTRACE_DATA_DIR=str(data_dir))
    try:
        pid_file = data_dir / "pgdata" / "postmaster.pid"
        first = wall_ms([*cli, "trace", "list", "--json"], env)  # initdb, start, migrate
        started_pid = pid_file.read_text().split()[0]
        second = wall_ms([*cli, "trace", "list", "--json"], env)  # finds the running server
        later = [wall_ms([*cli, "trace", "list", "--json"], env) for _ in range(max(3, runs // 2))]
        reused = pid_file.read_text().split()[0] == started_pid
    finally:
        stop_server(data_dir)
        shutil.rmtree(data_dir, ignore_errors=True)

    help_ms = statistics.median(help_times)
    shown = " ".join(Path(cli[0]).name if i == 0 else part for i, part in enumerate(cli))
    report = f"""## Start-up

Whole processes, median of {runs} runs after one warm-up (`{shown}`), with bytecode caching
on as a user has it (`PYTHONDONTWRITEBYTECODE` is removed from the environment):

| command | wall time |
|---|---|
| `python -c pass` (the interpreter alone) | {summary(baseline)} |
| `agenttrace-replay --help` | {summary(help_times)} |
| `agenttrace-replay --version` | {summary(version_times)} |

Target for `--help`: under {HELP_TARGET_MS:.0f} ms: {"met" if help_ms < HELP_TARGET_MS else "**missed**"}
({help_ms - statistics.median(baseline):.0f} ms over the bare interpreter). `--help` imports Typer and the
command modules only: no asyncpg, Rich, the core or any front end (tests/test_import_hygiene.py).

The embedded database on a new data folder, `agenttrace-replay trace list --json` three ways:

| | wall time |
|---|---|
| first command: initdb, start PostgreSQL, apply migrations | {first:.0f} ms |
| second command: finds the running server via `postmaster.pid` | {second:.0f} ms |
| later commands (median of {len(later)}) | {statistics.median(later):.0f} ms |

The second command does not pay for initdb again and does not start a second server: the
postmaster pid after the last command is {"the one the first command started" if reused else "**a different one**"}.
Another process arriving while the first is still starting waits on the start lock and
then finds that server (tested in tests/test_db.py).

Measured on {machine()} with `python -m benchmarks.bench_startup`.
"""
    print(report)
    if not args.quick:
        write_section("startup", report)
    return 0 if help_ms < HELP_TARGET_MS and reused else 1


if __name__ == "__main__":
    sys.exit(main())
