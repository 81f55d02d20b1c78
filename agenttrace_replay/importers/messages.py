"""Chat messages in every recorded shape, brought into the one shape of docs/messages.md.

Shapes understood: OpenTelemetry GenAI `parts` messages (text, tool_call, tool_call_response
parts), OpenAI-style messages (`content` string or list, `tool_calls` with `function`), the
flattened OpenInference form (`message.role`, `message.tool_calls.0.tool_call.id`, ...), the
older indexed GenAI form (`gen_ai.prompt.0.role`), Anthropic-style content blocks and
LangChain's serialised messages. Unknown parts are kept, never dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

import msgspec

from ..jsonio import PARSED_NESTING, capped, loads

from .attrs import as_text, compact, openings, parse_json, parse_json_container

_ROLES = {
    "human": "user",
    "user": "user",
    "ai": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "bot": "assistant",
    "system": "system",
    "developer": "system",
    "instruction": "system",
    "tool": "tool",
    "function": "tool",
    # smolagents keeps its own roles in memory and sends them as these (the instrumentation
    # records them unconverted)
    "tool-call": "assistant",
    "tool-response": "user",
}
_LANGCHAIN_CLASSES = {
    "HumanMessage": "user",
    "AIMessage": "assistant",
    "SystemMessage": "system",
    "ToolMessage": "tool",
    "FunctionMessage": "tool",
    "ChatMessage": None,
}
_MESSAGE_KEYS = {"role", "content", "parts", "tool_calls", "function_call", "tool_call_id"}
_TEXT_PARTS = ("text", "input_text", "output_text")
_CALL_PARTS = ("tool_call", "tool_use", "function_call")
_RESPONSE_PARTS = ("tool_call_response", "tool_result", "function_call_output")


def normalise_role(role: Any, default: str = "user") -> str:
    if not isinstance(role, str) or not role:
        return default
    return _ROLES.get(role.lower(), role.lower())


def normalise_tool_call(raw: Any) -> dict[str, Any] | None:
    """`{"id", "name", "arguments"}` from an OpenAI, GenAI, LangChain or Anthropic tool call."""
    if not isinstance(raw, dict):
        return None
    function: dict[str, Any] = raw["function"] if isinstance(raw.get("function"), dict) else {}
    name = raw.get("name") or function.get("name")
    arguments = next(
        (src[k] for src in (raw, function) for k in ("arguments", "args", "input") if k in src),
        None,
    )
    call_id = raw.get("id") or raw.get("call_id") or raw.get("tool_call_id")
    if name is None and arguments is None:
        return None
    return compact({"id": call_id, "name": name, "arguments": parse_json_container(arguments)})


def _unwrap_langchain(raw: Mapping[str, Any]) -> tuple[Mapping[str, Any], str | None]:
    """The message fields and role of a serialised LangChain message, else `raw` itself."""
    if raw.get("lc") == 1 and isinstance(raw.get("kwargs"), dict):
        ident = raw.get("id")
        cls = ident[-1] if isinstance(ident, list) and ident else ""
        kwargs = raw["kwargs"]
        return kwargs, _LANGCHAIN_CLASSES.get(cls) or kwargs.get("role") or kwargs.get("type")
    if isinstance(raw.get("data"), dict) and isinstance(raw.get("type"), str):
        data = raw["data"]
        return data, data.get("role") or raw["type"]
    return raw, None


def _split_parts(content: Any) -> tuple[list[Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Content items (text strings and other parts, in order), tool calls, tool responses."""
    items: list[Any] = []
    calls: list[dict[str, Any]] = []
    responses: list[dict[str, Any]] = []
    if content is None:
        return items, calls, responses
    if not isinstance(content, list):
        content = [content]
    for part in content:
        if isinstance(part, str):
            items.append(part)
            continue
        if not isinstance(part, dict):
            items.append(as_text(part))
            continue
        kind = part.get("type")
        if kind in _TEXT_PARTS or (kind is None and isinstance(part.get("text"), str)):
            # GenAI's `content`, else OpenAI's `text`; a number or an object there is kept as JSON text
            text = part["content"] if part.get("content") is not None else part.get("text")
            items.append(text if isinstance(text, str) else as_text(text) or "")
        elif kind in _CALL_PARTS:
            if (call := normalise_tool_call(part)) is not None:
                calls.append(call)
        elif kind in _RESPONSE_PARTS:
            # GenAI's `response`; Pydantic AI writes `result`; Anthropic `content`; OpenAI `output`
            body = next((part[k] for k in ("response", "result", "content", "output") if k in part), None)
            responses.append(
                compact(
                    {
                        "id": part.get("id") or part.get("tool_use_id") or part.get("call_id"),
                        "content": body,
                    }
                )
            )
        else:
            items.append(dict(part))
    return items, calls, responses


def content_text(items: list[Any]) -> Any:
    """Text items joined into one string; a list of typed parts when any part is not text."""
    if not items:
        return None
    if all(isinstance(item, str) for item in items):
        return "\n".join(items)
    return [{"type": "text", "text": item} if isinstance(item, str) else item for item in items]


