"""Messages spread over indexed attribute keys, read back into normalised messages.

OpenInference writes `llm.input_messages.0.message.role`, `...message.tool_calls.0.tool_call.id`;
the older GenAI form writes `gen_ai.prompt.0.role`, `gen_ai.completion.0.tool_calls.0.name`.
Both are regrouped here and handed to `messages.normalise_message`.
"""

from __future__ import annotations

from typing import Any

from .attrs import Attrs, compact, indexed
from .messages import normalise_message


def openinference_messages(attrs: Attrs, prefix: str, default_role: str = "user") -> list[dict[str, Any]]:
    """Messages from the flattened `prefix.N.message.*` keys of OpenInference (a message
    with no role is the user's on the input side, the model's on the output side)."""
    out: list[dict[str, Any]] = []
    for group in indexed(attrs, prefix):
        raw: dict[str, Any] = {
            "role": group.get("message.role"),
            "name": group.get("message.name"),
            "tool_call_id": group.get("message.tool_call_id"),
        }
        if "message.content" in group:
            raw["content"] = group["message.content"]
        else:
            raw["content"] = [_openinference_part(p) for p in indexed(group, "message.contents")]
        raw["tool_calls"] = [
            {
                "id": call.get("tool_call.id"),
                "name": call.get("tool_call.function.name"),
                "arguments": call.get("tool_call.function.arguments"),
            }
            for call in indexed(group, "message.tool_calls")
        ]
        if "message.function_call_name" in group:
            raw["function_call"] = {
                "name": group["message.function_call_name"],
                "arguments": group.get("message.function_call_arguments_json"),
            }
        out.extend(normalise_message(compact(raw), default_role))
    return out


def _openinference_part(part: dict[str, Any]) -> Any:
    kind = part.get("message_content.type", "text")
    if kind == "text":
        return {"type": "text", "text": part.get("message_content.text", "")}
    fields = {k.removeprefix("message_content."): v for k, v in part.items()}
    fields["type"] = kind
    if "image.image.url" in fields:
        fields["url"] = fields.pop("image.image.url")
    return fields


def legacy_indexed_messages(attrs: Attrs, prefix: str, default_role: str) -> list[dict[str, Any]]:
    """Messages from the older indexed GenAI form: `gen_ai.prompt.0.role`, `.content`, ..."""
    out: list[dict[str, Any]] = []
    for group in indexed(attrs, prefix):
        raw: dict[str, Any] = {
            "role": group.get("role"),
            "content": group.get("content"),
            "tool_call_id": group.get("tool_call_id"),
            "name": group.get("name"),
            "tool_calls": [
                {"id": c.get("id"), "name": c.get("name"), "arguments": c.get("arguments")}
                for c in indexed(group, "tool_calls")
            ],
        }
        out.extend(normalise_message(compact(raw), default_role))
    return out
