"""The replay engine as a library, on a real PostgreSQL database.

Executors are tested on their own in tests/test_executor*.py; here they run inside
`ReplayExecutor.replay`, and what matters is what a user gets back and what is stored.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from builders import weather_trace
from openai_server import OpenAIServer
from otel_traces import langgraph_trace

from agenttrace_replay import traces
from agenttrace_replay.checkpoint import CheckpointManager, checkpoint_id_for
from agenttrace_replay.db import Database
from agenttrace_replay.errors import AmbiguousId, ExecutorError, ExitCode, InvalidInput, NotFound
from agenttrace_replay.executor import ReplayConfig, ReplayExecutor, ReplayResult

WEATHER = "trace-weather"
LLM1, TOOL, LLM2 = (checkpoint_id_for(WEATHER, s) for s in ("s-llm1", "s-tool", "s-llm2"))
GRAPH = "agents.react_graph:graph"


# --- helpers -----------------------------------------------------------------------------


async def load_weather(db: Database, framework: str | None = None, trace_id: str = WEATHER) -> list[str]:
    bundle = weather_trace(trace_id)
    bundle.agents[0].framework = framework
    await traces.import_bundles(db, [bundle])
    return await CheckpointManager(db).auto_checkpoint_trace(trace_id)


def engine(db: Any) -> ReplayExecutor:
    return ReplayExecutor(CheckpointManager(db), db)


async def stored_rows(db: Database) -> list[dict[str, Any]]:
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM agenttrace.replays ORDER BY created_at, replay_id")
    return [dict(r) for r in rows]


async def checkpoint_row(db: Database, checkpoint_id: str) -> dict[str, Any]:
    async with db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT replay_count, last_replayed_at FROM agenttrace.checkpoints WHERE checkpoint_id = $1",
            checkpoint_id,
        )
    return dict(row)


def content(output: dict[str, Any]) -> str:
    return output["messages"][0]["content"]


# --- a dry run, and what is stored ---------------------------------------------------------


async def test_a_dry_run_is_stored_with_everything_and_counted_on_its_checkpoint(db: Database) -> None:
    ids = await load_weather(db)
    assert ids == [LLM1, TOOL, LLM2]
    config = ReplayConfig(modified_input={"query": "What's the weather in Tokyo?"}, dry_run=True)

    result = await engine(db).replay(LLM2, config)

    assert isinstance(result, ReplayResult)
    assert result.success and result.error is None
    assert result.executor == "mock" and result.executed is False
    assert result.checkpoint_id == LLM2 and result.trace_id == WEATHER
    assert result.original_output == {
        "messages": [{"role": "assistant", "content": "It is sunny in Paris, 21C."}], "finish_reason": "stop",
    }
    assert content(result.replay_output).startswith("[mock gpt-test ")
    assert content(result.replay_output).endswith("reply to: What's the weather in Tokyo?")
    assert result.diff["has_changes"] and result.diff["summary"] == "1 change: 1 changed"
    assert list(result.diff["changed"]) == ['root["messages"][0]["content"]']
    assert result.tokens_used and result.tokens_used > 0
    assert result.cost_usd == 0.0
    assert 0 < result.duration_ms < 1000

    (row,) = await stored_rows(db)
    assert row["replay_id"] == result.replay_id
    assert row["checkpoint_id"] == LLM2 and row["trace_id"] == WEATHER
    assert row["executor"] == "mock"
    assert row["config"]["modified_input"] == {"query": "What's the weather in Tokyo?"}
    assert row["config"]["dry_run"] is True and row["config"]["timeout_seconds"] == 300
    # the input the executor received: the recorded one with the patch merged in
    assert row["input"]["query"] == "What's the weather in Tokyo?"
    assert row["input"]["model"] == "gpt-test"
    assert [m["role"] for m in row["input"]["messages"]] == ["system", "user", "assistant", "tool"]
    assert row["original_output"] == result.original_output
    assert row["replay_output"] == result.replay_output
    assert row["diff"] == result.diff
    assert row["success"] is True and row["error"] is None
    assert row["executed"] is False and "dry run" in row["note"]
    assert row["duration_ms"] == pytest.approx(result.duration_ms)
    assert row["tokens_used"] == result.tokens_used and row["cost_usd"] == 0.0

    counted = await checkpoint_row(db, LLM2)
    assert counted["replay_count"] == 1
    # written in the same transaction as the replay, so PostgreSQL's now() is the same
    assert counted["last_replayed_at"] == row["created_at"] == result.created_at
    assert (await checkpoint_row(db, LLM1))["replay_count"] == 0

    await engine(db).replay(LLM2, ReplayConfig(dry_run=True))
    assert (await checkpoint_row(db, LLM2))["replay_count"] == 2
    assert (await checkpoint_row(db, LLM2))["last_replayed_at"] > counted["last_replayed_at"]


async def test_a_checkpoint_prefix_works_and_an_unknown_checkpoint_is_not_found(db: Database) -> None:
    await load_weather(db)
    result = await engine(db).replay(LLM1[:8], ReplayConfig(dry_run=True))
    assert result.checkpoint_id == LLM1
    with pytest.raises(NotFound, match="no checkpoint 'chk-nope'") as err:
        await engine(db).replay("chk-nope", ReplayConfig(dry_run=True))
    assert err.value.exit_code == ExitCode.NOT_FOUND
    assert len(await stored_rows(db)) == 1


async def test_get_replay_by_id_and_by_prefix_returns_what_replay_returned(db: Database) -> None:
    await load_weather(db)
    result = await engine(db).replay(LLM1, ReplayConfig(dry_run=True, agent_overrides={"model": "gpt-other"}))

    for given in (result.replay_id, result.replay_id[:9]):
        again = await engine(db).get_replay(given)
        assert again == result
    with pytest.raises(NotFound, match="no replay 'rpl-000000'") as err:
        await engine(db).get_replay("rpl-000000")
    assert "agenttrace-replay replay list" in str(err.value)


async def test_an_ambiguous_replay_prefix_lists_the_candidates(db: Database) -> None:
    await load_weather(db)
    first = await engine(db).replay(LLM1, ReplayConfig(dry_run=True))
    second = await engine(db).replay(LLM1, ReplayConfig(dry_run=True))
    with pytest.raises(AmbiguousId) as err:
        await engine(db).get_replay("rpl-")
    assert set(err.value.candidates) == {first.replay_id, second.replay_id}
    assert err.value.exit_code == ExitCode.USAGE


async def test_list_replays_of_a_trace_oldest_first_with_their_outcome(db: Database, registered) -> None:
    await load_weather(db)
    await load_weather(db, trace_id="trace-other")
    rx = engine(db)
    first = await rx.replay(LLM2, ReplayConfig(dry_run=True))
    same = await rx.replay(TOOL, ReplayConfig(executor="generic"))

    async def broken(input, state, config, overrides=None):
        raise RuntimeError("boom")

    failed = await rx.replay(LLM1, ReplayConfig(executor=registered("broken", broken)))
    await rx.replay(checkpoint_id_for("trace-other", "s-llm1"), ReplayConfig(dry_run=True))

    rows = await rx.list_replays("trace-weat")  # a trace id prefix
    assert [r["replay_id"] for r in rows] == [first.replay_id, same.replay_id, failed.replay_id]
    by_id = {r["replay_id"]: r for r in rows}
    assert by_id[first.replay_id]["has_changes"] is True
    assert by_id[first.replay_id]["summary"] == "1 change: 1 changed"
    assert (by_id[first.replay_id]["step"], by_id[first.replay_id]["span_kind"]) == (3, "llm_call")
    assert by_id[same.replay_id]["has_changes"] is False and by_id[same.replay_id]["executed"] is False
    assert by_id[failed.replay_id]["success"] is False
    assert by_id[failed.replay_id]["error"] == "RuntimeError: boom"
    assert by_id[failed.replay_id]["has_changes"] is None
    assert await rx.list_replays("trace-other") != []
    with pytest.raises(NotFound):
        await rx.list_replays("trace-missing")


# --- modified input and overrides ------------------------------------------------------------


async def test_a_modified_input_changes_the_replay_output_and_its_diff(db: Database) -> None:
    await load_weather(db)
    rx = engine(db)
    plain = await rx.replay(LLM2, ReplayConfig(dry_run=True))
    again = await rx.replay(LLM2, ReplayConfig(dry_run=True))
    tokyo = await rx.replay(LLM2, ReplayConfig(dry_run=True, modified_input={"query": "And in Tokyo?"}))

    assert again.replay_output == plain.replay_output  # the mock is deterministic
    assert tokyo.replay_output != plain.replay_output
    change = tokyo.diff["changed"]['root["messages"][0]["content"]']
    assert change["old"] == "It is sunny in Paris, 21C."
    assert change["new"].endswith("reply to: And in Tokyo?")
    assert "Paris" in plain.diff["changed"]['root["messages"][0]["content"]']["new"]


async def test_the_merge_rule_reaches_the_executor(db: Database, registered) -> None:
    await load_weather(db)
    seen: list[Any] = []

    async def spy(input, state, config, overrides=None):
        seen.append((input, state["input"], overrides))
        return {"output": config["original_output"]}

    patch = {
        "model": None,
        "parameters": {"temperature": 0},
        "messages": {"1": {"content": "What's the weather in Oslo?"}},
        "messages+": {"role": "user", "content": "In Celsius please."},
    }
    result = await engine(db).replay(
        LLM1, ReplayConfig(executor=registered("spy", spy), modified_input=patch, agent_overrides={"model": "m2"})
    )
    (given, recorded, overrides), = seen
    assert "model" not in given
    assert given["parameters"] == {"temperature": 0}
    assert [m["content"] for m in given["messages"]] == [
        "You are a weather assistant.", "What's the weather in Oslo?", "In Celsius please.",
    ]
    assert overrides == {"model": "m2"}
    # the checkpoint's state still holds the recorded input, and the result the merged one
    assert recorded["model"] == "gpt-test" and len(recorded["messages"]) == 2
    assert result.input == given
    assert result.config["modified_input"] == patch and result.config["agent_overrides"] == {"model": "m2"}
    assert not result.diff["has_changes"]


async def test_an_index_out_of_range_is_an_input_error_and_nothing_is_stored(db: Database) -> None:
    await load_weather(db)
    with pytest.raises(InvalidInput, match="index 5 is out of range"):
        await engine(db).replay(LLM1, ReplayConfig(dry_run=True, modified_input={"messages": {"5": {"content": "x"}}}))
    assert await stored_rows(db) == []
    assert (await checkpoint_row(db, LLM1))["replay_count"] == 0


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (ReplayConfig(dry_run=True, modified_input=["not", "an", "object"]), "modified_input must be an object"),
        (ReplayConfig(dry_run=True, agent_overrides="gpt-4o"), "agent_overrides must be an object"),
        (ReplayConfig(dry_run=True, timeout_seconds=0), "timeout must be a positive, finite number"),
        (ReplayConfig(dry_run=True, ignore=["messages..content"]), "has an empty segment"),
    ],
)
async def test_a_malformed_config_is_an_input_error(db: Database, config: ReplayConfig, message: str) -> None:
    await load_weather(db)
    with pytest.raises(InvalidInput, match=message):
        await engine(db).replay(LLM1, config)
    assert await stored_rows(db) == []


async def test_a_bad_ignore_pattern_fails_before_the_executor_runs(db: Database, registered) -> None:
    await load_weather(db)
    calls: list[Any] = []

    async def paid(input, state, config, overrides=None):
        calls.append(input)
        return {"output": "an answer that cost money"}

    with pytest.raises(InvalidInput, match="An ignore pattern is empty"):
        await engine(db).replay(LLM1, ReplayConfig(executor=registered("paid", paid), ignore=["  "]))
    assert calls == []
    assert await stored_rows(db) == []


async def test_ignored_paths_leave_the_diff_and_are_stored_with_the_config(db: Database) -> None:
    await load_weather(db)
    config = ReplayConfig(dry_run=True, modified_input={"query": "Oslo?"}, ignore=["messages.*.content"])
    result = await engine(db).replay(LLM2, config)
    assert result.diff["has_changes"] is False
    assert result.replay_output != result.original_output
    assert (await stored_rows(db))[0]["config"]["ignore"] == ["messages.*.content"]


async def test_overrides_reach_the_mock_and_change_its_output(db: Database) -> None:
    await load_weather(db)
    result = await engine(db).replay(LLM2, ReplayConfig(dry_run=True, agent_overrides={"model": "gpt-4o-mini"}))
    assert content(result.replay_output).startswith("[mock gpt-4o-mini ")


# --- executor choice --------------------------------------------------------------------------


async def test_the_generic_executor_changes_nothing_and_says_so(db: Database) -> None:
    await load_weather(db)
    result = await engine(db).replay(TOOL, ReplayConfig(executor="generic", modified_input={"arguments": {"city": "Oslo"}}))
    assert result.success
    assert result.replay_output == result.original_output == {"result": "sunny, 21C"}
    assert result.diff["has_changes"] is False and result.diff["summary"] == "No changes"
    assert result.executed is False and "nothing was re-executed" in result.note
    (row,) = await stored_rows(db)
    assert row["executed"] is False and row["executor"] == "generic"


async def test_an_unknown_executor_name_lists_the_available_ones_and_stores_nothing(db: Database) -> None:
    await load_weather(db)
    with pytest.raises(ExecutorError) as err:
        await engine(db).replay(LLM1, ReplayConfig(executor="crewai"))
    assert "unknown executor 'crewai'" in str(err.value)
    assert "Available executors: generic, langgraph, mock, openai." in str(err.value)
    assert err.value.exit_code == ExitCode.EXECUTOR
    assert await stored_rows(db) == []
    assert (await checkpoint_row(db, LLM1))["replay_count"] == 0


async def test_no_executor_and_no_framework_is_an_error_never_a_silent_fallback(db: Database) -> None:
    await load_weather(db, framework=None)
    with pytest.raises(ExecutorError, match="no executor chosen and the agent's framework is unknown") as err:
        await engine(db).replay(LLM1)
    assert "--executor NAME (available: generic, langgraph, mock, openai)" in str(err.value)
    assert "--dry-run" in str(err.value)
    assert await stored_rows(db) == []


async def test_a_framework_without_an_executor_is_an_error(db: Database) -> None:
    await load_weather(db, framework="CrewAI")
    with pytest.raises(ExecutorError, match="no executor for the agent's framework 'CrewAI'"):
        await engine(db).replay(LLM1)
    assert await stored_rows(db) == []


async def test_the_explicit_executor_wins_over_dry_run_and_dry_run_over_the_framework(db: Database) -> None:
    await load_weather(db, framework="generic")
    rx = engine(db)
    assert (await rx.replay(LLM1)).executor == "generic"  # by the agent's framework
    assert (await rx.replay(LLM1, ReplayConfig(dry_run=True))).executor == "mock"
    assert (await rx.replay(LLM1, ReplayConfig(dry_run=True, executor="generic"))).executor == "generic"


async def test_a_registered_executor_is_chosen_by_the_agents_framework(db: Database, registered) -> None:
    await load_weather(db, framework="MyFramework")

    def sync_executor(input, state, config, overrides=None):  # a plain function runs in a thread
        return {"output": {"answer": f"{state['agent']['name']} says hi"}, "tokens": 7, "cost_usd": 0.25}

    registered("myframework", sync_executor)
    result = await engine(db).replay(LLM1)
    assert result.executor == "myframework" and result.success
    assert result.replay_output == {"answer": "weather says hi"}
    assert (result.tokens_used, result.cost_usd, result.executed) == (7, 0.25, True)


# --- executors that fail ------------------------------------------------------------------------


async def test_an_executor_that_raises_is_stored_as_a_failed_replay(db: Database, registered) -> None:
    await load_weather(db)

    async def broken(input, state, config, overrides=None):
        raise RuntimeError("model server said 500")

    result = await engine(db).replay(LLM1, ReplayConfig(executor=registered("broken", broken)))
    assert result.success is False
    assert result.error == "RuntimeError: model server said 500"
    assert result.replay_output is None and result.diff is None
    (row,) = await stored_rows(db)
    assert row["success"] is False and row["error"] == "RuntimeError: model server said 500"
    assert row["replay_output"] is None and row["diff"] is None
    assert row["original_output"] == result.original_output
    assert row["executor"] == "broken"
    assert (await checkpoint_row(db, LLM1))["replay_count"] == 1


async def test_an_executor_error_keeps_its_own_message_and_hint(db: Database, registered) -> None:
    await load_weather(db)

    async def refuses(input, state, config, overrides=None):
        raise ExecutorError("the agent needs a vector store.", "Start it with: make store")

    result = await engine(db).replay(LLM1, ReplayConfig(executor=registered("refuses", refuses)))
    assert result.error == "the agent needs a vector store. Start it with: make store"


async def test_an_executor_past_its_timeout_is_stored_as_timed_out(db: Database, registered) -> None:
    await load_weather(db)

    async def slow(input, state, config, overrides=None):
        await asyncio.sleep(30)
        return {"output": "too late"}

    started = time.perf_counter()
    result = await engine(db).replay(LLM1, ReplayConfig(executor=registered("slow", slow), timeout_seconds=0.2))
    assert time.perf_counter() - started < 5
    assert result.success is False
    assert result.error == "timed out after 0.2 s"
    assert 150 < result.duration_ms < 5000
    (row,) = await stored_rows(db)
    assert row["error"] == "timed out after 0.2 s" and row["success"] is False
    assert row["config"]["timeout_seconds"] == 0.2


async def test_a_timeout_raised_inside_the_executor_is_not_reported_as_the_deadline(db: Database, registered) -> None:
    await load_weather(db)

    async def socket_timeout(input, state, config, overrides=None):
        raise TimeoutError("read timed out")

    result = await engine(db).replay(LLM1, ReplayConfig(executor=registered("sock", socket_timeout)))
    assert result.error == "TimeoutError: read timed out"


@pytest.mark.parametrize(
    ("returned", "error"),
    [
        ("just a string", "executor 'garbage' returned str without an 'output' key."),
        ({"result": 1}, "executor 'garbage' returned dict without an 'output' key."),
        (None, "executor 'garbage' returned NoneType without an 'output' key."),
        ({"output": {"score": float("nan")}}, "executor 'garbage' returned an output that cannot be stored as JSON"),
    ],
)
async def test_an_executor_returning_garbage_is_stored_as_a_failed_replay(
    db: Database, registered, returned: Any, error: str
) -> None:
    await load_weather(db)

    async def garbage(input, state, config, overrides=None):
        return returned

    result = await engine(db).replay(LLM1, ReplayConfig(executor=registered("garbage", garbage)))
    assert result.success is False and result.error.startswith(error)
    (row,) = await stored_rows(db)
    assert row["success"] is False and row["error"] == result.error


async def test_values_without_a_json_form_are_returned_as_they_are_stored(db: Database, registered) -> None:
    await load_weather(db)

    async def odd(input, state, config, overrides=None):
        return {"output": {1: ("a", "b"), "when": time}, "note": 42, "tokens": "many"}

    rx = engine(db)
    result = await rx.replay(LLM1, ReplayConfig(executor=registered("odd", odd)))
    assert result.success
    assert result.replay_output == {"1": ["a", "b"], "when": str(time)}
    assert result.note == "42" and result.tokens_used is None
    assert await rx.get_replay(result.replay_id) == result


# --- the LangGraph executor on a real graph -----------------------------------------------------


@pytest.fixture(scope="module")
def paris_run() -> str:
    """OTLP/JSON of a real run of tests/agents/react_graph.py, instrumented by OpenInference."""
    return langgraph_trace("What is the weather in Paris?")


async def load_langgraph(db: Database, text: str) -> dict[str, list[str]]:
    (bundle,) = traces.parse_text(text)
    await traces.import_bundles(db, [bundle])
    manager = CheckpointManager(db)
    await manager.auto_checkpoint_trace(bundle.trace.trace_id)
    by_kind: dict[str, list[str]] = {}
    for checkpoint in await manager.list_checkpoints(bundle.trace.trace_id):
        by_kind.setdefault(checkpoint.span_kind, []).append(checkpoint.checkpoint_id)
    return by_kind


async def test_langgraph_replays_the_real_graph_with_a_new_question(db: Database, paris_run: str) -> None:
    checkpoints = await load_langgraph(db, paris_run)
    first_llm = checkpoints["llm_call"][0]
    config = ReplayConfig(modified_input={"query": "What is the weather in Tokyo?"}, graph=GRAPH)

    result = await engine(db).replay(first_llm, config)  # no --executor: the agent's framework

    assert result.success, result.error
    assert result.executor == "langgraph" and result.executed is True
    assert "Tokyo" in result.replay_output["final_answer"]
    assert "Paris" not in result.replay_output["final_answer"]
    assert "Paris" in result.original_output["final_answer"]
    calls = [m for m in result.replay_output["messages"] if m.get("tool_calls")]
    assert calls[0]["tool_calls"][0]["arguments"] == {"city": "Tokyo"}
    assert result.diff["has_changes"]
    assert result.diff["changed"]['root["final_answer"]']["new"] == result.replay_output["final_answer"]
    assert result.tokens_used and result.tokens_used > 0
    assert "re-ran graph 'agents.react_graph:graph'" in result.note
    (row,) = await stored_rows(db)
    assert row["config"]["graph"] == GRAPH and row["replay_output"] == result.replay_output


async def test_langgraph_without_changes_reproduces_the_recorded_run(db: Database, paris_run: str) -> None:
    checkpoints = await load_langgraph(db, paris_run)
    result = await engine(db).replay(checkpoints["llm_call"][0], ReplayConfig(graph=GRAPH))
    assert result.success, result.error
    assert result.diff["has_changes"] is False, result.diff
    assert "Paris" in result.replay_output["final_answer"]


async def test_langgraph_replays_a_tool_call_with_modified_arguments(db: Database, paris_run: str) -> None:
    checkpoints = await load_langgraph(db, paris_run)
    (tool,) = checkpoints["tool_call"]
    config = ReplayConfig(modified_input={"arguments": {"city": "Tokyo"}}, graph=GRAPH)

    result = await engine(db).replay(tool, config)

    assert result.success, result.error
    tool_message = result.replay_output["messages"][0]
    assert tool_message["role"] == "tool" and "The weather in Tokyo is" in tool_message["content"]
    assert "Tokyo" in result.replay_output["final_answer"]
    assert "Paris" in result.original_output["final_answer"]
    # resumed at the tools node: the model's first turn (the tool call) is not run again
    assert not any(m.get("tool_calls") for m in result.replay_output["messages"])
    assert result.diff["has_changes"]


async def test_langgraph_finds_the_graph_in_the_settings_or_the_agents_config(db: Database, paris_run: str) -> None:
    (bundle,) = traces.parse_text(paris_run)
    bundle.agents[0].config["graph"] = GRAPH  # as an instrumented app could record it
    await traces.import_bundles(db, [bundle])
    first_llm = (await CheckpointManager(db).auto_checkpoint_trace(bundle.trace.trace_id))[0]
    tokyo = {"query": "What is the weather in Tokyo?"}

    from_agent = await engine(db).replay(first_llm, ReplayConfig(modified_input=tokyo))
    assert from_agent.success, from_agent.error
    assert "Tokyo" in from_agent.replay_output["final_answer"]

    # the config file's executor table (settings) wins over the agent's config
    broken = await engine(db).replay(first_llm, ReplayConfig(modified_input=tokyo, settings={"graph": "agents.gone:graph"}))
    assert broken.success is False and "agents.gone:graph" in broken.error


async def test_a_graph_path_that_does_not_import_is_a_stored_failure_naming_it(db: Database, paris_run: str) -> None:
    checkpoints = await load_langgraph(db, paris_run)
    result = await engine(db).replay(checkpoints["llm_call"][0], ReplayConfig(graph="agents.no_such_module:graph"))
    assert result.success is False
    assert "cannot import graph 'agents.no_such_module:graph'" in result.error
    (row,) = await stored_rows(db)
    assert row["success"] is False and "agents.no_such_module:graph" in row["error"]


async def test_langgraph_without_a_graph_says_how_to_name_one(db: Database, paris_run: str) -> None:
    checkpoints = await load_langgraph(db, paris_run)
    result = await engine(db).replay(checkpoints["llm_call"][0])
    assert result.success is False and "--graph module:attr" in result.error


# --- the openai executor against a local Chat Completions server ---------------------------------



async def test_openai_resends_the_merged_call_with_the_overridden_model(db: Database, openai_server: OpenAIServer) -> None:
    await load_weather(db)
    config = ReplayConfig(
        executor="openai",
        base_url=openai_server.base_url,
        modified_input={"query": "What's the weather in Tokyo?", "parameters": {"temperature": 0.5}},
        agent_overrides={"model": "gpt-4o-mini", "seed": 7},
    )

    result = await engine(db).replay(LLM1, config)

    assert result.success, result.error
    (request,) = openai_server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body["model"] == "gpt-4o-mini"
    assert request.body["messages"] == [
        {"role": "system", "content": "You are a weather assistant."},
        {"role": "user", "content": "What's the weather in Tokyo?"},
    ]
    assert request.body["temperature"] == 0.5 and request.body["seed"] == 7
    assert "Authorization" not in request.headers
    assert result.replay_output == {
        "messages": [{"role": "assistant", "content": "Echo: What's the weather in Tokyo?"}], "finish_reason": "stop",
    }
    assert result.executed is True and result.tokens_used and result.tokens_used > 0
    assert result.diff["type_changes"]['root["messages"][0]["content"]']["old"] is None
    assert result.diff["removed"]['root["messages"][0]["tool_calls"]'][0]["name"] == "get_weather"


async def test_openai_http_errors_are_stored_as_failed_replays(db: Database, openai_server: OpenAIServer) -> None:
    await load_weather(db)
    openai_server.fail_next(429, "Rate limit reached for gpt-4o-mini")
    result = await engine(db).replay(LLM1, ReplayConfig(executor="openai", base_url=openai_server.base_url))
    assert result.success is False
    assert "HTTP 429" in result.error and "Rate limit reached" in result.error
    assert (await stored_rows(db))[0]["error"] == result.error


# --- a pool the caller made, and the README quickstart ----------------------------------------


async def test_a_raw_asyncpg_pool_without_codecs_works(db: Database, db_url: str) -> None:
    await load_weather(db)
    pool = await asyncpg.create_pool(db_url, min_size=1, max_size=2)
    try:
        rx = ReplayExecutor(CheckpointManager(pool), pool)
        result = await rx.replay(LLM2, ReplayConfig(dry_run=True, modified_input={"query": "Oslo?"}))
        assert result.success and result.diff["has_changes"]
        assert await rx.get_replay(result.replay_id) == result
        assert [r["replay_id"] for r in await rx.list_replays(WEATHER)] == [result.replay_id]
        async with pool.acquire() as conn:  # the caller's own connection: JSON as text, stored as an object
            stored, kind = await conn.fetchrow("SELECT replay_output, json_typeof(replay_output) FROM agenttrace.replays")
        assert kind == "object" and json.loads(stored) == result.replay_output
    finally:
        await pool.close()


def quickstart_code() -> str:
    """The library quick start of docs/replay.md (copied from the package README)."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "replay.md").read_text()
    section = text[text.index("## The library"):]
    code = section[section.index("```python\n") + len("```python\n"):]
    return code[:code.index("\n```")]


