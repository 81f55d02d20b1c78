"""The executor registry, the choice rule, and the mock and generic executors."""

from __future__ import annotations

import asyncio
import json
import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from builders import weather_trace

from agenttrace_replay import traces
from agenttrace_replay.checkpoint import CheckpointManager
from agenttrace_replay.errors import ExecutorError, ExitCode, InvalidInput
from agenttrace_replay.executor import ReplayConfig, ReplayExecutor
from agenttrace_replay.executors import (
    apply_query_convention,
    available_executors,
    get_executor,
    register_executor,
    resolve_executor_name,
    unregister_executor,
)

BUILTINS = {"mock", "generic", "openai", "langgraph"}


def state(kind: str | None) -> dict[str, Any]:
    return {
        "checkpoint_id": "chk-1",
        "trace_id": "trace-1",
        "step": 3,
        "span": {"span_id": "s1", "name": "span", "kind": kind, "model": None,
                 "parent_chain": [], "attributes": {}},
        "agent": None,
        "messages": [],
        "input": None,
        "completed": [],
    }


CONFIG = {"timeout_seconds": 5.0, "graph": None, "base_url": None,
          "api_key_env": "OPENAI_API_KEY", "original_output": {"value": "recorded"},
          "run_output": None, "settings": {}}


def call(name: str, input: Any, kind: str | None, overrides: Any = None) -> dict[str, Any]:
    return asyncio.run(get_executor(name)(input, state(kind), CONFIG, overrides))


# --- registry -------------------------------------------------------------------------


def test_builtins_are_listed_with_their_import_paths() -> None:
    rows = {row["name"]: row for row in available_executors()}
    assert BUILTINS <= set(rows)
    assert rows["mock"] == {"name": "mock", "source": "builtin",
                            "target": "agenttrace_replay.executors.mock:mock_executor"}


def test_register_then_get_returns_the_function(registered) -> None:
    async def mine(input, state, config, overrides=None):
        return {"output": {"echo": input}}

    registered("my_framework", mine)
    assert get_executor("my_framework") is mine
    row = next(r for r in available_executors() if r["name"] == "my_framework")
    assert row["source"] == "registered"
    assert row["target"].endswith("mine")
    assert asyncio.run(get_executor("my_framework")(1, {}, {}))["output"] == {"echo": 1}


def test_a_plain_function_is_wrapped_to_be_awaitable(registered) -> None:
    def sync_executor(input, state, config, overrides=None):
        return {"output": input * 2, "overrides": overrides}

    registered("sync_one", sync_executor)
    result = asyncio.run(get_executor("sync_one")(21, {}, {}, {"model": "m"}))
    assert result == {"output": 42, "overrides": {"model": "m"}}


def test_registration_overrides_a_builtin_of_the_same_name(registered) -> None:
    async def fake_mock(input, state, config, overrides=None):
        return {"output": "mine"}

    registered("mock", fake_mock)
    assert call("mock", {}, "llm_call")["output"] == "mine"
    unregister_executor("mock")
    assert call("mock", {}, "llm_call")["output"] != "mine"


def test_unknown_name_lists_the_available_executors() -> None:
    with pytest.raises(ExecutorError) as raised:
        get_executor("no_such_executor")
    message = str(raised.value)
    assert "no_such_executor" in message
    assert all(name in message for name in BUILTINS)
    assert raised.value.exit_code == ExitCode.EXECUTOR


def test_registering_nonsense_is_refused() -> None:
    with pytest.raises(TypeError):
        register_executor("x", "not callable")
    with pytest.raises(ValueError):
        register_executor("  ", lambda *a: None)


def _fake_distribution(root: Path, module: str, body: str, entry: str) -> None:
    """A minimal installed package: a module plus a dist-info with one entry point."""
    (root / f"{module}.py").write_text(textwrap.dedent(body))
    info = root / "fake_executor_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fake-executor-plugin\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(f"[agenttrace_replay.executors]\n{entry}\n")


def test_entry_points_are_listed_without_import_then_loaded_on_demand(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = "fake_executor_plugin_mod"
    _fake_distribution(
        tmp_path,
        module,
        """
        IMPORTED = True

        async def run(input, state, config, overrides=None):
            return {"output": {"plugin": input}}
        """,
        f"pluggy_fw = {module}:run",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, module, raising=False)

    rows = {row["name"]: row for row in available_executors()}
    assert rows["pluggy_fw"] == {"name": "pluggy_fw", "source": "entry point",
                                 "target": f"{module}:run"}
    assert module not in sys.modules  # listed, not imported

    assert resolve_executor_name(None, False, "pluggy_fw") == "pluggy_fw"
    result = asyncio.run(get_executor("pluggy_fw")("hi", {}, {}))
    assert result == {"output": {"plugin": "hi"}}
    assert module in sys.modules


def test_a_broken_entry_point_is_an_executor_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_distribution(tmp_path, "broken_plugin_mod", "raise ImportError('boom')\n",
                       "broken_fw = broken_plugin_mod:run")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ExecutorError, match="cannot load executor 'broken_fw'.*boom"):
        get_executor("broken_fw")


# --- choice rule ----------------------------------------------------------------------


def test_explicit_name_wins_over_everything() -> None:
    assert resolve_executor_name("generic", True, "langgraph") == "generic"


def test_dry_run_means_mock() -> None:
    assert resolve_executor_name(None, True, "langgraph") == "mock"


def test_framework_names_the_executor() -> None:
    assert resolve_executor_name(None, False, "langgraph") == "langgraph"
    assert resolve_executor_name(None, False, "LangGraph") == "langgraph"


