"""The OTLP importer on traces written by the real OpenTelemetry SDK (no database)."""

from __future__ import annotations

import copy
import importlib.util
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import otel_traces  # tests/ is on sys.path (conftest.py)
import pytest

from agenttrace_replay.errors import InvalidInput
from agenttrace_replay.importers import detect_format, parse_otlp
from agenttrace_replay.records import SPAN_KINDS, SpanRecord, TraceBundle


@pytest.fixture(scope="module")
def genai_doc() -> str:
    return otel_traces.genai_multi_agent_trace()


@pytest.fixture(scope="module")
def genai(genai_doc: str) -> TraceBundle:
    (bundle,) = parse_otlp(genai_doc)
    return bundle


@pytest.fixture(scope="module")
def legacy() -> TraceBundle:
    (bundle,) = parse_otlp(otel_traces.genai_legacy_trace())
    return bundle


@pytest.fixture(scope="module")
def openinference() -> TraceBundle:
    (bundle,) = parse_otlp(otel_traces.openinference_trace())
    return bundle


@pytest.fixture(scope="module")
def langgraph() -> TraceBundle:
    (bundle,) = parse_otlp(otel_traces.langgraph_trace("What is the weather in Lisbon?"))
    return bundle


def spans(bundle: TraceBundle, kind: str | None = None, name: str | None = None) -> list[SpanRecord]:
    return [
        s
        for s in bundle.spans
        if (kind is None or s.kind == kind) and (name is None or s.name == name)
    ]


def only(bundle: TraceBundle, name: str) -> SpanRecord:
    (span,) = spans(bundle, name=name)
    return span


def ancestors(bundle: TraceBundle, span: SpanRecord) -> list[str]:
    by_id = {s.span_id: s for s in bundle.spans}
    names = []
    while span.parent_span_id is not None:
        span = by_id[span.parent_span_id]
        names.append(span.name)
    return names


# --- GenAI conventions, current form ------------------------------------------------------


def test_genai_kinds_and_tree(genai: TraceBundle) -> None:
    kinds = [(s.name, s.kind) for s in genai.spans]
    assert kinds == [
        ("invoke_agent supervisor", "agent_message"),
        ("chat gpt-4o", "llm_call"),
        ("tools", None),
        ("execute_tool lookup_customer", "tool_call"),
        ("execute_tool get_invoice", "tool_call"),
        ("chat gpt-4o", "llm_call"),
        ("transfer_to_billing_specialist", "handoff"),
        ("invoke_agent billing_specialist", "agent_message"),
        ("chat claude-3-5-sonnet", "llm_call"),
        ("chat gpt-4o", "llm_call"),
    ]
    chat = only(genai, "chat claude-3-5-sonnet")
    assert ancestors(genai, chat) == [
        "invoke_agent billing_specialist",
        "transfer_to_billing_specialist",
        "invoke_agent supervisor",
    ]
    ids = {s.span_id for s in genai.spans}
    assert all(len(i) == 16 and int(i, 16) >= 0 for i in ids)
    assert len(genai.trace.trace_id) == 32 and genai.trace.trace_id == genai.trace.trace_id.lower()


def test_genai_agents(genai: TraceBundle) -> None:
    agents = {a.agent_id: a for a in genai.agents}
    assert set(agents) == {otel_traces.SUPERVISOR_ID, "agent-billing-specialist"}
    supervisor = agents[otel_traces.SUPERVISOR_ID]
    assert supervisor.name == "supervisor"
    assert supervisor.role == "Routes customer questions to specialists"
    assert supervisor.model == "gpt-4o-2024-08-06"
    assert supervisor.config["system_instructions"] == otel_traces.SUPERVISOR_SYSTEM
    assert supervisor.config["tools"] == ["lookup_customer", "get_invoice"]
    billing = agents["agent-billing-specialist"]
    assert (billing.name, billing.model) == ("billing_specialist", "claude-3-5-sonnet")
    assert only(genai, "chat claude-3-5-sonnet").agent_id == "agent-billing-specialist"
    assert only(genai, "execute_tool get_invoice").agent_id == otel_traces.SUPERVISOR_ID
    assert genai.trace.agent_count == 2


def test_genai_llm_messages(genai: TraceBundle) -> None:
    first, second, final = spans(genai, "llm_call", "chat gpt-4o")
    assert first.input["messages"] == [
        {"role": "system", "content": otel_traces.SUPERVISOR_SYSTEM},
        {"role": "user", "content": otel_traces.QUESTION},
    ]
    assert first.input["model"] == "gpt-4o"
    assert first.input["parameters"] == {"temperature": 0.2, "max_tokens": 1024, "top_p": 0.9}
    assert [t["name"] for t in first.input["tools"]] == ["lookup_customer", "get_invoice"]
    assert first.output == {
        "messages": [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_lookup_1", "name": "lookup_customer",
                     "arguments": {"email": "dana@example.com"}},
                    {"id": "call_invoice_1", "name": "get_invoice",
                     "arguments": {"invoice_id": "INV-1042"}},
                ],
            }
        ],
        "finish_reason": "tool_call",
    }  # fmt: skip
    tool_results = [m for m in second.input["messages"] if m["role"] == "tool"]
    assert tool_results == [
        {
            "role": "tool",
            "content": json.dumps({"customer_id": "C-881", "plan": "Pro", "status": "active"}),
            "tool_call_id": "call_lookup_1",
        },
        {"role": "tool", "content": "error: invoice service HTTP 503", "tool_call_id": "call_invoice_1"},
    ]
    assert final.output["messages"][0]["content"].startswith("You were charged twice")
    assert (first.model, first.input_tokens, first.output_tokens) == ("gpt-4o-2024-08-06", 412, 38)
    assert first.cost_usd == pytest.approx(0.00141)


