"""The langgraph executor on the real ReAct graph of tests/agents/react_graph.py.

States are written by hand in the shape a checkpoint restores (docs/executors.md); the
recorded run they describe is produced by really running the graph once.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import types
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from agents import react_graph  # noqa: E402
from langchain_core.messages import SystemMessage, messages_to_dict  # noqa: E402
from langgraph.graph import START, MessagesState, StateGraph  # noqa: E402
from langgraph.prebuilt import ToolNode, tools_condition  # noqa: E402

from agenttrace_replay.errors import ExecutorError  # noqa: E402
from agenttrace_replay.executors import get_executor  # noqa: E402

GRAPH = "agents.react_graph:graph"
QUESTION = "What is the weather in Paris?"


class CountingModel(react_graph.DeterministicChatModel):
    """The deterministic model, remembering every conversation it was asked to continue."""

    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        CALLS.append([m.type for m in messages])
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


class SlowModel(react_graph.DeterministicChatModel):
    def _generate(self, messages, stop=None, run_manager=None, **kwargs):  # type: ignore[override]
        time.sleep(2)
        return super()._generate(messages, stop=stop, run_manager=run_manager, **kwargs)


CALLS: list[list[str]] = []
PROMPT = "Answer in one sentence."


def build_prompted_graph(model: Any) -> Any:
    """The ReAct graph, except that the agent node adds a system prompt outside the state."""
    llm = model.bind_tools(react_graph.TOOLS)

    def agent(state: MessagesState) -> dict[str, Any]:
        return {"messages": [llm.invoke([SystemMessage(PROMPT), *state["messages"]])]}

    builder = StateGraph(MessagesState)
    builder.add_node("agent", agent)
    builder.add_node("tools", ToolNode(react_graph.TOOLS))
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", tools_condition)
    builder.add_edge("tools", "agent")
    return builder.compile()


@pytest.fixture
def counting_graph(monkeypatch: pytest.MonkeyPatch) -> str:
    """A module `replay_test_graphs` holding graphs built with instrumented models."""
    module = types.ModuleType("replay_test_graphs")
    module.graph = react_graph.build_graph(model=CountingModel())
    module.slow = react_graph.build_graph(model=SlowModel())
    module.not_a_graph = {"nodes": []}
    module.prompted = build_prompted_graph(CountingModel())
    module.builder = build_prompted_graph(CountingModel()).builder
    monkeypatch.setitem(sys.modules, "replay_test_graphs", module)
    CALLS.clear()
    return "replay_test_graphs:graph"


@pytest.fixture(scope="module")
def recorded_run() -> dict[str, Any]:
    """The root output of a real run, as OpenInference records it (message_to_dict form)."""
    final = react_graph.graph.invoke({"messages": [("user", QUESTION)]})
    return {"messages": messages_to_dict(final["messages"])}


def make_state(kind: str, node: str | None, messages: list[dict[str, Any]], input: Any,
               agent_config: dict[str, Any] | None = None) -> dict[str, Any]:
    metadata = {"langgraph_node": node, "langgraph_step": 1} if node else {}
    return {
        "checkpoint_id": "chk-1",
        "trace_id": "trace-1",
        "step": 2,
        "span": {"span_id": "span-1", "name": "DeterministicChatModel", "kind": kind,
                 "model": react_graph.MODEL_NAME, "parent_chain": ["root", "node"],
                 "attributes": {"metadata": json.dumps(metadata)}},
        "agent": {"agent_id": "agent-1", "name": "LangGraph", "role": None,
                  "model": react_graph.MODEL_NAME, "framework": "langgraph",
                  "config": agent_config or {}},
        "messages": messages,
        "input": input,
        "completed": [],
    }


def make_config(graph: str | None = GRAPH, run_output: Any = None, **extra: Any) -> dict[str, Any]:
    return {"timeout_seconds": 30.0, "graph": graph, "base_url": None,
            "api_key_env": "OPENAI_API_KEY", "original_output": None,
            "run_output": run_output, "settings": {}, **extra}


def replay(input: Any, state: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    return asyncio.run(get_executor("langgraph")(input, state, config))


USER = {"role": "user", "content": QUESTION}
ASK_TOOL = {"role": "assistant", "content": None,
            "tool_calls": [{"id": "call_paris", "name": "get_weather",
                            "arguments": {"city": "Paris"}}]}
TOOL_RESULT = {"role": "tool", "content": react_graph.get_weather.invoke({"city": "Paris"}),
               "tool_call_id": "call_paris", "name": "get_weather"}


def test_from_the_start_another_city_changes_the_answer(recorded_run: dict[str, Any]) -> None:
    state = make_state("llm_call", "agent", [USER], {"messages": [USER]})
    result = replay({"messages": [USER], "query": "What is the weather in Rome?"}, state,
                    make_config(run_output=recorded_run))

    output = result["output"]
    assert [m["role"] for m in output["messages"]] == ["assistant", "tool", "assistant"]
    assert output["messages"][0]["tool_calls"][0]["arguments"] == {"city": "Rome"}
    assert output["final_answer"] == output["messages"][-1]["content"]
    assert "Rome" in output["final_answer"] and "Paris" not in output["final_answer"]
    assert result["executed"] is True
    assert result["tokens"] > 0

    original = result["original_output"]
    assert [m["role"] for m in original["messages"]] == ["assistant", "tool", "assistant"]
    assert "Paris" in original["final_answer"]
    assert original["messages"][0]["content"] is None  # shapes agree: only the city differs
    assert set(original) == set(output)


def test_unchanged_replay_reproduces_the_recorded_run(recorded_run: dict[str, Any]) -> None:
    state = make_state("llm_call", "agent", [USER], {"messages": [USER]})
    result = replay({"messages": [USER]}, state, make_config(run_output=recorded_run))
    assert result["output"] == result["original_output"]


def test_tool_call_with_new_arguments_resumes_at_the_tools_node(
    counting_graph: str, recorded_run: dict[str, Any]
) -> None:
    recorded_input = {"name": "get_weather", "arguments": {"city": "Paris"},
                      "call_id": "call_paris"}
    state = make_state("tool_call", "tools", [USER, ASK_TOOL], recorded_input)
    result = replay({**recorded_input, "arguments": {"city": "Oslo"}}, state,
                    make_config(counting_graph, run_output=recorded_run))

    output = result["output"]
    assert [m["role"] for m in output["messages"]] == ["tool", "assistant"]  # no new first step
    assert output["messages"][0]["tool_call_id"] == "call_paris"
    assert "Oslo" in output["messages"][0]["content"]
    assert "Oslo" in output["final_answer"]
    assert CALLS == [["human", "ai", "tool"]]  # one model call: after the tool, none before

    original = result["original_output"]
    assert [m["role"] for m in original["messages"]] == ["tool", "assistant"]
    assert "Paris" in original["final_answer"]
    assert "tools" in result["note"]


def test_tool_arguments_recorded_as_a_bare_value_are_fitted_to_the_call(
    counting_graph: str,
) -> None:
    # OpenInference records a one-argument tool's input as just the value ("Paris").
    state = make_state("tool_call", "tools", [USER, ASK_TOOL],
                       {"name": "get_weather", "arguments": "Paris"})
    result = replay({"name": "get_weather", "arguments": "Lisbon"}, state,
                    make_config(counting_graph))
    assert "Lisbon" in result["output"]["messages"][0]["content"]


def test_a_tool_call_without_call_id_is_found_by_name(counting_graph: str) -> None:
    state = make_state("tool_call", "tools", [USER, ASK_TOOL],
                       {"name": "get_weather", "arguments": {"city": "Paris"}})
    result = replay({"name": "get_weather", "arguments": {"city": "Seoul"}}, state,
                    make_config(counting_graph))
    assert "Seoul" in result["output"]["final_answer"]
    assert len(CALLS) == 1


def test_a_tool_call_missing_from_the_history_is_an_error(counting_graph: str) -> None:
    state = make_state("tool_call", "tools", [USER], {"name": "get_weather", "arguments": {}})
    with pytest.raises(ExecutorError, match="no assistant message calling tool 'get_weather'"):
        replay(state["input"], state, make_config(counting_graph))
    assert CALLS == []


def test_llm_call_after_a_tool_resumes_mid_run(counting_graph: str) -> None:
    changed = {**TOOL_RESULT, "content": "It is snowing heavily in Paris."}
    state = make_state("llm_call", "agent", [USER, ASK_TOOL, TOOL_RESULT],
                       {"messages": [USER, ASK_TOOL, TOOL_RESULT]})
    result = replay({"messages": [USER, ASK_TOOL, changed]}, state,
                    make_config(counting_graph))
    assert result["output"] == {
        "messages": [{"role": "assistant",
                      "content": "Here is what I found: It is snowing heavily in Paris."}],
        "final_answer": "Here is what I found: It is snowing heavily in Paris.",
    }
    assert CALLS == [["human", "ai", "tool"]]
    assert "after 'tools'" in result["note"]


def test_a_prompt_added_by_the_node_is_not_added_twice(counting_graph: str) -> None:
    final = build_prompted_graph(react_graph.DeterministicChatModel()).invoke(
        {"messages": [("user", QUESTION)]}
    )
    run_output = {"messages": messages_to_dict(final["messages"])}
    system = {"role": "system", "content": PROMPT}
    recorded = {"messages": [system, USER, ASK_TOOL, TOOL_RESULT]}  # what the model saw
    state = make_state("llm_call", "agent", [system, USER, ASK_TOOL, TOOL_RESULT], recorded)
    result = replay(recorded, state,
                    make_config("replay_test_graphs:prompted", run_output=run_output))
    assert CALLS == [["system", "human", "ai", "tool"]]
    assert result["output"] == result["original_output"]


def test_graph_path_may_come_from_the_agent_config(counting_graph: str) -> None:
    state = make_state("llm_call", "agent", [USER], {"messages": [USER]},
                       agent_config={"graph": counting_graph})
    result = replay({"messages": [USER]}, state, make_config(None))
    assert "Paris" in result["output"]["final_answer"]
    assert len(CALLS) == 2


def test_a_graph_factory_is_called() -> None:
    state = make_state("llm_call", "agent", [USER], {"messages": [USER]})
    result = replay({"messages": [USER]}, state, make_config("agents.react_graph:build_graph"))
    assert "Paris" in result["output"]["final_answer"]


def test_a_file_path_and_an_uncompiled_builder_are_accepted(counting_graph: str) -> None:
    state = make_state("llm_call", "agent", [USER], {"messages": [USER]})
    file = Path(react_graph.__file__)
    result = replay({"messages": [USER]}, state, make_config(f"{file}:graph"))
    assert "Paris" in result["output"]["final_answer"]
    result = replay({"messages": [USER]}, state, make_config("replay_test_graphs:builder"))
    assert "Paris" in result["output"]["final_answer"]


def test_run_is_cancellable_by_the_callers_timeout(counting_graph: str) -> None:
    state = make_state("llm_call", "agent", [USER], {"messages": [USER]})
    executor = get_executor("langgraph")
    cfg = make_config("replay_test_graphs:slow")

    async def main() -> float:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(executor({"messages": [USER]}, state, cfg), timeout=0.2)
        return time.monotonic() - started  # control is back before the 2 s model call ends

    assert asyncio.run(main()) < 1.5


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("nope_missing.agent:graph",
         "cannot import graph 'nope_missing.agent:graph': No module named 'nope_missing'"),
        ("agents.react_graph:no_such_graph", "has no attribute 'no_such_graph'"),
        ("agents.react_graph:MODEL_NAME", "is a str, not a compiled LangGraph graph"),
        ("replay_test_graphs:not_a_graph", "is a dict, not a compiled LangGraph graph"),
        ("agents.react_graph", "not of the form module:attr"),
    ],
)
def test_bad_graph_paths_are_executor_errors(
    path: str, expected: str, counting_graph: str
) -> None:
    state = make_state("llm_call", "agent", [USER], {"messages": [USER]})
    with pytest.raises(ExecutorError) as raised:
        replay({"messages": [USER]}, state, make_config(path))
    assert expected in str(raised.value)
    assert "\n" not in str(raised.value)


def test_no_graph_anywhere_says_to_pass_graph() -> None:
    state = make_state("llm_call", "agent", [USER], {"messages": [USER]})
    with pytest.raises(ExecutorError, match="--graph module:attr"):
        replay({"messages": [USER]}, state, make_config(None))


def test_a_node_the_graph_lacks_is_an_error() -> None:
    state = make_state("llm_call", "planner", [USER], {"messages": [USER]})
    with pytest.raises(ExecutorError, match="node 'planner'.*agent, tools"):
        replay({"messages": [USER]}, state, make_config())


def test_states_rebuilt_from_a_real_openinference_trace_replay_correctly() -> None:
    """The whole path: an instrumented run, the OTLP importer, the state builder, replay."""
    from otel_traces import langgraph_trace

    from agenttrace_replay.importers import parse_otlp
    from agenttrace_replay.state import build_states

    (bundle,) = parse_otlp(langgraph_trace())
    root = next(s for s in bundle.spans if s.parent_span_id is None)
    states = {s.span.span_id: s.to_dict("chk") for s in build_states(bundle)}
    tool_span = next(s for s in bundle.spans if s.kind == "tool_call")
    state = states[tool_span.span_id]
    config = make_config(run_output=root.output, original_output=tool_span.output)

    result = replay({**state["input"], "arguments": {"city": "Tokyo"}}, state, config)

    assert [m["role"] for m in result["output"]["messages"]] == ["tool", "assistant"]
    assert "Tokyo" in result["output"]["final_answer"]
    assert "Paris" in result["original_output"]["final_answer"]
    assert [m["role"] for m in result["original_output"]["messages"]] == ["tool", "assistant"]
