"""Write the sample traces that `agenttrace-replay demo` loads.

    python scripts/make_samples.py            # writes agenttrace_replay/samples/*.json

The traces are recorded with the real OpenTelemetry SDK and encoded by the OTLP exporter's
own encoder, so they are exactly what an instrumented application would export. Ids come
from a seeded generator and every timestamp from a simulated clock, so running the script
again produces the same bytes. Needs the test extras (opentelemetry-sdk and
opentelemetry-exporter-otlp-proto-common).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from google.protobuf.json_format import MessageToDict
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import Span, Status, StatusCode, Tracer

SAMPLES = Path(__file__).resolve().parent.parent / "agenttrace_replay" / "samples"
START_NS = 1_741_944_600_000_000_000  # 2025-03-14T09:30:00Z


class SeededIds(IdGenerator):
    """Ids derived from a name and a counter: stable across runs, distinct across samples."""

    def __init__(self, seed: str) -> None:
        self.seed = seed
        self.count = 0

    def _next(self, size: int) -> int:
        self.count += 1
        digest = hashlib.sha256(f"{self.seed}/{self.count}".encode()).digest()
        return int.from_bytes(digest[:size], "big") or 1

    def generate_trace_id(self) -> int:
        return self._next(16)

    def generate_span_id(self) -> int:
        return self._next(8)


class Recorder:
    """A tracer plus a simulated clock: `step` opens a child span at the current time and
    closes it `took_ms` after its last child, so the timeline reads like a real run."""

    def __init__(self, tracer: Tracer) -> None:
        self.tracer = tracer
        self.now = START_NS

    def wait(self, ms: float) -> None:
        self.now += int(ms * 1_000_000)

    @contextmanager
    def step(self, name: str, attributes: dict[str, Any], took_ms: float = 5) -> Iterator[Span]:
        self.wait(3)
        span = self.tracer.start_span(name, start_time=self.now, attributes=attributes)
        with trace.use_span(span, end_on_exit=False):
            yield span
        self.wait(took_ms)
        span.end(end_time=self.now)


def record(seed: str, service: str, scope: str, body: Any) -> dict[str, Any]:
    """Run `body(recorder)` under a private provider; return the OTLP/JSON export request."""
    exporter = InMemorySpanExporter()
    resource = Resource({"service.name": service, "service.version": "1.8.2",
                         "deployment.environment.name": "staging"})  # fmt: skip
    provider = TracerProvider(resource=resource, id_generator=SeededIds(seed))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    body(Recorder(provider.get_tracer(scope, "1.0.0")))
    provider.shutdown()
    encoded = encode_spans(exporter.get_finished_spans())
    request = MessageToDict(encoded, use_integers_for_enums=True)
    for resource_spans in request["resourceSpans"]:
        for scope_spans in resource_spans["scopeSpans"]:
            for span in scope_spans["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if span.get(key):
                        span[key] = base64.b64decode(span[key]).hex()
    return request


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def text(role: str, content: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "content": content}], **extra}


def call(call_id: str, name: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def reply(*parts: dict[str, Any]) -> dict[str, Any]:
    finish = "tool_call" if any(p["type"] == "tool_call" for p in parts) else "stop"
    return {"role": "assistant", "parts": list(parts), "finish_reason": finish}


def result(call_id: str, response: Any) -> dict[str, Any]:
    part = {"type": "tool_call_response", "id": call_id, "response": response}
    return {"role": "tool", "parts": [part]}


PRICES = {"gpt-4o": (2.50, 10.00), "gpt-4o-mini": (0.15, 0.60)}  # USD per million tokens


def cost(model: str, tokens_in: int, tokens_out: int) -> float:
    price_in, price_out = PRICES[model]
    return round((tokens_in * price_in + tokens_out * price_out) / 1e6, 8)


def chat(
    rec: Recorder,
    agent: str,
    model: str,
    system: str,
    messages: list[dict[str, Any]],
    output: dict[str, Any],
    usage: tuple[int, int],
    took_ms: float,
    tools: list[dict[str, Any]] | None = None,
) -> None:
    attributes = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.agent.name": agent,
        "gen_ai.request.model": model,
        "gen_ai.response.model": model + ("-2024-08-06" if model == "gpt-4o" else "-2024-07-18"),
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.max_tokens": 2048,
        "gen_ai.system_instructions": dumps([{"type": "text", "content": system}]),
        "gen_ai.input.messages": dumps(messages),
        "gen_ai.output.messages": dumps([output]),
        "gen_ai.response.finish_reasons": [output["finish_reason"]],
        "gen_ai.usage.input_tokens": usage[0],
        "gen_ai.usage.output_tokens": usage[1],
        "gen_ai.usage.cost": cost(model, *usage),
    }
    if tools:
        attributes["gen_ai.tool.definitions"] = dumps(tools)
    with rec.step(f"chat {model}", attributes, took_ms):
        pass


def tool(
    rec: Recorder, name: str, call_id: str, arguments: dict[str, Any], took_ms: float,
    response: Any = None, failure: tuple[Exception, str] | None = None,
) -> None:  # fmt: skip
    attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": call_id,
        "gen_ai.tool.call.arguments": dumps(arguments),
    }
    if response is not None:
        attributes["gen_ai.tool.call.result"] = dumps(response)
    with rec.step(f"execute_tool {name}", attributes, took_ms) as span:
        if failure is not None:
            exc, message = failure
            span.record_exception(exc, timestamp=rec.now + int(took_ms * 1_000_000))
            span.set_attribute("error.type", type(exc).__name__)
            span.set_status(Status(StatusCode.ERROR, message))


# --- research_assistant: triage hands off to a researcher ---------------------------------

QUESTION = (
    "What is the difference between PostgreSQL logical and physical replication, and which "
    "one should we use for a zero-downtime upgrade from PostgreSQL 14 to 17?"
)
TRIAGE_SYSTEM = (
    "You are the triage agent of an engineering help desk. Answer small talk yourself. Hand "
    "anything that needs sources or current facts to the researcher with transfer_to_researcher."
)
RESEARCHER_SYSTEM = (
    "You are a careful research assistant. Search the web, read the most relevant pages with "
    "fetch_page, and answer in under 200 words with numbered citations. If a page fails to "
    "load, retry once before moving on."
)
RESEARCH_TOOLS = [
    {"type": "function", "name": "web_search", "description": "Search the web.",
     "parameters": {"type": "object", "properties": {"query": {"type": "string"},
                    "max_results": {"type": "integer"}}, "required": ["query"]}},
    {"type": "function", "name": "fetch_page", "description": "Download a page as plain text.",
     "parameters": {"type": "object", "properties": {"url": {"type": "string"}},
                    "required": ["url"]}},
]  # fmt: skip
TRIAGE_TOOLS = [
    {"type": "function", "name": "transfer_to_researcher",
     "description": "Hand the conversation to the researcher agent.",
     "parameters": {"type": "object", "properties": {"reason": {"type": "string"}}}},
]  # fmt: skip
DOCS_URL = "https://www.postgresql.org/docs/17/logical-replication.html"
SEARCH_RESULTS = [
    {"title": "PostgreSQL 17 documentation: Logical Replication", "url": DOCS_URL,
     "snippet": "Logical replication is a method of replicating data objects and their changes, "
                "based upon their replication identity (usually a primary key)."},
    {"title": "Upgrading a PostgreSQL cluster",
     "url": "https://www.postgresql.org/docs/17/upgrading.html",
     "snippet": "Major releases can be upgraded with pg_dumpall, pg_upgrade or via replication."},
    {"title": "Zero-downtime Postgres major upgrades with logical replication",
     "url": "https://engineering.example.com/blog/pg-logical-upgrade",
     "snippet": "We moved 4 TB from 13 to 16 with under a minute of write downtime."},
]  # fmt: skip
PAGE_TEXT = (
    "31.1. Publication ... Logical replication allows replicating between different major "
    "versions of PostgreSQL, and between PostgreSQL instances on different platforms. "
    "Physical (streaming) replication copies the write-ahead log byte for byte and therefore "
    "requires the same major version on primary and standby. Typical use-cases for logical "
    "replication are: sending incremental changes in a single database to subscribers, "
    "consolidating multiple databases into a single one, and replicating between different "
    "major versions of PostgreSQL (upgrades). Restrictions: the database schema and DDL "
    "commands are not replicated; sequence data is not replicated; large objects are not "
    "replicated."
)
ANSWER = (
    "**Physical (streaming) replication** ships the write-ahead log byte for byte, so the "
    "standby must run the same major version: it cannot carry you from 14 to 17 [1].\n\n"
    "**Logical replication** replays row changes per table through publications and "
    "subscriptions, and works across major versions [1][2].\n\n"
    "For a zero-downtime 14 → 17 upgrade, use logical replication: build a 17 cluster, copy the "
    "schema with `pg_dump --schema-only` (DDL is not replicated), subscribe it to a "
    "publication on 14, let it catch up, sync sequences, then switch the application over "
    "[1][3]. Keep the 14 cluster as a fallback until you are confident.\n\n"
    f"[1] {DOCS_URL}\n[2] https://www.postgresql.org/docs/17/upgrading.html\n"
    "[3] https://engineering.example.com/blog/pg-logical-upgrade"
)


def research_assistant(rec: Recorder) -> None:
    user = text("user", QUESTION)
    root_attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.id": "agent_triage",
        "gen_ai.agent.name": "triage",
        "gen_ai.agent.description": "Routes help-desk requests",
        "gen_ai.conversation.id": "conv_7Qm2x9",
        "gen_ai.input.messages": dumps([user]),
        "gen_ai.output.messages": dumps([text("assistant", ANSWER, finish_reason="stop")]),
    }
    with rec.step("invoke_agent triage", root_attributes, took_ms=40):
        handoff = call("call_tr_01", "transfer_to_researcher",
                       reason="needs current documentation and a recommendation")  # fmt: skip
        chat(rec, "triage", "gpt-4o-mini", TRIAGE_SYSTEM, [user], reply(handoff), (212, 31),
             took_ms=820, tools=TRIAGE_TOOLS)  # fmt: skip
        handoff_attributes = {
            "gen_ai.operation.name": "handoff",
            "agenttrace.handoff.from_agent": "triage",
            "agenttrace.handoff.to_agent": "researcher",
            "input.value": dumps({"reason": "needs current documentation and a recommendation"}),
        }
        with rec.step("transfer_to_researcher", handoff_attributes, took_ms=12):
            researcher(rec, user)


def researcher(rec: Recorder, user: dict[str, Any]) -> None:
    agent_attributes = {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.id": "agent_researcher",
        "gen_ai.agent.name": "researcher",
        "gen_ai.agent.description": "Searches the web and writes cited answers",
        "gen_ai.input.messages": dumps([user]),
        "gen_ai.output.messages": dumps([text("assistant", ANSWER, finish_reason="stop")]),
    }
    with rec.step("invoke_agent researcher", agent_attributes, took_ms=25):
        history = [user]
        query = "postgresql logical vs physical replication major version upgrade"
        search = call("call_ws_01", "web_search", query=query, max_results=3)
        chat(rec, "researcher", "gpt-4o", RESEARCHER_SYSTEM, history, reply(search), (486, 42),
             took_ms=1430, tools=RESEARCH_TOOLS)  # fmt: skip
        tool(rec, "web_search", "call_ws_01", search["arguments"], 910, response=SEARCH_RESULTS)
        history += [reply(search), result("call_ws_01", SEARCH_RESULTS)]

        fetch = call("call_fp_01", "fetch_page", url=DOCS_URL)
        chat(rec, "researcher", "gpt-4o", RESEARCHER_SYSTEM, history, reply(fetch), (912, 28),
             took_ms=1170, tools=RESEARCH_TOOLS)  # fmt: skip
        timeout = TimeoutError("Read timed out. (read timeout=10.0)")
        tool(rec, "fetch_page", "call_fp_01", fetch["arguments"], 10_004,
             failure=(timeout, "fetch_page timed out after 10 s"))  # fmt: skip
        history += [reply(fetch), result("call_fp_01", "error: fetch_page timed out after 10 s")]

        retry = call("call_fp_02", "fetch_page", url=DOCS_URL)
        chat(rec, "researcher", "gpt-4o", RESEARCHER_SYSTEM, history, reply(retry), (961, 27),
             took_ms=1020, tools=RESEARCH_TOOLS)  # fmt: skip
        tool(rec, "fetch_page", "call_fp_02", retry["arguments"], 1_380, response=PAGE_TEXT)
        history += [reply(retry), result("call_fp_02", PAGE_TEXT)]

        final = reply({"type": "text", "content": ANSWER})
        chat(rec, "researcher", "gpt-4o", RESEARCHER_SYSTEM, history, final, (1_254, 236),
             took_ms=4_870, tools=RESEARCH_TOOLS)  # fmt: skip


# --- support_bot: one agent, OpenInference attributes -------------------------------------

SUPPORT_SYSTEM = (
    "You are Parcelly's support assistant. Use lookup_order for anything about an order. "
    "Be brief and friendly; never promise refunds."
)
ORDER = {"order_id": "A-10293", "status": "shipped", "carrier": "UPS",
         "tracking": "1Z999AA10123456784", "eta": "2025-03-18"}  # fmt: skip
SUPPORT_ANSWER = (
    "Good news: order A-10293 has shipped with UPS (tracking 1Z999AA10123456784) and should "
    "arrive on Tuesday, 18 March."
)


def oi_messages(prefix: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for i, message in enumerate(messages):
        head = f"{prefix}.{i}.message"
        for key in ("role", "content", "tool_call_id", "name"):
            if key in message:
                flat[f"{head}.{key}"] = message[key]
        for j, tool_call in enumerate(message.get("tool_calls", [])):
            flat[f"{head}.tool_calls.{j}.tool_call.id"] = tool_call["id"]
            flat[f"{head}.tool_calls.{j}.tool_call.function.name"] = tool_call["name"]
            arguments = dumps(tool_call["arguments"])
            flat[f"{head}.tool_calls.{j}.tool_call.function.arguments"] = arguments
    return flat


def support_bot(rec: Recorder) -> None:
    question = "Hi! Where is my order A-10293? I need it before the weekend."
    lookup = {"id": "call_lo_01", "name": "lookup_order", "arguments": {"order_id": "A-10293"}}
    schema = {"type": "function", "function": {
        "name": "lookup_order", "description": "Look up an order by its id.",
        "parameters": {"type": "object", "properties": {"order_id": {"type": "string"}},
                       "required": ["order_id"]}}}  # fmt: skip
    common = {"session.id": "sess_2f81", "user.id": "cust_5521"}
    agent_attributes = {
        **common,
        "openinference.span.kind": "AGENT",
        "agent.name": "support_bot",
        "agenttrace.agent.role": "customer support",
        "input.value": dumps({"query": question}),
        "input.mime_type": "application/json",
        "output.value": SUPPORT_ANSWER,
    }
    llm_common = {
        **common,
        "openinference.span.kind": "LLM",
        "llm.provider": "openai",
        "llm.model_name": "gpt-4o-mini-2024-07-18",
        "llm.invocation_parameters": dumps({"model": "gpt-4o-mini", "temperature": 0.3}),
        "llm.tools.0.tool.json_schema": dumps(schema),
    }
    system = {"role": "system", "content": SUPPORT_SYSTEM}
    user = {"role": "user", "content": question}
    asked = {"role": "assistant", "tool_calls": [lookup]}
    final = {"role": "assistant", "content": SUPPORT_ANSWER}
    with rec.step("support_bot", agent_attributes, took_ms=15):
        first = {
            **llm_common,
            **oi_messages("llm.input_messages", [system, user]),
            **oi_messages("llm.output_messages", [asked]),
            "llm.token_count.prompt": 143,
            "llm.token_count.completion": 19,
            "llm.token_count.total": 162,
            "llm.cost.total": cost("gpt-4o-mini", 143, 19),
        }
        with rec.step("ChatCompletion", first, took_ms=690):
            pass
        tool_attributes = {
            **common,
            "openinference.span.kind": "TOOL",
            "tool.name": "lookup_order",
            "tool.description": "Look up an order by its id.",
            "tool_call.id": "call_lo_01",
            "input.value": dumps(lookup["arguments"]),
            "input.mime_type": "application/json",
            "output.value": dumps(ORDER),
            "output.mime_type": "application/json",
        }
        with rec.step("lookup_order", tool_attributes, took_ms=240):
            pass
        answered = {"role": "tool", "tool_call_id": "call_lo_01", "content": dumps(ORDER)}
        second = {
            **llm_common,
            **oi_messages("llm.input_messages", [system, user, asked, answered]),
            **oi_messages("llm.output_messages", [final]),
            "llm.token_count.prompt": 231,
            "llm.token_count.completion": 38,
            "llm.token_count.total": 269,
            "llm.cost.total": cost("gpt-4o-mini", 231, 38),
        }
        with rec.step("ChatCompletion", second, took_ms=1_120):
            pass


def build_samples() -> dict[str, str]:
    """File name → file text of every sample."""
    samples = {
        "research_assistant.json": record(
            "research_assistant", "helpdesk-agents", "helpdesk.agents", research_assistant
        ),
        "support_bot.json": record(
            "support_bot", "parcelly-support", "openinference.instrumentation.openai", support_bot
        ),
    }
    return {name: json.dumps(r, indent=1, ensure_ascii=False) + "\n" for name, r in samples.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=SAMPLES, help="folder to write to")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name, content in build_samples().items():
        path = args.out / name
        path.write_text(content, encoding="utf-8")
        print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
