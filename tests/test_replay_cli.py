"""`replay run | show | list`, `diff` and `executors list` as a user runs them.

Most tests drive the Typer app in-process with `CliRunner` (stdout and stderr kept apart),
always against a fresh real database given with `--db`; a few run the installed command in a
subprocess, where streams, exit codes and timeouts are the real thing.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from builders import weather_trace
from otel_traces import langgraph_trace
from typer.testing import CliRunner

from agenttrace_replay import traces
from agenttrace_replay.checkpoint import CheckpointManager, checkpoint_id_for
from agenttrace_replay.cli.app import app
from agenttrace_replay.db import Database, create_pool
from agenttrace_replay.db.codecs import init_connection
from agenttrace_replay.errors import ExitCode

TESTS_DIR = Path(__file__).resolve().parent
WEATHER = "trace-weather"
LLM1, TOOL, LLM2 = (checkpoint_id_for(WEATHER, s) for s in ("s-llm1", "s-tool", "s-llm2"))
TOKYO = "What's the weather in Tokyo?"
WIDE = {"COLUMNS": "200"}


# --- helpers -------------------------------------------------------------------------------


async def _load(db_url: str, bundles: list[Any]) -> None:
    db = Database(await create_pool(db_url), owned=True)
    try:
        await traces.import_bundles(db, bundles)
        for bundle in bundles:
            await CheckpointManager(db).auto_checkpoint_trace(bundle.trace.trace_id)
    finally:
        await db.close()


def query(db_url: str, sql: str, *args: Any) -> list[dict[str, Any]]:
    async def main() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(db_url)
        try:
            await init_connection(conn)
            return [dict(r) for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(main())


def replays(db_url: str) -> list[dict[str, Any]]:
    return query(db_url, "SELECT * FROM agenttrace.replays ORDER BY created_at, replay_id")


@pytest.fixture
def weather(db_url: str) -> str:
    """A database holding the weather trace (agent framework unknown) and its checkpoints."""
    asyncio.run(_load(db_url, [weather_trace()]))
    return db_url


@pytest.fixture
def cli(weather: str):
    runner = CliRunner()

    def invoke(*args: str, env: dict[str, str] | None = None) -> Any:
        return runner.invoke(app, ["--db", weather, *args], env={**WIDE, **(env or {})})

    return invoke


def one_error_line(stderr: str) -> str:
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def dry_run_json(cli, *extra: str) -> dict[str, Any]:
    result = cli("replay", "run", LLM2, "--dry-run", "--json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


# --- replay run ------------------------------------------------------------------------------


def test_run_dry_run_prints_a_summary_and_the_diff(cli, weather: str) -> None:
    result = cli("replay", "run", LLM2[:8], "--dry-run")
    assert result.exit_code == 0, result.output
    (row,) = replays(weather)
    out = result.stdout
    assert out.startswith(f"{row['replay_id']}  of {LLM2}  executor=mock  succeeded")
    assert "note: dry run: the mock executor made a deterministic stand-in output" in out
    assert "1 change: 1 changed" in out
    assert 'root["messages"][0]["content"]' in out
    assert '"It is sunny in Paris, 21C."' in out
    assert f"side by side: agenttrace-replay diff {row['replay_id']}" in out
    assert result.stderr == ""
    assert row["success"] and row["executor"] == "mock"


def test_run_with_input_and_json_prints_only_json(cli, weather: str) -> None:
    result = cli("replay", "run", LLM2, "--dry-run", "--input", f"query={TOKYO}", "--json")
    assert result.exit_code == 0
    assert result.stderr == ""
    data = json.loads(result.stdout)
    (row,) = replays(weather)
    assert data["replay_id"] == row["replay_id"] and data["success"] is True
    assert data["replay_output"]["messages"][0]["content"].endswith(f"reply to: {TOKYO}")
    assert data["config"]["modified_input"] == {"query": TOKYO}
    assert data["diff"] == row["diff"]
    assert set(data) >= {
        "replay_id", "checkpoint_id", "original_output", "replay_output", "diff", "success", "error",
        "duration_ms", "tokens_used", "cost_usd",
    }


def test_input_values_are_json_dotted_keys_nest_null_removes_and_plus_appends(cli, weather: str) -> None:
    data = dry_run_json(
        cli,
        "--input", "parameters.temperature=0.5",
        "--input", "model=null",
        "--input", 'messages+={"role": "user", "content": "In Celsius."}',
        "--input", "messages.-1.content=\"42\"",
        "--input", "messages.1.content=What about Oslo?",
    )
    stored = replays(weather)[0]["input"]
    assert stored == data["input"]
    assert "model" not in stored
    assert stored["parameters"] == {"temperature": 0.5}
    assert [m["content"] for m in stored["messages"]] == [
        "You are a weather assistant.", "What about Oslo?", None, "sunny, 21C", "42",
    ]
    # the recorded model is gone, so the mock names itself
    assert data["replay_output"]["messages"][0]["content"].startswith("[mock mock ")


def test_input_file_in_yaml_then_input_on_top(cli, weather: str, tmp_path: Path) -> None:
    patch = tmp_path / "patch.yaml"
    patch.write_text(
        "query: What's the weather in Lisbon?\n"
        "model: null\n"
        "parameters:\n"
        "  temperature: 0\n"
        "messages+:\n"
        "  - role: user\n"
        "    content: first\n"
    )
    data = dry_run_json(
        cli, "--input-file", str(patch), "--input", f"query={TOKYO}", "--input", "messages+=second",
    )
    assert data["config"]["modified_input"] == {
        "query": TOKYO, "model": None, "parameters": {"temperature": 0}, "messages+": [{"role": "user", "content": "first"}, "second"],
    }
    assert "model" not in data["input"]
    assert data["input"]["parameters"] == {"temperature": 0}
    assert data["input"]["messages"][-2:] == [{"role": "user", "content": "first"}, "second"]


def test_input_file_in_json(cli, tmp_path: Path) -> None:
    patch = tmp_path / "patch.json"
    patch.write_text(json.dumps({"query": TOKYO}))
    data = dry_run_json(cli, "--input-file", str(patch))
    assert data["replay_output"]["messages"][0]["content"].endswith(TOKYO)


def test_overrides_are_agent_overrides(cli) -> None:
    data = dry_run_json(cli, "--override", "model=gpt-4o-mini", "-o", "temperature=0")
    assert data["config"]["agent_overrides"] == {"model": "gpt-4o-mini", "temperature": 0}
    assert data["replay_output"]["messages"][0]["content"].startswith("[mock gpt-4o-mini ")


def test_fail_on_diff_exits_6_when_the_outputs_differ(cli) -> None:
    result = cli("replay", "run", LLM2, "--dry-run", "--fail-on-diff")
    assert result.exit_code == ExitCode.DIFF_FOUND == 6
    assert result.stderr == "outputs differ: 1 change: 1 changed\n"

    as_json = cli("replay", "run", LLM2, "--dry-run", "--fail-on-diff", "--json")
    assert as_json.exit_code == 6 and as_json.stderr == "outputs differ: 1 change: 1 changed\n"  # for the CI log
    assert json.loads(as_json.stdout)["diff"]["has_changes"] is True


def test_fail_on_diff_exits_0_when_nothing_changed(cli) -> None:
    result = cli("replay", "run", LLM2, "--executor", "generic", "--fail-on-diff")
    assert result.exit_code == 0, result.output
    assert "No changes" in result.stdout
    assert "note: nothing was re-executed" in result.stdout


def test_an_ignored_path_does_not_fail_the_diff(cli) -> None:
    result = cli("replay", "run", LLM2, "--dry-run", "--fail-on-diff", "--ignore", "messages.*.content")
    assert result.exit_code == 0, result.output


def test_dry_run_wins_over_the_config_files_default_executor(cli, tmp_path: Path) -> None:
    config = tmp_path / "agenttrace.yaml"
    config.write_text("executor:\n  default: generic\n")
    with_default = cli("--config", str(config), "replay", "run", LLM2, "--json")
    assert json.loads(with_default.stdout)["executor"] == "generic"
    dry = cli("--config", str(config), "replay", "run", LLM2, "--dry-run", "--json")
    assert json.loads(dry.stdout)["executor"] == "mock"


# --- executors that fail -------------------------------------------------------------------------


def test_an_executor_failure_exits_5_and_is_listed_and_shown(cli, weather: str, registered) -> None:
    async def broken(input, state, config, overrides=None):
        raise RuntimeError("upstream said no\nsecond line of the message")

    result = cli("replay", "run", LLM1, "--executor", registered("broken", broken))
    assert result.exit_code == ExitCode.EXECUTOR == 5
    (row,) = replays(weather)
    line = one_error_line(result.stderr)
    assert line == f"error: replay {row['replay_id']} failed: RuntimeError: upstream said no second line of the message"
    assert "failed" in result.stdout
    assert row["success"] is False and row["error"].startswith("RuntimeError: upstream said no")

    listed = cli("replay", "list", WEATHER, "--json")
    assert listed.exit_code == 0
    (entry,) = json.loads(listed.stdout)
    assert entry["replay_id"] == row["replay_id"] and entry["success"] is False
    assert entry["error"] == row["error"]

    table = cli("replay", "list", WEATHER)
    assert row["replay_id"] in table.stdout and "failed" in table.stdout

    shown = cli("replay", "show", row["replay_id"])
    assert shown.exit_code == 0
    assert f"{row['replay_id']}  of {LLM1}  executor=broken  failed" in shown.stdout
    assert "error: RuntimeError: upstream said no" in shown.stdout
    assert json.loads(cli("replay", "show", row["replay_id"], "--json").stdout)["success"] is False

    diff = cli("diff", row["replay_id"])
    assert diff.exit_code == 5
    assert "it has no output to compare" in one_error_line(diff.stderr)


def test_an_executor_failure_with_json_prints_the_failed_replay_as_json(cli, registered) -> None:
    async def broken(input, state, config, overrides=None):
        raise RuntimeError("boom")

    result = cli("replay", "run", LLM1, "--executor", registered("broken", broken), "--json")
    data = json.loads(result.stdout)
    assert result.exit_code == 5 and result.stderr == f"error: replay {data['replay_id']} failed: RuntimeError: boom\n"
    assert data["success"] is False and data["error"] == "RuntimeError: boom"


@pytest.mark.parametrize("kind", ["async", "blocking"])
def test_a_timeout_exits_5_promptly_and_is_stored(cli, weather: str, registered, kind: str) -> None:
    async def slow_async(input, state, config, overrides=None):
        await asyncio.sleep(30)

    def slow_blocking(input, state, config, overrides=None):  # runs in a worker thread
        time.sleep(5)
        return {"output": "too late"}

    name = registered(f"slow-{kind}", slow_async if kind == "async" else slow_blocking)
    started = time.perf_counter()
    result = cli("replay", "run", LLM1, "--executor", name, "--timeout", "0.2")
    elapsed = time.perf_counter() - started
    assert result.exit_code == 5
    assert one_error_line(result.stderr).endswith("failed: timed out after 0.2 s")
    # the command does not wait for a blocking executor it gave up on
    assert elapsed < 3
    (row,) = replays(weather)
    assert row["error"] == "timed out after 0.2 s" and row["success"] is False


def test_an_unknown_executor_exits_5_listing_the_available_ones(cli, weather: str) -> None:
    result = cli("replay", "run", LLM1, "--executor", "nope")
    assert result.exit_code == 5
    assert one_error_line(result.stderr) == (
        "error: unknown executor 'nope'. Available executors: generic, langgraph, mock, openai."
    )
    assert replays(weather) == []


def test_no_executor_for_a_trace_without_framework_exits_5_and_stores_nothing(cli, weather: str) -> None:
    result = cli("replay", "run", LLM1)
    assert result.exit_code == 5
    assert "no executor chosen" in one_error_line(result.stderr)
    assert replays(weather) == []


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--input", "no-equals-sign"], "error: --input 'no-equals-sign' is not KEY=VALUE."),
        (["--input", "a..b=1"], "error: --input 'a..b=1': the key 'a..b' has an empty part."),
        (["--override", "gpt-4o"], "error: --override 'gpt-4o' is not KEY=VALUE."),
        (["--input-file", "/nonexistent/patch.yaml"], "error: input file /nonexistent/patch.yaml: no such file."),
        (["--timeout", "0"], "error: timeout must be a positive, finite number of seconds, not 0.0."),
        (["--timeout", "nan"], "error: timeout must be a positive, finite number of seconds, not nan."),
        (["--timeout", "inf"], "error: timeout must be a positive, finite number of seconds, not inf."),
        (["--executor", ""], "error: --executor must not be empty."),
        (["--stop-at", ""], "error: --stop-at must not be empty."),
        (["--input-file", ""], "error: --input-file must not be empty."),
        (["--input", "messages.9.content=x"], "error: input.messages: index 9 is out of range for a list of 4 item(s)."),
        (["--input", "model+=x"], "error: input.model is not a list, so 'model+' cannot append to it."),
        (["--ignore", "a..b"], "error: Ignore pattern 'a..b' has an empty segment."),
    ],
)
def test_malformed_input_exits_2_with_one_line_and_stores_nothing(cli, weather: str, args: list[str], message: str) -> None:
    result = cli("replay", "run", LLM2, "--dry-run", *args)
    assert result.exit_code == ExitCode.USAGE == 2
    assert one_error_line(result.stderr).startswith(message)
    assert result.stdout == ""
    assert replays(weather) == []
    assert query(weather, "SELECT replay_count FROM agenttrace.checkpoints WHERE checkpoint_id = $1", LLM2)[0]["replay_count"] == 0


def test_an_input_file_that_is_not_an_object_exits_2(cli, tmp_path: Path) -> None:
    patch = tmp_path / "list.yaml"
    patch.write_text("- a\n- b\n")
    result = cli("replay", "run", LLM2, "--dry-run", "--input-file", str(patch))
    assert result.exit_code == 2
    assert "must hold an object (a mapping of keys), not list" in one_error_line(result.stderr)


@pytest.mark.parametrize(
    ("args", "config", "message"),
    [
        (["--executor", "langgraph", "--graph", "bad"], None, "error: graph 'bad' is not of the form module:attr."),
        (["--executor", "openai", "--base-url", "http://127.0.0.1:1/v1", "--timeout", "nan"], None, "error: timeout must be"),
        (["--executor", "openai", "--base-url", "127.0.0.1:1/v1"], None, "error: base URL '127.0.0.1:1/v1' must start with http://"),
        (["--executor", "openai"], "executor: {base_url: 5}\n", "'executor.base_url' must be a non-empty string, not 5."),
        (["--executor", "openai"], "executor: {api_key_env: [1]}\n", "'executor.api_key_env' must be a non-empty string, not [1]."),
        ([], "executor: {default: 5}\n", "'executor.default' must be a non-empty string, not 5."),
        ([], "executor: {default: [1]}\n", "'executor.default' must be a non-empty string, not [1]."),
    ],
)
def test_bad_options_and_settings_exit_2_before_the_executor_runs(
    cli, weather: str, tmp_path: Path, args: list[str], config: str | None, message: str
) -> None:
    path = tmp_path / "agenttrace.yaml"
    path.write_text(config or "")
    result = cli("--config", str(path), "replay", "run", LLM1, *args, env={"OPENAI_API_KEY": "sk-test"})
    assert result.exit_code == ExitCode.USAGE, result.output
    expected = message if config is None else f"error: config file {path}: {message}"
    assert one_error_line(result.stderr).startswith(expected)
    assert result.stdout == ""
    assert replays(weather) == []


def test_deep_and_alias_bomb_input_files_exit_2_and_store_nothing(cli, weather: str, tmp_path: Path) -> None:
    deep = tmp_path / "deep.yaml"
    deep.write_text("x: " + "[" * 5000 + "]" * 5000 + "\n")
    bomb = tmp_path / "bomb.yaml"  # 292 bytes that expand to 9**7 strings
    bomb.write_text("a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n" for prev, name in zip("abcdef", "bcdefg")
    ))
    for path, message in ((deep, "the YAML is nested too deeply to read"), (bomb, "has the YAML anchor &a")):
        result = cli("replay", "run", LLM2, "--dry-run", "--input-file", str(path))
        assert result.exit_code == 2
        assert message in one_error_line(result.stderr)
    assert replays(weather) == []


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "show", "rpl-nope"],
        ["replay", "show", "rpl-nope", "--json"],
        ["diff", "rpl-nope"],
        ["diff", "rpl-nope", "--json"],
    ],
)
def test_an_unknown_replay_id_exits_3(cli, args: list[str]) -> None:
    result = cli(*args)
    assert result.exit_code == ExitCode.NOT_FOUND == 3
    assert one_error_line(result.stderr) == (
        "error: no replay 'rpl-nope'. List replays with: agenttrace-replay replay list TRACE"
    )
    assert result.stdout == ""


def test_an_unknown_checkpoint_or_trace_exits_3(cli) -> None:
    run = cli("replay", "run", "chk-nope", "--dry-run")
    assert run.exit_code == 3 and "no checkpoint 'chk-nope'" in one_error_line(run.stderr)
    listed = cli("replay", "list", "trace-nope")
    assert listed.exit_code == 3 and "trace-nope" in one_error_line(listed.stderr)


# --- diff -------------------------------------------------------------------------------------------


@pytest.fixture
def tokyo_replay(cli, weather: str) -> dict[str, Any]:
    data = dry_run_json(cli, "--input", f"query={TOKYO}")
    return replays(weather)[0] | {"json": data}


def test_diff_shows_both_outputs_side_by_side_by_default(cli, tokyo_replay: dict[str, Any]) -> None:
    result = cli("diff", tokyo_replay["replay_id"][:10])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert any("original" in line and "replay" in line for line in lines)
    changed = next(line for line in lines if "It is sunny in Paris, 21C." in line)  # then the summary's
    assert "|" in changed and "[mock gpt-test" in changed and f"reply to: {TOKYO}" in changed
    assert "1 change: 1 changed" in result.stdout
    assert not result.stdout.startswith("---")


def test_diff_unified(cli, tokyo_replay: dict[str, Any]) -> None:
    result = cli("diff", tokyo_replay["replay_id"], "--unified")
    assert result.exit_code == 0
    out = result.stdout
    assert out.startswith("--- original\n+++ replay\n@@ ")
    assert '-      "content": "It is sunny in Paris, 21C.",' in out
    assert any(line.startswith('+      "content": "[mock gpt-test ') for line in out.splitlines())


def test_diff_json_is_the_stored_diff(cli, tokyo_replay: dict[str, Any]) -> None:
    result = cli("diff", tokyo_replay["replay_id"], "--json")
    assert result.exit_code == 0 and result.stderr == ""
    assert json.loads(result.stdout) == tokyo_replay["diff"] == tokyo_replay["json"]["diff"]


def test_diff_ignore_recomputes_without_the_ignored_paths(cli, weather: str, tokyo_replay: dict[str, Any]) -> None:
    result = cli("diff", tokyo_replay["replay_id"], "--json", "--ignore", "messages.*.content")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "has_changes": False, "summary": "No changes", "changed": {}, "added": {}, "removed": {},
        "type_changes": {}, "text_diffs": {},
    }
    assert replays(weather)[0]["diff"]["has_changes"] is True  # the stored diff is kept
    text = cli("diff", tokyo_replay["replay_id"], "--ignore", 'root["messages"]')
    assert text.exit_code == 0 and "No changes" in text.stdout
    bad = cli("diff", tokyo_replay["replay_id"], "--ignore", "")
    assert bad.exit_code == 2 and "ignore pattern is empty" in one_error_line(bad.stderr)


@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_diff_unified_and_side_by_side_together_is_a_usage_error(cli, tokyo_replay: dict[str, Any], json_flag: list[str]) -> None:
    result = cli("diff", tokyo_replay["replay_id"], "--unified", "--side-by-side", *json_flag)
    assert result.exit_code == 2
    assert one_error_line(result.stderr) == "error: choose one of --unified and --side-by-side."
    assert result.stdout == ""


# --- replay show / list, executors list -------------------------------------------------------------


def test_replay_show_prints_input_outputs_and_diff(cli, tokyo_replay: dict[str, Any]) -> None:
    result = cli("replay", "show", tokyo_replay["replay_id"])
    assert result.exit_code == 0
    for title in ("input used", "original output", "replay output"):
        assert title in result.stdout
    assert f'"query": "{TOKYO}"' in result.stdout
    assert "1 change: 1 changed" in result.stdout
    shown = json.loads(cli("replay", "show", tokyo_replay["replay_id"], "--json").stdout)
    assert shown["replay_output"] == tokyo_replay["replay_output"]
    assert shown["diff"] == tokyo_replay["diff"]


def test_replay_list_table_and_json(cli, weather: str) -> None:
    empty = cli("replay", "list", WEATHER)
    assert empty.exit_code == 0 and empty.stdout == ""
    assert "no replays for this trace yet" in empty.stderr
    assert json.loads(cli("replay", "list", WEATHER, "--json").stdout) == []

    cli("replay", "run", LLM2, "--dry-run")
    cli("replay", "run", TOOL, "--executor", "generic")
    ids = [r["replay_id"] for r in replays(weather)]

    table = cli("replay", "list", WEATHER[:9])
    assert table.exit_code == 0
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["replay", "step", "span", "executor", "result", "diff", "took"]
    assert all(len(line) <= 80 for line in lines)
    assert ids[0] in lines[1] and "mock" in lines[1] and "changed" in lines[1]
    assert ids[1] in lines[2] and "generic" in lines[2] and "same" in lines[2].split()

    rows = json.loads(cli("replay", "list", WEATHER, "--json").stdout)
    assert [r["replay_id"] for r in rows] == ids
    assert [(r["executor"], r["has_changes"], r["span_kind"]) for r in rows] == [
        ("mock", True, "llm_call"), ("generic", False, "tool_call"),
    ]


def test_names_in_brackets_are_shown_as_written(cli, registered) -> None:
    async def bracketed(input, state, config, overrides=None):
        return {"output": {"messages": [{"role": "assistant", "content": "ok"}]}}

    name = registered("[bold]team", bracketed)
    assert cli("replay", "run", LLM1, "--executor", name).exit_code == 0
    assert "executor=[bold]team" in cli("replay", "show", "rpl-").stdout
    assert "[bold]team" in cli("replay", "list", WEATHER).stdout
    assert "[bold]team" in cli("executors", "list").stdout


def test_executors_list(cli, registered) -> None:
    table = cli("executors", "list")
    assert table.exit_code == 0
    names = [line.split()[0] for line in table.stdout.splitlines()[1:]]
    assert names == ["generic", "langgraph", "mock", "openai"]
    assert "agenttrace_replay.executors.langgraph:langgraph_executor" in table.stdout

    async def mine(input, state, config, overrides=None):
        return {"output": None}

    registered("my-framework", mine)
    rows = json.loads(cli("executors", "list", "--json").stdout)
    assert {r["name"]: r["source"] for r in rows} == {
        "generic": "builtin", "langgraph": "builtin", "mock": "builtin", "openai": "builtin", "my-framework": "registered",
    }
    assert next(r for r in rows if r["name"] == "my-framework")["target"].endswith(":test_executors_list.<locals>.mine")


def test_openai_with_base_url_key_from_the_environment_and_an_override(cli, weather: str) -> None:
    from openai_server import OpenAIServer

    with OpenAIServer() as server:
        base_url = server.base_url
        result = cli(
            "replay", "run", LLM1, "--executor", "openai", "--base-url", server.base_url,
            "--override", "model=gpt-4o-mini", "--input", f"query={TOKYO}", "--json",
            env={"OPENAI_API_KEY": "sk-from-env", "OPENAI_BASE_URL": ""},
        )
    assert result.exit_code == 0, result.output
    (request,) = server.requests
    assert request.headers["Authorization"] == "Bearer sk-from-env"
    assert request.body["model"] == "gpt-4o-mini"
    assert request.body["messages"][-1] == {"role": "user", "content": TOKYO}
    data = json.loads(result.stdout)
    assert data["replay_output"]["messages"][0]["content"] == f"Echo: {TOKYO}"
    assert replays(weather)[0]["config"]["base_url"] == base_url


def test_langgraph_graph_from_the_config_file(db_url: str, paris_run: str, tmp_path: Path) -> None:
    bundles = traces.parse_text(paris_run)
    asyncio.run(_load(db_url, bundles))
    (row,) = query(db_url, "SELECT checkpoint_id FROM agenttrace.checkpoints WHERE span_kind = 'tool_call'")
    config = tmp_path / "agenttrace.yaml"
    config.write_text("executor:\n  graph: agents.react_graph:graph\n")
    result = CliRunner().invoke(app, [
        "--db", db_url, "--config", str(config), "replay", "run", row["checkpoint_id"][:10],
        "--input", "arguments.city=Tokyo", "--json",
    ])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["executor"] == "langgraph" and data["config"]["graph"] == "agents.react_graph:graph"
    assert "The weather in Tokyo is" in data["replay_output"]["final_answer"]


# --- as a real process ------------------------------------------------------------------------------


def command(db_url: str, *args: str, cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTTRACE_", "OPENAI_"))}
    return subprocess.run(
        [sys.executable, "-m", "agenttrace_replay", "--db", db_url, *args],
        capture_output=True, text=True, cwd=cwd or TESTS_DIR, env=env, timeout=timeout,
    )


def test_process_dry_run_json(weather: str) -> None:
    proc = command(weather, "replay", "run", LLM2, "--dry-run", "--json", "--input", f"query={TOKYO}", "--fail-on-diff")
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.startswith("outputs differ: ")
    data = json.loads(proc.stdout)
    assert data["diff"]["has_changes"] and data["executor"] == "mock"
    assert [r["replay_id"] for r in replays(weather)] == [data["replay_id"]]


def test_process_malformed_input_is_one_line_without_traceback(weather: str) -> None:
    proc = command(weather, "replay", "run", LLM2, "--dry-run", "--input", "oops")
    assert proc.returncode == 2
    assert one_error_line(proc.stderr) == "error: --input 'oops' is not KEY=VALUE. Example: --input query=\"a new question\""
    assert proc.stdout == ""


@pytest.fixture(scope="module")
def paris_run() -> str:
    return langgraph_trace("What is the weather in Paris?")


@pytest.fixture
def langgraph_db(db_url: str, paris_run: str) -> tuple[str, str]:
    """A database with the recorded LangGraph run; returns (url, first llm_call checkpoint)."""
    bundles = traces.parse_text(paris_run)
    asyncio.run(_load(db_url, bundles))
    (row,) = query(db_url, "SELECT checkpoint_id FROM agenttrace.checkpoints WHERE span_kind = 'llm_call' ORDER BY step LIMIT 1")
    return db_url, row["checkpoint_id"]


def test_process_langgraph_replay_with_a_new_question(langgraph_db: tuple[str, str]) -> None:
    db_url, checkpoint = langgraph_db
    proc = command(
        db_url, "replay", "run", checkpoint, "--graph", "agents.react_graph:graph",
        "--input", "query=What is the weather in Tokyo?", "--json",
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["executor"] == "langgraph"
    assert "Tokyo" in data["replay_output"]["final_answer"]
    assert "Paris" in data["original_output"]["final_answer"]
    assert data["diff"]["has_changes"]


def test_process_graph_that_does_not_import_exits_5_naming_it(langgraph_db: tuple[str, str]) -> None:
    db_url, checkpoint = langgraph_db
    proc = command(db_url, "replay", "run", checkpoint, "--graph", "agents.missing_graph:graph")
    assert proc.returncode == 5
    line = one_error_line(proc.stderr)
    assert "cannot import graph 'agents.missing_graph:graph': No module named 'agents.missing_graph'" in line
    (row,) = replays(db_url)
    assert row["success"] is False and "agents.missing_graph:graph" in row["error"]


def test_process_timeout_does_not_wait_for_a_stuck_graph(langgraph_db: tuple[str, str], tmp_path: Path) -> None:
    """A graph whose (synchronous) model blocks for a minute; --timeout 1 must end the command."""
    db_url, checkpoint = langgraph_db
    module = tmp_path / "stuck_graph.py"
    module.write_text(
        "import time\n"
        "from agents import react_graph\n\n\n"
        "class Stuck(react_graph.DeterministicChatModel):\n"
        "    def _generate(self, messages, stop=None, run_manager=None, **kwargs):\n"
        "        time.sleep(60)\n"
        "        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)\n\n\n"
        "graph = react_graph.build_graph(model=Stuck())\n"
    )
    started = time.perf_counter()
    proc = command(db_url, "replay", "run", checkpoint, "--graph", f"{module}:graph", "--timeout", "1", timeout=50)
    elapsed = time.perf_counter() - started
    assert proc.returncode == 5, proc.stderr
    assert one_error_line(proc.stderr).endswith("failed: timed out after 1 s")
    assert elapsed < 20
    (row,) = replays(db_url)
    assert row["error"] == "timed out after 1 s"


@pytest.mark.parametrize(("signame", "how"), [
    ("SIGTERM", "once"), ("SIGHUP", "once"), ("SIGINT", "once"),
    ("SIGTERM", "twice"),  # a second signal while it stores the replay changes nothing
    ("SIGTERM", "sigint ignored"),  # a background job of a script starts with SIGINT ignored
])
def test_process_stopped_by_a_signal_stores_the_replay_as_interrupted(
    langgraph_db: tuple[str, str], tmp_path: Path, signame: str, how: str
) -> None:
    """A CI job cancelled (SIGTERM), a closed terminal (SIGHUP) or Ctrl-C mid-replay: the replay
    is stored as interrupted, --json prints it, and the exit code is 128 + the signal."""
    db_url, checkpoint = langgraph_db
    started_file = tmp_path / "started"
    module = tmp_path / "waiting_graph.py"
    module.write_text(
        "import pathlib, time\n"
        "from agents import react_graph\n\n\n"
        "class Waiting(react_graph.DeterministicChatModel):\n"
        "    def _generate(self, messages, stop=None, run_manager=None, **kwargs):\n"
        f"        pathlib.Path({str(started_file)!r}).write_text('x')\n"
        "        time.sleep(60)\n"
        "        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)\n\n\n"
        "graph = react_graph.build_graph(model=Waiting())\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTTRACE_", "OPENAI_"))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "agenttrace_replay", "--db", db_url, "replay", "run", checkpoint,
         "--graph", f"{module}:graph", "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=TESTS_DIR, env=env,
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if how == "sigint ignored" else None,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 40
        while not started_file.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started_file.exists(), proc.stderr.read() if proc.poll() is not None else "the graph never ran"
        proc.send_signal(getattr(signal, signame))
        if how == "twice":
            time.sleep(0.05)
            proc.send_signal(getattr(signal, signame))
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + getattr(signal, signame), err
    assert err.strip() == ("interrupted" if signame == "SIGINT" else f"terminated (signal {getattr(signal, signame)})")
    data = json.loads(out)
    (row,) = replays(db_url)
    assert row["replay_id"] == data["replay_id"] and row["error"] == data["error"] == "interrupted"
    assert row["original_output"] == data["original_output"] is not None
