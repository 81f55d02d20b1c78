"""Read OTLP/JSON trace exports: one ExportTraceServiceRequest, or JSON Lines of them.

The OTLP/JSON encoding (opentelemetry-proto, docs/specification.md) is protobuf's JSON mapping
with two changes: trace and span ids are hex strings, and enum values are integers. Writers
in the wild also send base64 ids and enum names, snake_case field names and the pre-1.0
`instrumentationLibrarySpans` key, so all of those are accepted too. Anything else that is
wrong is reported as one `InvalidInput` line naming the place.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ..errors import InvalidInput
from ..jsonio import STRICT_DECODER, loads
from ..records import TraceBundle
from .attrs import attributes, otlp_field
from .bundle import build_bundle
from .console import is_console_span, read_console_span
from .otlp_typed import read_canonical
from .raw import RawEvent, RawLink, RawSpan

_STATUS = {
    0: "unset",
    1: "ok",
    2: "error",
    "STATUS_CODE_UNSET": "unset",
    "STATUS_CODE_OK": "ok",
    "STATUS_CODE_ERROR": "error",
    "UNSET": "unset",
    "OK": "ok",
    "ERROR": "error",
}
_SPAN_KINDS = (
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
)
_HEX = {size: re.compile(f"[0-9a-fA-F]{{{size * 2}}}") for size in (8, 16)}
_NANOS = re.compile(r"[0-9]{1,20}")
_OTHER_SIGNALS = {
    "resourceLogs": "logs",
    "resourceMetrics": "metrics",
    "resourceProfiles": "profiles",
}


def json_type(value: Any) -> str:
    """A decoded value's type in JSON's words (`null`, not `NoneType`)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {dict: "an object", list: "an array", str: "a string", int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _text(data: str | bytes) -> str:
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInput(f"not UTF-8 text (bad byte at offset {exc.start})") from None
    return data.lstrip("\ufeff")


def _loads(text: str, where: str = "") -> Any:
    """`json.loads`, turning its non-syntax failures into `InvalidInput`; syntax errors pass."""
    try:
        return loads(text)
    except json.JSONDecodeError:
        raise
    except RecursionError:
        raise InvalidInput(f"{where}JSON is nested too deeply to read") from None
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise InvalidInput(f"{where}not valid JSON ({exc})") from None


def _documents(text: str) -> Iterator[tuple[str, Any]]:
    """`(where, document)` pairs: the whole text as one JSON document, or one per line."""
    if not text.strip():
        raise InvalidInput("empty input: expected an OTLP/JSON trace export")
    try:
        document = _loads(text)
    except json.JSONDecodeError as exc:
        whole_error = exc
    else:
        yield "", document
        return
    # "\n" only: str.splitlines would also split at U+2028 and U+0085, which JSON strings may hold
    lines: list[tuple[int, str, int]] = []  # (number, text, where it starts in the whole text)
    offset = 0
    for number, line in enumerate(text.split("\n"), 1):
        if line.strip():
            lines.append((number, line, offset))
        offset += len(line) + 1
    looks_like_lines = whole_error.msg == "Extra data"
    if not looks_like_lines and len(lines) > 1:
        try:
            _loads(lines[0][1])
            looks_like_lines = True
        except (json.JSONDecodeError, InvalidInput):
            pass
    if not looks_like_lines:
        raise InvalidInput(f"not valid JSON ({_at(whole_error.msg)} line {whole_error.lineno} column {whole_error.colno})")
    for index, (number, line, start) in enumerate(lines):
        where = f"line {number}: "
        try:
            document = _loads(line, where)
        except json.JSONDecodeError as exc:
            sequence, failed = _sequence(text)
            if failed is None and len(sequence) > 1:  # documents one after another, not one per line
                yield from sequence[index:]  # the ones before were read already, a line each
                return
            if failed is not None and sequence and failed[1].pos > start + exc.pos:
                # read as documents one after another, the file goes further: a later one is bad
                where, exc = failed
                position, cut = f"line {exc.lineno} column {exc.colno}", _ran_out(exc, text)
            else:
                position, cut = f"column {exc.colno}", index == len(lines) - 1 and index > 0 and _ran_out(exc, line)
            raise InvalidInput(f"{where}not valid JSON ({_at(exc.msg)} {position})", _CUT_SHORT if cut else None) from None
        yield where, document


def _ran_out(error: json.JSONDecodeError, source: str) -> bool:
    """Whether the parser reached the end of the text: a document cut short, not a wrong one."""
    return error.msg.startswith("Unterminated") or error.pos >= len(source.rstrip())


_CUT_SHORT = "The last document looks cut short (a file still being written?): remove it to import the rest."


def _sequence(text: str) -> tuple[list[tuple[str, Any]], tuple[str, json.JSONDecodeError] | None]:
    """Indented JSON documents one after another (the ConsoleSpanExporter's output, exports
    appended to one file with `>>`), each named by the line it starts on; and, if one is not
    valid JSON, where it starts and the error (its position in the whole text)."""
    documents: list[tuple[str, Any]] = []
    position, line = 0, 1
    while True:
        start = len(text) if (space := _SPACE.match(text, position)) is None else space.end()  # \s* always matches
        line += text.count("\n", position, start)
        if start == len(text):
            return documents, None
        where = f"document at line {line}: "
        try:
            document, end = STRICT_DECODER.raw_decode(text, start)
        except json.JSONDecodeError as exc:
            return documents, (where, exc)
        except (ValueError, RecursionError) as exc:  # a number JSON cannot hold here, nesting too deep
            reason = str(exc).rstrip(".") if isinstance(exc, ValueError) else "nested too deeply to read"
            return documents, (where, json.JSONDecodeError(reason, text, start))
        documents.append((where, document))
        line += text.count("\n", start, end)
        position = end


_SPACE = re.compile(r"\s*")


def _at(message: str) -> str:
    """`json`'s message followed by "at": some end in "at" already ("starting at")."""
    return message if message.endswith(" at") else f"{message} at"


def _id(value: Any, size: int, where: str, name: str) -> str | None:
    """A trace or span id as lowercase hex; base64 ids (protobuf's JSON mapping) are converted."""
    if type(value) is str and len(value) == 2 * size and _HEX[size].fullmatch(value):
        return value.lower()  # the usual case
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InvalidInput(f"{where}: {name} must be a string, got {json_type(value)}")
    text = value.strip()
    if _HEX[size].fullmatch(text):
        return text.lower()
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) == size:
        return raw.hex()
    return text  # not an OTLP id, but ids are text in this tool: keep it as written


