"""Spans as decoded from OTLP, before any convention is applied.

The OTLP reader produces these; the convention mapping and the bundle assembly consume them.
Keeping the decoded form separate means a future reader (another wire format) only has to
produce `RawSpan`s to get the whole mapping for free.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RawEvent:
    name: str
    time_ns: int | None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class RawLink:
    """A span link: another span (often of another trace) this one is causally tied to."""

    trace_id: str | None
    span_id: str | None
    trace_state: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class RawSpan:
    trace_id: str
    span_id: str
    name: str
    parent_span_id: str | None = None
    start_ns: int | None = None
    end_ns: int | None = None
    status_code: str = "unset"  # "unset" | "ok" | "error"
    status_message: str | None = None
    span_kind: str | None = None  # OTLP SpanKind name, e.g. "SPAN_KIND_INTERNAL"
    attributes: dict[str, Any] = field(default_factory=dict)
    events: list[RawEvent] = field(default_factory=list)
    links: list[RawLink] = field(default_factory=list)
    resource: dict[str, Any] = field(default_factory=dict)
    scope_name: str | None = None
    scope_version: str | None = None

    def event(self, name: str) -> RawEvent | None:
        return next((e for e in self.events if e.name == name), None)