def test_genai_tools_and_error(genai: TraceBundle) -> None:
    lookup = only(genai, "execute_tool lookup_customer")
    assert lookup.input == {
        "name": "lookup_customer",
        "arguments": {"email": "dana@example.com"},
        "call_id": "call_lookup_1",
    }
    assert lookup.output == {"result": {"customer_id": "C-881", "plan": "Pro", "status": "active"}}
    assert (lookup.status, lookup.error) == ("ok", None)
    invoice = only(genai, "execute_tool get_invoice")
    assert invoice.status == "error"
    assert invoice.error == "invoice service HTTP 503"
    assert invoice.output == {"result": "error: invoice service HTTP 503"}  # what the next model call was given
    events = invoice.attributes["otel.events"]
    assert events[0]["name"] == "exception"
    seconds, nanos = divmod(events[0]["time_unix_nano"], 10**9)  # as written, to the nanosecond
    assert events[0]["time"] == datetime.fromtimestamp(seconds, timezone.utc).replace(
        microsecond=nanos // 1000).isoformat(timespec="microseconds")  # fmt: skip
    assert events[0]["attributes"]["exception.message"] == "upstream returned 503"


def test_genai_handoff(genai: TraceBundle) -> None:
    handoff = only(genai, "transfer_to_billing_specialist")
    assert handoff.input == {"from_agent": "supervisor", "to_agent": "billing_specialist"}
    assert handoff.agent_id == otel_traces.SUPERVISOR_ID


def test_genai_trace_record(genai: TraceBundle) -> None:
    trace = genai.trace
    assert trace.name == "invoke_agent supervisor"
    assert trace.status == "completed"
    # The root repeats its children's usage: the total counts each LLM call once.
    assert trace.total_tokens == 412 + 38 + 530 + 22 + 610 + 95 + 720 + 64
    assert trace.total_cost_usd == pytest.approx(0.00141 + 0.00154 + 0.00326 + 0.00244)
    assert trace.start_time == min(s.start_time for s in genai.spans)
    assert trace.end_time == max(s.end_time for s in genai.spans)
    assert trace.total_latency_ms == pytest.approx(
        (trace.end_time - trace.start_time).total_seconds() * 1000
    )
    assert trace.metadata["service.name"] == "acme-support"
    assert trace.metadata["gen_ai.conversation.id"] == "conv_5j66UpCpwteGg4YS"
    assert trace.metadata["otel.scopes"] == ["acme.support.agents"]


def test_raw_attributes_are_kept(genai: TraceBundle) -> None:
    chat = spans(genai, "llm_call")[0]
    assert chat.attributes["gen_ai.request.temperature"] == 0.2
    assert chat.attributes["gen_ai.usage.input_tokens"] == 412
    assert chat.attributes["gen_ai.response.finish_reasons"] == ["tool_call"]
    assert json.loads(chat.attributes["gen_ai.input.messages"])[0]["role"] == "user"


def test_every_bundle_is_json_and_uses_known_kinds(genai: TraceBundle, langgraph: TraceBundle) -> None:
    for bundle in (genai, langgraph):
        for span in bundle.spans:
            assert span.kind is None or span.kind in SPAN_KINDS
            json.dumps([span.input, span.output, span.attributes])
        json.dumps(bundle.trace.metadata)


# --- GenAI conventions, older forms -------------------------------------------------------


def test_legacy_indexed_prompt_and_completion(legacy: TraceBundle) -> None:
    first, second, from_events, from_messages = spans(legacy, "llm_call")
    assert first.input["messages"] == [
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "What is 17 * 23?"},
    ]
    assert first.output == {
        "messages": [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_calc_1", "name": "calculator", "arguments": {"expression": "17 * 23"}}
                ],
            }
        ],
        "finish_reason": "tool_call",  # OpenAI's tool_calls, in the GenAI vocabulary
    }
    assert first.input["tools"] == [{"name": "calculator", "description": "Evaluate arithmetic."}]
    assert (first.input_tokens, first.output_tokens) == (52, 18)
    assert first.model == "gpt-3.5-turbo-0125"
    assert second.input["messages"][2] == {"role": "tool", "content": "391", "tool_call_id": "call_calc_1"}
    assert second.output["messages"] == [{"role": "assistant", "content": "17 * 23 = 391."}]
    assert legacy.trace.total_tokens == 52 + 18 + 71 + 9


def test_legacy_events(legacy: TraceBundle) -> None:
    _, _, from_events, from_messages = spans(legacy, "llm_call")
    assert from_events.input["messages"] == [{"role": "user", "content": "Say thanks in French."}]
    assert from_events.output == {"messages": [{"role": "assistant", "content": "Merci !"}]}
    assert from_messages.input["messages"] == [
        {"role": "system", "content": "Answer in one word."},
        {"role": "user", "content": "Capital of Italy?"},
    ]
    assert from_messages.output == {
        "messages": [{"role": "assistant", "content": "Rome"}],
        "finish_reason": "stop",
    }


def test_tool_span_without_arguments_takes_them_from_the_model_call(legacy: TraceBundle) -> None:
    tool = only(legacy, "calculator")
    assert tool.kind == "tool_call"
    assert tool.input == {"name": "calculator", "arguments": {"expression": "17 * 23"}, "call_id": "call_calc_1"}
    assert legacy.agents == [] and legacy.trace.agent_count == 0
    assert only(legacy, "answer_question").kind is None


# --- OpenInference ------------------------------------------------------------------------


def test_openinference_kinds_and_agent(openinference: TraceBundle) -> None:
    assert [(s.name, s.kind) for s in openinference.spans] == [
        ("research_agent", "agent_message"),
        ("plan", None),
        ("ChatOpenAI", "llm_call"),
        ("web_search", "tool_call"),
        ("retrieve", "tool_call"),
        ("ChatOpenAI", "llm_call"),
    ]
    (agent,) = openinference.agents
    assert (agent.agent_id, agent.name, agent.model) == ("agent-researcher", "researcher", "gpt-4o-mini")
    assert agent.framework == "llama_index"
    assert agent.config["system_instructions"] == otel_traces.RESEARCH_SYSTEM
    assert all(s.agent_id == "agent-researcher" for s in openinference.spans)
    assert openinference.trace.metadata["session.id"] == "sess-42"
    assert openinference.trace.metadata["user.id"] == "user-7"


def test_openinference_messages(openinference: TraceBundle) -> None:
    first, second = spans(openinference, "llm_call")
    assert first.input["messages"][1] == {
        "role": "user",
        "content": "When did the James Webb telescope launch?\nAnswer with a date.",
    }
    assert first.input["parameters"] == {"temperature": 0.1}
    assert first.input["tools"] == [
        {"name": "web_search", "description": "Search the web", "parameters": {"type": "object"}}
    ]
    assert first.output == {
        "messages": [
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [{"id": "call_s1", "name": "web_search", "arguments": otel_traces.SEARCH_ARGS}],
            }
        ]
    }
    assert second.input["messages"][3] == {
        "role": "tool",
        "content": json.dumps(otel_traces.SEARCH_RESULT),
        "tool_call_id": "call_s1",
        "name": "web_search",
    }
    assert (first.input_tokens, first.output_tokens, second.input_tokens) == (120, 24, 210)
    assert openinference.trace.total_tokens == 120 + 24 + 210 + 17


def test_openinference_tool_retriever_and_generic_payloads(openinference: TraceBundle) -> None:
    tool = only(openinference, "web_search")
    assert tool.input == {"name": "web_search", "arguments": otel_traces.SEARCH_ARGS, "call_id": "call_s1"}
    assert tool.output == {"result": otel_traces.SEARCH_RESULT}
    retriever = only(openinference, "retrieve")
    assert retriever.input == {"name": "retrieve", "arguments": "Webb launch"}
    assert retriever.output["result"][0]["content"] == "Webb launched on 25 December 2021."
    agent = only(openinference, "research_agent")
    assert agent.input == {"question": "When did the James Webb telescope launch?"}
    assert agent.output == {"value": "The James Webb telescope launched on 25 December 2021."}
    assert only(openinference, "plan").input == {"value": "When did the James Webb telescope launch?"}


# --- a real LangGraph run ------------------------------------------------------------------


def test_langgraph_run(langgraph: TraceBundle) -> None:
    llm_calls = spans(langgraph, "llm_call")
    tool_calls = spans(langgraph, "tool_call")
    assert len(llm_calls) == 2
    assert [t.input["name"] for t in tool_calls] == ["get_weather"]
    tool = tool_calls[0]
    assert tool.input["arguments"] == {"city": "Lisbon"}
    assert tool.input["call_id"] == llm_calls[0].output["messages"][0]["tool_calls"][0]["id"]
    assert "Lisbon" in tool.output["result"]
    final = llm_calls[1].output["messages"][-1]
    assert final["role"] == "assistant" and "Lisbon" in final["content"]
    assert [m["role"] for m in llm_calls[1].input["messages"]] == ["user", "assistant", "tool"]
    assert llm_calls[1].input["messages"][2]["content"] == tool.output["result"]
    assert llm_calls[0].output["finish_reason"] == "tool_call"


