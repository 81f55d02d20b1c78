"""OTLP/JSON trace fixtures produced by the real OpenTelemetry SDK.

Each builder records spans with a private `TracerProvider` into an `InMemorySpanExporter`,
encodes them with the OTLP exporter's own encoder and converts the protobuf to JSON. The
protobuf JSON mapping writes ids as base64, while the OTLP/JSON specification wants lowercase
hex, so the ids are rewritten; enums are written as integers, as the specification says.
"""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Span, Status, StatusCode, Tracer

_ID_FIELDS = ("traceId", "spanId", "parentSpanId")
_TESTS_DIR = Path(__file__).resolve().parent


# --- encoding ---------------------------------------------------------------------------


def _hex_ids(node: Any) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in _ID_FIELDS and isinstance(value, str) and value:
                node[key] = base64.b64decode(value).hex()
            else:
                _hex_ids(value)
    elif isinstance(node, list):
        for item in node:
            _hex_ids(item)


def otlp_dict(spans: Sequence[ReadableSpan]) -> dict[str, Any]:
    """An ExportTraceServiceRequest as the OTLP/JSON spec writes it."""
    request = MessageToDict(encode_spans(spans), use_integers_for_enums=True)
    _hex_ids(request)
    return request


def otlp_json(spans: Sequence[ReadableSpan]) -> str:
    return json.dumps(otlp_dict(spans))


def to_jsonl(*requests: str | dict[str, Any]) -> str:
    """Several export requests, one compact JSON document per line (the file exporter's form)."""
    lines = [json.dumps(r if isinstance(r, dict) else json.loads(r)) for r in requests]
    return "\n".join(lines) + "\n"


