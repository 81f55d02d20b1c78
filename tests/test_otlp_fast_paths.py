"""The importer's fast paths give exactly what its general paths give.

`otlp_typed.read_canonical` decodes canonical OTLP/JSON into typed structs, and
`messages._genai_parts_message` normalises the GenAI conventions' own message shape; both
fall back to the general code for anything else. These tests run both on SDK-written traces
and on variants built to sit on the border between the two.
"""

from __future__ import annotations

import copy
import json
import random
from typing import Any

import otel_traces  # tests/ is on sys.path (conftest.py)
import pytest

from agenttrace_replay.errors import InvalidInput

from agenttrace_replay.importers import messages as msg
from agenttrace_replay.importers import parse_otlp
from agenttrace_replay.importers.otlp import read_spans, read_spans_general
from agenttrace_replay.importers.otlp_typed import read_canonical


@pytest.mark.parametrize("name", sorted(otel_traces.sdk_documents()))
def test_sdk_traces_take_the_fast_path_and_read_the_same(name: str) -> None:
    document = otel_traces.sdk_documents()[name]
    fast = read_canonical(document)
    assert fast is not None  # what the SDK writes is canonical
    assert fast == read_spans_general(document)
    lines = otel_traces.jsonl_variant(document)  # the Collector's JSON Lines
    assert read_canonical(lines) == read_spans_general(lines) == fast


def _first_span(document: dict[str, Any]) -> dict[str, Any]:
    return document["resourceSpans"][0]["scopeSpans"][0]["spans"][0]


def _set_value(value: dict[str, Any]):  # type: ignore[no-untyped-def]
    def change(document: dict[str, Any]) -> None:
        _first_span(document).setdefault("attributes", []).append({"key": "probe", "value": value})

    return change


def _rename(old: str, new: str):  # type: ignore[no-untyped-def]
    def change(document: dict[str, Any]) -> None:
        span = _first_span(document)
        span[new] = span.pop(old)

    return change


VARIANTS = {
    "snake_case field": _rename("startTimeUnixNano", "start_time_unix_nano"),
    "base64 span id": lambda d: _first_span(d).update(spanId="AAECAwQFBgc="),
    "upper-case hex ids": lambda d: _first_span(d).update(traceId=_first_span(d)["traceId"].upper()),
    "all-zero parent": lambda d: _first_span(d).update(parentSpanId="0" * 16),
    "integer times": lambda d: _first_span(d).update(startTimeUnixNano=1_700_000_000_000_000_000),
    "float time": lambda d: _first_span(d).update(endTimeUnixNano=1.7e18),
    "kind by name": lambda d: _first_span(d).update(kind="SPAN_KIND_CLIENT"),
    "no kind": lambda d: _first_span(d).pop("kind", None),
    "status by name": lambda d: _first_span(d).update(status={"code": "STATUS_CODE_ERROR", "message": "boom"}),
    "empty status": lambda d: _first_span(d).update(status={}),
    "null name": lambda d: _first_span(d).update(name=None),
    "no attributes": lambda d: _first_span(d).pop("attributes", None),
    "int value": _set_value({"intValue": "42"}),
    "int value as number": _set_value({"intValue": 42}),
    "int value too long": _set_value({"intValue": "123456789012345678901234"}),
    "double value": _set_value({"doubleValue": 0.5}),
    "double value as int": _set_value({"doubleValue": 3}),
    "double NaN": _set_value({"doubleValue": "NaN"}),
    "bool value": _set_value({"boolValue": False}),
    "bytes value": _set_value({"bytesValue": "aGk="}),
    "array value": _set_value({"arrayValue": {"values": [{"stringValue": "a"}, {"intValue": "1"}]}}),
    "kvlist value": _set_value({"kvlistValue": {"values": [{"key": "k", "value": {"boolValue": True}}]}}),
    "two fields": _set_value({"stringValue": "s", "intValue": "1"}),
    "empty value": _set_value({}),
    "null string value": _set_value({"stringValue": None}),
    "plain JSON value": _set_value(7),  # type: ignore[arg-type]
    "null value": lambda d: _first_span(d).setdefault("attributes", []).append({"key": "probe", "value": None}),
    "no value": lambda d: _first_span(d).setdefault("attributes", []).append({"key": "probe"}),
    "event": lambda d: _first_span(d).setdefault("events", []).append(
        {"name": "exception", "timeUnixNano": "1700000000000000001",
         "attributes": [{"key": "exception.message", "value": {"stringValue": "x"}}]}),  # fmt: skip
    "status code as a float": lambda d: _first_span(d).update(status={"code": 2.0}),
    "status code as a bool": lambda d: _first_span(d).update(status={"code": True}),
    "raw U+2028 in a string": _set_value({"stringValue": "line\u2028separator\u0085next"}),
    "unknown span field": lambda d: _first_span(d).update(future_field=1),
    "instrumentationLibrary": lambda d: d["resourceSpans"][0]["scopeSpans"][0].update(
        instrumentationLibrary={"name": "old"}),  # fmt: skip
    "scope with attributes": lambda d: d["resourceSpans"][0]["scopeSpans"][0].update(
        scope={"name": "s", "version": "1", "attributes": []}),  # fmt: skip
    "upper-case parent ids": lambda d: [s.update(parentSpanId=s["parentSpanId"].upper())
                                        for s in _spans(d) if s.get("parentSpanId")],  # fmt: skip
    "a parent id that is not hex": lambda d: _first_span(d).update(parentSpanId="not-a-span"),
    "a trace id in two cases": lambda d: _spans(d)[-1].update(traceId=_spans(d)[-1]["traceId"].upper()),
}

