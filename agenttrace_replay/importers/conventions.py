"""Which record fields a span's attributes mean, under the GenAI and OpenInference conventions.

Everything here is a pure function of one span. The span's input and output payloads are
built in `payloads.py`; agents and trace totals, which need the whole tree, in `bundle.py`.
docs/import-formats.md is the table form of this module: keep the two in step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ..records import SPAN_KINDS
from .attrs import Attrs, as_float, as_int, first, parse_json_container
from .raw import RawSpan

EXPLICIT_KIND = "agenttrace.span.kind"

_GENAI_OPERATIONS = {
    "chat": "llm_call",
    "text_completion": "llm_call",
    "generate_content": "llm_call",
    "completion": "llm_call",
    "execute_tool": "tool_call",
    "retrieval": "tool_call",
    "invoke_agent": "agent_message",
    "create_agent": "agent_message",
    "embeddings": None,
    "invoke_workflow": None,
}
# RETRIEVER and RERANKER are calls out to a data source that the agent chose to make, like a
# tool; EMBEDDING is a numeric transform with no decision in it, like a CHAIN step.
_OPENINFERENCE_KINDS = {
    "LLM": "llm_call",
    "TOOL": "tool_call",
    "AGENT": "agent_message",
    "RETRIEVER": "tool_call",
    "RERANKER": "tool_call",
    "EMBEDDING": None,
    "CHAIN": None,
    "GUARDRAIL": None,
    "EVALUATOR": None,
    "PROMPT": None,
    "UNKNOWN": None,
}
# OpenLLMetry's decorators (traceloop-sdk's @workflow, @task, @agent, @tool) mark a span's role.
TRACELOOP_KIND = "traceloop.span.kind"
_TRACELOOP_KINDS = {"tool": "tool_call", "agent": "agent_message", "workflow": None, "task": None}
_HANDOFF_NAME = re.compile(r"^(handoff|transfer_to_)", re.IGNORECASE)


def span_kind(attrs: Attrs, name: str) -> str | None:
    """The span's kind: an explicit `agenttrace.span.kind`, a handoff, then the conventions."""
    explicit = attrs.get(EXPLICIT_KIND)
    if isinstance(explicit, str) and explicit.lower() in SPAN_KINDS:
        return explicit.lower()
    if isinstance(explicit, str) and explicit.lower() in ("none", ""):
        return None
    operation = attrs.get("gen_ai.operation.name")
    if isinstance(operation, str) and "handoff" in operation.lower():
        return "handoff"
    if _HANDOFF_NAME.match(name or "") and TRACELOOP_KIND not in attrs:  # `transfer_to_x.tool`: see bundle
        return "handoff"
    if isinstance(operation, str) and operation in _GENAI_OPERATIONS:
        return _GENAI_OPERATIONS[operation]
    oi_kind = attrs.get("openinference.span.kind")
    if isinstance(oi_kind, str) and oi_kind.upper() in _OPENINFERENCE_KINDS:
        if oi_kind.upper() == "LLM" and _llm_helper(attrs, name):
            return None
        return _OPENINFERENCE_KINDS[oi_kind.upper()]
    tl_kind = attrs.get(TRACELOOP_KIND)
    if isinstance(tl_kind, str) and tl_kind in _TRACELOOP_KINDS:
        return _TRACELOOP_KINDS[tl_kind]
    # No declared kind: recognise the shape of the attributes.
    if first(attrs, "gen_ai.tool.name", "tool.name") is not None:
        return "tool_call"
    if first(attrs, "gen_ai.request.model", "llm.model_name") is not None:
        return "llm_call"
    if any(k.startswith(("gen_ai.prompt.", "llm.input_messages.")) for k in attrs):
        return "llm_call"
    return None


_PRIVATE_METHOD = re.compile(r"\._[A-Za-z]\w*$")
_MODEL_CALL_KEYS = ("llm.input_messages.", "llm.output_messages.", "llm.token_count.")


def _llm_helper(attrs: Attrs, name: str) -> bool:
    """An LLM span of a model class's private helper that sends nothing (LlamaIndex's
    `OpenAI._prepare_chat_with_tools` only builds the request): it records no messages (its
    `input.value` and `output.value` hold Python reprs, not message objects) and no token
    counts. Taken as a model call, the framework's objects would land in the chat history."""
    if not _PRIVATE_METHOD.search(name or "") or any(key.startswith(_MODEL_CALL_KEYS) for key in attrs):
        return False
    return not (_holds_messages(attrs.get("input.value")) or _holds_messages(attrs.get("output.value")))


def _holds_messages(value: Any) -> bool:
    """A list of message objects, bare or under `messages`, recorded as JSON."""
    value = parse_json_container(value)
    if isinstance(value, dict):
        value = value.get("messages")
    return isinstance(value, list) and any(isinstance(m, dict) and ("role" in m or "content" in m) for m in value)


def span_model(attrs: Attrs) -> str | None:
    """The model that answered (response model first: it names the actual version)."""
    model = first(
        attrs,
        "gen_ai.response.model",
        "llm.response.model_name",
        "llm.model_name",
        "gen_ai.request.model",
        "llm.request.model_name",
    )
    return str(model) if model is not None else None


def request_model(attrs: Attrs) -> str | None:
    model = first(attrs, "gen_ai.request.model", "llm.request.model_name", "llm.model_name")
    return str(model) if model is not None else span_model(attrs)


