"""Traces that import fine but used to break a later command, and values imported unfaithfully
(found by an adversarial review of `trace import` and the inspection commands)."""

from __future__ import annotations

import json
from contextlib import ExitStack
from pathlib import Path

import otel_traces  # tests/ is on sys.path (conftest.py)
import pytest
from typer.testing import CliRunner, Result

from agenttrace_replay.cli.app import app
from agenttrace_replay.importers.attrs import any_value
from agenttrace_replay.jsonio import PARSED_NESTING, STORED_NESTING, nested_deeper


@pytest.fixture
def cli(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {"AGENTTRACE_DATABASE_URL": None, "AGENTTRACE_CONFIG": None, "AGENTTRACE_SCHEMA": None,
           "AGENTTRACE_DATA_DIR": str(tmp_path / "no-embedded")}  # fmt: skip

    def run(*args: str, columns: int = 80, input: str | None = None) -> Result:
        return CliRunner().invoke(app, ["--db", db_url, *args], input=input, env={**env, "COLUMNS": str(columns)})

    return run


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.stderr}"
    return result


def chain(depth: int, **attributes: str) -> str:
    """`depth` spans, each the child of the one before, recorded with the OpenTelemetry SDK."""
    with otel_traces.recording("deep") as (provider, exporter):
        tracer = provider.get_tracer("deep")
        with ExitStack() as stack:
            for level in range(1, depth + 1):
                span = stack.enter_context(tracer.start_as_current_span(f"level-{level}"))
            span.set_attributes(attributes)
        return otel_traces.otlp_json(exporter.get_finished_spans())


