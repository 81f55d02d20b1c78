"""Traces written by real instrumentation libraries (tests/instrumented_runs.py), imported,
checkpointed and replayed: what a user of those libraries gets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from instrumented_runs import FAILING_QUESTION, HANDOFF_QUESTION, QUESTION, SYSTEM, TOOL_RESULT, documents
from openai_server import OpenAIServer

from agenttrace_replay import traces
from agenttrace_replay.checkpoint import CheckpointManager
from agenttrace_replay.db import Database
from agenttrace_replay.executor import ReplayConfig, ReplayExecutor
from agenttrace_replay.records import SpanRecord, TraceBundle
from agenttrace_replay.state import build_states


@pytest.fixture(scope="module")
def runs() -> dict[str, str]:
    return documents()


def one_bundle(text: str) -> TraceBundle:
    (bundle,) = traces.parse_text(text, "run.json")
    return bundle


def of_kind(bundle: TraceBundle, kind: str) -> list[SpanRecord]:
    return [s for s in bundle.spans if s.kind == kind]


# --- the OpenAI client under two instrumentations ------------------------------------------


@pytest.mark.parametrize("name", ["openinference_openai", "openllmetry_openai"])
def test_a_client_run_reads_as_two_model_calls_around_a_tool_result(runs: dict[str, str], name: str) -> None:
    first, second = of_kind(one_bundle(runs[name]), "llm_call")
    call_id = first.output["messages"][0]["tool_calls"][0]["id"]
    asked = {"role": "assistant", "content": None,
             "tool_calls": [{"id": call_id, "name": "get_weather", "arguments": {"city": QUESTION}}]}  # fmt: skip
    conversation = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTION}]
    assert first.input["messages"] == conversation
    assert first.output["messages"] == [asked]
    assert second.input["messages"] == [*conversation, asked,
                                        {"role": "tool", "content": TOOL_RESULT, "tool_call_id": call_id}]  # fmt: skip
    assert second.output == {"messages": [{"role": "assistant", "content": f"Tool said: {TOOL_RESULT}"}],
                             "finish_reason": "stop"}  # fmt: skip
    assert first.input["parameters"] == {"temperature": 0.1}
    assert [t["name"] for t in first.input["tools"]] == ["get_weather"]
    assert first.input["tools"][0]["parameters"]["required"] == ["city"]
    assert (first.model, first.input["model"]) == ("gpt-4o-mini", "gpt-4o-mini")
    assert first.input_tokens and first.output_tokens and second.input_tokens > first.input_tokens


def test_both_instrumentations_of_one_conversation_import_alike(runs: dict[str, str]) -> None:
    """OpenInference's flattened attributes and OpenLLMetry's GenAI JSON attributes: one shape."""

    def facts(span: SpanRecord) -> tuple[Any, ...]:
        output = {**span.output, "finish_reason": None}  # as each library names it: tool_calls / tool_call
        return span.input, output, span.model, span.input_tokens, span.output_tokens, span.status

    openinference = of_kind(one_bundle(runs["openinference_openai"]), "llm_call")
    openllmetry = of_kind(one_bundle(runs["openllmetry_openai"]), "llm_call")
    assert [facts(s) for s in openinference] == [facts(s) for s in openllmetry]


@pytest.mark.parametrize("name", ["openinference_anthropic", "openllmetry_anthropic"])
def test_an_anthropic_client_run_reads_like_the_openai_one(runs: dict[str, str], name: str) -> None:
    """The Messages API's shapes (the system prompt apart, `tool_use` and `tool_result`
    blocks) come out as the same chat messages as the Chat Completions run's."""
    llm_calls = of_kind(one_bundle(runs[name]), "llm_call")
    reference = of_kind(one_bundle(runs["openinference_openai"]), "llm_call")

    def same_ids(value: Any) -> Any:  # the local model names its calls toolu_... here, call_... there
        return json.loads(json.dumps(value).replace('"toolu_', '"call_'))

    assert [same_ids(s.input["messages"]) for s in llm_calls] == [s.input["messages"] for s in reference]
    assert [same_ids(s.output["messages"]) for s in llm_calls] == [s.output["messages"] for s in reference]
    assert [t["name"] for t in llm_calls[0].input["tools"]] == ["get_weather"]
    assert all(s.model == "claude-sonnet-4-5" and s.input_tokens and s.output_tokens for s in llm_calls)


# --- an OpenAI Agents SDK run: two agents, a handoff, a failing tool -------------------------


def test_an_agents_sdk_run_has_its_two_agents_and_the_handoff(runs: dict[str, str]) -> None:
    bundle = one_bundle(runs["openai_agents"])
    assert (bundle.trace.name, bundle.trace.status, bundle.trace.agent_count) == ("Travel desk", "completed", 2)
    agents = {a.name: a for a in bundle.agents}
    assert set(agents) == {"Triage agent", "Weather agent"}  # the workflow span around them is no agent
    assert {a.framework for a in agents.values()} == {"openai_agents"}
    assert agents["Triage agent"].config["system_instructions"] == "Route the user."
    assert agents["Weather agent"].config["tools"] == ["get_weather"]

    (handoff,) = of_kind(bundle, "handoff")
    assert handoff.agent_id == agents["Triage agent"].agent_id
    assert (handoff.input["from_agent"], handoff.input["to_agent"]) == ("Triage agent", "Weather agent")
    by_agent = [(s.agent_id, s.input["messages"][-1]["content"]) for s in of_kind(bundle, "llm_call")]
    assert by_agent[:2] == [(agents["Triage agent"].agent_id, HANDOFF_QUESTION),
                            (agents["Weather agent"].agent_id, '{"assistant": "Weather agent"}')]  # fmt: skip


