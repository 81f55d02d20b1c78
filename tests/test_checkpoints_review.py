"""Checkpoints under an adversarial user: defects found in a review, each pinned by a test.

- a restored state must be the reconstructed one as JSON, not only by Python's ``==``
  (which holds ``1 == 1.0 == True``);
- a tool span recorded without its call id still answers its call;
- a span's own outcome stays out of its checkpoint in conventions the importer does not map;
- text from a trace cannot drive the terminal (escape sequences) or break a table row;
- a blank checkpoint name is refused and changes nothing;
- `auto` on a long trace grows linearly in memory (a copy of the history per checkpoint
  made it quadratic: 60,000 spans were killed at 23.7 GB), and its delta encoding restores
  histories that are rewritten as they go exactly.

Real PostgreSQL (the embedded one) and the real OpenTelemetry SDK; nothing is mocked.
"""

from __future__ import annotations

import asyncio
import json
import random
import tracemalloc
from typing import Any

import pytest
from builders import agentic_trace, assistant, long_trace, rewritten_histories, span, user, weather_trace
from otel_traces import otlp_json, recording
from test_checkpoint_cli import cli, seed  # noqa: F401 (cli: the fixture, the app on this test's database)

from agenttrace_replay import traces
from agenttrace_replay.checkpoint import CheckpointManager, checkpoint_id_for
from agenttrace_replay.db import Database, create_pool
from agenttrace_replay.errors import InvalidInput
from agenttrace_replay.records import AgentRecord, TraceBundle, TraceRecord
from agenttrace_replay.state import build_states

WIDTH = "100"
ESC = "\x1b"
CSI = "\x9b"  # the one-byte (C1) form of ESC [


