"""Chat messages between the normalised shape (docs/messages.md) and LangChain's.

Used by the langgraph executor; LangChain itself is imported only inside `to_langchain`.
"""

from __future__ import annotations

import json
from typing import Any

_ROLES = {"human": "user", "user": "user", "ai": "assistant", "assistant": "assistant",
          "system": "system", "developer": "system", "tool": "tool", "function": "tool"}
_CLASS_ROLES = {"HumanMessage": "user", "AIMessage": "assistant", "SystemMessage": "system",
                "ToolMessage": "tool", "HumanMessageChunk": "user",
                "AIMessageChunk": "assistant", "SystemMessageChunk": "system",
                "ToolMessageChunk": "tool", "FunctionMessage": "tool"}


def _content(value: Any) -> Any:
    if isinstance(value, list):
        if all(isinstance(p, str) or (isinstance(p, dict) and p.get("type") == "text")
               for p in value):
            return "".join(p if isinstance(p, str) else p.get("text", "") for p in value)
        return value
    return value


def normalise_message(message: Any) -> dict[str, Any]:
    """One message in any of the shapes LangChain serialises to, in the normalised shape.

    Accepted: a normalised dict; `{"type": "ai", "data": {...}}` (message_to_dict, what
    OpenInference records for graph state); `{"lc": 1, "id": [..., "AIMessage"],
    "kwargs": {...}}` (dumpd); a flat `{"type": "ai", "content": ...}`; a `(role, text)`
    pair; a plain string (a user message).
    """
    if isinstance(message, str):
        return {"role": "user", "content": message}
    if isinstance(message, list | tuple) and len(message) == 2:
        return {"role": _ROLES.get(str(message[0]), str(message[0])), "content": message[1]}
    if not isinstance(message, dict):
        return {"role": "user", "content": json.dumps(message, default=str)}
    if message.get("lc") == 1 and isinstance(message.get("kwargs"), dict):
        class_name = (message.get("id") or [""])[-1]
        fields = message["kwargs"]
        role = _CLASS_ROLES.get(class_name) or _ROLES.get(str(fields.get("type")), "user")
    elif isinstance(message.get("data"), dict) and "role" not in message:
        fields = message["data"]
        role = _ROLES.get(str(message.get("type") or fields.get("type")), "user")
    elif "role" in message:
        fields = message
        role = _ROLES.get(str(message["role"]), str(message["role"]))
    else:
        fields = message
        role = _ROLES.get(str(message.get("type")), "user")
    if role == "user" and fields.get("role") and fields.get("type") == "chat":
        role = _ROLES.get(str(fields["role"]), str(fields["role"]))
    out: dict[str, Any] = {"role": role, "content": _content(fields.get("content"))}
    calls = [_tool_call(c) for c in fields.get("tool_calls") or []]
    if role == "assistant" and calls:
        out["tool_calls"] = calls
        if out["content"] in ("", []):
            out["content"] = None
    if role == "tool":
        if fields.get("tool_call_id"):
            out["tool_call_id"] = fields["tool_call_id"]
        if fields.get("name"):
            out["name"] = fields["name"]
    return out


def _tool_call(call: dict[str, Any]) -> dict[str, Any]:
    if "function" in call:  # OpenAI's shape
        function = call.get("function") or {}
        name, arguments = function.get("name"), function.get("arguments")
    else:
        name = call.get("name")
        arguments = call.get("arguments", call.get("args"))
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments)
        except ValueError:
            pass
    out = {"id": call.get("id"), "name": name, "arguments": arguments}
    return {k: v for k, v in out.items() if v is not None}


def to_langchain(message: dict[str, Any], id: str) -> Any:
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage

    role, content = message.get("role"), message.get("content")
    if role == "assistant":
        calls = [
            {"id": c.get("id") or f"call_{i}", "name": c.get("name", ""),
             "args": c["arguments"] if isinstance(c.get("arguments"), dict) else {},
             "type": "tool_call"}
            for i, c in enumerate(message.get("tool_calls") or [])
        ]
        return AIMessage(content=content or "", tool_calls=calls, id=id)
    if role == "tool":
        text = content if isinstance(content, str | list) else json.dumps(content)
        return ToolMessage(content=text, tool_call_id=message.get("tool_call_id") or "",
                           name=message.get("name"), id=id)
    if role == "system":
        return SystemMessage(content=content or "", id=id)
    return HumanMessage(content=content if content is not None else "", id=id)


def from_langchain(message: Any) -> dict[str, Any]:
    fields = {
        "type": getattr(message, "type", "human"),
        "content": message.content,
        "tool_calls": getattr(message, "tool_calls", None),
        "tool_call_id": getattr(message, "tool_call_id", None),
        "name": getattr(message, "name", None),
        "role": getattr(message, "role", None),
    }
    return normalise_message({"data": fields, "type": fields["type"]})
