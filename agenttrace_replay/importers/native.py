"""The project's own JSON format: what ``trace export`` writes and ``trace import`` reads.

It round-trips exactly: export, import into an empty database and export again gives the
same bytes (keys sorted, two-space indent, non-ASCII characters as they are, timestamps as
ISO 8601 in UTC with microseconds).
"""

from __future__ import annotations

from dataclasses import MISSING, fields
from datetime import datetime, timezone
from typing import Any

from agenttrace_replay.errors import InvalidInput
from agenttrace_replay.jsonio import STORED_NESTING, dumps_pretty, nested_deeper
from agenttrace_replay.records import AgentRecord, SpanRecord, TraceBundle, TraceRecord

FORMAT = "agenttrace-replay"
VERSION = 1
_TIME_FIELDS = ("start_time", "end_time")


def _time_out(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")


_NAMES: dict[type, tuple[str, ...]] = {}


def _record_out(record: Any) -> dict[str, Any]:
    # a shallow copy: `asdict` would copy every payload again, recursively (slow, and it fails
    # on values nested some hundreds of levels deep)
    names = _NAMES.get(type(record)) or _NAMES.setdefault(type(record), tuple(f.name for f in fields(record)))
    data = {name: getattr(record, name) for name in names}
    for key in _TIME_FIELDS:
        if key in data:
            data[key] = _time_out(data[key])
    return data


def bundle_to_dict(bundle: TraceBundle) -> dict[str, Any]:
    return {
        "trace": _record_out(bundle.trace),
        "agents": [_record_out(a) for a in sorted(bundle.agents, key=lambda a: a.agent_id)],
        "spans": [_record_out(s) for s in bundle.spans],
    }


def dumps(bundles: list[TraceBundle]) -> str:
    document = {"format": FORMAT, "version": VERSION, "traces": [bundle_to_dict(b) for b in bundles]}
    return dumps_pretty(document, sort_keys=True) + "\n"


def _record_in(cls: type, data: Any, where: str) -> Any:
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: expected an object, found {type(data).__name__}.")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InvalidInput(f"{where}: unknown field(s) {', '.join(unknown)}.")
    required = [f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING]
    if missing := [name for name in required if name not in data]:
        raise InvalidInput(f"{where}: missing field(s) {', '.join(missing)}.")
    if nested_deeper(data, STORED_NESTING + 1):  # the record itself is one level
        raise InvalidInput(
            f"{where}: a value is nested more than {STORED_NESTING} levels deep, more than this tool stores.",
            "Flatten it, or keep it as a JSON string. Nothing was imported.",
        )
    values = dict(data)
    for key in _TIME_FIELDS:
        if values.get(key) is not None:
            try:
                parsed = datetime.fromisoformat(str(values[key]).replace("Z", "+00:00"))
            except ValueError as exc:
                raise InvalidInput(f"{where}: {key} is not an ISO 8601 time: {values[key]!r}.") from exc
            values[key] = parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
    try:
        return cls(**values)
    except TypeError as exc:
        raise InvalidInput(f"{where}: {exc}.") from exc


def parse_native(document: Any) -> list[TraceBundle]:
    """Bundles from a parsed native document; InvalidInput names what is wrong and where."""
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise InvalidInput(f"not an {FORMAT} export: the 'format' key is missing or wrong.")
    if type(document.get("version")) is not int or document["version"] != VERSION:  # `true` is no version
        raise InvalidInput(f"unsupported {FORMAT} export version {document.get('version')!r} (this build reads {VERSION}).")
    traces = document.get("traces")
    if not isinstance(traces, list):
        raise InvalidInput("native export: 'traces' must be a list.")
    bundles = []
    for i, item in enumerate(traces):
        where = f"traces[{i}]"
        if not isinstance(item, dict) or "trace" not in item:
            raise InvalidInput(f"{where}: expected an object with 'trace', 'agents' and 'spans'.")
        trace = _record_in(TraceRecord, item["trace"], f"{where}.trace")
        if not trace.trace_id:
            raise InvalidInput(f"{where}.trace: trace_id is missing.")
        agents = [_record_in(AgentRecord, a, f"{where}.agents[{j}]") for j, a in enumerate(item.get("agents") or [])]
        spans = [_record_in(SpanRecord, s, f"{where}.spans[{j}]") for j, s in enumerate(item.get("spans") or [])]
        for j, span in enumerate(spans):
            if span.trace_id != trace.trace_id:
                raise InvalidInput(f"{where}.spans[{j}]: trace_id {span.trace_id!r} differs from the trace's {trace.trace_id!r}.")
        bundles.append(TraceBundle(trace, agents, spans))
    return bundles