def _response_text(body: Any) -> str | None:
    if isinstance(body, list):
        items, _, _ = _split_parts(body)
        joined = content_text(items)
        return joined if isinstance(joined, str) or joined is None else as_text(joined)
    return as_text(body)


def normalise_message(raw: Any, default_role: str = "user") -> list[dict[str, Any]]:
    """One recorded message as normalised messages (a multi-result tool message splits)."""
    if type(raw) is dict and (fast := _genai_parts_message(raw)) is not None:
        return fast
    if isinstance(raw, str):
        return [{"role": default_role, "content": raw}]
    if not isinstance(raw, dict):
        return [] if raw is None else [{"role": default_role, "content": as_text(raw)}]
    fields, lc_role = _unwrap_langchain(raw)
    if lc_role is None and not _MESSAGE_KEYS.intersection(fields):
        return [{"role": default_role, "content": as_text(dict(raw))}]  # not a message
    role = normalise_role(lc_role or fields.get("role"), default_role)
    if "parts" in fields:
        content = fields["parts"]
    else:
        content = parse_json_container_parts(fields.get("content"))
    items, calls, responses = _split_parts(content)
    raw_calls = parse_json_container(fields.get("tool_calls"))  # a list, or a JSON string of one
    for raw_call in raw_calls if isinstance(raw_calls, list) else ():
        if (call := normalise_tool_call(raw_call)) is not None:
            calls.append(call)
    if (call := normalise_tool_call(fields.get("function_call"))) is not None:
        calls.append(call)

    name = fields.get("name")
    if role == "tool":
        call_id = fields.get("tool_call_id")
        if call_id is None and lc_role is None:
            call_id = fields.get("id")  # the older GenAI tool-message event body
        if not responses:
            text = content_text(items)
            return [_message("tool", text, tool_call_id=call_id, name=name)]
        items = []
    out: list[dict[str, Any]] = []
    text = content_text(items)
    if text == "" and calls:
        text = None
    # Tool results first: a user turn that carries results (Anthropic's form) answers the
    # previous assistant turn before it says anything new.
    for response in responses:
        out.append(
            _message(
                "tool",
                _response_text(response.get("content")),
                tool_call_id=response.get("id"),
                name=name if role == "tool" else None,
            )
        )
    if role != "tool" and (text is not None or calls or not responses):
        out.append(_message(role, text, tool_calls=calls or None))
    return out


_PLAIN_ROLES = frozenset(("user", "assistant", "system", "tool"))
_MESSAGE_FIELDS = frozenset(("role", "parts", "finish_reason"))
_CALL_FIELDS = frozenset(("type", "id", "name", "arguments"))
_RESPONSE_FIELDS = frozenset(("type", "id", "response"))


def _genai_parts_message(raw: dict[str, Any]) -> list[dict[str, Any]] | None:
    """`normalise_message` of the GenAI conventions' own message shape, quickly.

    Only for exactly that shape: a role that is already normal, and text, tool_call and
    tool_call_response parts with no other fields. Anything else returns None and takes
    the general path, which gives the same result for this shape (a test holds them equal).
    """
    role = raw.get("role")
    parts = raw.get("parts")
    if type(role) is not str or role not in _PLAIN_ROLES or type(parts) is not list or not _MESSAGE_FIELDS.issuperset(raw):
        return None
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    responses: list[tuple[Any, Any]] = []
    for part in parts:
        if type(part) is not dict:
            return None
        kind = part.get("type")
        if kind == "text":
            content = part.get("content")
            if type(content) is not str or len(part) != 2:
                return None
            texts.append(content)
        elif kind == "tool_call":
            name = part.get("name")
            if type(name) is not str or not name or not _CALL_FIELDS.issuperset(part):
                return None
            call: dict[str, Any] = {"id": part["id"]} if part.get("id") else {}
            call["name"] = name
            if (arguments := parse_json_container(part.get("arguments"))) is not None:
                call["arguments"] = arguments
            calls.append(call)
        elif kind == "tool_call_response":
            if not _RESPONSE_FIELDS.issuperset(part):
                return None
            responses.append((part.get("id") or None, part.get("response")))
        else:
            return None
    if role == "tool" and not responses:
        return [{"role": "tool", "content": "\n".join(texts) if texts else None}]
    out: list[dict[str, Any]] = []
    for call_id, body in responses:
        message: dict[str, Any] = {"role": "tool", "content": _response_text(body)}
        if call_id is not None:
            message["tool_call_id"] = call_id
        out.append(message)
    if role != "tool":
        text = "\n".join(texts) if texts else None
        if text == "" and calls:
            text = None
        if text is not None or calls or not responses:
            message = {"role": role, "content": text}
            if calls:
                message["tool_calls"] = calls
            out.append(message)
    return out


def _message(role: str, content: Any, **extra: Any) -> dict[str, Any]:
    """A normalised message: `role` and `content` always, other keys only with a value."""
    return {"role": role, "content": content, **compact(extra)}