def test_langgraph_agent(langgraph: TraceBundle) -> None:
    (agent,) = langgraph.agents
    assert agent.framework == "langgraph"
    assert agent.model == "fake-deterministic-1"
    assert agent.config["tools"] == ["get_weather", "calculator"]
    assert all(s.agent_id == agent.agent_id for s in langgraph.spans)
    root = langgraph.spans[0]
    assert root.parent_span_id is None and root.name == agent.name == langgraph.trace.name
    assert langgraph.trace.status == "completed"
    assert langgraph.trace.total_tokens == sum(
        s.input_tokens + s.output_tokens for s in spans(langgraph, "llm_call")
    )


def test_langgraph_question_changes_the_answer() -> None:
    (bundle,) = parse_otlp(otel_traces.langgraph_trace("Is it raining in Tokyo?"))
    final = spans(bundle, "llm_call")[-1].output["messages"][-1]["content"]
    assert "Tokyo" in final and "Lisbon" not in final


# --- JSON Lines and encoding variants -----------------------------------------------------


def test_jsonl_gives_the_same_bundles(genai_doc: str) -> None:
    lines = otel_traces.jsonl_variant(genai_doc, batch_size=3)
    assert len(lines.strip().splitlines()) == 4
    assert parse_otlp(lines) == parse_otlp(genai_doc)
    with_blank_lines = "\n" + lines.replace("\n", "\n\n")
    assert parse_otlp(with_blank_lines.encode()) == parse_otlp(genai_doc)


def test_several_traces_in_one_file(genai_doc: str) -> None:
    other = otel_traces.openinference_trace()
    bundles = parse_otlp(otel_traces.to_jsonl(genai_doc, other))
    assert [b.trace.name for b in bundles] == ["invoke_agent supervisor", "research_agent"]
    merged = json.loads(genai_doc)
    merged["resourceSpans"] += json.loads(other)["resourceSpans"]
    assert parse_otlp(json.dumps(merged)) == bundles


def _rewrite(doc: str, change: Any) -> dict[str, Any]:
    data = copy.deepcopy(json.loads(doc))
    for resource_spans in data["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                change(span)
    return data


def test_enum_names_string_times_base64_ids_and_old_keys(genai_doc: str) -> None:
    import base64

    def variant(span: dict[str, Any]) -> None:
        for key in ("traceId", "spanId", "parentSpanId"):
            if span.get(key):
                span[key] = base64.b64encode(bytes.fromhex(span[key])).decode()
        span["startTimeUnixNano"] = int(span["startTimeUnixNano"])
        if span.get("status", {}).get("code") == 2:
            span["status"]["code"] = "STATUS_CODE_ERROR"
        for attribute in span.get("attributes", []):
            value = attribute["value"]
            if "intValue" in value:
                value["intValue"] = int(value["intValue"])

    data = _rewrite(genai_doc, variant)
    for resource_spans in data["resourceSpans"]:
        resource_spans["instrumentationLibrarySpans"] = resource_spans.pop("scopeSpans")
        for scope_spans in resource_spans["instrumentationLibrarySpans"]:
            scope_spans["instrumentationLibrary"] = scope_spans.pop("scope")
    assert parse_otlp(json.dumps(data)) == parse_otlp(genai_doc)


def test_typed_attribute_values() -> None:
    span = {
        "traceId": "5b8efff798038103d269b633813fc60c",
        "spanId": "eee19b7ec3c1b174",
        "name": "typed",
        "startTimeUnixNano": "1700000000000000000",
        "endTimeUnixNano": "1700000000500000000",
        "attributes": [
            {"key": "s", "value": {"stringValue": "x"}},
            {"key": "i", "value": {"intValue": "42"}},
            {"key": "d", "value": {"doubleValue": 0.5}},
            {"key": "b", "value": {"boolValue": True}},
            {"key": "a", "value": {"arrayValue": {"values": [{"intValue": 1}, {"stringValue": "y"}]}}},
            {"key": "kv", "value": {"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": False}}]}}},
            {"key": "bytes", "value": {"bytesValue": "aGk="}},
            {"key": "empty", "value": {}},
        ],
    }
    request = {"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}
    (bundle,) = parse_otlp(json.dumps(request))
    assert bundle.spans[0].attributes == {
        "s": "x", "i": 42, "d": 0.5, "b": True, "a": [1, "y"], "kv": {"k": False},
        "bytes": "aGk=", "empty": None,
    }  # fmt: skip
    assert bundle.trace.total_latency_ms == pytest.approx(500.0)
    assert bundle.trace.start_time.isoformat() == "2023-11-14T22:13:20+00:00"


# --- kinds, status and agents from explicit attributes -------------------------------------


def _one_span_trace(spans: list[dict[str, Any]]) -> TraceBundle:
    def typed(value: Any) -> dict[str, Any]:
        if isinstance(value, bool):
            return {"boolValue": value}
        if isinstance(value, int):
            return {"intValue": str(value)}
        return {"stringValue": value}

    encoded = []
    for index, span in enumerate(spans):
        attributes = [{"key": k, "value": typed(v)} for k, v in span.get("attributes", {}).items()]
        encoded.append(
            {
                "traceId": "0af7651916cd43dd8448eb211c80319c",
                "spanId": f"{index + 1:016x}",
                "parentSpanId": f"{span['parent']:016x}" if span.get("parent") else "",
                "name": span["name"],
                "startTimeUnixNano": str(1_700_000_000_000_000_000 + index * 1_000_000),
                "endTimeUnixNano": span.get("end", str(1_700_000_001_000_000_000 - index)),
                "status": span.get("status", {}),
                "attributes": attributes,
            }
        )
    (bundle,) = parse_otlp(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": encoded}]}]}))
    return bundle


def test_explicit_kind_and_handoff_rules() -> None:
    bundle = _one_span_trace(
        [
            {"name": "run", "attributes": {"gen_ai.agent.name": "Planner Bot"}},
            {"name": "save state", "parent": 1, "attributes": {"agenttrace.span.kind": "checkpoint"}},
            {"name": "handoff to critic", "parent": 1},
            {"name": "ask", "parent": 1, "attributes": {"gen_ai.operation.name": "chat",
                                                        "agenttrace.span.kind": "tool_call"}},
            {"name": "x", "parent": 1, "attributes": {"gen_ai.operation.name": "agent_handoff"}},
            {"name": "embed", "parent": 1, "attributes": {"openinference.span.kind": "EMBEDDING"}},
        ]
    )  # fmt: skip
    assert [s.kind for s in bundle.spans] == [
        None, "checkpoint", "handoff", "tool_call", "handoff", None
    ]  # fmt: skip
    assert bundle.spans[0].input is None
    assert spans(bundle, name="handoff to critic")[0].input == {
        "from_agent": "Planner Bot",
        "to_agent": "critic",
    }
    assert [a.agent_id for a in bundle.agents] == ["agent-planner-bot"]


def test_error_and_running_status() -> None:
    failed = _one_span_trace(
        [
            {"name": "root", "status": {"code": 2}},
            {"name": "child", "parent": 1, "status": {"code": "STATUS_CODE_ERROR", "message": "boom"}},
        ]
    )
    assert failed.trace.status == "failed"
    assert [(s.status, s.error) for s in failed.spans] == [("error", "error"), ("error", "boom")]
    running = _one_span_trace([{"name": "root"}, {"name": "child", "parent": 1, "end": "0"}])
    assert running.trace.status == "running"
    assert running.trace.end_time is None and running.trace.total_latency_ms is None
    ok = _one_span_trace([{"name": "root", "status": {"code": 1}}])
    assert ok.trace.status == "completed" and ok.spans[0].status == "ok"


def test_agent_role_framework_and_config_attributes() -> None:
    config = json.dumps({"temperature": 0, "memory": "short"})
    bundle = _one_span_trace(
        [
            {"name": "agent", "attributes": {
                "gen_ai.agent.name": "writer", "gen_ai.agent.description": "drafts text",
                "agenttrace.agent.role": "author", "agenttrace.agent.framework": "crewai",
                "agenttrace.agent.config": config}},
            {"name": "inner", "parent": 1, "attributes": {"gen_ai.agent.name": "writer",
                                                          "gen_ai.agent.id": "w-1"}},
        ]
    )  # fmt: skip
    (agent,) = bundle.agents
    assert (agent.agent_id, agent.name, agent.role, agent.framework) == ("w-1", "writer", "author", "crewai")
    assert agent.config == {"temperature": 0, "memory": "short"}


def test_missing_parent_becomes_root() -> None:
    bundle = _one_span_trace([{"name": "orphan", "parent": 99}])
    assert bundle.spans[0].parent_span_id is None
    assert bundle.spans[0].attributes["otel.missing_parent_span_id"] == f"{99:016x}"


# --- malformed input ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "empty input"),
        ("hello", "not valid JSON (Expecting value at line 1 column 1)"),
        ('{"resourceSpans": [', "not valid JSON"),
        ("[1, 2]", "item 0: not an OTLP trace export: expected a JSON object, got a number"),
        ('{"spans": []}', "not an OTLP trace export: no 'resourceSpans' key"),
        ('{"resourceLogs": []}', "this is an OTLP logs export, not traces"),
        ('{"resourceSpans": {}}', "resourceSpans must be a list, got an object"),
        ('{"format": "agenttrace-replay", "traces": []}', "agenttrace-replay export, not OTLP"),
        (b"\xff\xfe{", "not UTF-8 text"),
    ],
)
def test_malformed_documents(data: str | bytes, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_otlp(data)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def _doc_with_span(span: dict[str, Any]) -> str:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "ab" * 16,
        "spanId": "cd" * 8, "name": "ok"}, span]}]}]})  # fmt: skip