def test_an_agents_sdk_failing_tool_and_its_settings(runs: dict[str, str]) -> None:
    bundle = one_bundle(runs["openai_agents"])
    (tool,) = of_kind(bundle, "tool_call")
    assert tool.status == "error" and "Error running tool" in tool.error
    assert tool.input == {"name": "get_weather", "arguments": {"city": FAILING_QUESTION}}
    assert bundle.trace.status == "completed"  # the agent carried on: the run did not fail
    for llm in of_kind(bundle, "llm_call"):  # the client's base_url is no request parameter
        assert "base_url" not in (llm.input.get("parameters") or {})
        assert '"base_url"' in llm.attributes["llm.invocation_parameters"]  # still in the raw attributes
    assert of_kind(bundle, "llm_call")[2].input["parameters"] == {"temperature": 0.2}


async def test_an_agents_sdk_run_replays_against_the_same_model(db: Database, runs: dict[str, str]) -> None:
    """Import, checkpoint, and re-send the last model call: the deterministic local model
    answers as it did when the run was recorded, and the request carries what was recorded."""
    bundle = one_bundle(runs["openai_agents"])
    await traces.import_bundles(db, [bundle])
    manager = CheckpointManager(db)
    checkpoints = await manager.auto_checkpoint_trace(bundle.trace.trace_id)
    last_llm = of_kind(bundle, "llm_call")[-1]
    (checkpoint,) = [c for c in checkpoints if (await manager.get_checkpoint(c)).span_id == last_llm.span_id]
    state = await manager.restore(checkpoint)
    recorded = last_llm.input["messages"][-1]  # what the SDK gave the model for the failed tool
    asked = of_kind(bundle, "llm_call")[2].output["messages"][0]["tool_calls"][0]
    assert (recorded["role"], recorded["tool_call_id"]) == ("tool", asked["id"])
    assert {k: state["messages"][-1][k] for k in recorded} == recorded  # the state says the same

    with OpenAIServer() as server:
        result = await ReplayExecutor(manager, db).replay(
            checkpoint, ReplayConfig(executor="openai", base_url=server.base_url)
        )
    assert result.success, result.error
    (request,) = server.requests
    assert "base_url" not in request.body
    assert request.body["model"] == "gpt-4o-mini"
    assert request.body["messages"][-1] == {"role": "tool", "tool_call_id": last_llm.input["messages"][-1]["tool_call_id"],
                                            "content": last_llm.input["messages"][-1]["content"]}  # fmt: skip
    assert result.replay_output["messages"] == last_llm.output["messages"]


# --- a Pydantic AI agent, instrumented by Pydantic AI ---------------------------------------


def test_a_pydantic_ai_run_reads_like_the_same_conversation_elsewhere(runs: dict[str, str]) -> None:
    bundle = one_bundle(runs["pydantic_ai"])
    (agent,) = bundle.agents
    assert (agent.name, agent.framework, agent.model) == ("weather_agent", "pydantic_ai", "gpt-4o-mini")
    assert agent.config == {"system_instructions": SYSTEM, "tools": ["get_weather"]}
    assert {s.agent_id for s in bundle.spans} == {agent.agent_id}

    reference = of_kind(one_bundle(runs["openinference_openai"]), "llm_call")
    llm_calls = of_kind(bundle, "llm_call")
    assert [s.input["messages"] for s in llm_calls] == [s.input["messages"] for s in reference]
    assert [s.output["messages"] for s in llm_calls] == [s.output["messages"] for s in reference]
    (tool,) = of_kind(bundle, "tool_call")
    call_id = llm_calls[0].output["messages"][0]["tool_calls"][0]["id"]
    assert tool.input == {"name": "get_weather", "arguments": {"city": QUESTION}, "call_id": call_id}
    assert tool.output == {"result": TOOL_RESULT}
    costs = [s.cost_usd for s in llm_calls]  # Pydantic AI prices each call (`operation.cost`)
    assert all(c and c > 0 for c in costs)
    assert bundle.trace.total_cost_usd == pytest.approx(sum(costs))


# --- OpenLLMetry's decorators (a recording: see scripts/record_openllmetry_trace.py) ---------


def test_an_openllmetry_decorated_run_has_its_agent_and_tool(runs: dict[str, str]) -> None:
    bundle = one_bundle((Path(__file__).parent / "data" / "openllmetry_decorators.json").read_text())
    (agent,) = bundle.agents
    assert (agent.name, agent.model) == ("weather_agent", "gpt-4o-mini")
    workflow, agent_span = bundle.spans[:2]
    assert (workflow.kind, workflow.agent_id, agent_span.kind) == (None, None, "agent_message")
    assert agent_span.input == {"args": [QUESTION], "kwargs": {}}  # as the decorator recorded the call
    assert {s.agent_id for s in bundle.spans[1:]} == {agent.agent_id}

    (tool,) = of_kind(bundle, "tool_call")
    assert tool.input == {"name": "get_weather", "arguments": {"city": QUESTION}}  # the keyword arguments
    assert tool.output == {"result": {"city": QUESTION, "forecast": TOOL_RESULT}}
    first, second = of_kind(bundle, "llm_call")
    reference = of_kind(one_bundle(runs["openinference_openai"]), "llm_call")[0]
    assert (first.input["messages"], first.output["messages"]) == (reference.input["messages"], reference.output["messages"])

    # the tool span records no call id: its result still answers the model's call
    (state,) = build_states(bundle, [second.span_id])
    asked = first.output["messages"][0]["tool_calls"][0]["id"]
    assert state.messages[-1]["role"] == "tool" and state.messages[-1]["tool_call_id"] == asked