def parse_json_container_parts(content: Any) -> Any:
    """Content recorded as a JSON string of typed parts becomes the parts; other text stays."""
    if isinstance(content, str) and content.lstrip().startswith("[{"):
        parsed = parse_json_container(content)
        if isinstance(parsed, list) and all(isinstance(p, dict) and "type" in p for p in parsed):
            return parsed
    return content


def normalise_messages(raw: Any, default_role: str = "user") -> list[dict[str, Any]]:
    """A list of messages from a list, a JSON string, `{"messages": [...]}` or plain text."""
    if isinstance(raw, str) and (cache := _CACHE.get()) is not None:
        cached = _from_cache(raw, default_role, cache)
        if cached is not None:
            return cached
    value = parse_json(raw)
    if isinstance(value, dict):
        inner = value.get("messages")
        if isinstance(inner, list):
            # LangChain batches prompts as a list of conversations: take the first.
            if inner and all(isinstance(m, list) and not _is_pair(m) for m in inner):
                inner = inner[0]
            value = inner
        else:
            value = [value]
    if not isinstance(value, list):
        return normalise_message(value, default_role) if value not in (None, "") else []
    if _is_pair(value):
        value = [value]
    out: list[dict[str, Any]] = []
    for item in value:
        if _is_pair(item):
            item = {"role": item[0], "content": item[1]}  # LangChain ("user", "text") tuples
        out.extend(normalise_message(item, default_role))
    return out


# Each model call of a run sends the conversation again, so one message text is normalised
# many times over. Within one import (`message_cache()`), a JSON array of message objects is
# split into the raw text of each message, and each distinct text is normalised once. The
# result is exact: equal text decodes to equal values, and normalising is a pure function.
# System instructions, the same text on every model call of an agent, are kept there too.
_CACHE: ContextVar[dict[tuple[str, Any], Any] | None] = ContextVar(
    "message_cache", default=None
)
_ITEMS = msgspec.json.Decoder(list[msgspec.Raw])


class message_cache:  # noqa: N801 (used as a function: `with message_cache(cache):`)
    """Normalise each distinct message text once while the block runs (`cache` may be kept
    between blocks, for one trace). A class, not a generator: it is entered once per span."""

    __slots__ = ("cache", "token")

    def __init__(self, cache: dict[Any, Any] | None = None) -> None:
        self.cache = {} if cache is None else cache

    def __enter__(self) -> None:
        self.token = _CACHE.set(self.cache)

    def __exit__(self, *exc: object) -> None:
        _CACHE.reset(self.token)


def _from_cache(
    text: str, default_role: str, cache: dict[tuple[str, Any], Any]
) -> list[dict[str, Any]] | None:
    """The messages of a JSON array of objects, else None (the general path decides)."""
    if not text.lstrip().startswith("["):
        return None
    try:
        items = _ITEMS.decode(text)
    except (msgspec.DecodeError, RecursionError, UnicodeEncodeError):  # the last: a lone surrogate in the text
        return None
    out: list[dict[str, Any]] = []
    for raw in items:
        key = (default_role, item := bytes(raw))
        messages = cache.get(key)
        if messages is None:
            if not item.startswith(b"{"):
                return None  # strings, pairs and nested lists take the general path
            try:
                value = loads(item)
            except (ValueError, RecursionError):
                return None
            if openings(item) > PARSED_NESTING:
                value = capped(value, PARSED_NESTING)  # see jsonio.PARSED_NESTING
            messages = cache[key] = normalise_message(value, default_role)
        out.extend(messages)
    return out


def _is_pair(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and isinstance(value[1], str | list)
        and value[0].lower() in _ROLES
    )


def system_message(instructions: Any) -> dict[str, Any] | None:
    """`gen_ai.system_instructions` (text or a list of parts) as a system message."""
    if isinstance(instructions, str) and (cache := _CACHE.get()) is not None:
        key = ("system", instructions)  # every model call of an agent sends the same instructions
        if key not in cache:
            cache[key] = _system_message(instructions)
        return cache[key]
    return _system_message(instructions)


def _system_message(instructions: Any) -> dict[str, Any] | None:
    value = parse_json_container(instructions)
    if value is None or value == "":
        return None
    if isinstance(value, list):
        items, _, _ = _split_parts(value)
        text = content_text(items)
    else:
        text = value if isinstance(value, str) else as_text(value)
    return {"role": "system", "content": text}


def tool_definition(raw: Any) -> dict[str, Any] | None:
    """`{"name", "description", "parameters"}` from an OpenAI, GenAI or Anthropic tool schema."""
    raw = parse_json_container(raw)
    if not isinstance(raw, dict):
        return None
    body = raw["function"] if isinstance(raw.get("function"), dict) else raw
    name = body.get("name")
    if not name:
        return None
    parameters = body.get("parameters", body.get("input_schema"))
    return compact(
        {
            "name": name,
            "description": body.get("description"),
            "parameters": parse_json_container(parameters),
        }
    )