@pytest.mark.parametrize(
    ("span", "message"),
    [
        ({"spanId": "cd" * 8, "name": "step"},
         "resourceSpans[0].scopeSpans[0].spans[1] ('step'): missing traceId"),
        ({"traceId": "ab" * 16}, "resourceSpans[0].scopeSpans[0].spans[1]: missing spanId"),
        ({"traceId": 5, "spanId": "cd" * 8}, "traceId must be a string, got a number"),
        ({"traceId": "ab" * 16, "spanId": "ef" * 8, "startTimeUnixNano": "soon"},
         "startTimeUnixNano must be an integer of nanoseconds, got 'soon'"),
        ({"traceId": "ab" * 16, "spanId": "ef" * 8, "status": {"code": 7}}, "unknown status code 7"),
        ({"traceId": "ab" * 16, "spanId": "ef" * 8, "attributes": {"a": 1}}, "attributes must be a list"),
        ("span", "spans[1]: a span must be a JSON object"),
        ({"traceId": "ab" * 16, "spanId": "ef" * 8, "events": 5}, "events must be a list, got a number"),
        ({"traceId": "ab" * 16, "spanId": "ef" * 8, "startTimeUnixNano": 1e300},
         "startTimeUnixNano is out of range (nanoseconds since 1970, below 2^64)"),
        ({"traceId": "ab" * 16, "spanId": "ef" * 8, "endTimeUnixNano": "1" * 21},
         "endTimeUnixNano must be an integer of nanoseconds"),
        ({"traceId": "ab" * 16, "spanId": "ef" * 8, "endTimeUnixNano": str(2**64)},
         "endTimeUnixNano is out of range"),
        ({"traceId": "ab" * 16, "spanId": "ef" * 8, "startTimeUnixNano": -5}, "startTimeUnixNano is out of range"),
    ],
)  # fmt: skip
def test_malformed_spans(span: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_otlp(_doc_with_span(span))
    assert message in str(caught.value)


def test_a_resource_that_is_not_an_object_is_refused_with_its_place() -> None:
    document = json.loads(_doc_with_span({"traceId": "ab" * 16, "spanId": "ef" * 8}))
    document["resourceSpans"][0]["resource"] = "x"
    with pytest.raises(InvalidInput, match=r"resourceSpans\[0\]\.resource must be a JSON object"):
        parse_otlp(json.dumps(document))


def test_the_last_nanosecond_of_otlp_time_is_read() -> None:
    (bundle,) = parse_otlp(_doc_with_span({"traceId": "ab" * 16, "spanId": "ef" * 8,
                                           "startTimeUnixNano": str(2**64 - 1)}))  # fmt: skip
    assert only(bundle, "").start_time.year == 2554


def _one_span(name: str, attributes: dict[str, Any], scope: str | None = None, **fields: Any) -> SpanRecord:
    """The record of one span with these attributes (strings, ints and lists as OTLP values)."""

    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, dict):
            return v  # an AnyValue as written
        if isinstance(v, list):
            return {"arrayValue": {"values": [value(x) for x in v]}}
        return {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}

    span = {"traceId": "ab" * 16, "spanId": "ef" * 8, "name": name,
            "attributes": [{"key": k, "value": value(v)} for k, v in attributes.items()], **fields}  # fmt: skip
    scope_spans = {"spans": [span], **({"scope": {"name": scope}} if scope else {})}
    (bundle,) = parse_otlp(json.dumps({"resourceSpans": [{"scopeSpans": [scope_spans]}]}))
    return only(bundle, name)


@pytest.mark.parametrize("tokens", [{"doubleValue": "Infinity"}, {"stringValue": "1e999"}, {"stringValue": "inf"}])
def test_an_infinite_token_count_is_no_count(tokens: dict[str, Any]) -> None:
    span = _one_span("chat m", {"gen_ai.operation.name": "chat", "gen_ai.usage.input_tokens": tokens})
    assert span.input_tokens is None
    assert "gen_ai.usage.input_tokens" in span.attributes  # the raw value is kept


def test_tool_calls_that_are_not_a_list_are_read_or_left_out() -> None:
    messages = [{"role": "assistant", "content": "x", "tool_calls": 1},
                {"role": "assistant", "content": None,
                 "tool_calls": json.dumps([{"id": "c1", "function": {"name": "f", "arguments": "{}"}}])}]  # fmt: skip
    span = _one_span("chat m", {"gen_ai.operation.name": "chat", "gen_ai.input.messages": json.dumps(messages)})
    first, second = span.input["messages"]
    assert first == {"role": "assistant", "content": "x"}
    assert second["tool_calls"] == [{"id": "c1", "name": "f", "arguments": {}}]


def test_openinference_output_messages_without_a_role_are_the_models() -> None:
    span = _one_span("llm", {"openinference.span.kind": "LLM", "llm.input_messages.0.message.content": "hi",
                             "llm.output_messages.0.message.content": "hello"})  # fmt: skip
    assert span.input["messages"] == [{"role": "user", "content": "hi"}]
    assert span.output["messages"] == [{"role": "assistant", "content": "hello"}]