def as_json(value: Any) -> str:
    """Canonical JSON text: where ``True``, ``1`` and ``1.0`` differ, as they do on disk."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


async def load(db: Database, *bundles: TraceBundle) -> None:
    await traces.import_bundles(db, list(bundles))


async def assert_restores_as_json(manager: CheckpointManager, trace_id: str) -> int:
    """Every checkpoint restores to exactly the state reconstructed from the stored trace."""
    bundle = await traces.get_trace(manager.db, trace_id)
    listed = await manager.list_checkpoints(trace_id)
    want = {
        checkpoint_id_for(trace_id, s.span.span_id): s.to_dict(checkpoint_id_for(trace_id, s.span.span_id))
        for s in build_states(bundle, [c.span_id for c in listed])
    }
    for checkpoint in listed:
        assert as_json(await manager.restore(checkpoint.checkpoint_id)) == as_json(want[checkpoint.checkpoint_id]), checkpoint.span_id
    return len(listed)


async def snapshot(db: Database) -> list[tuple[Any, ...]]:
    async with db.acquire() as conn:
        rows = await conn.fetch(f"SELECT checkpoint_id, name, auto, step FROM {db.schema}.checkpoints ORDER BY checkpoint_id")
        counts = [await conn.fetchval(f"SELECT count(*) FROM {db.schema}.{t}") for t in ("blobs", "checkpoint_lists")]
    return [tuple(r) for r in rows] + [tuple(counts)]


# --- restore: values equal in Python but not in JSON --------------------------------------


def lookalike_trace(trace_id: str = "trace-lookalike") -> TraceBundle:
    """Two prompts that repeat one tool call with arguments `1`, then `true`, then `1.0`."""

    def call(value: Any) -> dict[str, Any]:
        return {"id": "c1", "name": "set_flag", "arguments": {"flag": value}}

    prompts = [
        [user("set it"), assistant(None, [call(1)]), user("again")],
        [user("set it"), assistant(None, [call(True)]), user("again"), user("and again")],
        [user("set it"), assistant(None, [call(1.0)]), user("again"), user("and again"), user("once more")],
    ]
    spans = [
        span(trace_id, f"s{i}", "chat", i * 10, i * 10 + 5, kind="llm_call", agent_id="a",
             input={"messages": prompt}, output={"messages": [assistant(f"done {i}")]})
        for i, prompt in enumerate(prompts)
    ]
    return TraceBundle(TraceRecord(trace_id=trace_id), [AgentRecord(agent_id="a", trace_id=trace_id, name="a")], spans)


async def test_restore_keeps_true_1_and_1_0_apart(db: Database) -> None:
    await load(db, lookalike_trace())
    manager = CheckpointManager(db)
    ids = await manager.auto_checkpoint_trace("trace-lookalike")
    flags = []
    for cid in ids:
        restored = await manager.restore(cid)
        flags.append(as_json(restored["input"]["messages"][1]["tool_calls"][0]["arguments"]["flag"]))
    assert flags == ["1", "true", "1.0"]
    assert await assert_restores_as_json(manager, "trace-lookalike") == 3


async def test_restore_as_json_on_a_trace_with_a_parent_ending_after_its_children(db: Database) -> None:
    await load(db, weather_trace())
    manager = CheckpointManager(db)
    await manager.create_checkpoint("trace-weather", "s-agent", name="root")  # a checkpoint on the root span too
    await manager.auto_checkpoint_trace("trace-weather")
    assert await assert_restores_as_json(manager, "trace-weather") == 4
    root = await manager.restore(checkpoint_id_for("trace-weather", "s-agent"))
    assert (root["step"], root["span"]["parent_chain"], root["messages"], root["completed"]) == (0, [], [], [])


# --- long traces and histories that are rewritten ------------------------------------------


@pytest.mark.parametrize("trace_seed", [1, 2, 3])
async def test_restores_of_histories_that_are_rewritten_retried_and_handed_over(db: Database, trace_seed: int) -> None:
    # Lists are encoded as deltas of lists that grow as the run goes on; here the histories
    # are also trimmed, resent, replaced by a retry's result and handed to another agent, and
    # the checkpoints come in several runs, between and against each other, and some go.
    bundle = agentic_trace(trace_seed, 50)
    await load(db, bundle)
    manager = CheckpointManager(db)
    trace_id = bundle.trace.trace_id
    assert rewritten_histories(build_states(await traces.get_trace(db, trace_id))) > 0
    rng = random.Random(trace_seed)
    manual = rng.sample([s.span_id for s in bundle.spans], 8)
    for span_id in manual:
        await manager.create_checkpoint(trace_id, span_id)
    await manager.auto_checkpoint(trace_id, ["tool_call", "handoff"])
    await assert_restores_as_json(manager, trace_id)
    _ids, created = await manager.auto_checkpoint(trace_id)
    assert created >= 40  # the LLM calls that were not picked by hand
    eligible = [s.span.span_id for s in build_states(bundle) if s.span.kind in ("llm_call", "tool_call", "handoff")]
    assert await assert_restores_as_json(manager, trace_id) == len(set(eligible) | set(manual))
    listed = await manager.list_checkpoints(trace_id)
    for checkpoint in rng.sample(listed, 10):
        await manager.delete_checkpoint(checkpoint.checkpoint_id)
    assert await assert_restores_as_json(manager, trace_id) == len(listed) - 10


async def test_auto_memory_grows_linearly_with_the_trace(db: Database) -> None:
    # a copy of the history per checkpoint made memory grow as the square of the steps (the
    # peak went up 3.5 times for twice the steps); sharing the run's lists, 2 times
    peaks = []
    for steps in (1000, 2000):
        trace_id = f"trace-{steps}"
        await load(db, long_trace(steps, trace_id=trace_id, message_bytes=20))
        tracemalloc.start()
        try:
            await CheckpointManager(db).auto_checkpoint(trace_id)
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[1] < 2.6 * peaks[0], peaks


# --- tool results matched to their calls --------------------------------------------------


def _oi_messages(prefix: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, message in enumerate(messages):
        for key, value in message.items():
            if key != "tool_calls":
                out[f"{prefix}.{i}.message.{key}"] = value
                continue
            for j, call in enumerate(value):
                base = f"{prefix}.{i}.message.tool_calls.{j}.tool_call"
                out[f"{base}.id"] = call["id"]
                out[f"{base}.function.name"] = call["name"]
                out[f"{base}.function.arguments"] = json.dumps(call["arguments"])
    return out


def openinference_tools_without_ids() -> str:
    """An OpenInference agent whose model asks for two calls of one tool; the TOOL spans,
    as many instrumentations record them, carry the tool's name and input but no call id,
    and finish in the other order."""
    calls = [{"id": "call_P", "name": "get_weather", "arguments": {"city": "Paris"}},
             {"id": "call_R", "name": "get_weather", "arguments": {"city": "Rome"}}]
    with recording("travel-desk") as (provider, exporter):
        tracer = provider.get_tracer("openinference.instrumentation.openai_agents")
        with tracer.start_as_current_span("Weather agent", attributes={"openinference.span.kind": "AGENT", "agent.name": "Weather agent"}):
            with tracer.start_as_current_span("response", attributes={
                "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
                **_oi_messages("llm.input_messages", [{"role": "user", "content": "Weather in Paris and Rome?"}]),
                **_oi_messages("llm.output_messages", [{"role": "assistant", "tool_calls": calls}]),
            }):
                pass
            for city in ("Rome", "Paris"):
                with tracer.start_as_current_span("get_weather", attributes={
                    "openinference.span.kind": "TOOL", "tool.name": "get_weather", "input.value": json.dumps({"city": city}),
                    "input.mime_type": "application/json", "output.value": f"18C in {city}",
                }):
                    pass
            with tracer.start_as_current_span("response", attributes={
                "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
                **_oi_messages("llm.input_messages", [{"role": "user", "content": "Weather in Paris and Rome?"}]),
            }):
                pass
        return otlp_json(exporter.get_finished_spans())


def test_tool_spans_without_call_ids_answer_their_calls() -> None:
    (bundle,) = traces.parse_text(openinference_tools_without_ids())
    states = build_states(bundle)
    assert all(s.span.input.get("call_id") is None for s in states if s.span.kind == "tool_call")  # as recorded
    last = states[-1]
    assert last.span.kind == "llm_call"
    tools = [m for m in last.messages if m["role"] == "tool"]
    assert [(m["content"], m.get("tool_call_id")) for m in tools] == [("18C in Rome", "call_R"), ("18C in Paris", "call_P")]
    # before the second tool ran, only the first result is there
    second_tool = [s for s in states if s.span.kind == "tool_call"][1]
    assert [m.get("tool_call_id") for m in second_tool.messages if m["role"] == "tool"] == ["call_R"]


def test_a_tool_result_without_an_open_call_stays_unlinked() -> None:
    call = {"id": "c1", "name": "lookup", "arguments": {"q": "x"}}
    spans = [
        span("t", "s1", "chat", 0, 10, kind="llm_call", agent_id="a", input={"messages": [user("q")]},
             output={"messages": [assistant(None, [call])]}),
        span("t", "s2", "lookup", 20, 30, kind="tool_call", agent_id="a", input={"name": "lookup", "arguments": {"q": "x"}},
             output={"result": "first"}),
        # the one call is answered: a second run of the tool answers nothing
        span("t", "s3", "lookup", 40, 50, kind="tool_call", agent_id="a", input={"name": "lookup", "arguments": {"q": "x"}},
             output={"result": "second"}),
        # another tool's name never takes the call
        span("t", "s4", "search", 60, 70, kind="tool_call", agent_id="a", input={"name": "search", "arguments": {}},
             output={"result": "third"}),
        span("t", "s5", "chat", 80, 90, kind="llm_call", agent_id="a", input={"messages": []}, output={"messages": []}),
    ]
    states = build_states(TraceBundle(TraceRecord(trace_id="t"), [], spans))
    tools = [m for m in states[-1].messages if m["role"] == "tool"]
    assert [(m["content"], m.get("tool_call_id")) for m in tools] == [("first", "c1"), ("second", None), ("third", None)]


async def test_linked_tool_results_restore_from_the_database(db: Database) -> None:
    await traces.import_bundles(db, traces.parse_text(openinference_tools_without_ids()))
    async with db.acquire() as conn:
        trace_id = await conn.fetchval(f"SELECT trace_id FROM {db.schema}.traces")
    manager = CheckpointManager(db)
    ids = await manager.auto_checkpoint_trace(trace_id)
    last = await manager.restore(ids[-1])
    assert [m.get("tool_call_id") for m in last["messages"] if m["role"] == "tool"] == ["call_R", "call_P"]
    assert await assert_restores_as_json(manager, trace_id) == len(ids)


# --- a span's own outcome, in conventions the importer does not map -----------------------


def foreign_outcome_attributes() -> str:
    """Pydantic AI writes a tool's result as `tool_response` and the run's answer as
    `final_result` and `pydantic_ai.all_messages`; OpenLLMetry writes `traceloop.entity.output`."""
    answer = "It is 18C and sunny in Paris."
    with recording("weather-bot") as (provider, exporter):
        tracer = provider.get_tracer("pydantic-ai")
        with tracer.start_as_current_span("weather_agent run", attributes={
            "gen_ai.agent.name": "weather_agent", "final_result": answer,
            "pydantic_ai.all_messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": answer}]}]),
        }):
            with tracer.start_as_current_span("chat gpt-4o-mini", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini", "gen_ai.request.choice.count": 1,
                "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "Paris?"}]}]),
                "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [
                    {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]}]),
            }):
                pass
            with tracer.start_as_current_span("running tool", attributes={
                "gen_ai.tool.name": "get_weather", "gen_ai.tool.call.id": "call_1",
                "tool_arguments": '{"city": "Paris"}', "tool_response": "18C and sunny",
            }):
                pass
            with tracer.start_as_current_span("get_weather.tool", attributes={
                "traceloop.span.kind": "tool", "traceloop.entity.name": "get_weather",
                "traceloop.entity.input": '{"city": "Rome"}', "traceloop.entity.output": "RESULT-ROME",
            }):
                pass
        return otlp_json(exporter.get_finished_spans())


async def test_own_outcome_attributes_of_other_conventions_stay_out(db: Database) -> None:
    await traces.import_bundles(db, traces.parse_text(foreign_outcome_attributes()))
    async with db.acquire() as conn:
        trace_id = await conn.fetchval(f"SELECT trace_id FROM {db.schema}.traces")
        spans = {r["name"]: r["span_id"] for r in await conn.fetch(f"SELECT name, span_id FROM {db.schema}.spans")}
    manager = CheckpointManager(db)
    await manager.auto_checkpoint_trace(trace_id)  # the tool_call span gets one
    for name in ("weather_agent run", "get_weather.tool"):
        await manager.create_checkpoint(trace_id, spans[name])

    run = await manager.restore(checkpoint_id_for(trace_id, spans["weather_agent run"]))
    tool = await manager.restore(checkpoint_id_for(trace_id, spans["running tool"]))
    task = await manager.restore(checkpoint_id_for(trace_id, spans["get_weather.tool"]))
    assert "18C" not in as_json(run) and "sunny" not in as_json(run)
    assert "18C and sunny" not in as_json(tool)
    assert "RESULT-ROME" not in as_json(task)
    # what the span knew before it ran is still there
    assert run["span"]["attributes"] == {"gen_ai.agent.name": "weather_agent"}
    assert tool["span"]["attributes"]["tool_arguments"] == '{"city": "Paris"}'
    assert tool["span"]["attributes"]["gen_ai.tool.call.id"] == "call_1"
    assert task["span"]["attributes"]["traceloop.entity.input"] == '{"city": "Rome"}'
    chat = await manager.restore(checkpoint_id_for(trace_id, spans["chat gpt-4o-mini"]))
    assert chat["span"]["attributes"]["gen_ai.request.choice.count"] == 1  # a request attribute: kept
    assert await assert_restores_as_json(manager, trace_id) == 4


# --- the library API: odd arguments --------------------------------------------------------


async def test_auto_kinds_given_as_one_string(db: Database) -> None:
    await load(db, weather_trace())
    manager = CheckpointManager(db)
    only_tools = await manager.auto_checkpoint_trace("trace-weather", kinds="tool_call")
    assert only_tools == [checkpoint_id_for("trace-weather", "s-tool")]
    both = await manager.auto_checkpoint_trace("trace-weather", kinds="tool_call, llm_call")
    assert both == [checkpoint_id_for("trace-weather", s) for s in ("s-llm1", "s-tool", "s-llm2")]
    with pytest.raises(InvalidInput, match="unknown span kind"):
        await manager.auto_checkpoint_trace("trace-weather", kinds="tool")


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
async def test_a_blank_name_is_refused_and_changes_nothing(db: Database, name: str) -> None:
    await load(db, weather_trace())
    manager = CheckpointManager(db)
    await manager.create_checkpoint("trace-weather", "s-tool", name="kept")
    before = await snapshot(db)
    for span_id in ("s-tool", "s-llm2"):  # an existing checkpoint, and a span without one
        with pytest.raises(InvalidInput, match="empty checkpoint name"):
            await manager.create_checkpoint("trace-weather", span_id, name=name)
    assert await snapshot(db) == before
    assert (await manager.get_checkpoint(checkpoint_id_for("trace-weather", "s-tool"))).name == "kept"


# --- the command line -------------------------------------------------------------------------


def db_snapshot(db_url: str) -> list[tuple[Any, ...]]:
    async def go() -> list[tuple[Any, ...]]:
        db = Database(await create_pool(db_url), owned=True)
        try:
            return await snapshot(db)
        finally:
            await db.close()

    return asyncio.run(go())




def hostile_trace(trace_id: str = "trace-hostile") -> TraceBundle:
    """Text a model, a tool or a web page could put in a trace: terminal escape sequences
    (clear the screen, set the window title, C1 CSI), markup, newlines in names."""
    call = {"id": "call_1", "name": f"fetch{ESC}[8m", "arguments": {"url": f"http://x/{ESC}[2J"}}
    page = f"Welcome{ESC}[2J{ESC}]0;owned\x07 [bold]not bold[/bold] {CSI}31m red\rover\x01"
    spans = [
        span(trace_id, "s-agent", f"agent{ESC}[31m run", 0, 1000, kind="agent_message", agent_id="a"),
        span(trace_id, "s-llm1", "chat\nsecond line", 10, 100, kind="llm_call", agent_id="a", parent_span_id="s-agent",
             input={"messages": [{"role": "system", "content": f"be safe{ESC}[5m"}, user(f"read it{CSI}2J")]},
             output={"messages": [assistant(None, [call])]}),
        span(trace_id, "s-tool", f"fetch{ESC}[8m", 110, 200, kind="tool_call", agent_id="a", parent_span_id="s-agent",
             input={"name": f"fetch{ESC}[8m", "arguments": {"url": f"http://x/{ESC}[2J"}, "call_id": "call_1"},
             output={"result": page}),
        span(trace_id, "s-llm2", "chat", 210, 300, kind="llm_call", agent_id="a", parent_span_id="s-agent",
             input={"messages": [user(f"summarise {CSI}2J")], "note": f"del\x7f c1{CSI}"},
             output={"messages": [assistant("done")]}),
    ]
    agents = [AgentRecord(agent_id="a", trace_id=trace_id, name=f"reader{ESC}[1m", role="reads\npages", model="m")]
    return TraceBundle(TraceRecord(trace_id=trace_id, name="hostile"), agents, spans)


CONTROLS = [chr(c) for c in range(0x20) if chr(c) not in "\n"] + [chr(c) for c in range(0x7F, 0xA0)]


def assert_no_controls(text: str) -> None:
    found = sorted({f"{ord(c):02x}" for c in text if c in CONTROLS})
    assert not found, f"control characters reach the terminal: {found}"


def test_text_commands_never_print_control_characters(cli, db_url) -> None:
    seed(db_url, hostile_trace())
    auto = cli("checkpoint", "auto", "trace-hostile")
    assert auto.exit_code == 0, auto.stderr
    created = cli("checkpoint", "create", "trace-hostile", "--span", "s-agent", "--name", f"mine{ESC}[2J\nsecond")
    listed = cli("checkpoint", "list", "trace-hostile")
    shown = [cli("checkpoint", "show", checkpoint_id_for("trace-hostile", s)) for s in ("s-agent", "s-tool", "s-llm2")]
    for result in (auto, created, listed, *shown):
        assert result.exit_code == 0, result.stderr
        assert_no_controls(result.stdout)
    # one line per checkpoint, the escapes shown as text
    assert len(auto.stdout.splitlines()) == 1 + 3
    assert len(listed.stdout.splitlines()) == 1 + 4
    assert "chat\\nsecond line" in listed.stdout or "chat\\nsec" in listed.stdout
    assert "reader\\x1b[1m" in listed.stdout
    assert created.stdout == f"{checkpoint_id_for('trace-hostile', 's-agent')}  step 0  agent_message agent\\x1b[31m run\n"

    root, tool, last = (r.stdout for r in shown)
    assert "name: mine\\x1b[2J\\nsecond" in root
    assert "agent reader\\x1b[1m  role=reads\\npages  model=m" in tool
    for piece in ("Welcome\\x1b[2J\\x1b]0;owned\\x07", "[bold]not bold[/bold]", "\\x9b31m red\\rover\\x01"):
        assert piece in last
    assert "-> fetch\\x1b[8m(" in last
    assert "\\x7f" in last and "\\x9b" in last  # in the input's JSON too: json.dumps leaves DEL and C1 as they are


def test_json_keeps_the_text_exactly(cli, db_url) -> None:
    bundle = hostile_trace()
    seed(db_url, bundle)
    cli("checkpoint", "auto", "trace-hostile")
    result = cli("checkpoint", "show", checkpoint_id_for("trace-hostile", "s-llm2"), "--json")
    assert result.exit_code == 0, result.stderr
    state = json.loads(result.stdout)["state"]
    tool = next(m for m in state["messages"] if m["role"] == "tool")
    assert tool["content"] == bundle.spans[2].output["result"]
    assert state["input"]["note"] == f"del\x7f c1{CSI}"


def test_finished_spans_panel_has_no_blank_last_line(cli, db_url) -> None:
    seed(db_url, weather_trace())
    cli("checkpoint", "auto", "trace-weather")
    out = cli("checkpoint", "show", checkpoint_id_for("trace-weather", "s-llm2")).stdout
    lines = out.splitlines()
    top = next(i for i, line in enumerate(lines) if "finished before it (2 spans)" in line)
    body = [line.strip("│ ").rstrip() for line in lines[top + 1 : -1]]
    assert body == ["llm_call chat gpt-test  ok", "tool_call execute_tool get_weather  ok"]
    assert lines[-1].startswith("╰")


@pytest.mark.parametrize("name", ["", "   "])
def test_create_with_a_blank_name_is_a_usage_error_and_changes_nothing(cli, db_url, name: str) -> None:
    seed(db_url, weather_trace())
    cli("checkpoint", "create", "trace-weather", "--span", "s-tool", "--name", "kept")
    before = db_snapshot(db_url)
    for span_id in ("s-tool", "s-llm2"):
        result = cli("checkpoint", "create", "trace-weather", "--span", span_id, "--name", name, "--json")
        assert result.exit_code == 2
        assert result.stdout == ""
        assert result.stderr.startswith("error: empty checkpoint name.")
        assert len(result.stderr.splitlines()) == 1
    assert db_snapshot(db_url) == before


def test_trace_and_replay_views_never_print_control_characters(cli, db_url, registered) -> None:
    bundle = hostile_trace()
    bundle.trace.name = f"hostile{ESC}]0;owned\x07 run\nline two"
    bundle.spans[2].status, bundle.spans[2].error = "error", f"HTTP 500{ESC}[2J\r"
    seed(db_url, bundle)

    def fails(input, state, config, overrides=None):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"upstream said {ESC}[2J{CSI}31m")

    cli("checkpoint", "auto", "trace-hostile")
    replay = cli("replay", "run", checkpoint_id_for("trace-hostile", "s-llm2"), "--executor", registered("fails", fails))
    assert replay.exit_code == 5, replay.stderr
    results = [replay, cli("trace", "list"), cli("trace", "show", "trace-hostile"), cli("replay", "list", "trace-hostile")]
    for result in results[1:]:
        assert result.exit_code == 0, result.stderr
    for result in results:
        assert_no_controls(result.stdout)
    assert "hostile\\x1b]0;owned\\x07 run\\nline two" in results[2].stdout
    assert "HTTP 500\\x1b[2J\\r" in results[2].stdout and "upstream said \\x1b[2J\\x9b31m" in replay.stdout
