"""The core stays light: importing the package or asking for --help loads no heavy front end.

Each check runs in a fresh interpreter, so modules other tests imported do not count.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("textual", "fastapi", "uvicorn", "deepdiff")
NOT_FOR_HELP = (*HEAVY, "asyncpg", "asyncio", "yaml", "rich", "agenttrace_replay.db", "agenttrace_replay.traces")

PROBE = """
import json, sys
{body}
loaded = sorted({{name.split(".")[0] if not name.startswith("agenttrace_replay") else name
                 for name in sys.modules}})
print(json.dumps(loaded), file=sys.__stderr__)
"""

RUN_CLI = """
sys.argv = ["agenttrace-replay", *{args!r}]
from agenttrace_replay.cli.app import main
try:
    main()
except SystemExit as exc:
    assert exc.code in (0, None), exc.code
"""


def loaded_modules(body: str) -> set[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE.format(body=body)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_the_probe_sees_what_is_imported() -> None:
    # guards the guard: if the probe could not see modules, every check below would pass
    assert {"deepdiff", "asyncpg"} <= loaded_modules("import deepdiff, asyncpg")


def test_importing_the_package_loads_nothing_heavy() -> None:
    loaded = loaded_modules("import agenttrace_replay")
    assert not loaded & {*HEAVY, "asyncpg", "typer", "rich"}, loaded & {*HEAVY, "asyncpg", "typer", "rich"}


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["trace", "--help"],
        ["db", "--help"],
        ["checkpoint", "--help"],
        ["replay", "--help"],
        ["trace", "import", "--help"],
    ],
)
def test_help_loads_no_front_end_and_no_database_driver(args: list[str]) -> None:
    loaded = loaded_modules(RUN_CLI.format(args=args))
    assert "agenttrace_replay.cli.app" in loaded  # it really ran the CLI
    assert not loaded & set(NOT_FOR_HELP), sorted(loaded & set(NOT_FOR_HELP))


def commands(*prefix: str) -> list[list[str]]:
    """The installed console script if it sits next to this interpreter, and ``python -m``."""
    script = Path(sys.executable).with_name("agenttrace-replay")
    found = [[str(script)]] if script.exists() else []
    return [*found, [sys.executable, "-m", "agenttrace_replay"]]


@pytest.mark.parametrize("command", commands(), ids=lambda c: "script" if len(c) == 1 else "module")
def test_help_lists_the_command_groups(command: list[str]) -> None:
    proc = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("Usage: agenttrace-replay [OPTIONS] COMMAND [ARGS]...")
    listed = proc.stdout.split("Commands:", 1)[1]
    for group in ("db", "trace", "checkpoint", "replay", "diff", "demo"):
        assert f"\n  {group} " in listed, group


@pytest.mark.parametrize("command", commands(), ids=lambda c: "script" if len(c) == 1 else "module")
def test_version(command: list[str]) -> None:
    from agenttrace_replay import __version__

    proc = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout == f"agenttrace-replay {__version__}\n"


def test_importing_a_file_off_a_terminal_loads_no_rich_and_no_front_end(db_url: str, tmp_path: Path) -> None:
    # the CI use: `trace import` with output to a pipe draws no bar, so Rich is never needed
    sample = Path(__file__).resolve().parent.parent / "agenttrace_replay" / "samples" / "support_bot.json"
    loaded = loaded_modules(RUN_CLI.format(args=["--db", db_url, "trace", "import", str(sample)]))
    assert "agenttrace_replay.traces" in loaded  # it really imported
    assert not loaded & {*HEAVY, "rich"}, sorted(loaded & {*HEAVY, "rich"})
