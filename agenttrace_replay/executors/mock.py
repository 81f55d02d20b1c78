"""The mock executor: what `--dry-run` uses.

It never touches a network or a model. Its output is a pure function of the (modified)
input and the overrides, so a dry run is repeatable in CI and a changed input visibly
changes the output. The output has the shape a real span of that kind would produce, so
the diff a user sees is between like and like.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from agenttrace_replay.executors.base import apply_query_convention, span_kind

NOTE = (
    "dry run: the mock executor made a deterministic stand-in output; "
    "no model or tool was called."
)


def _digest(input: Any, overrides: dict[str, Any] | None) -> str:
    canonical = json.dumps(
        {"input": input, "overrides": overrides or {}},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def _last_user_text(input: Any) -> str:
    messages = input.get("messages") if isinstance(input, dict) else None
    for message in reversed(messages or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else json.dumps(content, default=str)
    return ""


def _estimate_tokens(*values: Any) -> int:
    """About four characters per token, the usual rule of thumb for English text."""
    text = "".join(v if isinstance(v, str) else json.dumps(v, default=str) for v in values)
    return max(1, len(text) // 4)


async def mock_executor(
    input: Any,
    state: dict[str, Any],
    config: dict[str, Any],
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    kind = span_kind(state)
    input = apply_query_convention(input, kind)
    digest = _digest(input, overrides)
    if kind == "llm_call":
        question = _last_user_text(input)
        model = (overrides or {}).get("model") or (input or {}).get("model") or "mock"
        content = f"[mock {model} {digest}] reply to: {question}" if question else (
            f"[mock {model} {digest}] reply"
        )
        output: Any = {
            "messages": [{"role": "assistant", "content": content}],
            "finish_reason": "stop",
        }
    elif kind == "tool_call":
        name = input.get("name", "tool") if isinstance(input, dict) else "tool"
        arguments = input.get("arguments") if isinstance(input, dict) else input
        shown = json.dumps(arguments, sort_keys=True, default=str)
        output = {"result": f"[mock {digest}] {name}({shown})"}
    else:
        output = {"value": f"[mock {digest}] {kind or 'span'} output"}
    return {
        "output": output,
        "tokens": _estimate_tokens(input, output),
        "cost_usd": 0.0,
        "executed": False,
        "note": NOTE,
    }
