"""Small hand-built traces for checkpoint and replay tests (records, not OTLP)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from agenttrace_replay.records import AgentRecord, SpanRecord, TraceBundle, TraceRecord

T0 = datetime(2026, 11, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(ms: float) -> datetime:
    return T0 + timedelta(milliseconds=ms)


def span(trace_id: str, span_id: str, name: str, start: float, end: float | None, **kw) -> SpanRecord:
    return SpanRecord(span_id=span_id, trace_id=trace_id, name=name, start_time=at(start),
                      end_time=at(end) if end is not None else None, **kw)


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def assistant(text: str | None, tool_calls: list | None = None) -> dict:
    msg = {"role": "assistant", "content": text}
    if tool_calls:
        msg["tool_calls"] = tool_calls
    return msg


SYSTEM = {"role": "system", "content": "You are a weather assistant."}


def weather_trace(trace_id: str = "trace-weather") -> TraceBundle:
    """An agent span that ends AFTER its children: LLM -> tool -> LLM, all under one agent span.

    The agent span's output (the final answer) must never appear in a child's checkpoint.
    """
    call = {"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
    q = user("What's the weather in Paris?")
    spans = [
        span(trace_id, "s-agent", "invoke_agent weather", 0, 1000, kind="agent_message", agent_id="agent-weather",
             input={"value": "What's the weather in Paris?"}, output={"value": "FINAL: sunny in Paris"}),
        span(trace_id, "s-llm1", "chat gpt-test", 10, 100, kind="llm_call", agent_id="agent-weather", parent_span_id="s-agent",
             model="gpt-test", input_tokens=20, output_tokens=5,
             input={"messages": [SYSTEM, q], "model": "gpt-test"},
             output={"messages": [assistant(None, [call])], "finish_reason": "tool_calls"}),
        span(trace_id, "s-tool", "execute_tool get_weather", 110, 200, kind="tool_call", agent_id="agent-weather",
             parent_span_id="s-agent", input={"name": "get_weather", "arguments": {"city": "Paris"}, "call_id": "call_1"},
             output={"result": "sunny, 21C"}),
        span(trace_id, "s-llm2", "chat gpt-test", 210, 300, kind="llm_call", agent_id="agent-weather", parent_span_id="s-agent",
             model="gpt-test", input_tokens=30, output_tokens=8,
             input={"messages": [SYSTEM, q, assistant(None, [call]),
                                 {"role": "tool", "content": "sunny, 21C", "tool_call_id": "call_1", "name": "get_weather"}],
                    "model": "gpt-test"},
             output={"messages": [assistant("It is sunny in Paris, 21C.")], "finish_reason": "stop"}),
    ]
    trace = TraceRecord(trace_id=trace_id, name="weather", start_time=at(0), end_time=at(1000), status="completed",
                        total_tokens=63, total_latency_ms=1000.0, agent_count=1)
    agents = [AgentRecord(agent_id="agent-weather", trace_id=trace_id, name="weather", role="answers weather questions",
                          model="gpt-test", framework=None, config={"tools": ["get_weather"]})]
    return TraceBundle(trace, agents, spans)


def long_trace(steps: int, trace_id: str = "trace-long", message_bytes: int = 1000) -> TraceBundle:
    """``steps`` LLM calls; each adds a ~``message_bytes`` user turn (inputs record only new turns)."""
    spans = []
    for i in range(steps):
        text = f"step {i}: " + ("lorem ipsum dolor sit amet " * (message_bytes // 27 + 1))[:message_bytes]
        spans.append(span(trace_id, f"s{i:05d}", "chat", i * 10, i * 10 + 5, kind="llm_call", agent_id="a",
                          model="m", input={"messages": [user(text)]},
                          output={"messages": [assistant(f"ok {i}")], "finish_reason": "stop"}))
    trace = TraceRecord(trace_id=trace_id, name="long", start_time=at(0), end_time=at(steps * 10), agent_count=1)
    return TraceBundle(trace, [AgentRecord(agent_id="a", trace_id=trace_id, name="a", model="m")], spans)
