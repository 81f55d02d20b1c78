"""The openai executor against a real local HTTP server speaking Chat Completions."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from openai_server import OpenAIServer  # noqa: E402

from agenttrace_replay.errors import ExecutorError, ExitCode  # noqa: E402
from agenttrace_replay.executors import get_executor  # noqa: E402

KEY_ENV = "AGENTTRACE_TEST_OPENAI_KEY"


@pytest.fixture
def server():
    with OpenAIServer() as running:
        yield running


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv(KEY_ENV, "sk-test-123")


def llm_state(**span: Any) -> dict[str, Any]:
    return {
        "checkpoint_id": "chk-1",
        "trace_id": "trace-1",
        "step": 1,
        "span": {"span_id": "s1", "name": "ChatOpenAI", "kind": "llm_call", "model": "gpt-4o",
                 "parent_chain": ["root"], "attributes": {}, **span},
        "agent": {"agent_id": "a1", "name": "assistant", "role": None, "model": "gpt-4o",
                  "framework": "openai", "config": {}},
        "messages": [],
        "input": None,
        "completed": [],
    }


def config(server: OpenAIServer | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "timeout_seconds": 10.0,
        "graph": None,
        "base_url": server.base_url if server else None,
        "api_key_env": KEY_ENV,
        "original_output": None,
        "run_output": None,
        "settings": {},
        **extra,
    }


def run(input: Any, state: dict[str, Any], cfg: dict[str, Any], overrides: Any = None) -> Any:
    return asyncio.run(get_executor("openai")(input, state, cfg, overrides))


HISTORY = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is the weather in Paris?"},
    {"role": "assistant", "content": None,
     "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]},
    {"role": "tool", "content": "rainy, 8 C", "tool_call_id": "call_1", "name": "get_weather"},
]


def test_resends_the_recorded_call_and_normalises_the_answer(server: OpenAIServer) -> None:
    input = {
        "messages": HISTORY,
        "model": "gpt-4o",
        "parameters": {"temperature": 0.7, "max_tokens": 50},
        "tools": [{"name": "get_weather", "description": "Weather for a city",
                   "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                  "required": ["city"]}}],
    }
    result = run(input, llm_state(), config(server))

    assert result["output"] == {
        "messages": [{"role": "assistant", "content": "Tool said: rainy, 8 C"}],
        "finish_reason": "stop",
    }
    assert result["executed"] is True
    assert isinstance(result["tokens"], int) and result["tokens"] > 0

    (request,) = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.headers["Authorization"] == "Bearer sk-test-123"
    body = request.body
    assert body["model"] == "gpt-4o"
    assert body["temperature"] == 0.7 and body["max_tokens"] == 50
    assert body["messages"][0] == {"role": "system", "content": "You are terse."}
    assistant = body["messages"][2]
    assert assistant["tool_calls"] == [{"id": "call_1", "type": "function",
                                        "function": {"name": "get_weather",
                                                     "arguments": '{"city": "Paris"}'}}]
    assert body["messages"][3] == {"role": "tool", "content": "rainy, 8 C",
                                   "tool_call_id": "call_1"}
    assert body["tools"] == [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather for a city",
        "parameters": input["tools"][0]["parameters"]}}]


def test_overrides_replace_model_and_parameters(server: OpenAIServer) -> None:
    input = {"messages": HISTORY[:2], "model": "gpt-4o", "parameters": {"temperature": 0.7}}
    run(input, llm_state(), config(server), {"model": "gpt-4o-mini", "temperature": 0})
    body = server.requests[0].body
    assert body["model"] == "gpt-4o-mini"
    assert body["temperature"] == 0


def test_model_falls_back_to_the_span_model(server: OpenAIServer) -> None:
    run({"messages": HISTORY[:2]}, llm_state(model="recorded-model"), config(server))
    assert server.requests[0].body["model"] == "recorded-model"


def test_query_replaces_the_last_user_message(server: OpenAIServer) -> None:
    input = {"messages": HISTORY[:2], "query": "And in Rome?"}
    result = run(input, llm_state(), config(server))
    sent = server.requests[0].body
    assert sent["messages"][-1] == {"role": "user", "content": "And in Rome?"}
    assert "query" not in sent
    assert result["output"]["messages"][0]["content"] == "Echo: And in Rome?"


def test_tool_call_answers_come_back_with_parsed_arguments(server: OpenAIServer) -> None:
    input = {
        "messages": [{"role": "user", "content": "please use lookup"}],
        "tools": [{"name": "lookup", "parameters": {
            "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}],
    }
    result = run(input, llm_state(), config(server))
    (message,) = result["output"]["messages"]
    assert result["output"]["finish_reason"] == "tool_call"  # the GenAI vocabulary
    assert message["role"] == "assistant" and message["content"] is None
    (call,) = message["tool_calls"]
    assert call["name"] == "lookup"
    assert call["arguments"] == {"q": "please use lookup"}
    assert call["id"].startswith("call_")


def test_http_error_becomes_executor_error_with_status_and_message(server: OpenAIServer) -> None:
    server.fail_next(429, "Rate limit reached for gpt-4o")
    with pytest.raises(ExecutorError) as raised:
        run({"messages": HISTORY[:2]}, llm_state(), config(server))
    text = str(raised.value)
    assert "429" in text and "Rate limit reached for gpt-4o" in text
    assert raised.value.exit_code == ExitCode.EXECUTOR
    assert "\n" not in text


def test_base_url_from_environment(server: OpenAIServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    result = run({"messages": HISTORY[:2]}, llm_state(), config(None))
    assert result["output"]["messages"][0]["content"] == "Echo: What is the weather in Paris?"
    assert len(server.requests) == 1


def test_no_key_is_sent_when_the_variable_is_unset(
    server: OpenAIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    run({"messages": HISTORY[:2]}, llm_state(), config(server))
    assert "Authorization" not in server.requests[0].headers


def test_missing_key_for_the_official_api_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_ENV)
    with pytest.raises(ExecutorError, match=KEY_ENV):
        run({"messages": HISTORY[:2]}, llm_state(), config(None))


def test_only_llm_calls_can_be_resent(server: OpenAIServer) -> None:
    state = llm_state(kind="tool_call")
    with pytest.raises(ExecutorError, match="llm_call"):
        run({"name": "get_weather", "arguments": {"city": "Paris"}}, state, config(server))
    assert server.requests == []


def test_unreachable_server_is_an_executor_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg = config(None, base_url=f"http://127.0.0.1:{port}/v1")
    with pytest.raises(ExecutorError, match="cannot reach"):
        run({"messages": HISTORY[:2]}, llm_state(), cfg)


def test_non_chat_completions_answer_is_an_executor_error(server: OpenAIServer) -> None:
    cfg = config(None, base_url=server.base_url.removesuffix("/v1"))  # wrong path: 404
    with pytest.raises(ExecutorError, match="404"):
        run({"messages": HISTORY[:2]}, llm_state(), cfg)


def test_a_finish_reason_is_given_only_when_the_recording_has_one(server: OpenAIServer) -> None:
    """Some instrumentations (the OpenAI Agents SDK's) record no finish reason: a replay of
    the same answer must not differ from the recording by one it added."""
    input = {"messages": HISTORY[:2]}
    without = run(input, llm_state(), config(server, original_output={"messages": [{"role": "assistant", "content": "x"}]}))
    assert "finish_reason" not in without["output"]
    recorded = {"messages": [{"role": "assistant", "content": "x"}], "finish_reason": "stop"}
    assert run(input, llm_state(), config(server, original_output=recorded))["output"]["finish_reason"] == "stop"


def test_a_recording_that_called_tools_without_their_definitions_is_noted(server: OpenAIServer) -> None:
    called = {"messages": [{"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "name": "lookup", "arguments": {}}]}]}
    result = run({"messages": HISTORY[:2]}, llm_state(), config(server, original_output=called))
    assert "has no tool definitions" in result["note"]
    plain = run({"messages": HISTORY[:2]}, llm_state(), config(server))
    assert "tool definitions" not in plain["note"]
