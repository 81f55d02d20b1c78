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


def agentic_trace(seed: int, steps: int = 60, trace_id: str = "trace-agentic") -> TraceBundle:
    """A random two-agent run whose histories are not append-only: prompts that record only
    the new turn, resend the whole conversation, trim it, drop its system message or are
    empty; tool calls with and without call ids, failed calls and their retries, handoffs made
    by calling a tool, tools that run side by side, and agent spans that end after their
    children. Arguments repeat as ``1``, ``True`` and ``1.0`` (equal in Python, not in JSON)."""
    import random

    rng = random.Random(seed)
    spans: list[SpanRecord] = []
    seen: dict[str, list[dict]] = {"a": [SYSTEM], "b": [{"role": "system", "content": "You are agent b."}]}
    agent, t, n = "a", 0, 0

    def add(name: str, start: float, end: float | None, **kw) -> str:
        nonlocal n
        n += 1
        sid = f"x{n:04d}"
        spans.append(span(trace_id, sid, name, start, end, agent_id=agent, **kw))
        return sid

    root = add(f"invoke_agent {agent}", 0, None, kind="agent_message", input={"value": "go"})
    for step in range(steps):
        history = seen[agent]
        turn = user(f"turn {step} of {agent}")
        style = rng.choice(["new", "new", "full", "full", "trim", "nosys", "empty"])
        prompt = {
            "new": [turn],
            "full": [*history, turn],
            "trim": [history[0], *history[-rng.randrange(1, 4):], turn],
            "nosys": [*history[1:], turn],
            "empty": [],
        }[style]
        history.extend(prompt if style == "new" else [turn] if style != "empty" else [])
        calls = [
            {"id": f"c{step}-{k}", "name": rng.choice(["lookup", "fetch"]), "arguments": {"q": rng.choice([1, True, 1.0, "x"])}}
            for k in range(rng.choice([0, 1, 1, 2]))
        ]
        handoff = rng.random() < 0.15
        if handoff:
            calls.append({"id": f"h{step}", "name": "transfer_to_other", "arguments": {}})
        reply = assistant(None if calls else f"answer {step}", calls or None)
        add("chat", t, t + 5, kind="llm_call", parent_span_id=root, model="m",
            input={"messages": prompt, "model": "m"}, output={"messages": [reply], "finish_reason": "stop"})
        history.append(reply)
        t += 10
        side_by_side = len(calls) > 1 and rng.random() < 0.5
        for call in calls:
            if call["name"] == "transfer_to_other":
                add("transfer_to_other", t, t + 2, kind="handoff", parent_span_id=root,
                    input={"name": call["name"], "arguments": {}, "call_id": call["id"]}, output={"agent": "other"})
                continue
            call_id = call["id"] if rng.random() < 0.6 else None
            inp = {"name": call["name"], "arguments": call["arguments"], **({"call_id": call_id} if call_id else {})}
            fails = rng.random() < 0.3
            add(call["name"], t, t + 5, kind="tool_call", parent_span_id=root, input=inp,
                status="error" if fails else "ok", error="HTTP 503" if fails else None,
                output=None if fails else {"result": f"result of {call['id']}"})
            if fails and rng.random() < 0.7:
                t += 6
                add(call["name"], t, t + 5, kind="tool_call", parent_span_id=root, input=dict(inp),
                    output={"result": f"retried {call['id']}"})
            history.append({"role": "tool", "content": f"result of {call['id']}", "tool_call_id": call["id"], "name": call["name"]})
            t += 1 if side_by_side else 10
        t += 10
        if handoff:
            spans[[s.span_id for s in spans].index(root)].end_time = at(t)
            agent = "b" if agent == "a" else "a"
            root = add(f"invoke_agent {agent}", t, None, kind="agent_message", input={"value": "handed over"})
            t += 1
    spans[[s.span_id for s in spans].index(root)].end_time = at(t)
    trace = TraceRecord(trace_id=trace_id, name="agentic", start_time=at(0), end_time=at(t), agent_count=2)
    agents = [AgentRecord(agent_id=a, trace_id=trace_id, name=a, model="m") for a in ("a", "b")]
    return TraceBundle(trace, agents, spans)


def rewritten_histories(states: list) -> int:
    """How many states hold a history that is not the same agent's previous one extended."""
    last: dict = {}
    count = 0
    for state in states:
        before = last.get(state.span.agent_id)
        count += before is not None and state.messages[: len(before)] != before
        last[state.span.agent_id] = state.messages
    return count