def test_trace_show_draws_every_span_of_a_deep_trace(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Rich draws nothing past the width: spans deeper than it allows are drawn beside the
    deepest level shown, marked with their depth, instead of vanishing."""
    path = tmp_path / "deep.json"
    path.write_text(chain(60))
    ok(cli("trace", "import", str(path)))
    trace_id = json.loads(path.read_text())["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]
    for columns in (80, 200):
        shown = ok(cli("trace", "show", trace_id, columns=columns)).stdout
        for level in range(1, 61):
            assert f"level-{level} " in shown or shown.rstrip().endswith(f"level-{level}"), (columns, level)
        assert max(len(line) for line in shown.splitlines()) <= columns
        order = [shown.index(f"level-{level} ") for level in range(1, 60)]
        assert order == sorted(order)
    assert "↳60 " in shown


def test_arguments_nested_too_deeply_keep_their_depths_as_text(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Tool arguments holding JSON nested 600 levels deep are taken apart down to the limit
    and kept as JSON text below it: every command can still read, show, export, re-import and
    replay the trace."""
    deep = "[" * 600 + "]" * 600
    shallow = json.dumps({"a": [[{"b": 1}]]})
    path = tmp_path / "deep_args.json"
    with otel_traces.recording("deep") as (provider, exporter):
        tracer = provider.get_tracer("deep")
        for arguments in (deep, shallow):
            with tracer.start_as_current_span("execute_tool lookup") as span:
                span.set_attributes({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup",
                                     "gen_ai.tool.call.arguments": arguments})  # fmt: skip
        path.write_text(otel_traces.to_jsonl(*[otel_traces.otlp_dict([s]) for s in exporter.get_finished_spans()]))
    ok(cli("trace", "import", str(path)))
    listed = json.loads(ok(cli("trace", "list", "--json")).stdout)
    by_args = {}
    for row in listed:
        bundle = json.loads(ok(cli("trace", "show", row["trace_id"], "--json")).stdout)
        by_args[row["trace_id"]] = bundle["spans"][0]["input"]["arguments"]
        exported = ok(cli("trace", "export", row["trace_id"], "-o", "-")).stdout
        assert json.loads(exported)["traces"][0]["trace"]["trace_id"] == row["trace_id"]
        again = tmp_path / "again.json"
        again.write_text(exported)
        assert "unchanged" in ok(cli("trace", "import", "--replace", str(again))).stdout
        auto = ok(cli("checkpoint", "auto", row["trace_id"], "--json"))
        checkpoint = json.loads(auto.stdout)["checkpoints"][0]["checkpoint_id"]
        ok(cli("replay", "run", checkpoint, "--dry-run", "--json"))
    deep_args = next(v for v in by_args.values() if isinstance(v, list))
    assert {"a": [[{"b": 1}]]} in by_args.values()
    assert not nested_deeper(deep_args, PARSED_NESTING)
    levels = 0
    while isinstance(deep_args, list):
        deep_args, levels = deep_args[0], levels + 1
    assert isinstance(deep_args, str) and levels + deep_args.count("[") == 600  # nothing lost, the rest as text


def test_nested_otlp_values_past_the_limit_are_kept_as_json_text() -> None:
    value: dict = {"stringValue": "leaf"}
    for _ in range(PARSED_NESTING + 5):
        value = {"arrayValue": {"values": [value]}}
    read = any_value(value)
    depth = 0
    while isinstance(read, list):
        read, depth = read[0], depth + 1
    assert depth == PARSED_NESTING and isinstance(read, str)
    assert json.loads(read)["arrayValue"]["values"][0]["arrayValue"]  # the rest, as written
    assert not nested_deeper(any_value(value), PARSED_NESTING)


def test_a_native_file_nested_too_deeply_is_refused(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    deep: object = "leaf"
    for _ in range(STORED_NESTING + 1):
        deep = [deep]
    document = {"format": "agenttrace-replay", "version": 1, "traces": [{
        "trace": {"trace_id": "t-deep", "status": "completed"}, "agents": [],
        "spans": [{"trace_id": "t-deep", "span_id": "s1", "name": "tool", "status": "ok", "input": deep}]}]}  # fmt: skip
    path = tmp_path / "deep.json"
    path.write_text(json.dumps(document))
    refused = cli("trace", "import", str(path))
    assert refused.exit_code == 2 and "nested more than 200 levels" in refused.stderr
    assert refused.stderr.count("\n") == 1
    assert json.loads(ok(cli("trace", "list", "--json")).stdout) == []


def test_a_quoted_bool_is_kept_as_written_not_turned_into_true() -> None:
    assert any_value({"boolValue": "false"}) == "false"
    assert any_value({"boolValue": False}) is False
    assert any_value({"boolValue": True}) is True


def test_standard_input_given_twice(cli) -> None:  # type: ignore[no-untyped-def]
    refused = cli("trace", "import", "-", "-", input="{}")
    assert refused.exit_code == 2 and "given more than once" in refused.stderr


def test_a_trace_named_twice_is_exported_once(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.json"
    path.write_text(chain(2))
    ok(cli("trace", "import", str(path)))
    trace_id = json.loads(ok(cli("trace", "list", "--json")).stdout)[0]["trace_id"]
    exported = json.loads(ok(cli("trace", "export", trace_id, trace_id[:8], "-o", "-")).stdout)
    assert [t["trace"]["trace_id"] for t in exported["traces"]] == [trace_id]
    assert not Path("-").exists()


def _request(*spans: dict) -> str:
    return json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": list(spans)}]}]})


def test_json_errors_read_well() -> None:
    from agenttrace_replay import traces
    from agenttrace_replay.errors import InvalidInput

    good = _request({"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "a"})
    with pytest.raises(InvalidInput) as cut:  # a crash left half a line at the end
        traces.parse_text(good + "\n" + good[:40], "f.jsonl")
    assert "(Unterminated string starting at column" in cut.value.message and "at at" not in cut.value.message
    assert "last document looks cut short" in (cut.value.hint or "")
    with pytest.raises(InvalidInput, match="got null"):
        traces.parse_text(good + "\nnull\n", "f.jsonl")
    with pytest.raises(InvalidInput) as unknown:  # a check made on the built trace says what to do too
        traces.parse_text(json.dumps({"format": "agenttrace-replay", "version": 1, "traces": [{
            "trace": {"trace_id": "t", "status": "weird"}, "agents": [], "spans": []}]}), "n.json")  # fmt: skip
    assert unknown.value.hint == "Fix the file. Nothing was imported."


def test_values_imported_faithfully() -> None:
    from agenttrace_replay import traces

    trace_id = "ab" * 16
    llm = {"traceId": trace_id, "spanId": "01" * 8, "parentSpanId": "02" * 8, "name": "chat", "attributes": [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "100"}},
        {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "-120"}},
        {"key": "gen_ai.input.messages", "value": {"stringValue": json.dumps(
            [{"role": "user", "parts": [{"type": "text", "content": 42}]}])}},
    ]}  # fmt: skip
    loop = {"traceId": trace_id, "spanId": "02" * 8, "parentSpanId": "02" * 8, "name": "self-parent"}
    bundle = traces.parse_text(_request(llm, loop), "f.json")[0]
    spans = {s.span_id: s for s in bundle.spans}
    chat = spans["01" * 8]
    assert (chat.input_tokens, chat.output_tokens, bundle.trace.total_tokens) == (100, None, 100)
    assert chat.attributes["gen_ai.usage.output_tokens"] == -120  # the attribute keeps what was written
    assert chat.input["messages"] == [{"role": "user", "content": "42"}]
    assert spans["02" * 8].attributes["otel.cyclic_parent_span_id"] == "02" * 8
    assert "otel.missing_parent_span_id" not in spans["02" * 8].attributes


def test_the_sdks_console_exporter_output_imports(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """What the Python SDK's ConsoleSpanExporter prints (one indented JSON document per span,
    not OTLP), as the getting-started examples produce it."""
    import io

    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
    from opentelemetry.trace import SpanKind, Status, StatusCode

    out = io.StringIO()
    provider = TracerProvider(resource=Resource.create({"service.name": "console-demo"}))
    provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=out)))
    tracer = provider.get_tracer("demo")
    with tracer.start_as_current_span("invoke_agent helper", attributes={"gen_ai.operation.name": "invoke_agent",
                                                                        "gen_ai.agent.name": "helper"}):  # fmt: skip
        with tracer.start_as_current_span("chat gpt-4o", kind=SpanKind.CLIENT, attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o", "gen_ai.usage.input_tokens": 12}):  # fmt: skip
            pass
        with tracer.start_as_current_span("execute_tool lookup") as tool:
            tool.set_attributes({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup"})
            tool.add_event("retry", {"attempt": 2})
            tool.set_status(Status(StatusCode.ERROR, "not found"))
    provider.shutdown()
    path = tmp_path / "console.txt"
    path.write_text(out.getvalue())
    assert ok(cli("trace", "import", str(path), "--json")).stdout
    trace_id = json.loads(ok(cli("trace", "list", "--json")).stdout)[0]["trace_id"]
    bundle = json.loads(ok(cli("trace", "show", trace_id, "--json")).stdout)
    spans = {s["name"]: s for s in bundle["spans"]}
    root = spans["invoke_agent helper"]
    assert spans["chat gpt-4o"]["parent_span_id"] == root["span_id"] and root["parent_span_id"] is None
    assert (spans["chat gpt-4o"]["kind"], spans["chat gpt-4o"]["model"], spans["chat gpt-4o"]["input_tokens"]) == ("llm_call", "gpt-4o", 12)
    assert (spans["execute_tool lookup"]["kind"], spans["execute_tool lookup"]["status"]) == ("tool_call", "error")
    assert bundle["agents"][0]["name"] == "helper" and bundle["trace"]["metadata"]["service.name"] == "console-demo"


def test_exports_appended_to_one_file_or_one_per_line_import(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """`trace export A >> f; trace export B >> f` and `jq -c` of exports: each document is read."""
    for index in range(2):
        path = tmp_path / f"t{index}.json"
        path.write_text(chain(2 + index))
        ok(cli("trace", "import", str(path)))
    trace_ids = sorted(r["trace_id"] for r in json.loads(ok(cli("trace", "list", "--json")).stdout))
    exports = [ok(cli("trace", "export", trace_id)).stdout for trace_id in trace_ids]
    for name, text in (("appended.json", "".join(exports)),
                       ("lines.jsonl", "".join(json.dumps(json.loads(e)) + "\n" for e in exports))):  # fmt: skip
        for trace_id in trace_ids:
            ok(cli("trace", "delete", trace_id, "--yes"))
        path = tmp_path / name
        path.write_text(text)
        summary = ok(cli("trace", "import", str(path), "--json")).stdout
        assert sorted(json.loads(summary)["imported_ids"]) == trace_ids, name
        assert [ok(cli("trace", "export", t)).stdout for t in trace_ids] == exports


@pytest.mark.parametrize("where", ["attribute", "name"])
def test_a_lone_surrogate_is_named_as_such(cli, tmp_path: Path, where: str) -> None:  # type: ignore[no-untyped-def]
    """In a jsonb value asyncpg raises the encoding error as it is, in a text column wrapped."""
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "PLACEHOLDER" if where == "name" else "x",
            "attributes": [{"key": "note", "value": {"stringValue": "PLACEHOLDER" if where == "attribute" else "y"}}]}  # fmt: skip
    path = tmp_path / "surrogate.json"
    path.write_text(_request(span).replace("PLACEHOLDER", "\\ud800"))
    refused = cli("trace", "import", str(path))
    assert refused.exit_code == 2 and "lone UTF-16 surrogate (\\ud800)" in refused.stderr
    assert json.loads(ok(cli("trace", "list", "--json")).stdout) == []


def _deep(levels: int) -> object:
    value: object = "leaf"
    for _ in range(levels):
        value = [value]
    return value


def _console_span(attributes: dict) -> dict:
    return {"name": "execute_tool lookup", "context": {"trace_id": "0x" + "cd" * 16, "span_id": "0x" + "ef" * 8},
            "kind": "SpanKind.INTERNAL", "parent_id": None, "start_time": "2026-11-01T10:00:00.000000Z",
            "end_time": "2026-11-01T10:00:01.000000Z", "status": {"status_code": "OK"}, "attributes": attributes,
            "events": [], "links": [], "resource": {"attributes": {}, "schema_url": ""}}  # fmt: skip


@pytest.mark.parametrize("levels", [600, 880])
@pytest.mark.parametrize("route", ["messages", "console", "plain_otlp_value"])
def test_every_route_into_a_trace_caps_nesting(cli, tmp_path: Path, route: str, levels: int) -> None:  # type: ignore[no-untyped-def]
    """Message lists read on the fast path, the console exporter's plain attributes and plain
    JSON OTLP values are capped like the rest: the trace replays and its export re-imports.
    (880 levels: deeper than an encoder's recursion allows for the part kept as text.)"""
    deep = _deep(levels)
    if route == "messages":
        messages = [{"role": "assistant", "parts": [{"type": "tool_call", "id": "c1", "name": "lookup", "arguments": {"q": deep}}]},
                    {"role": "user", "parts": [{"type": "text", "content": "go on"}]}]  # fmt: skip
        text = _request({"traceId": "ab" * 16, "spanId": "01" * 8, "name": "chat", "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
            {"key": "gen_ai.input.messages", "value": {"stringValue": json.dumps(messages)}}]})  # fmt: skip
    elif route == "console":
        text = json.dumps(_console_span({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "lookup",
                                         "gen_ai.tool.call.arguments": deep}), indent=1)  # fmt: skip
    else:
        text = _request({"traceId": "ab" * 16, "spanId": "01" * 8, "name": "execute_tool lookup", "attributes": [
            {"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}},
            {"key": "gen_ai.tool.name", "value": {"stringValue": "lookup"}},
            {"key": "payload", "value": deep}]})  # fmt: skip
    path = tmp_path / "deep.json"
    path.write_text(text)
    ok(cli("trace", "import", str(path)))
    trace_id = json.loads(ok(cli("trace", "list", "--json")).stdout)[0]["trace_id"]
    shown = json.loads(ok(cli("trace", "show", trace_id, "--json")).stdout)
    assert not nested_deeper(shown, STORED_NESTING)
    checkpoints = json.loads(ok(cli("checkpoint", "auto", trace_id, "--json")).stdout)["checkpoints"]
    for checkpoint in checkpoints:
        ok(cli("replay", "run", checkpoint["checkpoint_id"], "--dry-run", "--json"))
    path.write_text(ok(cli("trace", "export", trace_id)).stdout)
    assert "unchanged" in ok(cli("trace", "import", "--replace", str(path))).stdout


def test_an_executor_output_nested_too_deeply_is_stored_capped(cli, registered, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    async def deep_executor(input, state, config, overrides=None):  # type: ignore[no-untyped-def]
        return {"output": {"answer": _deep(500)}}

    registered("deep-test", deep_executor)
    path = tmp_path / "t.json"
    path.write_text(chain(2))
    ok(cli("trace", "import", str(path)))
    trace_id = json.loads(ok(cli("trace", "list", "--json")).stdout)[0]["trace_id"]
    checkpoint = json.loads(ok(cli("checkpoint", "create", trace_id, "--span", json.loads(path.read_text())[
        "resourceSpans"][0]["scopeSpans"][0]["spans"][0]["spanId"], "--json")).stdout)["checkpoint_id"]  # fmt: skip
    ran = ok(cli("replay", "run", checkpoint, "-e", "deep-test", "--json"))
    replay = json.loads(ran.stdout)
    assert not nested_deeper(replay["replay_output"], STORED_NESTING)
    assert json.loads(ok(cli("replay", "show", replay["replay_id"], "--json")).stdout)["replay_output"] == replay["replay_output"]


def test_text_diff_blocks_and_invisible_characters_are_escaped() -> None:
    from rich.console import Console

    from agenttrace_replay.cli.common import printable
    from agenttrace_replay.cli.diffview import DiffSummary
    from agenttrace_replay.differ import compute_diff

    old = "line one\nthe answer is 42\n" * 3
    new = "line one\nthe answer is \x1b]0;PWNED\x07\x1b[2J\u202e43\n" * 3
    console = Console(record=True, width=200)
    console.print(DiffSummary(compute_diff({"text": old}, {"text": new})))
    shown = console.export_text()
    assert "\x1b" not in shown and "\u202e" not in shown and "\\x1b]0;PWNED\\x07" in shown
    assert printable("a\u200bb\ufeffc\u2060d") == "a\\u200bb\\ufeffc\\u2060d"
    assert printable("👨\u200d👩\u200d👧") == "👨\u200d👩\u200d👧"  # joiners are part of the text
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "hi")  # text hidden in Unicode tag characters
    assert printable(f"ok{hidden}.") == "ok\\U000e0068\\U000e0069."
    england = "\U0001F3F4\U000E0067\U000E0062\U000E0065\U000E006E\U000E0067\U000E007F"
    assert printable(f"a flag: {england}") == f"a flag: {england}"  # a flag emoji stays one


def test_documents_one_after_another_are_read_once_and_a_bad_one_is_named() -> None:
    from agenttrace_replay import traces
    from agenttrace_replay.errors import InvalidInput

    from agenttrace_replay.importers.otlp import _documents

    first = json.loads(_request({"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "a"}))
    second = json.loads(_request({"traceId": "ab" * 16, "spanId": "ef" * 8, "name": "b"}))
    # the first compact on line 1, the next indented: each document read once
    mixed = json.dumps(first) + "\n" + json.dumps(second, indent=2) + "\n"
    assert [document for _, document in _documents(mixed)] == [first, second]
    bundle = traces.parse_text(mixed, "f.json")[0]
    assert sorted(s.name for s in bundle.spans) == ["a", "b"]
    with pytest.raises(InvalidInput) as later:  # a compact first one, then a bad indented one
        traces.parse_text(json.dumps(first) + "\n" + json.dumps(second, indent=2).replace('"name"', "name"), "f.json")
    assert later.value.message.startswith("f.json: document at line 2: not valid JSON (Expecting property name")
    assert "(Expecting property name enclosed in double quotes at line 11 column 15)" in later.value.message
    assert later.value.hint == "Nothing was imported."
    for tail, message in ((" xyz", "line 1: not valid JSON (Extra data at column"), ("\nhello world\n", "line 2: not valid JSON")):
        with pytest.raises(InvalidInput) as wrong:  # not cut short: wrong, and said so
            traces.parse_text(json.dumps(first) + tail, "f.json")
        assert message in wrong.value.message and "cut short" not in (wrong.value.hint or ""), wrong.value
    with pytest.raises(InvalidInput, match="is too large"):  # the rules of JSON Lines hold one after another too
        traces.parse_text(json.dumps(first, indent=2) + "\n" + json.dumps(second, indent=2).replace('"b"', "1e999"), "f.json")
    indented = json.dumps(first, indent=2) + "\n"
    with pytest.raises(InvalidInput) as bad:  # a later document is bad: named by where it starts
        traces.parse_text(indented + indented.replace('"name"', "name"), "f.json")
    start = indented.count("\n") + 1
    assert bad.value.message.startswith(f"f.json: document at line {start}: not valid JSON (Expecting property name")
    assert bad.value.hint == "Nothing was imported."
    with pytest.raises(InvalidInput) as cut:  # the last one stops short
        traces.parse_text(indented + indented[:60], "f.json")
    assert f"document at line {start}: " in cut.value.message and "cut short" in (cut.value.hint or "")


def test_files_that_are_not_utf8_json_are_named(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import io
    import zipfile

    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    with otel_traces.recording("pb") as (provider, exporter):
        with provider.get_tracer("pb").start_as_current_span("chat", attributes={"gen_ai.input.messages": "hello " * 400}):
            pass
        protobuf = encode_spans(exporter.get_finished_spans()).SerializeToString()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as stored:
        stored.writestr("trace.json", _request({"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "a"}))
    cases = {
        "otlp.pb": (protobuf, "probably OTLP protobuf"),
        "trace.zip": (archive.getvalue(), "a zip archive"),
        "utf32.json": ('{"resourceSpans": []}'.encode("utf-32"), "UTF-32 text"),
        "utf16-no-bom.json": ('{"resourceSpans": []}'.encode("utf-16-le"), "holds NUL bytes, as UTF-16 text does"),
    }
    for name, (data, message) in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        refused = cli("trace", "import", str(path))
        assert refused.exit_code == 2 and message in refused.stderr, (name, refused.stderr)


def test_text_diff_lines_keep_carriage_returns_and_separators_visible() -> None:
    from agenttrace_replay.cli.diffview import colour_unified
    from agenttrace_replay.differ import text_diff

    shown = colour_unified(text_diff("a\nb\n", "a\r\nb\u2028c\n")).plain
    assert "+a\\r" in shown and "\\u2028" in shown and shown.count("\n") == len(shown.splitlines()) - 1


def test_a_lone_surrogate_in_message_text_is_named(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    messages = json.dumps([{"role": "user", "parts": [{"type": "text", "content": "PLACEHOLDER"}]}])
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "chat", "attributes": [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
        {"key": "gen_ai.input.messages", "value": {"stringValue": messages}}]}  # fmt: skip
    path = tmp_path / "surrogate.json"
    path.write_text(_request(span).replace("PLACEHOLDER", "\\\\ud800"))
    refused = cli("trace", "import", str(path))
    assert refused.exit_code == 2 and "lone UTF-16 surrogate" in refused.stderr, refused.stderr