# Attribute values are read by the general rules on the fast path too, and ids by the same
# helpers: none of these may send the file down the slow path.
FAST_VARIANTS = sorted(
    name for name in VARIANTS if name.endswith(("value", "fields", "value as number", "value as int", "NaN"))
) + ["a parent id that is not hex", "a trace id in two cases", "upper-case parent ids"]


def _spans(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for r in document["resourceSpans"] for ss in r["scopeSpans"] for s in ss["spans"]]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_border_cases_read_the_same_on_either_path(variant: str) -> None:
    document = json.loads(otel_traces.genai_multi_agent_trace())
    VARIANTS[variant](document)
    text = json.dumps(document)
    fast = read_canonical(text)
    general = read_spans_general(text)
    assert fast is None or fast == general
    assert read_spans(text) == general


@pytest.mark.parametrize("variant", FAST_VARIANTS)
def test_odd_values_and_ids_stay_on_the_fast_path(variant: str) -> None:
    document = json.loads(otel_traces.genai_multi_agent_trace())
    VARIANTS[variant](document)
    text = json.dumps(document)
    fast = read_canonical(text)
    assert fast is not None and fast == read_spans_general(text)


def test_raw_line_separators_inside_json_lines_strings() -> None:
    document = json.loads(otel_traces.genai_multi_agent_trace())
    VARIANTS["raw U+2028 in a string"](document)
    requests = otel_traces.split_requests(json.dumps(document))
    lines = "".join(json.dumps(request, ensure_ascii=False) + "\n" for request in requests)
    assert "\u2028" in lines  # written raw, as JSON allows
    assert read_canonical(lines) == read_spans_general(lines) == read_spans_general(json.dumps(document))


@pytest.mark.parametrize("status", [{"code": [2]}, {"code": {"a": 1}}, {"code": 7}])
def test_a_status_code_that_is_no_code_is_refused_on_either_path(status: dict[str, Any]) -> None:
    document = json.loads(otel_traces.genai_multi_agent_trace())
    _first_span(document).update(status=status)
    text = json.dumps(document)
    assert read_canonical(text) is None
    with pytest.raises(InvalidInput, match="unknown status code"):
        read_spans(text)


