"""The fast path of the OTLP reader: canonical OTLP/JSON decoded straight into typed structs.

Most files are exactly what the OpenTelemetry SDKs and the Collector write: lowerCamelCase
fields, hex ids, typed `AnyValue`s. For those, msgspec decodes the whole request into the
structs below in one pass (faster than decoding to dicts, and with no per-field lookups
afterwards). Anything else, an unknown or snake_case field, a null where a value belongs,
an id or time the helpers reject, makes `read_canonical` return None, and the general reader
in `otlp.py` reads the file and words any error. The two give equal `RawSpan`s wherever
both apply; a test holds them to that.
"""

from __future__ import annotations

from typing import Any

import msgspec

from ..errors import InvalidInput
from .attrs import _double_value, _int_value, any_value
from .raw import RawEvent, RawLink, RawSpan

_UNSET: Any = msgspec.UNSET
Unset = msgspec.UnsetType


class _Value(msgspec.Struct, forbid_unknown_fields=True):
    """An `AnyValue`: which fields were written matters, so absent is UNSET, never None."""

    stringValue: str | Unset = _UNSET
    boolValue: bool | Unset = _UNSET
    intValue: int | str | Unset = _UNSET
    doubleValue: float | str | Unset = _UNSET
    bytesValue: str | Unset = _UNSET
    arrayValue: dict[str, Any] | Unset = _UNSET
    kvlistValue: dict[str, Any] | Unset = _UNSET


class _KeyValue(msgspec.Struct, forbid_unknown_fields=True):
    key: str
    value: _Value | None | Unset = _UNSET


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
_VALUE_FIELDS = _Value.__struct_fields__


def _value(value: _Value | None | Any) -> Any:
    """What `attrs.any_value` gives for the same `AnyValue`, with the one-field cases inline."""
    if value is None or value is _UNSET:
        return None
    text, flag, integer, double = value.stringValue, value.boolValue, value.intValue, value.doubleValue
    if value.bytesValue is _UNSET and value.arrayValue is _UNSET and value.kvlistValue is _UNSET:
        if flag is _UNSET and integer is _UNSET and double is _UNSET and text is not _UNSET:
            return text
        if text is _UNSET and flag is _UNSET and double is _UNSET and integer is not _UNSET:
            return _int_value(integer)
        if text is _UNSET and flag is _UNSET and integer is _UNSET and double is not _UNSET:
            return _double_value(double)
        if text is _UNSET and integer is _UNSET and double is _UNSET and flag is not _UNSET:
            return flag
    # several fields, or arrays and lists: the general conversion, on the fields as written
    return any_value({f: getattr(value, f) for f in _VALUE_FIELDS if getattr(value, f) is not _UNSET})


def _attributes(items: list[_KeyValue] | None) -> dict[str, Any]:
    return {item.key: _value(item.value) for item in items} if items else {}


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
    try:
        for request in requests:
            for entry in request.resourceSpans:
                resource = _attributes(entry.resource.attributes) if entry.resource else {}
                for scope_spans in entry.scopeSpans or ():
                    scope = scope_spans.scope
                    scope_name = (scope.name or None) if scope else None
                    scope_version = (scope.version or None) if scope else None
                    for span in scope_spans.spans or ():
                        trace_id = _id(span.traceId, 16, "", "traceId")
                        span_id = _id(span.spanId, 8, "", "spanId")
                        if trace_id is None or span_id is None:
                            return None
                        parent = _id(span.parentSpanId, 8, "", "parentSpanId")
                        if parent is not None and set(parent) == {"0"}:
                            parent = None
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