async def test_the_readme_quickstart_runs(
    db: Database, db_url: str, openai_server: OpenAIServer, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """The quick start exactly as docs/replay.md shows it, on a trace whose agent framework is
    `openai`, replayed against an OpenAI-compatible server named by OPENAI_BASE_URL."""
    bundle = weather_trace("trace-123")
    bundle.agents[0].framework = "openai"
    await traces.import_bundles(db, [bundle])
    monkeypatch.setenv("OPENAI_BASE_URL", openai_server.base_url)

    code = quickstart_code()
    assert 'asyncpg.create_pool("postgresql://...")' in code
    code = code.replace('"postgresql://..."', repr(db_url)) + "\nawait db_pool.close()\n"
    body = "async def quickstart():\n" + "".join(f"    {line}\n" for line in code.splitlines())
    namespace: dict[str, Any] = {}
    exec(compile(body, "docs/replay.md", "exec"), namespace)
    await namespace["quickstart"]()

    assert len(openai_server.requests) == 1  # the first replay re-sent the call
    assert openai_server.requests[0].body["model"] == "gpt-test"
    rows = await stored_rows(db)
    assert [(r["executor"], r["success"]) for r in rows] == [("openai", True), ("mock", True)]
    assert content(rows[0]["replay_output"]) == "Echo: What's the weather in Paris?"
    assert capsys.readouterr().out == (
        "3 changes: 1 changed, 1 removed, 1 type change\n"
        "Changes detected:\n"
        '  root["finish_reason"]: tool_calls -> stop\n'
    )


# --- stop_at_span -----------------------------------------------------------------------------


async def _span_of(db: Database, checkpoint_id: str) -> str:
    return (await CheckpointManager(db).get_checkpoint(checkpoint_id)).span_id


async def test_stop_at_span_stops_the_graph_before_that_span_and_compares_up_to_it(db: Database, paris_run: str) -> None:
    checkpoints = await load_langgraph(db, paris_run)
    first_llm, second_llm = checkpoints["llm_call"]
    stop = await _span_of(db, second_llm)
    config = ReplayConfig(modified_input={"query": "What is the weather in Tokyo?"}, graph=GRAPH, stop_at_span=stop[:6])

    result = await engine(db).replay(first_llm, config)

    assert result.success, result.error
    assert "stopped before node 'agent'" in result.note
    roles = [m["role"] for m in result.replay_output["messages"]]
    assert roles == ["assistant", "tool"]  # the final model turn did not run
    assert result.replay_output["final_answer"] is None
    assert "Tokyo" in result.replay_output["messages"][1]["content"]
    # compared with the recorded conversation just before the stop span, not with the whole run
    assert [m["role"] for m in result.original_output["messages"]] == ["assistant", "tool"]
    assert "Paris" in result.original_output["messages"][1]["content"]
    (row,) = await stored_rows(db)
    assert row["config"]["stop_at_span"] == stop[:6]


async def test_stop_at_span_unchanged_input_gives_no_diff(db: Database, paris_run: str) -> None:
    checkpoints = await load_langgraph(db, paris_run)
    (tool,) = checkpoints["tool_call"]
    stop = await _span_of(db, checkpoints["llm_call"][1])
    result = await engine(db).replay(tool, ReplayConfig(graph=GRAPH, stop_at_span=stop))
    assert result.success, result.error
    assert result.diff["has_changes"] is False, result.diff


async def test_stop_at_span_must_come_after_the_checkpoint(db: Database, paris_run: str) -> None:
    checkpoints = await load_langgraph(db, paris_run)
    first_llm = checkpoints["llm_call"][0]
    (tool,) = checkpoints["tool_call"]
    with pytest.raises(InvalidInput, match="does not come after"):
        await engine(db).replay(tool, ReplayConfig(graph=GRAPH, stop_at_span=await _span_of(db, first_llm)))
    with pytest.raises(InvalidInput, match="no span"):
        await engine(db).replay(tool, ReplayConfig(graph=GRAPH, stop_at_span="nope"))
    assert await stored_rows(db) == []


async def test_the_openai_executor_at_a_tool_call_is_refused_before_anything_runs(db: Database) -> None:
    await load_weather(db)
    with pytest.raises(ExecutorError, match="the openai executor replays llm_call spans, and checkpoint .* is before a tool_call span"):
        await engine(db).replay(TOOL, ReplayConfig(executor="openai", base_url="http://127.0.0.1:9/v1"))
    assert await stored_rows(db) == []
    assert (await checkpoint_row(db, TOOL))["replay_count"] == 0