def test_json_nested_too_deeply_is_refused_not_crashed() -> None:
    document = json.loads(otel_traces.genai_multi_agent_trace())
    text = json.dumps(document).replace('"links": []', '"links": ' + "[" * 1200 + "]" * 1200, 1)
    if text == json.dumps(document):  # the SDK wrote no links: put the deep value elsewhere
        _first_span(document)["links"] = "PLACEHOLDER"
        text = json.dumps(document).replace('"PLACEHOLDER"', "[" * 1200 + "]" * 1200)
    assert read_canonical(text) is None
    with pytest.raises(InvalidInput, match="nested too deeply"):
        read_spans(text)


# --- GenAI messages --------------------------------------------------------------------------


def _general(message: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The general path's answer: an extra field keeps the fast path out and changes nothing else."""
    return msg.normalise_message({**message, "x-extra": 1}, role)


def _random_part(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(["text", "text", "tool_call", "tool_call_response", "image", None])
    if kind == "text":
        return {"type": "text", "content": rng.choice(["", "hello", "two\nlines", 5])}
    if kind == "tool_call":
        part: dict[str, Any] = {"type": "tool_call", "name": rng.choice(["lookup", "", None])}
        for key, choices in (("id", ["c1", "", None, 7]), ("arguments", ['{"a": 1}', {"b": [2]}, "[1]", "text", None, 4])):
            if rng.random() < 0.7:
                part[key] = rng.choice(choices)
        return part
    if kind == "tool_call_response":
        part = {"type": "tool_call_response"}
        for key, choices in (("id", ["c1", "", None]), ("response", [{"ok": True}, "done", [{"type": "text", "content": "t"}], None, 3])):
            if rng.random() < 0.7:
                part[key] = rng.choice(choices)
        return part
    return {"type": kind, "data": "x"} if kind else {"text": "no type"}


def test_the_genai_message_fast_path_agrees_with_the_general_path() -> None:
    rng = random.Random(7)
    taken = 0
    for _ in range(3000):
        roles = ["user", "assistant", "system", "tool", "ai", "", None, "User", ["user"], {"r": 1}]
        message: dict[str, Any] = {"role": rng.choice(roles),
                                   "parts": [_random_part(rng) for _ in range(rng.randint(0, 4))]}  # fmt: skip
        if rng.random() < 0.3:
            message["finish_reason"] = "stop"
        if rng.random() < 0.05:
            message["name"] = "someone"
        role = rng.choice(["user", "assistant"])
        fast = msg._genai_parts_message(copy.deepcopy(message))
        if fast is not None:
            taken += 1
            assert fast == _general(message, role), message
        assert msg.normalise_message(copy.deepcopy(message), role) == _general(message, role), message
    assert taken > 300  # the fast path was exercised, not skipped


def test_a_deeply_nested_message_text_stays_text_with_or_without_the_cache() -> None:
    text = '[{"role": "user", "content": ' + "[" * 1100 + "]" * 1100 + "}]"
    plain = msg.normalise_messages(text)
    with msg.message_cache({}):
        assert msg.normalise_messages(text) == plain


def test_span_links_are_kept_on_either_path() -> None:
    from opentelemetry.trace import Link

    with otel_traces.recording("linker") as (provider, exporter):
        tracer = provider.get_tracer("acme.queue")
        with tracer.start_as_current_span("enqueue job") as producer:
            context = producer.get_span_context()
        with tracer.start_as_current_span("run job", links=[Link(context, {"messaging.operation": "process"})]):
            pass
        document = otel_traces.otlp_json(exporter.get_finished_spans())
    fast = read_canonical(document)
    assert fast is not None and fast == read_spans_general(document)
    consumer = next(b for b in parse_otlp(document) if b.spans[0].name == "run job").spans[0]
    assert consumer.attributes["otel.links"] == [{
        "trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x"),
        "attributes": {"messaging.operation": "process"}}]  # fmt: skip


def test_links_that_are_not_a_list_of_objects_are_refused() -> None:
    for links in ("nope", ["nope"]):
        document = json.loads(otel_traces.genai_multi_agent_trace())
        _first_span(document)["links"] = links
        with pytest.raises(InvalidInput, match="link"):
            read_spans(json.dumps(document))