def test_a_choice_event_body_gives_the_finish_reason() -> None:
    body = json.dumps({"index": 0, "finish_reason": "stop", "message": {"content": "Rome"}})
    event = {"name": "gen_ai.choice", "timeUnixNano": "1",
             "attributes": [{"key": "body", "value": {"stringValue": body}}]}  # fmt: skip
    span = _one_span("chat m", {"gen_ai.operation.name": "chat"}, events=[event])
    assert span.output == {"messages": [{"role": "assistant", "content": "Rome"}], "finish_reason": "stop"}


def test_the_inference_details_event_is_read_like_the_span() -> None:
    tools = json.dumps([{"type": "function", "name": "search", "description": "d", "parameters": {}}])
    details = {"name": "gen_ai.client.inference.operation.details", "timeUnixNano": "1", "attributes": [
        {"key": "gen_ai.tool.definitions", "value": {"stringValue": tools}},
        {"key": "gen_ai.response.finish_reasons", "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}}},
        {"key": "gen_ai.request.temperature", "value": {"doubleValue": 0.5}},
        {"key": "gen_ai.request.max_tokens", "value": {"intValue": "9"}}]}  # fmt: skip
    span = _one_span("chat m", {"gen_ai.operation.name": "chat", "gen_ai.request.max_tokens": 7}, events=[details])
    assert span.input["tools"] == [{"name": "search", "description": "d", "parameters": {}}]
    assert span.input["parameters"] == {"temperature": 0.5, "max_tokens": 7}  # the span's own value wins
    assert span.output == {"messages": [], "finish_reason": "stop"}


def test_odd_attribute_values_are_kept_as_written() -> None:
    span = _one_span("s", {"a": {"arrayValue": {"values": 5}}, "b": {"kvlistValue": {"values": "x"}}})
    assert span.attributes["a"] == {"arrayValue": {"values": 5}}
    assert span.attributes["b"] == {"kvlistValue": {"values": "x"}}


def test_a_scope_name_that_is_not_text_is_no_framework() -> None:
    span = {"traceId": "ab" * 16, "spanId": "ef" * 8, "name": "agent",
            "attributes": [{"key": "gen_ai.agent.name", "value": {"stringValue": "planner"}}]}  # fmt: skip
    document = {"resourceSpans": [{"scopeSpans": [{"scope": {"name": 5}, "spans": [span]}]}]}
    (bundle,) = parse_otlp(json.dumps(document))
    assert [(a.name, a.framework) for a in bundle.agents] == [("planner", None)]


def test_bad_line_in_jsonl(genai_doc: str) -> None:
    lines = otel_traces.jsonl_variant(genai_doc).splitlines()
    lines.insert(2, '{"resourceSpans": [oops]}')
    with pytest.raises(InvalidInput, match=r"^line 3: not valid JSON \(Expecting value at column 20\)$"):
        parse_otlp("\n".join(lines))
    lines[2] = '{"resourceSpans": [{"scopeSpans": [{"spans": [{"spanId": "0011223344556677"}]}]}]}'
    with pytest.raises(InvalidInput, match=r"^line 3: resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]: missing traceId$"):
        parse_otlp("\n".join(lines))


def test_empty_export_has_no_traces() -> None:
    assert parse_otlp('{"resourceSpans": []}') == []


# --- format detection ---------------------------------------------------------------------


def test_detect_format(genai_doc: str) -> None:
    assert detect_format(genai_doc) == "otlp"
    assert detect_format(otel_traces.jsonl_variant(genai_doc)) == "otlp"
    native = json.dumps({"format": "agenttrace-replay", "version": 1, "traces": []}, indent=2)
    assert detect_format(native) == "native"
    assert detect_format(native.encode()) == "native"
    late_marker = json.dumps({"traces": [{"name": "x" * 5000}], "format": "agenttrace-replay"})
    assert detect_format(late_marker) == "native"
    assert detect_format('{"format": "something-else"}') == "otlp"
    assert detect_format("not json at all") == "otlp"


# --- the demo samples ---------------------------------------------------------------------

SAMPLES = Path(__file__).resolve().parent.parent / "agenttrace_replay" / "samples"


def _load_script() -> Any:
    path = Path(__file__).resolve().parent.parent / "scripts" / "make_samples.py"
    spec = importlib.util.spec_from_file_location("make_samples", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_samples_match_the_script() -> None:
    generated = _load_script().build_samples()
    assert sorted(generated) == sorted(p.name for p in SAMPLES.glob("*.json"))
    for name, content in generated.items():
        assert (SAMPLES / name).read_text(encoding="utf-8") == content, (
            f"{name} is stale: run python scripts/make_samples.py"
        )
        assert len(content.encode()) < 200_000


def test_research_assistant_sample() -> None:
    (bundle,) = parse_otlp((SAMPLES / "research_assistant.json").read_bytes())
    assert bundle.trace.status == "completed"
    assert [a.name for a in bundle.agents] == ["triage", "researcher"]
    handoff = only(bundle, "transfer_to_researcher")
    assert handoff.input["from_agent"] == "triage" and handoff.input["to_agent"] == "researcher"
    fetches = spans(bundle, "tool_call", "execute_tool fetch_page")
    assert [f.status for f in fetches] == ["error", "ok"]
    assert "timed out" in fetches[0].error
    assert fetches[0].input["arguments"] == fetches[1].input["arguments"]
    retry_prompt = spans(bundle, "llm_call")[-2].input["messages"]
    assert retry_prompt[-1]["role"] == "tool" and "timed out" in retry_prompt[-1]["content"]
    final = spans(bundle, "llm_call")[-1].output
    assert final["finish_reason"] == "stop" and "logical replication" in final["messages"][0]["content"]
    assert bundle.trace.total_cost_usd > 0
    assert bundle.trace.total_tokens == sum(
        s.input_tokens + s.output_tokens for s in spans(bundle, "llm_call")
    )


def test_support_bot_sample() -> None:
    (bundle,) = parse_otlp((SAMPLES / "support_bot.json").read_text())
    (agent,) = bundle.agents
    assert (agent.name, agent.role, agent.framework) == ("support_bot", "customer support", "openai")
    assert [s.kind for s in bundle.spans] == ["agent_message", "llm_call", "tool_call", "llm_call"]
    assert bundle.spans[0].input == {"query": "Hi! Where is my order A-10293? I need it before the weekend."}
    assert bundle.spans[2].output["result"]["status"] == "shipped"


def test_json_string_prompt_and_completion_attributes() -> None:
    prompt = [
        {"role": "system", "content": [{"type": "text", "text": "Be terse."}]},
        {"role": "user", "content": [{"type": "text", "text": "Look at this"},
                                     {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
    ]  # fmt: skip
    completion = [{"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "zoom", "arguments": "not json"}}]}]  # fmt: skip
    bundle = _one_span_trace(
        [{"name": "llm", "attributes": {"gen_ai.request.model": "m", "gen_ai.prompt": json.dumps(prompt),
                                        "gen_ai.completion": json.dumps(completion)}}]
    )  # fmt: skip
    span = bundle.spans[0]
    assert span.kind == "llm_call"
    assert span.input["messages"] == [
        {"role": "system", "content": "Be terse."},
        {"role": "user", "content": [
            {"type": "text", "text": "Look at this"},
            {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
        ]},
    ]  # fmt: skip
    assert span.output == {
        "messages": [
            {"role": "assistant", "content": None,
             "tool_calls": [{"id": "c1", "name": "zoom", "arguments": "not json"}]}
        ]
    }  # fmt: skip


def test_openinference_agent_named_by_graph_node() -> None:
    bundle = _one_span_trace(
        [
            {"name": "Agent run", "attributes": {"openinference.span.kind": "AGENT",
                                                 "graph.node.id": "Travel Planner"}},
            {"name": "llm", "parent": 1, "attributes": {"openinference.span.kind": "LLM",
                                                        "llm.model_name": "gpt-4.1"}},
        ]
    )  # fmt: skip
    (agent,) = bundle.agents
    assert (agent.agent_id, agent.name, agent.model) == ("agent-travel-planner", "Travel Planner", "gpt-4.1")
    assert bundle.spans[1].agent_id == agent.agent_id


def test_message_shapes_from_other_frameworks() -> None:
    from agenttrace_replay.importers.messages import normalise_messages

    langchain = [
        {"type": "human", "data": {"content": "hey", "type": "human", "id": "m1"}},
        {"type": "ai", "data": {"content": "", "tool_calls": [{"name": "t", "args": {"a": 1}, "id": "c"}]}},
        {"type": "tool", "data": {"content": "r", "tool_call_id": "c", "name": "t", "id": None}},
    ]  # fmt: skip
    assert normalise_messages(langchain) == [
        {"role": "user", "content": "hey"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c", "name": "t", "arguments": {"a": 1}}]},
        {"role": "tool", "content": "r", "tool_call_id": "c", "name": "t"},
    ]
    anthropic = [
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1",
                                      "content": [{"type": "text", "text": "42"}]},
                                     {"type": "text", "text": "and?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "ok"},
                                          {"type": "tool_use", "id": "tu2", "name": "calc", "input": {"x": 1}}]},
    ]  # fmt: skip
    assert normalise_messages(anthropic) == [
        {"role": "tool", "content": "42", "tool_call_id": "tu1"},
        {"role": "user", "content": "and?"},
        {"role": "assistant", "content": "ok", "tool_calls": [{"id": "tu2", "name": "calc", "arguments": {"x": 1}}]},
    ]
    assert normalise_messages({"messages": [["user", "What is up?"]]}) == [
        {"role": "user", "content": "What is up?"}
    ]
    assert normalise_messages('{"question": "x"}') == [{"role": "user", "content": '{"question": "x"}'}]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ('{"resourceSpans": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
        ('{"resourceSpans": [], "n": 1' + "0" * 5000 + "}", "not valid JSON (an integer has 5,001 digits; at most 4,300 are read"),
    ],
)
def test_hostile_json_is_invalid_input(data: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        parse_otlp(data)


def _agents_of(*agents: tuple[str, str | None]) -> list[tuple[str, str]]:
    """(agent id, name) of a trace with one root span and one agent span per (name, declared id)."""
    spans = [{"traceId": "ab" * 16, "spanId": "0" * 15 + "1", "name": "run"}]
    for index, (name, agent_id) in enumerate(agents, start=2):
        attributes = [{"key": "gen_ai.agent.name", "value": {"stringValue": name}}]
        if agent_id:
            attributes.append({"key": "gen_ai.agent.id", "value": {"stringValue": agent_id}})
        spans.append({"traceId": "ab" * 16, "spanId": f"{index:016x}", "parentSpanId": "0" * 15 + "1",
                      "name": f"invoke_agent {name}", "startTimeUnixNano": str(index), "attributes": attributes})  # fmt: skip
    (bundle,) = parse_otlp(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": spans}]}]}))
    return sorted((a.agent_id, a.name) for a in bundle.agents)


def test_agents_whose_names_slug_alike_get_different_ids() -> None:
    assert _agents_of(("研究者", None), ("計画者", None)) == [("agent-研究者", "研究者"), ("agent-計画者", "計画者")]
    assert _agents_of(("Writer", None), ("writer!", None)) == [("agent-writer", "Writer"), ("agent-writer-2", "writer!")]


def test_a_made_up_agent_id_never_takes_a_declared_one() -> None:
    assert _agents_of(("Beta", None), ("Gamma", "agent-beta")) == [("agent-beta", "Gamma"), ("agent-beta-2", "Beta")]


def test_a_trace_across_services_keeps_each_spans_resource_and_kind() -> None:
    """Two services (two SDK providers with their own resource) in one trace, as a distributed run."""
    from opentelemetry import trace as otel_trace
    from opentelemetry.trace import SpanKind

    with otel_traces.recording("web") as (web, web_spans), otel_traces.recording("tools-api") as (api, api_spans):
        with web.get_tracer("web").start_as_current_span("invoke_agent planner", kind=SpanKind.SERVER) as root:
            root.set_attribute("gen_ai.agent.name", "planner")
            with api.get_tracer("api").start_as_current_span("execute_tool search", kind=SpanKind.CLIENT) as tool:
                tool.set_attribute("gen_ai.tool.name", "search")
            assert otel_trace.get_current_span() is root
        spans = [*api_spans.get_finished_spans(), *web_spans.get_finished_spans()]
    (bundle,) = parse_otlp(otel_traces.otlp_json(spans))
    root_record, tool_record = only(bundle, "invoke_agent planner"), only(bundle, "execute_tool search")
    assert root_record.attributes["otel.resource"]["service.name"] == "web"
    assert tool_record.attributes["otel.resource"]["service.name"] == "tools-api"
    assert (root_record.attributes["otel.span_kind"], tool_record.attributes["otel.span_kind"]) == (
        "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT")
    assert bundle.trace.metadata["service.name"] in ("web", "tools-api")


def test_a_trace_of_one_service_keeps_its_resource_once(genai: TraceBundle) -> None:
    assert genai.trace.metadata["service.name"]
    assert not any("otel.resource" in span.attributes for span in genai.spans)


def test_a_made_up_agent_id_avoids_every_declared_one() -> None:
    """`planner` declares two ids; neither may be made up for `writer`."""
    assert _agents_of(("planner", "agent-writer"), ("planner", "p2"), ("writer", None)) == [
        ("agent-writer", "planner"), ("agent-writer-2", "writer"), ("p2", "planner")]


def test_resource_attributes_named_like_the_importers_own_keys_are_kept() -> None:
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "s"}
    resource = {"attributes": [{"key": "source", "value": {"stringValue": "batch-job"}},
                               {"key": "otel.scopes", "value": {"stringValue": "x"}},
                               {"key": "service.name", "value": {"stringValue": "svc"}}]}  # fmt: skip
    document = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": "lib"}, "spans": [span]}]}]}
    (bundle,) = parse_otlp(json.dumps(document))
    assert bundle.trace.metadata == {"source": "otlp", "resource.source": "batch-job", "resource.otel.scopes": "x",
                                     "service.name": "svc", "otel.scopes": ["lib"]}  # fmt: skip


def test_an_unnamed_agent_span_around_named_agents_is_no_agent() -> None:
    """The OpenAI Agents SDK's workflow span is an OpenInference AGENT that names no agent;
    the agents are the spans under it that do. Alone, such a span is an agent by its name."""
    agent = {"openinference.span.kind": "AGENT"}
    bundle = _one_span_trace(
        [
            {"name": "Agent workflow", "attributes": agent},
            {"name": "Agent workflow", "parent": 1, "attributes": {"openinference.span.kind": "CHAIN"}},
            {"name": "Triage agent", "parent": 2, "attributes": {**agent, "agent.name": "Triage agent"}},
            {"name": "Weather agent", "parent": 2, "attributes": {**agent, "agent.name": "Weather agent"}},
            {"name": "generation", "parent": 4, "attributes": {"openinference.span.kind": "LLM"}},
        ]
    )
    assert sorted(a.name for a in bundle.agents) == ["Triage agent", "Weather agent"]
    assert [s.agent_id for s in bundle.spans] == [None, None, "agent-triage-agent", "agent-weather-agent",
                                                  "agent-weather-agent"]  # fmt: skip
    alone = _one_span_trace([{"name": "planner", "attributes": agent},
                             {"name": "step", "parent": 1, "attributes": {"openinference.span.kind": "CHAIN"}}])  # fmt: skip
    assert [a.name for a in alone.agents] == ["planner"]


def test_client_settings_are_no_model_parameters() -> None:
    invocation = json.dumps({"temperature": 0.2, "base_url": "http://127.0.0.1:9/v1/", "timeout": 30, "seed": 7})
    llm = _one_span("generation", {"openinference.span.kind": "LLM", "llm.invocation_parameters": invocation})
    assert llm.input["parameters"] == {"temperature": 0.2, "seed": 7}
    assert llm.attributes["llm.invocation_parameters"] == invocation


def test_pydantic_ai_v2_tool_attributes_and_result_parts() -> None:
    """Pydantic AI's instrumentation version 2 names a tool's arguments and result its own way;
    every version writes a tool result part's value as `result`, not GenAI's `response`."""
    tool = _one_span("running tool", {"gen_ai.tool.name": "get_weather", "tool_arguments": '{"city": "Paris"}',
                                      "tool_response": "18C"})  # fmt: skip
    assert (tool.kind, tool.input["arguments"], tool.output) == ("tool_call", {"city": "Paris"}, {"result": "18C"})
    messages = json.dumps([{"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "name": "get_weather",
                                                       "result": "18C"}]}])  # fmt: skip
    llm = _one_span("chat", {"gen_ai.operation.name": "chat", "gen_ai.input.messages": messages,
                             "operation.cost": {"doubleValue": 2.5e-06}})  # fmt: skip
    assert llm.input["messages"] == [{"role": "tool", "content": "18C", "tool_call_id": "c1"}]
    assert llm.cost_usd == 2.5e-06


def test_openllmetry_decorator_spans() -> None:
    """traceloop-sdk's @tool and @agent spans: the kind, the entity's name, input and output."""
    tool = _one_span("lookup.tool", {"traceloop.span.kind": "tool", "traceloop.entity.name": "lookup",
                                     "traceloop.entity.input": '{"args": ["C-1"], "kwargs": {"full": true}}',
                                     "traceloop.entity.output": '{"plan": "Pro"}'})  # fmt: skip
    assert (tool.kind, tool.input, tool.output) == (
        "tool_call", {"name": "lookup", "arguments": {"args": ["C-1"], "kwargs": {"full": True}}}, {"result": {"plan": "Pro"}})
    agent = _one_span("planner.agent", {"traceloop.span.kind": "agent", "traceloop.entity.name": "planner",
                                        "traceloop.entity.output": '"done"'})  # fmt: skip
    assert (agent.kind, agent.agent_id, agent.output) == ("agent_message", "agent-planner", {"value": "done"})
    assert _one_span("plan.task", {"traceloop.span.kind": "task"}).kind is None


def test_smolagents_and_llamaindex_shapes() -> None:
    """What helper frameworks record around the model's own request (seen in real runs of
    smolagents and LlamaIndex under OpenInference)."""
    messages = {"llm.input_messages.0.message.role": "tool-call", "llm.input_messages.0.message.content": "Calling tools",
                "llm.input_messages.1.message.role": "tool-response", "llm.input_messages.1.message.content": "Observation: 18C"}  # fmt: skip
    llm = _one_span("OpenAIModel.generate", {"openinference.span.kind": "LLM", **messages})
    assert [m["role"] for m in llm.input["messages"]] == ["assistant", "user"]  # as smolagents sends them

    smol_tool = _one_span("SimpleTool", {"openinference.span.kind": "TOOL", "tool.name": "get_weather",
        "input.value": '{"args": [], "sanitize_inputs_outputs": true, "kwargs": {"city": "Paris"}}'},
        scope="openinference.instrumentation.smolagents")  # fmt: skip
    assert smol_tool.input["arguments"] == {"city": "Paris"}
    output = {"blocks": [{"text": "Sunny"}], "tool_name": "get_weather", "raw_input": {"kwargs": {"city": "Paris"}},
              "raw_output": "Sunny", "is_error": False}  # fmt: skip
    llama_tool = _one_span("FunctionTool.acall", {"openinference.span.kind": "TOOL", "tool.name": "get_weather",
        "input.value": '{"kwargs": {"city": "Paris"}}', "output.value": json.dumps(output)},
        scope="openinference.instrumentation.llama_index")  # fmt: skip
    elsewhere = _one_span("render", {"openinference.span.kind": "TOOL", "tool.name": "render",
                                     "input.value": '{"kwargs": {"color": "red"}}'})  # fmt: skip
    assert elsewhere.input["arguments"] == {"kwargs": {"color": "red"}}  # a tool may take a parameter called kwargs
    assert (llama_tool.input["arguments"], llama_tool.output) == ({"city": "Paris"}, {"result": "Sunny"})

    helper = _one_span("OpenAI._prepare_chat_with_tools", {"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini",
        "input.value": '{"chat_history": ["ChatMessage(...)"]}', "output.value": '{"messages": ["ChatMessage(...)"]}'})  # fmt: skip
    assert helper.kind is None  # builds the request, sends nothing
    metadata = json.dumps({"context_window": 128000, "num_output": -1, "is_chat_model": True, "model_name": "gpt-4o-mini",
                           "system_role": "system", "temperature": 0.1})  # fmt: skip
    call = _one_span("OpenAI.achat", {"openinference.span.kind": "LLM", "llm.invocation_parameters": metadata,
                                      "llm.token_count.prompt": 8})  # fmt: skip
    assert (call.kind, call.input["parameters"]) == ("llm_call", {"temperature": 0.1})


def test_autogen_adk_and_crewai_shapes() -> None:
    """Seen in real runs of AutoGen (its own GenAI spans), Google ADK and CrewAI."""
    # handoffs the model called as tools, named by the tool
    autogen = _one_span("execute_tool transfer_to_weather_agent", {"gen_ai.operation.name": "execute_tool",
                        "gen_ai.tool.name": "transfer_to_weather_agent", "gen_ai.tool.description": "Handoff to weather_agent."})  # fmt: skip
    adk = _one_span("execute_tool transfer_to_agent", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name":
                    "transfer_to_agent", "gen_ai.tool.call.arguments": '{"agent_name": "weather_agent"}'})  # fmt: skip
    assert (autogen.kind, autogen.input["to_agent"]) == ("handoff", "weather_agent")
    assert (adk.kind, adk.input["to_agent"], adk.input["arguments"]) == ("handoff", "weather_agent", {"agent_name": "weather_agent"})
    # ADK's placeholder is no call id
    assert "call_id" not in _one_span("execute_tool f", {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "f",
                                                         "gen_ai.tool.call.id": "<not specified>"}).input  # fmt: skip
    # CrewAI's event listener: the reply as a list of tool calls, the tools as one JSON array
    calls = [{"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}}]
    tools = [{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}]
    crew = _one_span("gpt-4o-mini.llm_call", {"openinference.span.kind": "LLM", "output.value": json.dumps(calls),
                                              "llm.tools": json.dumps(tools)})  # fmt: skip
    assert crew.output["messages"] == [{"role": "assistant", "content": None,
                                        "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]}]  # fmt: skip
    assert [t["name"] for t in crew.input["tools"]] == ["get_weather"]


def test_a_wrapped_model_call_and_a_tool_result_given_later() -> None:
    """AutoGen under OpenInference: its model client's LLM span wraps the OpenAI client's. And
    AutoGen's own tool spans record no result: the next model call is given it by call id."""
    asked = json.dumps([{"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "f", "arguments": {}}]}])
    given = json.dumps([{"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "42"}]}])
    bundle = _one_span_trace(
        [
            {"name": "client.create", "attributes": {"openinference.span.kind": "LLM"}},
            {"name": "chat", "parent": 1, "attributes": {"gen_ai.operation.name": "chat", "gen_ai.output.messages": asked}},
            {"name": "execute_tool f", "end": "1700000000002500000", "attributes": {"gen_ai.operation.name": "execute_tool",
                                                                         "gen_ai.tool.name": "f", "gen_ai.tool.call.id": "c1"}},
            {"name": "chat", "attributes": {"gen_ai.operation.name": "chat", "gen_ai.input.messages": given}},
        ]
    )  # fmt: skip
    assert [s.kind for s in bundle.spans] == [None, "llm_call", "tool_call", "llm_call"]
    tool = only(bundle, "execute_tool f")
    assert tool.output == {"result": 42} and tool.input["arguments"] == {}


def test_a_tool_named_like_a_handoff_is_a_tool_unless_it_hands_over() -> None:
    """`transfer_to_account` is a tool; `transfer_to_billing` is a handoff when billing is an
    agent of the trace. Either way the tool call's arguments and result are kept."""
    def tool(name: str) -> dict[str, Any]:
        return {"name": f"execute_tool {name}", "parent": 1, "attributes": {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name, "gen_ai.tool.call.id": "c1",
            "gen_ai.tool.call.arguments": '{"amount": 10}', "gen_ai.tool.call.result": '{"ok": true}'}}  # fmt: skip
    support = {"name": "invoke_agent Support", "attributes": {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "Support"}}
    billing = {"name": "invoke_agent billing", "attributes": {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "billing"}}
    for name in ("transfer_to_account", "handoff_request", "transfer_to_human"):
        span = only(_one_span_trace([support, tool(name)]), f"execute_tool {name}")
        assert (span.kind, span.input["arguments"], span.output) == ("tool_call", {"amount": 10}, {"result": {"ok": True}})
    handoff = only(_one_span_trace([support, tool("transfer_to_billing"), billing]), "execute_tool transfer_to_billing")
    assert handoff.kind == "handoff"
    assert handoff.input == {"from_agent": "Support", "to_agent": "billing", "name": "transfer_to_billing",
                             "arguments": {"amount": 10}, "call_id": "c1"}  # fmt: skip
    assert handoff.output == {"result": {"ok": True}}
    adk_named = _one_span("transfer_to_agent", {"openinference.span.kind": "TOOL", "tool.name": "transfer_to_agent",
                                                 "input.value": '{"agent_name": "billing"}'})  # fmt: skip
    assert (adk_named.kind, adk_named.input["to_agent"]) == ("handoff", "billing")


def test_review_cases_for_the_wrapper_rules() -> None:
    # a model call on a span named like a private method, with its messages in input.value
    messages = json.dumps({"messages": [{"role": "user", "content": "hi"}]})
    ask = _one_span("Assistant._ask_model", {"openinference.span.kind": "LLM", "input.value": messages})
    assert ask.kind == "llm_call" and ask.input["messages"] == [{"role": "user", "content": "hi"}]
    # an unnamed agent with model calls of its own is an agent, though it delegates to a named one
    agent = {"openinference.span.kind": "AGENT"}
    llm = {"openinference.span.kind": "LLM", "llm.token_count.prompt": 3}
    bundle = _one_span_trace([{"name": "planner", "attributes": agent}, {"name": "plan", "parent": 1, "attributes": llm},
                              {"name": "Researcher.run", "parent": 1, "attributes": {**agent, "agent.name": "Researcher"}}])  # fmt: skip
    assert sorted(a.name for a in bundle.agents) == ["Researcher", "planner"]
    assert only(bundle, "plan").agent_id == "agent-planner"
    # a declared llm_call stays one, with a model call under it
    declared = _one_span_trace([{"name": "call", "attributes": {"agenttrace.span.kind": "llm_call"}},
                                {"name": "chat", "parent": 1, "attributes": {"gen_ai.operation.name": "chat"}}])  # fmt: skip
    assert [s.kind for s in declared.spans] == ["llm_call", "llm_call"]


def test_a_result_given_later_belongs_to_its_own_call() -> None:
    """Call ids numbered per reply ("0" twice), and a retried call: each tool span gets the
    result the model was given for it, never another call's."""
    def chat(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {"gen_ai.operation.name": "chat", "gen_ai.agent.name": "A", "gen_ai.input.messages": json.dumps(messages)}
    def tool(q: str) -> dict[str, Any]:
        return {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search", "gen_ai.tool.call.id": "0",
                "gen_ai.agent.name": "A", "gen_ai.tool.call.arguments": json.dumps({"q": q})}  # fmt: skip
    paris = {"role": "tool", "parts": [{"type": "tool_call_response", "id": "0", "response": "Paris: 18C"}]}
    rome = {"role": "tool", "parts": [{"type": "tool_call_response", "id": "0", "response": "Rome: 25C"}]}
    start = 1_700_000_000_000_000_000
    bundle = _one_span_trace([
        {"name": "search paris", "end": str(start + 500_000), "attributes": tool("paris")},
        {"name": "chat 1", "attributes": chat([paris])},
        {"name": "search rome", "end": str(start + 2_500_000), "attributes": tool("rome")},
        {"name": "chat 2", "attributes": chat([paris, rome])},
    ])  # fmt: skip
    assert only(bundle, "search paris").output == {"result": "Paris: 18C"}
    assert only(bundle, "search rome").output == {"result": "Rome: 25C"}


def test_a_model_call_in_a_langgraph_node_stays_the_wrapper() -> None:
    """LangChain's model span in a LangGraph node, around the OpenAI client's span (both
    instrumented): the node's span is the model call the langgraph executor resumes at."""
    node = {"openinference.span.kind": "LLM", "metadata": json.dumps({"langgraph_node": "agent"}),
            "llm.token_count.prompt": 5}  # fmt: skip
    bundle = _one_span_trace([{"name": "ChatOpenAI", "attributes": node},
                              {"name": "ChatCompletion", "parent": 1, "attributes": {"openinference.span.kind": "LLM",
                                                                                     "llm.token_count.prompt": 5}}])  # fmt: skip
    assert [(s.name, s.kind) for s in bundle.spans] == [("ChatOpenAI", "llm_call"), ("ChatCompletion", None)]
    assert bundle.trace.total_tokens == 5  # counted once, as before
