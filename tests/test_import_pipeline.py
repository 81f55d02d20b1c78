"""The streaming import: payloads worked out while the spans are written, a message cache.

`parse_text(..., pending=True)` leaves each OTLP span's input and output to be computed while
`import_bundles` copies the spans in batches. These tests hold that to the same results as
the plain path, on a real PostgreSQL, including a failure half-way through the batches.
"""

from __future__ import annotations

import json
import random
from typing import Any

import otel_traces  # tests/ is on sys.path (conftest.py)
import pytest

from agenttrace_replay import traces
from agenttrace_replay.db import Database
from agenttrace_replay.errors import InvalidInput
from agenttrace_replay.importers import messages as msg
from agenttrace_replay.importers import parse_otlp
from agenttrace_replay.importers.native import dumps

TRACE_ID = "5b8aa5a2d2c872e8321cf37308d69df2"
ROOT = "a1b2c3d4e5f60718"
START = 1_767_225_600_000_000_000


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": value}}


def _span(span_id: str, name: str, step: int, attrs: dict[str, Any], parent: str | None = ROOT) -> dict[str, Any]:
    return {"traceId": TRACE_ID, "spanId": span_id, "parentSpanId": parent or "", "name": name, "kind": 1,
            "startTimeUnixNano": str(START + step * 1_000_000), "endTimeUnixNano": str(START + step * 1_000_000 + 500_000),
            "attributes": [_attr(k, v) for k, v in attrs.items()]}  # fmt: skip


def agent_run(steps: int, *, tool_first: bool = False, bad_step: int | None = None) -> str:
    """An agent span over `steps` model calls, each asking for a tool that then runs.

    Every model call repeats the conversation so far (what the message cache is for). With
    `tool_first`, each tool span starts before the model call that asked for it, so its
    arguments can only be filled in once that later call has been read. `bad_step` puts a
    NUL character, which PostgreSQL refuses, into that tool's result.
    """
    rng = random.Random(steps)
    history: list[dict[str, Any]] = [{"role": "user", "parts": [{"type": "text", "content": "Where is my parcel?"}]}]
    spans = [_span(ROOT, "invoke_agent courier", 0, {"gen_ai.operation.name": "invoke_agent",
                                                     "gen_ai.agent.name": "courier"}, parent=None)]  # fmt: skip
    for step in range(steps):
        call = {"type": "tool_call", "id": f"call_{step}", "name": "track", "arguments": {"parcel": f"P{step}"}}
        output = [{"role": "assistant", "parts": [{"type": "text", "content": f"Looking up P{step}."}, call],
                   "finish_reason": "tool_call"}]  # fmt: skip
        llm_at, tool_at = (2 * step + 2, 2 * step + 1) if tool_first else (2 * step + 1, 2 * step + 2)
        spans.append(_span(f"{2 * step + 1:016x}", "chat gpt-4o", llm_at, {
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.agent.name": "courier",
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "Be brief."}]),
            "gen_ai.input.messages": json.dumps(history[-6:] if rng.random() < 0.5 else history),
            "gen_ai.output.messages": json.dumps(output),
            "gen_ai.usage.input_tokens": 100 + step, "gen_ai.usage.output_tokens": 10,
        }))  # fmt: skip
        result = {"status": "in transit", "hub": "a\x00b" if step == bad_step else f"hub {rng.randint(1, 9)}"}
        spans.append(_span(f"{2 * step + 2:016x}", "execute_tool track", tool_at, {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "track", "gen_ai.tool.call.id": f"call_{step}",
            "input.value": f"P{step}",  # only the raw input: the arguments object comes from the model's call
            "gen_ai.tool.call.result": json.dumps(result),
        }))  # fmt: skip
        history += [{"role": "assistant", "parts": output[0]["parts"]},
                    {"role": "tool", "parts": [{"type": "tool_call_response", "id": f"call_{step}", "response": result}]}]  # fmt: skip
    return json.dumps({"resourceSpans": [{"resource": {"attributes": [_attr("service.name", "courier")]},
                                          "scopeSpans": [{"scope": {"name": "test"}, "spans": spans}]}]})  # fmt: skip


def documents() -> dict[str, str]:
    return {
        **otel_traces.sdk_documents(),
        "agent_run": agent_run(40),
        "tool_first": agent_run(40, tool_first=True),
    }


# --- the message cache ---------------------------------------------------------------------


def _uncached(raw: Any, role: str) -> list[dict[str, Any]]:
    assert msg._CACHE.get() is None
    return msg.normalise_messages(raw, role)


