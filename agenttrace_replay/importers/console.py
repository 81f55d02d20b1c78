"""The OpenTelemetry Python SDK's ConsoleSpanExporter output, read as spans.

Not OTLP: each span is its own JSON document (`ReadableSpan.to_json()`, indented, one after
another), with `0x`-prefixed hex ids, ISO 8601 times with microseconds, `SpanKind.X` kinds and
plain JSON attribute values. It is what the SDK's getting-started examples print, so a user
debugging locally often has nothing else. Timestamps lose their nanoseconds in that format;
there is no instrumentation scope.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..errors import InvalidInput
from ..jsonio import PARSED_NESTING, capped
from .raw import RawEvent, RawLink, RawSpan

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def is_console_span(document: Any) -> bool:
    context = document.get("context") if isinstance(document, dict) else None
    return isinstance(context, dict) and "span_id" in context and "trace_id" in context and "name" in document


def _id(value: Any, size: int, where: str, name: str) -> str | None:
    from .otlp import _id as otlp_id

    if isinstance(value, str) and value[:2].lower() == "0x":
        value = value[2:]
    return otlp_id(value, size, where, name)


def _nanos(value: Any, where: str, name: str) -> int | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{where}: {name} must be an ISO 8601 time, got {value!r:.60}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _attributes(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: attributes must be a JSON object")
    return {key: capped(item, PARSED_NESTING) for key, item in value.items()}  # see jsonio.PARSED_NESTING


def read_console_span(document: dict[str, Any], where: str = "") -> RawSpan:
    name = document.get("name")
    here = f"{where}span '{name}'" if name else f"{where}a span"
    context = document["context"]
    trace_id = _id(context.get("trace_id"), 16, here, "context.trace_id")
    span_id = _id(context.get("span_id"), 8, here, "context.span_id")
    if trace_id is None or span_id is None:
        raise InvalidInput(f"{here}: its context has no trace_id or span_id")
    status: dict[str, Any] = document["status"] if isinstance(document.get("status"), dict) else {}
    code = str(status.get("status_code") or "UNSET").lower()
    kind = document.get("kind")
    resource: dict[str, Any] = document["resource"] if isinstance(document.get("resource"), dict) else {}
    return RawSpan(
        trace_id=trace_id,
        span_id=span_id,
        name=str(name or ""),
        parent_span_id=_id(document.get("parent_id"), 8, here, "parent_id"),
        start_ns=_nanos(document.get("start_time"), here, "start_time"),
        end_ns=_nanos(document.get("end_time"), here, "end_time"),
        status_code=code if code in ("unset", "ok", "error") else "unset",
        status_message=status.get("description") or None,
        # `SpanKind.CLIENT` -> OTLP's `SPAN_KIND_CLIENT`
        span_kind=f"SPAN_KIND_{kind.rpartition('.')[2]}" if isinstance(kind, str) and kind else None,
        attributes=_attributes(document.get("attributes"), here),
        events=[
            RawEvent(
                name=str(event.get("name") or ""),
                time_ns=_nanos(event.get("timestamp"), here, "event timestamp"),
                attributes=_attributes(event.get("attributes"), here),
            )
            for event in document.get("events") or []
            if isinstance(event, dict)
        ],
        links=[
            RawLink(
                trace_id=_id((link.get("context") or {}).get("trace_id"), 16, here, "link trace_id"),
                span_id=_id((link.get("context") or {}).get("span_id"), 8, here, "link span_id"),
                attributes=_attributes(link.get("attributes"), here),
            )
            for link in document.get("links") or []
            if isinstance(link, dict)
        ],
        resource=_attributes(resource.get("attributes"), here),
    )
