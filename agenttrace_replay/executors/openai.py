"""The openai executor: re-issue a recorded LLM call to an OpenAI-compatible endpoint.

Most agent frameworks end up sending a Chat Completions request, and most model servers
(OpenAI, Azure-compatible proxies, vLLM, Ollama, LiteLLM) accept one. Re-sending the
recorded messages, with the user's changes and overrides, is therefore a useful replay for
any llm_call whatever framework recorded it. httpx is imported when the executor runs.
"""

from __future__ import annotations

import json
import os
from typing import Any

from agenttrace_replay.errors import ExecutorError
from agenttrace_replay.records import finish_reason
from agenttrace_replay.executors.base import apply_query_convention, one_line, span_kind

DEFAULT_BASE_URL = "https://api.openai.com/v1"


def _arguments_json(arguments: Any) -> str:
    if isinstance(arguments, str):
        return arguments
    return json.dumps(arguments if arguments is not None else {}, ensure_ascii=False)


def to_openai_message(message: dict[str, Any]) -> dict[str, Any]:
    """A normalised chat message (docs/messages.md) as Chat Completions expects it."""
    role = message.get("role", "user")
    content = message.get("content")
    out: dict[str, Any] = {"role": role}
    if role == "tool":
        out["content"] = content if isinstance(content, str) else json.dumps(content)
        out["tool_call_id"] = message.get("tool_call_id", "")
        return out
    out["content"] = content
    if role == "assistant" and message.get("tool_calls"):
        out["tool_calls"] = [
            {
                "id": call.get("id") or f"call_{index}",
                "type": "function",
                "function": {
                    "name": call.get("name", ""),
                    "arguments": _arguments_json(call.get("arguments")),
                },
            }
            for index, call in enumerate(message["tool_calls"])
        ]
    elif content is None:
        out["content"] = ""
    return out


def to_openai_tool(tool: dict[str, Any]) -> dict[str, Any]:
    function: dict[str, Any] = {"name": tool.get("name", "")}
    if tool.get("description"):
        function["description"] = tool["description"]
    function["parameters"] = tool.get("parameters") or {"type": "object", "properties": {}}
    return {"type": "function", "function": function}


def _called_tools(output: Any) -> bool:
    """Whether a recorded model output calls a tool."""
    messages = output.get("messages") if isinstance(output, dict) else None
    return isinstance(messages, list) and any(isinstance(m, dict) and m.get("tool_calls") for m in messages)


def from_openai_message(message: dict[str, Any]) -> dict[str, Any]:
    """A Chat Completions response message in the normalised shape."""
    out: dict[str, Any] = {"role": message.get("role") or "assistant"}
    content = message.get("content")
    if isinstance(content, list):
        texts = [p.get("text", "") for p in content if isinstance(p, dict) and "text" in p]
        content = "".join(texts) if len(texts) == len(content) else content
    out["content"] = content
    calls = []
    for call in message.get("tool_calls") or []:
        if not isinstance(call, dict) or not isinstance(call.get("function") or {}, dict):
            raise TypeError(f"a tool call is not an object with a function object: {call!r:.80}")
        function = call.get("function") or {}
        raw = function.get("arguments")
        try:
            arguments = json.loads(raw) if isinstance(raw, str) else raw
        except ValueError:
            arguments = raw
        calls.append({"id": call.get("id"), "name": function.get("name"), "arguments": arguments})
    if calls:
        out["tool_calls"] = [{k: v for k, v in c.items() if v is not None} for c in calls]
    return out


def build_request(
    input: dict[str, Any], state: dict[str, Any], overrides: dict[str, Any] | None
) -> dict[str, Any]:
    """The request body: recorded parameters, then overrides on top; model by precedence."""
    overrides = dict(overrides or {})
    model = overrides.pop("model", None) or input.get("model") or (state.get("span") or {}).get(
        "model"
    ) or (state.get("agent") or {}).get("model")
    if not model:
        raise ExecutorError(
            "the recorded llm_call names no model.",
            "Give the agent a model override, e.g. model=gpt-4o-mini.",
        )
    body: dict[str, Any] = {
        "model": model,
        "messages": [to_openai_message(m) for m in input.get("messages") or []],
    }
    parameters = {**(input.get("parameters") or {}), **overrides}
    body.update({k: v for k, v in parameters.items() if v is not None and k not in body})
    if input.get("tools"):
        body["tools"] = [to_openai_tool(t) for t in input["tools"]]
    return body


