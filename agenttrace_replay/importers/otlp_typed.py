"""The fast path of the OTLP reader: canonical OTLP/JSON decoded straight into typed structs.

Most files are exactly what the OpenTelemetry SDKs and the Collector write: lowerCamelCase
fields, hex ids, typed `AnyValue`s. For those, msgspec decodes the whole request into the
structs below in one pass (faster than decoding to dicts, and with no per-field lookups
afterwards). Attribute values alone stay plain JSON, converted by the general reader's own
rules: quicker than a struct per `AnyValue`. Anything else, an unknown or snake_case field,
a null where a value belongs, an id or time the helpers reject, makes `read_canonical`
return None, and the general reader in `otlp.py` reads the file and words any error. The
two give equal `RawSpan`s wherever both apply; a test holds them to that.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..errors import InvalidInput
from .attrs import any_value
from .raw import RawEvent, RawLink, RawSpan


class _KeyValue(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    value: Any = None


class _Event(msgspec.Struct, forbid_unknown_fields=True):
    timeUnixNano: Any = None
    name: Any = None
    attributes: list[_KeyValue] | None = None
    droppedAttributesCount: Any = None


class _Link(msgspec.Struct, forbid_unknown_fields=True):
    traceId: Any = None
    spanId: Any = None
    traceState: Any = None
    attributes: list[_KeyValue] | None = None
    droppedAttributesCount: Any = None
    flags: Any = None


class _Status(msgspec.Struct, forbid_unknown_fields=True):
    code: Any = 0
    message: Any = None


class _Span(msgspec.Struct, forbid_unknown_fields=True):
    traceId: Any = None
    spanId: Any = None
    traceState: Any = None
    parentSpanId: Any = None
    flags: Any = None
    name: Any = None
    kind: Any = None
    startTimeUnixNano: Any = None
    endTimeUnixNano: Any = None
    attributes: list[_KeyValue] | None = None
    droppedAttributesCount: Any = None
    events: list[_Event] | None = None
    droppedEventsCount: Any = None
    links: list[_Link] | None = None
    droppedLinksCount: Any = None
    status: _Status | None = None


class _Scope(msgspec.Struct, forbid_unknown_fields=True):
    name: Any = None
    version: Any = None
    attributes: Any = None
    droppedAttributesCount: Any = None


class _ScopeSpans(msgspec.Struct, forbid_unknown_fields=True):
    scope: _Scope | None = None
    spans: list[_Span] | None = None
    schemaUrl: Any = None


class _Resource(msgspec.Struct, forbid_unknown_fields=True):
    attributes: list[_KeyValue] | None = None
    droppedAttributesCount: Any = None
    entityRefs: Any = None


class _ResourceSpans(msgspec.Struct, forbid_unknown_fields=True):
    resource: _Resource | None = None
    scopeSpans: list[_ScopeSpans] | None = None
    schemaUrl: Any = None


class _Request(msgspec.Struct, forbid_unknown_fields=True):
    resourceSpans: list[_ResourceSpans]


_DECODER = msgspec.json.Decoder(_Request)


def _attributes(items: list[_KeyValue] | None) -> dict[str, Any]:
    """What `attrs.attributes` gives for the same list: values are decoded as plain JSON
    (quicker than typed `AnyValue`s) and converted by the general reader's own rules."""
    out: dict[str, Any] = {}
    for item in items or ():
        value = item.value
        if type(value) is dict and len(value) == 1 and type(text := value.get("stringValue")) is str:
            out[item.key] = text  # most values are plain strings
        else:
            out[item.key] = any_value(value)
    return out


def _requests(text: str) -> list[_Request] | None:
    try:
        return [_DECODER.decode(text)]
    except (msgspec.DecodeError, RecursionError):
        pass
    lines = [line for line in text.split("\n") if line.strip()]  # not splitlines: U+2028 may be in a string
    if len(lines) < 2:
        return None
    try:  # JSON Lines, one request per line, as the Collector's file exporter writes them
        return [_DECODER.decode(line) for line in lines]
    except (msgspec.DecodeError, RecursionError):
        return None


def read_canonical(text: str) -> list[RawSpan] | None:
    """Every span of a canonical OTLP/JSON document or JSON Lines file, else None."""
    from .otlp import _id, _kind, _nanos, status_name

    requests = _requests(text)
    if requests is None:
        return None
    spans: list[RawSpan] = []
    # Every span repeats its trace id and many share a parent: each distinct one is read once.
    known_traces: dict[Any, str | None] = {}
    known_parents: dict[str, str | None] = {}
    try:
        for request in requests:
            for entry in request.resourceSpans:
                resource = _attributes(entry.resource.attributes) if entry.resource else {}
                for scope_spans in entry.scopeSpans or ():
                    scope = scope_spans.scope
                    scope_name = (scope.name or None) if scope else None
                    scope_version = (scope.version or None) if scope else None
                    for span in scope_spans.spans or ():
                        trace_id = known_traces.get(span.traceId) if type(span.traceId) is str else None
                        if trace_id is None:
                            trace_id = known_traces[span.traceId] = _id(span.traceId, 16, "", "traceId")
                        span_id = _id(span.spanId, 8, "", "spanId")
                        if trace_id is None or span_id is None:
                            return None
                        raw_parent = span.parentSpanId
                        if type(raw_parent) is str and raw_parent in known_parents:
                            parent = known_parents[raw_parent]
                        else:
                            parent = _id(raw_parent, 8, "", "parentSpanId")
                            if parent is not None and not parent.strip("0"):
                                parent = None  # all zeros: no parent
                            if type(raw_parent) is str:
                                known_parents[raw_parent] = parent
                        status = span.status
                        status_code = status_name(status.code if status else 0)
                        if status_code is None:
                            return None
                        events = [
                            RawEvent(
                                name=str(event.name or ""),
                                time_ns=_nanos(event.timeUnixNano, "", ""),
                                attributes=_attributes(event.attributes),
                            )
                            for event in span.events or ()
                        ]
                        spans.append(
                            RawSpan(
                                trace_id=trace_id,
                                span_id=span_id,
                                name=str(span.name or ""),
                                parent_span_id=parent,
                                start_ns=_nanos(span.startTimeUnixNano, "", ""),
                                end_ns=_nanos(span.endTimeUnixNano, "", ""),
                                status_code=status_code,
                                status_message=(status.message or None) if status else None,
                                span_kind=_kind(span.kind),
                                attributes=_attributes(span.attributes),
                                events=events,
                                links=[
                                    RawLink(
                                        trace_id=_id(link.traceId, 16, "", ""),
                                        span_id=_id(link.spanId, 8, "", ""),
                                        trace_state=link.traceState or None,
                                        attributes=_attributes(link.attributes),
                                    )
                                    for link in span.links or ()
                                ],
                                resource=resource,
                                scope_name=scope_name,
                                scope_version=scope_version,
                            )
                        )
    except (InvalidInput, TypeError, ValueError):
        return None  # the general reader says what is wrong
    return spans