def span_tokens(attrs: Attrs) -> tuple[int | None, int | None]:
    tokens_in = as_int(
        first(
            attrs,
            "gen_ai.usage.input_tokens",
            "gen_ai.usage.prompt_tokens",
            "llm.token_count.prompt",
            "llm.usage.prompt_tokens",
        )
    )
    tokens_out = as_int(
        first(
            attrs,
            "gen_ai.usage.output_tokens",
            "gen_ai.usage.completion_tokens",
            "llm.token_count.completion",
            "llm.usage.completion_tokens",
        )
    )
    # a negative count is no count: left out of the columns and totals (the attribute keeps it)
    return _count(tokens_in), _count(tokens_out)


def _count(value: int | None) -> int | None:
    return value if value is None or value >= 0 else None


def span_cost(attrs: Attrs) -> float | None:
    return as_float(first(attrs, "gen_ai.usage.cost", "llm.cost.total", "operation.cost", "agenttrace.cost_usd"))


def span_status(raw: RawSpan) -> tuple[str, str | None]:
    """`("error", text)` when the span's status is an error, else `("ok", None)`.

    The text is the status message, else the `exception` event's type and message, else
    the `error.type` attribute.
    """
    if raw.status_code != "error":
        return "ok", None
    if raw.status_message:
        return "error", raw.status_message
    exception = raw.event("exception")
    if exception is not None:
        kind = exception.attributes.get("exception.type")
        message = exception.attributes.get("exception.message")
        text = ": ".join(str(p) for p in (kind, message) if p)
        if text:
            return "error", text
    error_type = raw.attributes.get("error.type")
    return "error", str(error_type) if error_type else "error"


def metadata_of(attrs: Attrs) -> dict[str, Any]:
    """The OpenInference `metadata` attribute (a JSON object string) as a dict."""
    value = parse_json_container(attrs.get("metadata"))
    return dict(value) if isinstance(value, dict) else {}


def is_langgraph_node(attrs: Attrs) -> bool:
    return "metadata" in attrs and "langgraph_node" in metadata_of(attrs)


def is_langgraph_graph(attrs: Attrs, name: str) -> bool:
    """A LangGraph graph run (not one of its nodes), as the LangChain instrumentation records it."""
    if "metadata" not in attrs:  # most spans: no metadata to read
        return name == "LangGraph"
    meta = metadata_of(attrs)
    if "langgraph_node" in meta:
        return False
    return name == "LangGraph" or meta.get("ls_integration") == "langgraph"


@dataclass
class AgentIdentity:
    """What a span says about the agent it belongs to."""

    name: str
    agent_id: str | None = None
    role: str | None = None
    framework: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    # Named after the span only (an OpenInference AGENT span that names no agent): a run's
    # wrapper rather than an agent when spans under it name their agents (see bundle._agents).
    unnamed: bool = False


def agent_identity(attrs: Attrs, name: str, langgraph_root: bool = False) -> AgentIdentity | None:
    """The agent a span declares itself part of, if it declares one."""
    agent_id = first(attrs, "gen_ai.agent.id")
    agent_name = first(attrs, "gen_ai.agent.name", "agent.name")
    oi_kind = str(attrs.get("openinference.span.kind", "")).upper()
    unnamed = False
    if agent_id is None and agent_name is None:
        if langgraph_root:
            agent_name = name or "LangGraph"
        elif attrs.get(TRACELOOP_KIND) == "agent":
            agent_name = first(attrs, "traceloop.entity.name") or name or None
            if agent_name is None:
                return None
        elif oi_kind == "AGENT" and not is_langgraph_node(attrs):
            agent_name = first(attrs, "graph.node.id")
            if agent_name is None and name.endswith(".run") and "smolagents.max_steps" in attrs:
                agent_name = name[: -len(".run")] or None  # smolagents names the span `<agent name>.run`
            if agent_name is None:
                agent_name, unnamed = name or None, True
            if agent_name is None:
                return None
        else:
            return None
    config = parse_json_container(attrs.get("agenttrace.agent.config"))
    framework = first(attrs, "agenttrace.agent.framework")
    if framework is None and langgraph_root:
        framework = "langgraph"
    return AgentIdentity(
        name=str(agent_name if agent_name is not None else agent_id),
        agent_id=str(agent_id) if agent_id is not None else None,
        role=first(attrs, "agenttrace.agent.role", "gen_ai.agent.description"),
        framework=framework,
        config=dict(config) if isinstance(config, dict) else {},
        unnamed=unnamed,
    )


def slug(text: str) -> str:
    """Lower-case letters and digits of any script, runs of anything else as one `-`."""
    return re.sub(r"[\W_]+", "-", text.lower())[:100].strip("-") or "agent"  # short: ids are indexed


_FRAMEWORK_SCOPES = {"pydantic-ai": "pydantic_ai"}  # frameworks that instrument themselves


def framework_from_scope(scope_name: str | None) -> str | None:
    """`openinference.instrumentation.langchain` → `langchain`, and the OpenTelemetry analogue."""
    if not isinstance(scope_name, str):
        return None
    if scope_name in _FRAMEWORK_SCOPES:
        return _FRAMEWORK_SCOPES[scope_name]
    for prefix in ("openinference.instrumentation.", "opentelemetry.instrumentation."):
        if scope_name.startswith(prefix):
            return scope_name[len(prefix) :].split(".")[0].replace("-", "_") or None
    return None