def _nanos(value: Any, where: str, name: str) -> int | None:
    if value is None or value == "" or value == 0 or value == "0":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return _in_range(value, where, name)
    if type(value) is str and value.isdigit() and value.isascii() and len(value) < 20:
        return int(value)  # the usual case: 19 digits at most is always in range
    if isinstance(value, str) and _NANOS.fullmatch(value.strip()):
        return _in_range(int(value), where, name)
    if isinstance(value, float) and value.is_integer():
        return _in_range(int(value), where, name)
    raise InvalidInput(f"{where}: {name} must be an integer of nanoseconds, got {value!r}")


def _in_range(nanos: int, where: str, name: str) -> int:
    if 0 <= nanos < 2**64:  # OTLP's fixed64: up to the year 2554
        return nanos
    raise InvalidInput(f"{where}: {name} is out of range (nanoseconds since 1970, below 2^64), got {nanos}")


def _status(span: Mapping[str, Any], where: str) -> tuple[str, str | None]:
    status = span.get("status") or {}
    if not isinstance(status, dict):
        raise InvalidInput(f"{where}: status must be an object")
    code = status.get("code", 0)
    name = status_name(code)
    if name is None:
        raise InvalidInput(f"{where}: unknown status code {code!r}")
    return name, status.get("message") or None