def _message_texts() -> list[str]:
    """Every message-list attribute of the fixture traces, plus odd shapes the cache must pass on."""
    texts = []
    for document in documents().values():
        for resource in json.loads(document)["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                for span in scope["spans"]:
                    for attr in span.get("attributes", []):
                        value = attr["value"].get("stringValue")
                        if value and value.lstrip()[:1] in "[{":
                            texts.append(value)
    return texts + [
        '[["user", "hi"], ["assistant", "hello"]]',  # LangChain pairs: the general path
        '["user", "hi"]',
        '[{"role": "user", "content": "a"}, "plain text", {"role": "ai", "content": "b"}]',
        '[{"role": "user", "content": "a"}, {"role": "user", "content": "a"}]',  # the same text twice
        '[{"role": "tool", "content": "42", "tool_call_id": "c1"}, {"lc": 1, "id": ["AIMessage"], "kwargs": {"content": "x"}}]',
        '[{"role": "user", "content": NaN}]',  # not JSON: stays text on both paths
        '[ {"role" : "user", "content": "spaced"} ]',
        "[]",
        '{"messages": [{"role": "user", "content": "wrapped"}]}',
    ]


def test_the_message_cache_changes_no_result() -> None:
    texts = _message_texts()
    assert len(texts) > 30
    calls = [(text, role) for role in ("user", "assistant") for text in texts]  # roles share one cache
    expected = [_uncached(text, role) for text, role in calls]
    cache: dict[Any, Any] = {}
    with msg.message_cache(cache):
        first = [msg.normalise_messages(text, role) for text, role in calls]
        again = [msg.normalise_messages(text, role) for text, role in reversed(calls)][::-1]  # now cached
    assert first == expected and again == expected
    assert cache  # it was used
    instructions = [t for t in texts if '"type": "text"' in t] + ["plain words", '"quoted"', "", '{"a": 1}']
    plain = [msg.system_message(text) for text in instructions]
    with msg.message_cache(cache):
        assert [msg.system_message(text) for text in instructions * 2] == plain * 2


def test_a_message_is_normalised_once_per_trace() -> None:
    calls = 0
    original = msg.normalise_message

    def counting(raw: Any, default_role: str = "user") -> list[dict[str, Any]]:
        nonlocal calls
        calls += 1
        return original(raw, default_role)

    msg.normalise_message = counting  # type: ignore[assignment]
    try:
        (bundle,) = parse_otlp(agent_run(30))
    finally:
        msg.normalise_message = original  # type: ignore[assignment]
    sent = sum(len(s.input["messages"]) for s in bundle.spans if s.kind == "llm_call")
    assert sent > 400  # each model call repeats the conversation so far ...
    assert calls < 200  # ... but each distinct message (1 + 2 per step) and each reply is read once


# --- pending bundles -----------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(documents()))
def test_pending_bundles_complete_to_what_the_plain_path_gives(name: str) -> None:
    document = documents()[name]
    plain = parse_otlp(document)
    pending = parse_otlp(document, pending=True)
    assert all(b.pending is not None for b in pending)
    streamed = []
    for bundle in pending:
        order = [span.span_id for span in bundle.completing()]
        assert sorted(order) == sorted(s.span_id for s in bundle.spans)  # each span exactly once
        streamed.append(bundle)
    assert streamed == plain
    assert dumps(streamed) == dumps(plain)


def test_a_tool_span_before_its_model_call_still_gets_the_arguments() -> None:
    (bundle,) = parse_otlp(agent_run(5, tool_first=True), pending=True)
    order = [span for span in bundle.completing()]
    tools = [s for s in bundle.spans if s.kind == "tool_call"]
    assert [t.input["arguments"] for t in tools] == [{"parcel": f"P{i}"} for i in range(5)]
    assert order[-5:] == tools  # they waited for the model calls that came after them
    (agent,) = bundle.agents
    assert agent.config == {"system_instructions": "Be brief.", "tools": ["track"]}


def test_checks_are_made_before_anything_is_pending() -> None:
    document = json.loads(agent_run(3))
    document["resourceSpans"][0]["scopeSpans"][0]["spans"][2]["attributes"].append(_attr("gen_ai.usage.input_tokens", 2**63))
    with pytest.raises(InvalidInput, match=r"tokens must be int .*\(in range\)"):  # beyond 64 bits
        traces.parse_text(json.dumps(document), "big.json", pending=True)


# --- writing pending bundles ---------------------------------------------------------------


async def test_a_streamed_import_stores_what_a_plain_one_does(db: Database) -> None:
    document = agent_run(150, tool_first=True)  # 301 spans: several COPY batches
    steps: list[int] = []
    result = await traces.import_bundles(db, traces.parse_text(document, pending=True), on_spans=steps.append)
    assert result.spans == 301 and sum(steps) == 301 and len(steps) > 1  # progress moves batch by batch
    skipped: list[int] = []
    await traces.import_bundles(db, traces.parse_text(document, pending=True), on_spans=skipped.append)
    assert skipped == [301]  # a trace already there counts as done
    streamed = await traces.export_traces(db, [TRACE_ID])
    await traces.delete_trace(db, TRACE_ID)
    await traces.import_bundles(db, traces.parse_text(document))
    assert await traces.export_traces(db, [TRACE_ID]) == streamed
    stored = await traces.get_trace(db, TRACE_ID)
    assert stored.agents[0].config["tools"] == ["track"]


@pytest.mark.parametrize("bad_step", [1, 140])
async def test_a_row_refused_in_any_batch_rolls_the_whole_file_back(db: Database, bad_step: int) -> None:
    other = traces.parse_text(otel_traces.openinference_trace(), pending=True)
    bundles = other + traces.parse_text(agent_run(150, bad_step=bad_step), pending=True)
    with pytest.raises(InvalidInput, match=f"trace {TRACE_ID}: the database refused it"):
        await traces.import_bundles(db, bundles)
    async with db.acquire() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {db.schema}.spans") == 0
        assert await conn.fetchval(f"SELECT count(*) FROM {db.schema}.traces") == 0
    # the connection pool is fine afterwards, and the same file without the bad row goes in
    result = await traces.import_bundles(db, traces.parse_text(agent_run(150), pending=True))
    assert result.spans == 301


async def test_an_importer_error_mid_import_is_not_a_database_refusal_and_a_retry_is_whole(db: Database) -> None:
    (bundle,) = traces.parse_text(agent_run(150), pending=True)
    finish = bundle.pending
    assert finish is not None
    first_try = True

    def failing_once():  # type: ignore[no-untyped-def]
        for count, span in enumerate(finish(), 1):
            if first_try and count == 250:
                raise ValueError("a bug while working out payloads")
            yield span

    bundle.pending = failing_once
    with pytest.raises(ValueError, match="a bug") as info:
        await traces.import_bundles(db, [bundle])
    assert not isinstance(info.value, InvalidInput)  # not dressed up as "the database refused it"
    async with db.acquire() as conn:
        assert await conn.fetchval(f"SELECT count(*) FROM {db.schema}.spans") == 0
        assert await conn.fetchval("SELECT 1") == 1
    assert bundle.pending is not None  # abandoned half-way: still to be worked out

    first_try = False
    await traces.import_bundles(db, [bundle])  # the same bundle again: every span complete
    stored = await traces.get_trace(db, TRACE_ID)
    assert all(s.input is not None for s in stored.spans if s.kind in ("llm_call", "tool_call"))
    assert stored.agents[0].config == {"system_instructions": "Be brief.", "tools": ["track"]}
    (plain,) = traces.parse_text(agent_run(150))
    assert {s.span_id: (s.input, s.output) for s in stored.spans} == {s.span_id: (s.input, s.output) for s in plain.spans}


def test_a_tool_call_id_that_is_a_list_imports() -> None:
    document = json.loads(agent_run(2))
    for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:
        for attr in span["attributes"]:
            if attr["key"] == "gen_ai.tool.call.id":
                attr["value"] = {"arrayValue": {"values": [{"stringValue": "a"}]}}
    (bundle,) = traces.parse_text(json.dumps(document), pending=True)
    assert len(list(bundle.completing())) == 5


async def test_the_garbage_collector_is_back_on_after_an_import_even_a_failed_one(db: Database) -> None:
    import gc

    assert gc.isenabled()
    await traces.import_bundles(db, traces.parse_text(agent_run(3), pending=True))
    assert gc.isenabled()
    with pytest.raises(InvalidInput):
        await traces.import_bundles(db, traces.parse_text(agent_run(3, bad_step=1).replace(TRACE_ID, "f" * 32), pending=True))
    with pytest.raises(InvalidInput):
        traces.parse_text("{not json")
    assert gc.isenabled()
    gc.disable()  # a caller that runs with the collector off keeps it off
    try:
        traces.parse_text(agent_run(3))
        assert not gc.isenabled()
    finally:
        gc.enable()