def test_unknown_explicit_name_is_an_error_listing_what_exists() -> None:
    with pytest.raises(ExecutorError, match="unknown executor 'nope'.*generic.*langgraph"):
        resolve_executor_name("nope", True, "langgraph")


@pytest.mark.parametrize("framework", ["crewai", None, ""])
def test_no_silent_fallback(framework: str | None) -> None:
    with pytest.raises(ExecutorError) as raised:
        resolve_executor_name(None, False, framework)
    assert "--executor" in str(raised.value)
    assert "generic" in str(raised.value)


# --- a replay's executor settings are checked before anything runs ---------------------


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (ReplayConfig(executor=""), "executor must be a non-empty string, not ''."),
        (ReplayConfig(executor=5), "executor must be a non-empty string, not 5."),  # type: ignore[arg-type]
        (ReplayConfig(executor="langgraph", graph="bad"), "graph 'bad' is not of the form module:attr."),
        (ReplayConfig(executor="openai", base_url="localhost:1/v1"), "base URL 'localhost:1/v1' must start with http://"),
        (ReplayConfig(executor="openai", api_key_env=[1]), "api_key_env must be a non-empty string, not [1]."),  # type: ignore[arg-type]
        (ReplayConfig(dry_run=True, stop_at_span=" "), "stop_at_span must be a non-empty string, not ' '."),
        (ReplayConfig(dry_run=True, timeout_seconds=math.nan), "timeout must be a positive, finite number of seconds, not nan."),
        (ReplayConfig(dry_run=True, timeout_seconds=math.inf), "timeout must be a positive, finite number of seconds, not inf."),
    ],
)
async def test_bad_executor_settings_are_refused_and_nothing_is_stored(db, config: ReplayConfig, message: str) -> None:
    await traces.import_bundles(db, [weather_trace()])
    (checkpoint, *_) = await CheckpointManager(db).auto_checkpoint_trace("trace-weather")
    with pytest.raises(InvalidInput) as raised:
        await ReplayExecutor(CheckpointManager(db), db).replay(checkpoint, config)
    assert str(raised.value).startswith(message)
    assert raised.value.exit_code == ExitCode.USAGE
    async with db.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM agenttrace.replays") == 0


# --- query convention -----------------------------------------------------------------


def test_query_replaces_the_last_user_message() -> None:
    original = {"messages": [{"role": "user", "content": "first"},
                             {"role": "assistant", "content": "ok"},
                             {"role": "user", "content": "second"},
                             {"role": "assistant", "content": "fine"}],
                "query": "changed"}
    result = apply_query_convention(original, "llm_call")
    assert "query" not in result
    assert [m["content"] for m in result["messages"]] == ["first", "ok", "changed", "fine"]
    assert original["messages"][2]["content"] == "second"  # input left untouched


def test_question_is_appended_when_there_is_no_user_message() -> None:
    result = apply_query_convention(
        {"messages": [{"role": "system", "content": "be nice"}], "question": "why?"}, "llm_call"
    )
    assert result == {"messages": [{"role": "system", "content": "be nice"},
                                   {"role": "user", "content": "why?"}]}


def test_query_is_left_alone_on_tool_calls() -> None:
    tool_input = {"name": "search", "arguments": {}, "query": "x"}
    assert apply_query_convention(tool_input, "tool_call") == tool_input


# --- mock -----------------------------------------------------------------------------

LLM_INPUT = {"messages": [{"role": "user", "content": "What is the weather in Paris?"}]}


def test_mock_is_deterministic_and_sensitive_to_input_and_overrides() -> None:
    first = call("mock", LLM_INPUT, "llm_call")
    assert call("mock", json.loads(json.dumps(LLM_INPUT)), "llm_call") == first
    assert call("mock", {**LLM_INPUT, "query": "And Rome?"}, "llm_call") != first
    assert call("mock", LLM_INPUT, "llm_call", {"model": "other"}) != first


def test_mock_llm_call_output_looks_like_an_llm_call() -> None:
    result = call("mock", {**LLM_INPUT, "query": "And in Rome?"}, "llm_call")
    output = result["output"]
    assert set(output) == {"messages", "finish_reason"}
    (message,) = output["messages"]
    assert message["role"] == "assistant"
    assert "And in Rome?" in message["content"]
    assert result["cost_usd"] == 0
    assert result["tokens"] > 0
    assert result["executed"] is False and "mock" in result["note"]


def test_mock_tool_call_and_other_kinds() -> None:
    tool = call("mock", {"name": "get_weather", "arguments": {"city": "Oslo"}}, "tool_call")
    assert set(tool["output"]) == {"result"}
    assert "get_weather" in tool["output"]["result"] and "Oslo" in tool["output"]["result"]
    for kind in ("agent_message", "handoff", "checkpoint", None):
        assert set(call("mock", {"value": "x"}, kind)["output"]) == {"value"}


# --- generic --------------------------------------------------------------------------


def test_generic_returns_the_recorded_output_and_says_so() -> None:
    result = call("generic", {"value": "changed"}, "agent_message")
    assert result["output"] == {"value": "recorded"}
    assert result["executed"] is False
    assert "nothing was re-executed" in result["note"]
    assert "recorded output" in result["note"]


# --- import hygiene -------------------------------------------------------------------


def test_importing_the_registry_imports_no_framework() -> None:
    code = (
        "import sys, agenttrace_replay.executors as e\n"
        "e.available_executors(); e.resolve_executor_name(None, True, None)\n"
        "heavy = [m for m in ('langgraph', 'langchain_core', 'langchain', 'httpx')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == ""