def status_name(code: Any) -> str | None:
    """`unset`, `ok` or `error` for a status code as written (0-2, `2.0`, an enum name), else None."""
    try:
        return _STATUS.get(code)
    except TypeError:  # a list or an object: not a code
        return None


def _kind(value: Any) -> str | None:
    if isinstance(value, int) and 0 <= value < len(_SPAN_KINDS):
        return _SPAN_KINDS[value]
    return value if isinstance(value, str) else None


def _read_span(
    span: Any, where: str, resource: dict[str, Any], scope: Mapping[str, Any]
) -> RawSpan:
    if not isinstance(span, dict):
        raise InvalidInput(f"{where}: a span must be a JSON object")
    name = span.get("name")
    if name:
        where = f"{where} ('{name}')"
    trace_id = _id(otlp_field(span, "traceId"), 16, where, "traceId")
    if trace_id is None:
        raise InvalidInput(f"{where}: missing traceId")
    span_id = _id(otlp_field(span, "spanId"), 8, where, "spanId")
    if span_id is None:
        raise InvalidInput(f"{where}: missing spanId")
    parent = _id(otlp_field(span, "parentSpanId"), 8, where, "parentSpanId")
    if parent is not None and not parent.strip("0"):  # all zeros: no parent
        parent = None
    status, message = _status(span, where)
    events = []
    for index, event in enumerate(_list(span.get("events"), f"{where}: events")):
        if not isinstance(event, dict):
            raise InvalidInput(f"{where}: event {index} must be a JSON object")
        events.append(
            RawEvent(
                name=str(event.get("name") or ""),
                time_ns=_nanos(otlp_field(event, "timeUnixNano"), where, "event timeUnixNano"),
                attributes=attributes(event.get("attributes"), f"{where} event {index}"),
            )
        )
    links = []
    for index, link in enumerate(_list(span.get("links"), f"{where}: links")):
        if not isinstance(link, dict):
            raise InvalidInput(f"{where}: link {index} must be a JSON object")
        links.append(
            RawLink(
                trace_id=_id(otlp_field(link, "traceId"), 16, where, "link traceId"),
                span_id=_id(otlp_field(link, "spanId"), 8, where, "link spanId"),
                trace_state=otlp_field(link, "traceState") or None,
                attributes=attributes(link.get("attributes"), f"{where} link {index}"),
            )
        )
    return RawSpan(
        trace_id=trace_id,
        span_id=span_id,
        name=str(name or ""),
        parent_span_id=parent,
        start_ns=_nanos(otlp_field(span, "startTimeUnixNano"), where, "startTimeUnixNano"),
        end_ns=_nanos(otlp_field(span, "endTimeUnixNano"), where, "endTimeUnixNano"),
        status_code=status,
        status_message=message,
        span_kind=_kind(span.get("kind")),
        attributes=attributes(span.get("attributes"), where),
        events=events,
        links=links,
        resource=resource,
        scope_name=scope.get("name") or None,
        scope_version=scope.get("version") or None,
    )


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"{where} must be a list, got {json_type(value)}")
    return value


