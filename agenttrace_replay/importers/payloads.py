"""A span's `input` and `output` in the shapes of docs/messages.md, by kind.

Each convention records the same facts in several places (a JSON attribute, indexed
attributes, span events); the readers below try them newest first and take the first that
is present, so a span written by any version of an instrumentation reads the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from .attrs import (
    Attrs,
    compact,
    first,
    has_prefix,
    indexed,
    parse_json,
    parse_json_container,
)
from .conventions import request_model
from .flattened import legacy_indexed_messages, openinference_messages
from .messages import normalise_message, normalise_messages, normalise_tool_call, system_message, tool_definition
from .raw import RawSpan
from ..records import finish_reason

_DETAILS_EVENT = "gen_ai.client.inference.operation.details"
_MESSAGE_EVENTS = {
    "gen_ai.system.message": "system",
    "gen_ai.user.message": "user",
    "gen_ai.assistant.message": "assistant",
    "gen_ai.tool.message": "tool",
}
# Invocation parameters that are not part of the model request: the model and tools have their
# own fields, and client settings (the OpenAI Agents SDK records its `base_url`) would be sent
# to the endpoint as unknown request fields on a replay.
_NOT_PARAMETERS = {
    "model", "model_name", "_type", "tools", "functions", "tool_choice", "stream",
    "base_url", "api_base", "api_key", "api_version", "organization", "project", "timeout", "max_retries",
    "default_headers", "default_query", "extra_headers", "extra_query",
    # LlamaIndex records its model's metadata here, not request fields
    "context_window", "num_output", "is_chat_model", "is_function_calling_model", "system_role",
}  # fmt: skip
_HANDOFF_FROM_TO = re.compile(r"handoff\s+from\s+(.+?)\s+to\s+(.+)$", re.IGNORECASE)
_HANDOFF_TO = re.compile(r"^(?:handoff[\s_]+to[\s_]+|transfer_to_|handoff[\s_:-]+)(.+)$", re.I)


def _genai(raw: RawSpan, key: str) -> Any:
    """A GenAI attribute from the span, else from the inference-details event."""
    if key in raw.attributes:
        return raw.attributes[key]
    event = raw.event(_DETAILS_EVENT)
    return event.attributes.get(key) if event is not None else None


def _with_details(raw: RawSpan) -> Attrs:
    """The span's attributes, with the inference-details event's under them (the span's win)."""
    event = raw.event(_DETAILS_EVENT) if raw.events else None
    return {**event.attributes, **raw.attributes} if event is not None else raw.attributes


def _event_body(attrs: Attrs) -> Any:
    return parse_json_container(first(attrs, "body", "event.body"))


def _event_message(name: str, attrs: Attrs, body: Any) -> dict[str, Any]:
    """The message an event records, from its parsed `body` (see `_event_body`) or its attributes."""
    fields = dict(body) if isinstance(body, dict) else dict(attrs)
    fields.setdefault("role", _MESSAGE_EVENTS.get(name))
    if "tool_calls" in fields:
        fields["tool_calls"] = parse_json_container(fields["tool_calls"])
    if "message" in fields:  # gen_ai.choice: {"message": {...}, "finish_reason": ...}
        message = parse_json_container(fields["message"])
        if isinstance(message, dict):
            return {"role": "assistant", **message}
    return fields


def llm_input_messages(raw: RawSpan) -> list[dict[str, Any]]:
    attrs = raw.attributes
    messages: list[dict[str, Any]] = []
    prompt_event = raw.event("gen_ai.content.prompt")
    message_events = [e for e in raw.events if e.name in _MESSAGE_EVENTS]
    if (value := _genai(raw, "gen_ai.input.messages")) is not None:
        messages = normalise_messages(value)
    elif attrs.get("gen_ai.prompt") is not None:
        messages = normalise_messages(attrs["gen_ai.prompt"])
    elif has_prefix(attrs, "gen_ai.prompt"):
        messages = legacy_indexed_messages(attrs, "gen_ai.prompt", "user")
    elif prompt_event is not None:
        messages = normalise_messages(prompt_event.attributes.get("gen_ai.prompt"))
    elif message_events:
        for event in message_events:
            role = _MESSAGE_EVENTS[event.name]
            messages.extend(normalise_message(_event_message(event.name, event.attributes, _event_body(event.attributes)), role))
    elif has_prefix(attrs, "llm.input_messages"):
        messages = openinference_messages(attrs, "llm.input_messages")
    elif attrs.get("input.value") is not None:
        messages = normalise_messages(attrs["input.value"])
    system = system_message(_genai(raw, "gen_ai.system_instructions"))
    if system is not None and not (messages and messages[0]["role"] == "system"):
        messages.insert(0, system)
    return messages


def _langchain_generations(value: Any) -> list[dict[str, Any]] | None:
    if not (isinstance(value, dict) and isinstance(value.get("generations"), list)):
        return None
    out: list[dict[str, Any]] = []
    for batch in value["generations"]:
        for generation in batch if isinstance(batch, list) else [batch]:
            if not isinstance(generation, dict):
                continue
            if generation.get("message") is not None:
                out.extend(normalise_message(generation["message"], "assistant"))
            elif generation.get("text") is not None:
                out.append({"role": "assistant", "content": generation["text"]})
    return out


def _tool_calls_message(value: Any) -> list[dict[str, Any]] | None:
    """A reply recorded as just its list of OpenAI tool calls (CrewAI's event listener writes
    `[{"id", "type": "function", "function": {...}}]` as `output.value`): one assistant
    message that makes them."""
    if not (isinstance(value, list) and value and all(isinstance(c, dict) and isinstance(c.get("function"), dict) for c in value)):
        return None
    calls = [call for raw in value if (call := normalise_tool_call(raw)) is not None]
    return [{"role": "assistant", "content": None, "tool_calls": calls}] if calls else None


def llm_output(raw: RawSpan) -> dict[str, Any] | None:
    attrs = _with_details(raw)
    finish: Any = None
    messages: list[dict[str, Any]] | None = None
    completion_event = raw.event("gen_ai.content.completion")
    choice_events = [e for e in raw.events if e.name == "gen_ai.choice"]
    if (value := attrs.get("gen_ai.output.messages")) is not None:  # the details event's too
        parsed = parse_json_container(value)
        messages = normalise_messages(parsed, "assistant")
        if isinstance(parsed, list) and parsed and isinstance(parsed[0], dict):
            finish = parsed[0].get("finish_reason")
    elif attrs.get("gen_ai.completion") is not None:
        messages = normalise_messages(attrs["gen_ai.completion"], "assistant")
    elif has_prefix(attrs, "gen_ai.completion"):
        messages = legacy_indexed_messages(attrs, "gen_ai.completion", "assistant")
        finish = attrs.get("gen_ai.completion.0.finish_reason")
    elif completion_event is not None:
        completion = completion_event.attributes.get("gen_ai.completion")
        messages = normalise_messages(completion, "assistant")
    elif choice_events:
        messages = []
        for event in choice_events:
            body = _event_body(event.attributes)
            messages.extend(normalise_message(_event_message(event.name, event.attributes, body), "assistant"))
            finish = finish or event.attributes.get("finish_reason")
            finish = finish or (body.get("finish_reason") if isinstance(body, dict) else None)
    elif has_prefix(attrs, "llm.output_messages"):
        messages = openinference_messages(attrs, "llm.output_messages", "assistant")
    elif attrs.get("output.value") is not None:
        value = parse_json(attrs["output.value"])
        messages = _langchain_generations(value)
        if messages is None:
            messages = _tool_calls_message(value)
        if messages is None:
            messages = normalise_messages(value, "assistant")
    if finish is None:
        reasons = parse_json_container(attrs.get("gen_ai.response.finish_reasons"))
        if isinstance(reasons, list):
            finish = reasons[0] if reasons else None
        elif isinstance(reasons, str) and reasons:
            finish = reasons
        if finish is None:
            finish = first(attrs, "llm.finish_reason")
    if not messages and finish is None:
        return None
    return compact({"messages": messages or [], "finish_reason": finish_reason(finish)})


def llm_parameters(attrs: Attrs) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in attrs.items():
        if key.startswith("gen_ai.request.") and key != "gen_ai.request.model":
            params[key.removeprefix("gen_ai.request.").replace(".", "_")] = value
    invocation = parse_json_container(attrs.get("llm.invocation_parameters"))
    if isinstance(invocation, dict):
        for key, value in invocation.items():
            if key not in _NOT_PARAMETERS and value is not None:
                params.setdefault(key, value)
    return params


def llm_tools(attrs: Attrs) -> list[dict[str, Any]]:
    candidates: list[Any] = []
    for key in ("gen_ai.tool.definitions", "llm.tools"):  # llm.tools: one JSON array (CrewAI)
        if (recorded := attrs.get(key)) is not None and isinstance(definitions := parse_json_container(recorded), list):
            candidates.extend(definitions)
    openinference = any(key.startswith("llm.") for key in attrs)
    for group in indexed(attrs, "llm.tools") if openinference else ():
        schema = group.get("tool.json_schema")
        if schema is None:
            schema = {
                "name": group.get("tool.name"),
                "description": group.get("tool.description"),
                "parameters": group.get("tool.parameters"),
            }
        candidates.append(schema)
    for group in indexed(attrs, "llm.request.functions") if openinference else ():
        candidates.append(group)
    if not candidates:
        invocation = parse_json_container(attrs.get("llm.invocation_parameters"))
        if isinstance(invocation, dict) and isinstance(invocation.get("tools"), list):
            candidates.extend(invocation["tools"])
    tools: list[dict[str, Any]] = []
    for candidate in candidates:
        tool = tool_definition(candidate)
        if tool is not None and tool not in tools:
            tools.append(tool)
    return tools


def llm_input(raw: RawSpan) -> dict[str, Any]:
    attrs = _with_details(raw)
    return compact(
        {
            "messages": llm_input_messages(raw),
            "model": request_model(attrs),
            "parameters": llm_parameters(attrs) or None,
            "tools": llm_tools(attrs) or None,
        }
    )


def _langchain_tool_message(value: Any) -> Mapping[str, Any] | None:
    """The fields of a serialised LangChain ToolMessage, which is how it records tool output."""
    if not isinstance(value, dict):
        return None
    if value.get("type") == "tool" and isinstance(value.get("data"), dict):
        return value["data"]
    kwargs = value.get("kwargs")
    ident = value.get("id")
    if isinstance(kwargs, dict) and isinstance(ident, list) and ident[-1:] == ["ToolMessage"]:
        return kwargs
    return None


def tool_input(raw: RawSpan) -> dict[str, Any]:
    attrs = raw.attributes
    name = first(attrs, "gen_ai.tool.name", "tool.name", "tool_call.function.name", "traceloop.entity.name")
    if name is None:
        name = re.sub(r"^execute_tool\s+", "", raw.name or "") or None
    arguments = first(attrs, "gen_ai.tool.call.arguments", "tool_call.function.arguments", "tool_arguments")
    if arguments is None and (query := attrs.get("gen_ai.retrieval.query.text")) is not None:
        arguments = {"query": query}
    if arguments is None and (arguments := attrs.get("input.value")) is not None:
        arguments = _call_arguments(arguments, raw.scope_name in _CALL_RECORDING_SCOPES)
    if arguments is None and (arguments := attrs.get("traceloop.entity.input")) is not None:
        arguments = _call_arguments(arguments, True)
    if arguments is None:
        schema_or_args = parse_json_container(attrs.get("tool.parameters"))
        if not (isinstance(schema_or_args, dict) and "properties" in schema_or_args):
            arguments = schema_or_args
    call_id = first(attrs, "gen_ai.tool.call.id", "tool_call.id", "tool.id")
    if call_id == "<not specified>":  # Google ADK's placeholder when the model gave no id
        call_id = None
    if call_id is None:
        message = _langchain_tool_message(parse_json(attrs.get("output.value")))
        call_id = message.get("tool_call_id") if message else None
    return compact({"name": name, "arguments": parse_json_container(arguments), "call_id": call_id})


_CALL_RECORD = frozenset(("args", "kwargs", "sanitize_inputs_outputs"))
# Instrumentations whose tool `input.value` is the Python call, not the model's arguments.
_CALL_RECORDING_SCOPES = frozenset(("openinference.instrumentation.smolagents", "openinference.instrumentation.llama_index"))


def _call_arguments(recorded: Any, is_call_record: bool) -> Any:
    """A tool function's call as some instrumentations record it, `{"args": [...], "kwargs":
    {...}}` (OpenLLMetry's decorators; smolagents adds `sanitize_inputs_outputs`; LlamaIndex
    writes only `kwargs`): the keyword arguments when there are no positional ones, which is
    what the model asked for. Only where the value is known to be such a record: elsewhere a
    tool may well take a parameter called `kwargs`."""
    value = parse_json_container(recorded)
    if (
        is_call_record
        and isinstance(value, dict)
        and isinstance(value.get("kwargs"), dict)
        and _CALL_RECORD.issuperset(value)
        and not value.get("args")
    ):
        return value["kwargs"]
    return value


def _documents(attrs: Attrs) -> list[dict[str, Any]] | None:
    documents = [
        {k.removeprefix("document."): parse_json(v) for k, v in group.items()}
        for group in indexed(attrs, "retrieval.documents")
    ]
    return documents or None


def tool_output(raw: RawSpan) -> dict[str, Any] | None:
    attrs = raw.attributes
    result = first(attrs, "gen_ai.tool.call.result", "output.value", "tool_response", "traceloop.entity.output")
    if result is None:
        result = first(attrs, "gen_ai.retrieval.documents") or _documents(attrs)
    if result is None:
        return None
    value = parse_json(result)
    message = _langchain_tool_message(value)
    if message is not None:
        value = parse_json(message.get("content"))
    elif isinstance(value, dict) and "raw_output" in value and "tool_name" in value and "raw_input" in value:
        value = value["raw_output"]  # a LlamaIndex ToolOutput: what the tool returned
    return {"result": value}


def generic_payload(raw: RawSpan, side: str) -> Any:
    """Input or output of agent, checkpoint and unkinded spans: an object, else `{"value": ...}`."""
    messages_key = "gen_ai.input.messages" if side == "input" else "gen_ai.output.messages"
    attrs = raw.attributes
    if (messages := _genai(raw, messages_key)) is not None:
        normalised = normalise_messages(messages, "user" if side == "input" else "assistant")
        system = None
        if side == "input":
            system = system_message(_genai(raw, "gen_ai.system_instructions"))
        if system is not None and not (normalised and normalised[0]["role"] == "system"):
            normalised.insert(0, system)
        return {"messages": normalised}
    value = first(attrs, f"{side}.value", f"traceloop.entity.{side}")
    if value is None:
        return None
    value = parse_json(value)
    return dict(value) if isinstance(value, dict) else {"value": value}


def handoff_agents(attrs: Attrs, name: str) -> tuple[str | None, str | None]:
    """The agents a handoff names, from attributes or from its span name."""
    source = first(attrs, "agenttrace.handoff.from_agent")
    target = first(attrs, "agenttrace.handoff.to_agent")
    for key, value in attrs.items():
        if source is None and key.endswith(".from_agent") and isinstance(value, str):
            source = value
        if target is None and key.endswith(".to_agent") and isinstance(value, str):
            target = value
    if (match := _HANDOFF_FROM_TO.search(name or "")) is not None:
        source = source or match.group(1)
        target = target or match.group(2)
    elif target is None and name not in _AGENT_ARGUMENT_TOOLS and (match := _HANDOFF_TO.match(name or "")) is not None:
        target = match.group(1)
    if target is None:
        target, _ = called_handoff(attrs)
    return source, target


_AGENT_ARGUMENT_TOOLS = ("transfer_to_agent", "handoff")  # Google ADK's and LlamaIndex's handoff tools
_HANDOFF_TOOL_PREFIXES = ("transfer_to_", "handoff_to_")
_CALLED_HANDOFF = re.compile(r"^(?:transfer_to_|handoff_to_)(.+)$")
_HANDOFF_DESCRIPTION = re.compile(r"^\s*(?:handoff|hand off|transfer) to\b", re.IGNORECASE)


def called_handoff(attrs: Attrs) -> tuple[str | None, bool]:
    """The agent a tool call hands over to, when the tool looks like a handoff, and whether
    the tool is a handoff for certain: ADK's `transfer_to_agent` and LlamaIndex's `handoff`
    name the agent in their arguments, and AutoGen describes its `transfer_to_x` tools as
    "Handoff to x"; otherwise `transfer_to_x` is one only if `x` is an agent of the trace
    (the caller checks), since a tool may be called `transfer_to_account`."""
    tool = first(attrs, "gen_ai.tool.name", "tool.name", "traceloop.entity.name")
    if not isinstance(tool, str):
        return None, False
    if tool in _AGENT_ARGUMENT_TOOLS:
        recorded = first(attrs, "gen_ai.tool.call.arguments", "input.value", "traceloop.entity.input")
        arguments = _call_arguments(recorded, True) if recorded is not None else None
        target = first(arguments, "to_agent", "agent_name") if isinstance(arguments, dict) else None
        return (target, True) if isinstance(target, str) else (None, False)
    match = _CALLED_HANDOFF.match(tool) if tool.startswith(_HANDOFF_TOOL_PREFIXES) else None  # cheap for the usual tool
    if match is None:
        return None, False
    description = first(attrs, "gen_ai.tool.description", "tool.description")  # AutoGen: "Handoff to weather_agent."
    return match.group(1), isinstance(description, str) and _HANDOFF_DESCRIPTION.match(description) is not None


def span_payloads(raw: RawSpan, kind: str | None) -> tuple[Any, Any]:
    """`(input, output)` of a span of the given kind (handoff agents are added by the caller;
    a handoff the model called as a tool keeps the tool call's name, arguments and result)."""
    if kind == "llm_call":
        return llm_input(raw), llm_output(raw)
    if kind == "tool_call" or (kind == "handoff" and first(raw.attributes, "gen_ai.tool.name", "tool.name") is not None):
        return tool_input(raw), tool_output(raw)
    return generic_payload(raw, "input"), generic_payload(raw, "output")
