"""A small local server that speaks the OpenAI Chat Completions protocol (and, on
/v1/messages, Anthropic's Messages protocol, for the Anthropic client's instrumentations).

The openai executor is tested against a real HTTP server rather than a mocked client, so
the request really goes through httpx, JSON encoding and status handling. Replies are a pure
function of the request:

- offered tools and the last user message names one of them: call that tool, with every
  required string parameter set to the user's message;
- last message is a tool result: answer "Tool said: <result>";
- otherwise: answer "Echo: <last user message>".

Every request is recorded (path, headers, JSON body) so tests can assert what was sent, and
`fail_next(status, message)` makes the next request fail with an OpenAI-style error body;
`reply_next(raw, status, delay)` makes the next reply exactly these bytes, after a delay
(a misbehaving or slow server).
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class OpenAIServer:
    """Start with `start()` (or as a context manager); `base_url` ends in /v1."""

    requests: list[RecordedRequest] = field(default_factory=list)
    _failures: list[tuple[int, str]] = field(default_factory=list)
    _replies: list[tuple[bytes, int, float]] = field(default_factory=list)
    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def fail_next(self, status: int, message: str) -> None:
        self._failures.append((status, message))

    def reply_next(self, raw: bytes, status: int = 200, delay: float = 0.0) -> None:
        self._replies.append((raw, status, delay))

    def start(self) -> OpenAIServer:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = raw.decode(errors="replace")
                server.requests.append(
                    RecordedRequest(self.path, {k: v for k, v in self.headers.items()}, body)
                )
                if server._replies:
                    raw_reply, status, delay = server._replies.pop(0)
                    time.sleep(delay)
                    self._send_raw(status, raw_reply)
                elif server._failures:
                    status, message = server._failures.pop(0)
                    self._send(status, _error(message, status))
                elif self.path.rstrip("/") not in _ROUTES:
                    self._send(404, _error(f"no route {self.path}", 404))
                elif not isinstance(body, dict) or not body.get("model"):
                    self._send(400, _error("you must provide a model parameter", 400))
                else:
                    self._send(200, _ROUTES[self.path.rstrip("/")](body))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                self._send_raw(status, json.dumps(payload).encode())

            def _send_raw(self, status: int, data: bytes) -> None:
                try:
                    self._write(status, data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout)
                    pass

            def _write(self, status: int, data: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _error(message: str, status: int) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content or ""


def _words(text: str) -> int:
    return max(1, len(text.split()))


def completion(body: dict[str, Any]) -> dict[str, Any]:
    """The response a deterministic model gives to a request body."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {"role": "user", "content": ""}
    question = next(
        (_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
    message: dict[str, Any] = {"role": "assistant", "content": None}
    finish_reason = "stop"
    tool = None
    if last.get("role") == "user":
        for offered in body.get("tools") or []:
            function = offered.get("function") or {}
            if function.get("name") and function["name"] in question:
                tool = function
                break
    if tool is not None:
        required = (tool.get("parameters") or {}).get("required") or []
        arguments = {name: question for name in required}
        call_id = f"call_{zlib.crc32(question.encode()):08x}"
        message["tool_calls"] = [
            {
                "id": call_id,
                "type": "function",
                "function": {"name": tool["name"], "arguments": json.dumps(arguments)},
            }
        ]
        finish_reason = "tool_calls"
    elif last.get("role") == "tool":
        message["content"] = f"Tool said: {_text(last.get('content'))}"
    else:
        message["content"] = f"Echo: {question}"
    prompt_tokens = sum(_words(_text(m.get("content"))) for m in messages)
    completion_tokens = _words(message["content"] or json.dumps(message.get("tool_calls")))
    return {
        "id": f"chatcmpl-{zlib.crc32(json.dumps(body, sort_keys=True).encode()):08x}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body["model"],
        "choices": [
            {"index": 0, "message": message, "logprobs": None, "finish_reason": finish_reason}
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def anthropic_message(body: dict[str, Any]) -> dict[str, Any]:
    """The same deterministic model behind Anthropic's Messages API: content blocks, a
    `tool_use` block for a tool the user names, `tool_result` blocks answered in text."""
    messages = body.get("messages") or []
    last = messages[-1] if messages else {"role": "user", "content": ""}
    blocks = last.get("content") if isinstance(last.get("content"), list) else []
    results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
    question = next((t for m in reversed(messages) if m.get("role") == "user" and (t := _text(m.get("content")))), "")
    tool = None
    if last.get("role") == "user" and not results:
        tool = next((t for t in body.get("tools") or [] if t.get("name") and t["name"] in question), None)
    if tool is not None:
        required = (tool.get("input_schema") or {}).get("required") or []
        content = [{"type": "tool_use", "id": f"toolu_{zlib.crc32(question.encode()):08x}", "name": tool["name"],
                    "input": {name: question for name in required}}]  # fmt: skip
        stop_reason = "tool_use"
    else:
        answered = results[0].get("content") if results else None
        text = f"Tool said: {_text(answered)}" if results else f"Echo: {question}"
        content, stop_reason = [{"type": "text", "text": text}], "end_turn"
    system = body.get("system")
    input_tokens = sum(_words(_text(m.get("content"))) for m in messages) + (_words(_text(system)) if system else 0)
    return {
        "id": f"msg_{zlib.crc32(json.dumps(body, sort_keys=True).encode()):08x}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": _words(json.dumps(content))},
    }


_ROUTES = {"/v1/chat/completions": completion, "/v1/messages": anthropic_message}
