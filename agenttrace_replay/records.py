"""Plain records passed between the importers, the database layer and the checkpoint code.

Importers produce `TraceBundle`s; the database layer writes and reads them. Timestamps are
timezone-aware UTC datetimes. `input`, `output`, `metadata`, `config` and `attributes` are
JSON-compatible Python values in the normalised shapes of docs/messages.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

SPAN_KINDS = ("llm_call", "tool_call", "agent_message", "checkpoint", "handoff")
TRACE_STATUSES = ("running", "completed", "failed", "timeout")
SPAN_STATUSES = ("ok", "error", "timeout")

# Why a model stopped, in the OpenTelemetry GenAI vocabulary (stop, length, content_filter,
# tool_call, error): providers' own words are mapped onto it on import and in replays, so a
# recording and its replay compare equal when the model stopped for the same reason.
_FINISH_REASONS = {
    "tool_calls": "tool_call", "function_call": "tool_call", "tool_use": "tool_call",  # OpenAI, Anthropic
    "end_turn": "stop", "stop_sequence": "stop", "eos": "stop", "end": "stop",
    "max_tokens": "length", "max_output_tokens": "length", "model_length": "length",
    "content_filtered": "content_filter", "safety": "content_filter",
}


def finish_reason(value: object) -> object:
    """A provider's finish reason in the GenAI vocabulary (unknown ones as given)."""
    if isinstance(value, str):
        return _FINISH_REASONS.get(value.lower(), value)
    return value


@dataclass
class TraceRecord:
    trace_id: str
    name: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    status: str = "completed"
    metadata: dict[str, Any] = field(default_factory=dict)
    total_tokens: int = 0
    total_cost_usd: float = 0.0
    total_latency_ms: float | None = None
    agent_count: int = 0


@dataclass
class AgentRecord:
    agent_id: str
    trace_id: str
    name: str
    role: str | None = None
    model: str | None = None
    framework: str | None = None
    config: dict[str, Any] = field(default_factory=dict)


@dataclass
class SpanRecord:
    span_id: str
    trace_id: str
    name: str
    parent_span_id: str | None = None
    agent_id: str | None = None
    kind: str | None = None  # one of SPAN_KINDS or None
    start_time: datetime | None = None
    end_time: datetime | None = None
    status: str = "ok"
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    cost_usd: float | None = None
    input: Any = None
    output: Any = None
    error: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class TraceBundle:
    """One trace with its agents and spans, as an importer yields it.

    An importer may leave the costly part, the spans' `input` and `output` and the agents'
    `config`, to be worked out while the spans are being written (`pending`). Everything
    else, and everything that is validated, is there from the start.
    """

    trace: TraceRecord
    agents: list[AgentRecord] = field(default_factory=list)
    spans: list[SpanRecord] = field(default_factory=list)
    pending: Callable[[], Iterator[SpanRecord]] | None = field(default=None, repr=False, compare=False)
    # which stored copy of the trace this was read from (its import time): checkpoints built
    # from it are written only if the trace was not replaced meanwhile
    version: Any = field(default=None, repr=False, compare=False)

    def completing(self) -> Iterator[SpanRecord]:
        """Each span as soon as it is complete; once this is exhausted the whole bundle is.

        A completion abandoned half-way (an error, a cancelled import) leaves `pending` set,
        so a later `completing()` works everything out again from the start.
        """
        if self.pending is None:
            yield from self.spans
            return
        yield from self.pending()
        self.pending = None  # only now is every span complete

    def complete(self) -> "TraceBundle":
        for _ in self.completing():
            pass
        return self