def split_requests(document: str, batch_size: int = 2) -> list[dict[str, Any]]:
    """One OTLP/JSON document cut into requests of `batch_size` spans, as a batching exporter
    would send them: each keeps its resource and scope."""
    requests: list[dict[str, Any]] = []
    for resource_spans in json.loads(document)["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            spans = scope_spans["spans"]
            for start in range(0, len(spans), batch_size):
                scope = {**scope_spans, "spans": spans[start : start + batch_size]}
                requests.append({"resourceSpans": [{**resource_spans, "scopeSpans": [scope]}]})
    return requests


def jsonl_variant(document: str, batch_size: int = 2) -> str:
    return to_jsonl(*split_requests(document, batch_size))


@contextmanager
def recording(service: str) -> Iterator[tuple[TracerProvider, InMemorySpanExporter]]:
    """A private provider (never the global one) so fixtures do not leak into each other."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    try:
        yield provider, exporter
    finally:
        provider.shutdown()


def _json(value: Any) -> str:
    return json.dumps(value)


def _fail(span: Span, exc: Exception, message: str) -> None:
    span.record_exception(exc)
    span.set_attribute("error.type", type(exc).__name__)
    span.set_status(Status(StatusCode.ERROR, message))


# --- 1. GenAI conventions, current form ----------------------------------------------------

SUPERVISOR_ID = "asst_supervisor_7f3a"
BILLING_SYSTEM = "You are the billing specialist. Explain charges plainly and offer a fix."
SUPERVISOR_SYSTEM = (
    "You are the support supervisor for Acme Cloud. Look the customer up, then answer or "
    "hand off to a specialist."
)
_TOOL_DEFINITIONS = [
    {
        "type": "function",
        "name": "lookup_customer",
        "description": "Find a customer account by email.",
        "parameters": {"type": "object", "properties": {"email": {"type": "string"}}},
    },
    {
        "type": "function",
        "name": "get_invoice",
        "description": "Fetch an invoice by id.",
        "parameters": {"type": "object", "properties": {"invoice_id": {"type": "string"}}},
    },
]
QUESTION = "Why was I charged twice this month? My email is dana@example.com, invoice INV-1042."


def _text(role: str, text: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "content": text}], **extra}


def _chat(
    tracer: Tracer,
    model: str,
    messages: list[dict[str, Any]],
    output: list[dict[str, Any]],
    usage: tuple[int, int],
    system: str,
    cost: float,
    agent: str,
) -> None:
    with tracer.start_as_current_span(f"chat {model}") as span:
        span.set_attributes(
            {
                "gen_ai.operation.name": "chat",
                "gen_ai.provider.name": "openai" if model.startswith("gpt") else "anthropic",
                "gen_ai.request.model": model,
                "gen_ai.response.model": model + ("-2024-08-06" if model == "gpt-4o" else ""),
                "gen_ai.request.temperature": 0.2,
                "gen_ai.request.max_tokens": 1024,
                "gen_ai.request.top_p": 0.9,
                "gen_ai.agent.name": agent,
                "gen_ai.system_instructions": _json([{"type": "text", "content": system}]),
                "gen_ai.input.messages": _json(messages),
                "gen_ai.output.messages": _json(output),
                "gen_ai.response.finish_reasons": [output[0]["finish_reason"]],
                "gen_ai.usage.input_tokens": usage[0],
                "gen_ai.usage.output_tokens": usage[1],
                "gen_ai.usage.cost": cost,
            }
        )
        if agent == "supervisor":
            span.set_attribute("gen_ai.tool.definitions", _json(_TOOL_DEFINITIONS))


def _tool(
    tracer: Tracer, name: str, call_id: str, arguments: dict[str, Any], result: Any = None
) -> Span:
    span = tracer.start_span(f"execute_tool {name}")
    span.set_attributes(
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.type": "function",
            "gen_ai.tool.call.id": call_id,
            "gen_ai.tool.call.arguments": _json(arguments),
        }
    )
    if result is not None:
        span.set_attribute("gen_ai.tool.call.result", _json(result))
    return span


def genai_multi_agent_trace() -> str:
    """A supervisor agent that looks a customer up, hits a failing invoice service and hands
    off to a billing specialist, recorded with the current GenAI conventions."""
    with recording("acme-support") as (provider, exporter):
        tracer = provider.get_tracer("acme.support.agents", "1.4.0")
        user = _text("user", QUESTION)
        calls = [
            {"type": "tool_call", "id": "call_lookup_1", "name": "lookup_customer",
             "arguments": {"email": "dana@example.com"}},
            {"type": "tool_call", "id": "call_invoice_1", "name": "get_invoice",
             "arguments": {"invoice_id": "INV-1042"}},
        ]  # fmt: skip
        customer = {"customer_id": "C-881", "plan": "Pro", "status": "active"}
        with tracer.start_as_current_span("invoke_agent supervisor") as root:
            root.set_attributes(
                {
                    "gen_ai.operation.name": "invoke_agent",
                    "gen_ai.agent.id": SUPERVISOR_ID,
                    "gen_ai.agent.name": "supervisor",
                    "gen_ai.agent.description": "Routes customer questions to specialists",
                    "gen_ai.conversation.id": "conv_5j66UpCpwteGg4YS",
                    "gen_ai.input.messages": _json([user]),
                    "gen_ai.usage.input_tokens": 2272,  # the agent's own total: not added again
                    "gen_ai.usage.output_tokens": 219,
                }
            )
            first_reply = {"role": "assistant", "parts": calls, "finish_reason": "tool_call"}
            _chat(tracer, "gpt-4o", [user], [first_reply], (412, 38), SUPERVISOR_SYSTEM,
                  0.00141, "supervisor")  # fmt: skip
            with tracer.start_as_current_span("tools"):
                lookup = _tool(tracer, "lookup_customer", "call_lookup_1",
                               {"email": "dana@example.com"}, customer)  # fmt: skip
                lookup.end()
                invoice = _tool(tracer, "get_invoice", "call_invoice_1", {"invoice_id": "INV-1042"})
                _fail(invoice, ConnectionError("upstream returned 503"), "invoice service HTTP 503")
                invoice.end()
            results = {
                "role": "tool",
                "parts": [
                    {"type": "tool_call_response", "id": "call_lookup_1", "response": customer},
                    {"type": "tool_call_response", "id": "call_invoice_1",
                     "response": "error: invoice service HTTP 503"},
                ],
            }  # fmt: skip
            handoff_call = {"type": "tool_call", "id": "call_handoff_1",
                            "name": "transfer_to_billing_specialist", "arguments": "{}"}  # fmt: skip
            second = [user, first_reply, results]
            reply = {"role": "assistant", "parts": [handoff_call], "finish_reason": "tool_call"}
            _chat(tracer, "gpt-4o", second, [reply], (530, 22), SUPERVISOR_SYSTEM, 0.00154,
                  "supervisor")  # fmt: skip
            answer = (
                "You were charged twice because a failed card retry on 3 May succeeded after the "
                "original charge. I have flagged the duplicate for a refund within 5 days."
            )
            with tracer.start_as_current_span("transfer_to_billing_specialist") as handoff:
                handoff.set_attribute("gen_ai.operation.name", "handoff")
                with tracer.start_as_current_span("invoke_agent billing_specialist") as billing:
                    billing.set_attributes(
                        {
                            "gen_ai.operation.name": "invoke_agent",
                            "gen_ai.agent.name": "billing_specialist",
                            "gen_ai.agent.description": "Explains and fixes billing problems",
                            "gen_ai.output.messages": _json(
                                [_text("assistant", answer, finish_reason="stop")]
                            ),
                        }
                    )
                    handover = _text("user", QUESTION + " (customer C-881, invoice lookup failed)")
                    _chat(tracer, "claude-3-5-sonnet", [handover],
                          [_text("assistant", answer, finish_reason="stop")], (610, 95),
                          BILLING_SYSTEM, 0.00326, "billing_specialist")  # fmt: skip
            final = [user, first_reply, results, reply, _text("assistant", answer)]
            _chat(tracer, "gpt-4o", final, [_text("assistant", answer, finish_reason="stop")],
                  (720, 64), SUPERVISOR_SYSTEM, 0.00244, "supervisor")  # fmt: skip
            root.set_attribute(
                "gen_ai.output.messages", _json([_text("assistant", answer, finish_reason="stop")])
            )
        return otlp_json(exporter.get_finished_spans())


# --- 2. GenAI conventions, older flattened form -------------------------------------------


def genai_legacy_trace() -> str:
    """Chat spans in the older forms: indexed `gen_ai.prompt.N.*`/`gen_ai.completion.N.*`
    with `prompt_tokens`/`completion_tokens`, the `gen_ai.content.*` events and the
    per-message events."""
    with recording("legacy-bot") as (provider, exporter):
        tracer = provider.get_tracer("opentelemetry.instrumentation.openai", "0.33.0")
        with tracer.start_as_current_span("answer_question") as root:
            root.set_attribute("traceloop.span.kind", "workflow")
            with tracer.start_as_current_span("openai.chat") as span:
                span.set_attributes(
                    {
                        "gen_ai.system": "openai",
                        "llm.request.type": "chat",
                        "gen_ai.request.model": "gpt-3.5-turbo",
                        "gen_ai.response.model": "gpt-3.5-turbo-0125",
                        "gen_ai.request.temperature": 0.0,
                        "gen_ai.prompt.0.role": "system",
                        "gen_ai.prompt.0.content": "You are a concise assistant.",
                        "gen_ai.prompt.1.role": "user",
                        "gen_ai.prompt.1.content": "What is 17 * 23?",
                        "gen_ai.completion.0.role": "assistant",
                        "gen_ai.completion.0.finish_reason": "tool_calls",
                        "gen_ai.completion.0.tool_calls.0.id": "call_calc_1",
                        "gen_ai.completion.0.tool_calls.0.name": "calculator",
                        "gen_ai.completion.0.tool_calls.0.arguments": '{"expression": "17 * 23"}',
                        "llm.request.functions.0.name": "calculator",
                        "llm.request.functions.0.description": "Evaluate arithmetic.",
                        "gen_ai.usage.prompt_tokens": 52,
                        "gen_ai.usage.completion_tokens": 18,
                    }
                )
            with tracer.start_as_current_span("calculator") as tool:
                tool.set_attributes({"gen_ai.tool.name": "calculator", "gen_ai.tool.call.id": "call_calc_1"})
            with tracer.start_as_current_span("openai.chat") as span:
                span.set_attributes(
                    {
                        "gen_ai.system": "openai",
                        "gen_ai.request.model": "gpt-3.5-turbo",
                        "gen_ai.prompt.0.role": "user",
                        "gen_ai.prompt.0.content": "What is 17 * 23?",
                        "gen_ai.prompt.1.role": "assistant",
                        "gen_ai.prompt.1.tool_calls.0.id": "call_calc_1",
                        "gen_ai.prompt.1.tool_calls.0.name": "calculator",
                        "gen_ai.prompt.1.tool_calls.0.arguments": '{"expression": "17 * 23"}',
                        "gen_ai.prompt.2.role": "tool",
                        "gen_ai.prompt.2.tool_call_id": "call_calc_1",
                        "gen_ai.prompt.2.content": "391",
                        "gen_ai.completion.0.role": "assistant",
                        "gen_ai.completion.0.content": "17 * 23 = 391.",
                        "gen_ai.completion.0.finish_reason": "stop",
                        "gen_ai.usage.prompt_tokens": 71,
                        "gen_ai.usage.completion_tokens": 9,
                    }
                )
            with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"})
                prompt = [{"role": "user", "content": "Say thanks in French."}]
                span.add_event("gen_ai.content.prompt", {"gen_ai.prompt": _json(prompt)})
                completion = [{"role": "assistant", "content": "Merci !"}]
                span.add_event("gen_ai.content.completion", {"gen_ai.completion": _json(completion)})
            with tracer.start_as_current_span("chat gpt-4o-mini") as span:
                span.set_attributes({"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o-mini"})
                span.add_event("gen_ai.system.message", {"content": "Answer in one word."})
                span.add_event("gen_ai.user.message", {"content": "Capital of Italy?"})
                span.add_event(
                    "gen_ai.choice",
                    {"index": 0, "finish_reason": "stop", "message": _json({"content": "Rome"})},
                )
        return otlp_json(exporter.get_finished_spans())


# --- 3. OpenInference conventions, written by hand ----------------------------------------


def _oi_messages(prefix: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for i, message in enumerate(messages):
        head = f"{prefix}.{i}.message"
        for key in ("role", "content", "tool_call_id", "name"):
            if key in message:
                flat[f"{head}.{key}"] = message[key]
        for j, call in enumerate(message.get("tool_calls", [])):
            flat[f"{head}.tool_calls.{j}.tool_call.id"] = call["id"]
            flat[f"{head}.tool_calls.{j}.tool_call.function.name"] = call["name"]
            flat[f"{head}.tool_calls.{j}.tool_call.function.arguments"] = _json(call["arguments"])
        for j, text in enumerate(message.get("contents", [])):
            flat[f"{head}.contents.{j}.message_content.type"] = "text"
            flat[f"{head}.contents.{j}.message_content.text"] = text
    return flat


RESEARCH_SYSTEM = "You research questions using the search tool and cite sources."
SEARCH_ARGS = {"query": "James Webb telescope launch date", "max_results": 3}
SEARCH_RESULT = [{"title": "Webb launched", "url": "https://science.nasa.gov/webb", "date": "2021-12-25"}]


def openinference_trace() -> str:
    """An AGENT with CHAIN, LLM, TOOL and RETRIEVER children in OpenInference attributes."""
    with recording("research-service") as (provider, exporter):
        tracer = provider.get_tracer("openinference.instrumentation.llama_index", "2.0.0")
        question = "When did the James Webb telescope launch?"
        with tracer.start_as_current_span("research_agent") as agent:
            agent.set_attributes(
                {
                    "openinference.span.kind": "AGENT",
                    "agent.name": "researcher",
                    "input.value": _json({"question": question}),
                    "input.mime_type": "application/json",
                    "session.id": "sess-42",
                    "user.id": "user-7",
                    "metadata": _json({"team": "science-desk"}),
                }
            )
            with tracer.start_as_current_span("plan") as chain:
                chain.set_attributes(
                    {"openinference.span.kind": "CHAIN", "input.value": question,
                     "output.value": "search then answer"}  # fmt: skip
                )
            call = {"id": "call_s1", "name": "web_search", "arguments": SEARCH_ARGS}
            with tracer.start_as_current_span("ChatOpenAI") as llm:
                llm.set_attributes(
                    {
                        "openinference.span.kind": "LLM",
                        "llm.model_name": "gpt-4o-mini",
                        "llm.invocation_parameters": _json({"temperature": 0.1, "model": "gpt-4o-mini"}),
                        "llm.tools.0.tool.json_schema": _json(
                            {"type": "function", "function": {"name": "web_search",
                             "description": "Search the web", "parameters": {"type": "object"}}}
                        ),  # fmt: skip
                        **_oi_messages("llm.input_messages", [
                            {"role": "system", "content": RESEARCH_SYSTEM},
                            {"role": "user", "contents": [question, "Answer with a date."]},
                        ]),  # fmt: skip
                        **_oi_messages("llm.output_messages", [{"role": "assistant", "tool_calls": [call]}]),
                        "llm.token_count.prompt": 120,
                        "llm.token_count.completion": 24,
                        "llm.token_count.total": 144,
                    }
                )
            with tracer.start_as_current_span("web_search") as tool:
                tool.set_attributes(
                    {
                        "openinference.span.kind": "TOOL",
                        "tool.name": "web_search",
                        "tool.description": "Search the web",
                        "tool.parameters": _json({"type": "object", "properties": {"query": {}}}),
                        "tool_call.id": "call_s1",
                        "input.value": _json(SEARCH_ARGS),
                        "input.mime_type": "application/json",
                        "output.value": _json(SEARCH_RESULT),
                        "output.mime_type": "application/json",
                    }
                )
            with tracer.start_as_current_span("retrieve") as retriever:
                retriever.set_attributes(
                    {
                        "openinference.span.kind": "RETRIEVER",
                        "input.value": "Webb launch",
                        "retrieval.documents.0.document.id": "doc-1",
                        "retrieval.documents.0.document.content": "Webb launched on 25 December 2021.",
                        "retrieval.documents.0.document.score": 0.91,
                    }
                )
            answer = "The James Webb telescope launched on 25 December 2021."
            with tracer.start_as_current_span("ChatOpenAI") as llm:
                llm.set_attributes(
                    {
                        "openinference.span.kind": "LLM",
                        "llm.model_name": "gpt-4o-mini",
                        **_oi_messages("llm.input_messages", [
                            {"role": "system", "content": RESEARCH_SYSTEM},
                            {"role": "user", "content": question},
                            {"role": "assistant", "tool_calls": [call]},
                            {"role": "tool", "tool_call_id": "call_s1", "name": "web_search",
                             "content": _json(SEARCH_RESULT)},
                        ]),  # fmt: skip
                        **_oi_messages("llm.output_messages", [{"role": "assistant", "content": answer}]),
                        "llm.token_count.prompt": 210,
                        "llm.token_count.completion": 17,
                    }
                )
            agent.set_attribute("output.value", answer)
        return otlp_json(exporter.get_finished_spans())


# --- 4. a real LangGraph run, instrumented by OpenInference --------------------------------


def langgraph_trace(question: str = "What is the weather in Paris?") -> str:
    """Run the ReAct graph of tests/agents/react_graph.py under the LangChain instrumentor."""
    from openinference.instrumentation.langchain import LangChainInstrumentor

    if str(_TESTS_DIR) not in sys.path:  # the tests folder is importable, as in conftest.py
        sys.path.insert(0, str(_TESTS_DIR))
    from agents.react_graph import graph

    with recording("langgraph-weather") as (provider, exporter):
        instrumentor = LangChainInstrumentor()
        instrumentor.instrument(tracer_provider=provider)
        try:
            graph.invoke({"messages": [("user", question)]})
        finally:
            instrumentor.uninstrument()
        return otlp_json(exporter.get_finished_spans())


def sdk_documents() -> dict[str, str]:
    """One OTLP/JSON document per convention family, all written by the OpenTelemetry SDK."""
    return {
        "genai": genai_multi_agent_trace(),
        "legacy": genai_legacy_trace(),
        "openinference": openinference_trace(),
        "langgraph": langgraph_trace("What is the weather in Lisbon?"),
    }