def read_request(request: Any, where: str = "") -> list[RawSpan]:
    """The spans of one ExportTraceServiceRequest (`where` prefixes error messages)."""
    if not isinstance(request, dict):
        raise InvalidInput(f"{where}not an OTLP trace export: expected a JSON object, got {json_type(request)}")
    if request.get("format") == "agenttrace-replay":
        raise InvalidInput(f"{where}this is an agenttrace-replay export, not OTLP")
    if is_console_span(request):  # the Python SDK's ConsoleSpanExporter: one span per document
        return [read_console_span(request, where)]
    resource_spans = otlp_field(request, "resourceSpans")
    if resource_spans is None:
        other = next((s for k, s in _OTHER_SIGNALS.items() if otlp_field(request, k) is not None), None)
        if other:
            raise InvalidInput(f"{where}this is an OTLP {other} export, not traces")
        raise InvalidInput(f"{where}not an OTLP trace export: no 'resourceSpans' key")
    spans: list[RawSpan] = []
    for i, entry in enumerate(_list(resource_spans, f"{where}resourceSpans")):
        here = f"{where}resourceSpans[{i}]"
        if not isinstance(entry, dict):
            raise InvalidInput(f"{here} must be a JSON object")
        resource_obj = entry.get("resource") or {}
        if not isinstance(resource_obj, dict):
            raise InvalidInput(f"{here}.resource must be a JSON object")
        resource = attributes(resource_obj.get("attributes"), f"{here}.resource")
        scope_key = "scopeSpans" if otlp_field(entry, "scopeSpans") is not None else (
            "instrumentationLibrarySpans"
        )
        for j, scope_spans in enumerate(_list(otlp_field(entry, scope_key), f"{here}.{scope_key}")):
            scope_here = f"{here}.{scope_key}[{j}]"
            if not isinstance(scope_spans, dict):
                raise InvalidInput(f"{scope_here} must be a JSON object")
            scope = scope_spans.get("scope") or otlp_field(scope_spans, "instrumentationLibrary") or {}
            if not isinstance(scope, dict):
                scope = {}
            for k, span in enumerate(_list(scope_spans.get("spans"), f"{scope_here}.spans")):
                spans.append(_read_span(span, f"{scope_here}.spans[{k}]", resource, scope))
    return spans


def read_spans(data: str | bytes) -> list[RawSpan]:
    """Every span in an OTLP/JSON document or JSON Lines file, in file order."""
    text = _text(data)
    fast = read_canonical(text)
    return fast if fast is not None else read_spans_general(text)


def read_spans_general(text: str) -> list[RawSpan]:
    """`read_spans` for any accepted form (snake_case, base64 ids, arrays of requests, ...),
    with the error messages; `otlp_typed` takes the canonical form faster."""
    return _read_documents(text, natives_allowed=False)[1]


def read_file(text: str) -> tuple[list[tuple[str, Any]], list[RawSpan]]:
    """The spans of the OTLP requests in a file, and `(where, document)` for each native export
    among them: requests and exports may come one per line or one after another (`>>`)."""
    fast = read_canonical(text)
    return ([], fast) if fast is not None else _read_documents(text, natives_allowed=True)


def _read_documents(text: str, *, natives_allowed: bool) -> tuple[list[tuple[str, Any]], list[RawSpan]]:
    natives: list[tuple[str, Any]] = []
    spans: list[RawSpan] = []
    for where, document in _documents(text):
        if isinstance(document, list) and not where:  # a JSON array of requests
            for index, request in enumerate(document):
                spans.extend(read_request(request, f"item {index}: "))
        elif natives_allowed and isinstance(document, dict) and document.get("format") == "agenttrace-replay":
            natives.append((where, document))
        else:
            spans.extend(read_request(document, where))
    return natives, spans


def parse_otlp(data: str | bytes, *, pending: bool = False) -> list[TraceBundle]:
    """One `TraceBundle` per trace id in an OTLP/JSON export, in order of first appearance.

    A span exported twice (the same trace and span id) is taken once, its last copy winning.
    With `pending`, the spans' payloads are left to be computed while they are written
    (`TraceBundle.pending`); any error in the file is still found here.
    """
    return bundles_from_spans(read_spans(data), pending=pending)


def bundles_from_spans(spans: Iterable[RawSpan], *, pending: bool = False) -> list[TraceBundle]:
    """`parse_otlp` of spans already read, from one file or several."""
    traces: dict[str, dict[str, RawSpan]] = {}
    for span in spans:
        traces.setdefault(span.trace_id, {})[span.span_id] = span
    bundles = [build_bundle(trace_id, list(spans.values())) for trace_id, spans in traces.items()]
    return bundles if pending else [bundle.complete() for bundle in bundles]