def _server_error(response: Any) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error or payload)[:300]


async def openai_executor(
    input: Any,
    state: dict[str, Any],
    config: dict[str, Any],
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    kind = span_kind(state)
    if kind != "llm_call":
        raise ExecutorError(
            f"the openai executor replays llm_call spans, and this checkpoint is before a "
            f"{kind or 'untyped'} span.",
            "Pick a checkpoint before an llm_call, or another executor (--executor).",
        )
    input = apply_query_convention(input if isinstance(input, dict) else {}, kind)
    config = config or {}
    settings = config.get("settings") or {}
    base_url = (
        config.get("base_url")
        or settings.get("base_url")
        or os.environ.get("OPENAI_BASE_URL")
        or DEFAULT_BASE_URL
    ).rstrip("/")
    key_env = config.get("api_key_env") or "OPENAI_API_KEY"
    api_key = os.environ.get(key_env)
    if not api_key and base_url == DEFAULT_BASE_URL:
        raise ExecutorError(
            f"no API key: the environment variable {key_env} is not set.",
            f"Export {key_env}, or set a base URL (OPENAI_BASE_URL) for a keyless server.",
        )
    body = build_request(input, state or {}, overrides)
    headers = {"Content-Type": "application/json"}
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    headers.update(settings.get("headers") or {})

    import httpx

    url = f"{base_url}/chat/completions"
    timeout = config.get("timeout_seconds") or 120.0
    # The replay's own deadline ends a slow answer ("timed out after N s"); httpx's waits run
    # a little longer so that they never race it. Connecting gets at most 10 s, so a server
    # that never answers the connection is reported as unreachable.
    limits = httpx.Timeout(timeout + 1.0, connect=min(10.0, timeout))
    try:
        async with httpx.AsyncClient(timeout=limits) as client:
            response = await client.post(url, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ExecutorError(
            f"cannot reach {url}: {one_line(exc)}.",
            "Check the base URL (or OPENAI_BASE_URL) and that the server is running.",
        ) from exc
    if response.status_code >= 400:
        raise ExecutorError(
            f"{url} answered HTTP {response.status_code}: {_server_error(response)}",
        )
    if response.status_code != 200:  # a redirect (not followed: it would drop the POST body) or no content
        where = response.headers.get("location")
        raise ExecutorError(
            f"{url} answered HTTP {response.status_code} {response.reason_phrase}"
            + (f", redirecting to {where}" if where else "") + ", not a Chat Completions response.",
            "Check the base URL: it should end where /chat/completions is served (often /v1).",
        )
    try:
        payload = response.json()
        if isinstance(payload, dict) and "choices" not in payload and payload.get("error"):
            raise ExecutorError(f"{url} answered with an error: {_server_error(response)}")
        choice = payload["choices"][0]
        if not isinstance(choice, dict) or not isinstance(choice.get("message"), dict):
            raise TypeError(f"choices[0] has no message object: {choice!r:.80}")
        message = from_openai_message(choice["message"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ExecutorError(
            f"{url} did not answer with a Chat Completions response ({exc!r}).",
            "Check that the base URL points at an OpenAI-compatible API.",
        ) from exc
    output: dict[str, Any] = {"messages": [message]}
    original = config.get("original_output")
    recorded_reason = not isinstance(original, dict) or "finish_reason" in original
    if choice.get("finish_reason") and recorded_reason:  # compared only when the recording has one
        output["finish_reason"] = finish_reason(choice["finish_reason"])
    usage = payload.get("usage") if isinstance(payload.get("usage"), dict) else {}
    note = f"re-sent the llm_call to {payload.get('model') or body['model']} at {base_url}"
    if not body.get("tools") and _called_tools(original):
        note += ("; the recorded call has no tool definitions (its instrumentation did not record them), "
                 "so the model was asked without tools and could not call one")  # fmt: skip
    result: dict[str, Any] = {"output": output, "executed": True, "note": note}
    if isinstance(usage.get("total_tokens"), int) and not isinstance(usage["total_tokens"], bool):
        result["tokens"] = usage["total_tokens"]
    return result


openai_executor.span_kinds = ("llm_call",)  # type: ignore[attr-defined]  # checked before a replay runs
