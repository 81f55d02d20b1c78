"""`trace import | list | show | export | delete` and `demo`, as a user runs them."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import otel_traces  # tests/ is on sys.path (conftest.py)
import pytest
from typer.testing import CliRunner, Result

from agenttrace_replay.cli.app import app
from agenttrace_replay.cli.demo_cmd import sample_files

SUMMARY = "imported {} trace(s), {} span(s); skipped {} already present"


@pytest.fixture
def cli(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Run the command against this test's database, isolated from the user's environment."""
    env = {"AGENTTRACE_DATABASE_URL": None, "AGENTTRACE_CONFIG": None, "AGENTTRACE_SCHEMA": None,
           "AGENTTRACE_DATA_DIR": str(tmp_path / "no-embedded"), "COLUMNS": "200"}  # fmt: skip

    def run(*args: str, input: str | None = None, extra_env: dict[str, str] | None = None) -> Result:
        return CliRunner().invoke(app, ["--db", db_url, *args], input=input, env={**env, **(extra_env or {})})

    return run


@pytest.fixture(scope="module")
def docs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("otlp")
    genai = otel_traces.genai_multi_agent_trace()
    files = {
        "genai": genai,
        "openinference": otel_traces.openinference_trace(),
        "jsonl": otel_traces.jsonl_variant(otel_traces.genai_legacy_trace(), batch_size=2),
    }
    paths = {}
    for name, text in files.items():
        paths[name] = folder / f"{name}.json"
        paths[name].write_text(text)
    return paths


def ok(result: Result) -> Result:
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.stderr}"
    return result


def trace_ids(cli) -> list[str]:  # type: ignore[no-untyped-def]
    return [r["trace_id"] for r in json.loads(ok(cli("trace", "list", "--json")).stdout)]


def genai_id(docs: dict[str, Path]) -> str:
    return json.loads(docs["genai"].read_text())["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["traceId"]


# --- import ---------------------------------------------------------------------------------


def test_import_files_prints_one_summary_line(cli, docs: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    result = ok(cli("trace", "import", str(docs["genai"]), str(docs["openinference"]), str(docs["jsonl"])))
    assert result.stdout == SUMMARY.format(3, 10 + 6 + 6, 0) + "\n"
    assert result.stderr == ""  # no progress bar without a terminal
    again = ok(cli("trace", "import", str(docs["genai"]), str(docs["openinference"]), str(docs["jsonl"])))
    assert again.stdout == SUMMARY.format(0, 0, 3) + "\n"
    assert len(trace_ids(cli)) == 3


def test_a_gzip_file_imports_whatever_it_is_called(cli, docs: dict[str, Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import gzip

    packed = tmp_path / "collector-output.json"  # no .gz: the content says it is gzip
    packed.write_bytes(gzip.compress(docs["jsonl"].read_bytes()))
    assert ok(cli("trace", "import", str(packed))).stdout == SUMMARY.format(1, 6, 0) + "\n"
    damaged = tmp_path / "damaged.json.gz"
    damaged.write_bytes(gzip.compress(docs["genai"].read_bytes())[:200])
    result = cli("trace", "import", str(damaged))
    assert result.exit_code == 2 and "damaged.json.gz: a damaged gzip file" in result.stderr
    assert len(trace_ids(cli)) == 1


def test_import_json_summary(cli, docs: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    first = json.loads(ok(cli("trace", "import", str(docs["genai"]), "--json")).stdout)
    assert first == {"traces": 1, "spans": 10, "skipped": 0, "replaced": 0, "unchanged": 0,
                     "imported_ids": [genai_id(docs)], "skipped_ids": [], "replaced_ids": [], "unchanged_ids": [],
                     "discarded_checkpoints": 0, "discarded_replays": 0}  # fmt: skip
    second = json.loads(ok(cli("trace", "import", str(docs["genai"]), "--json")).stdout)
    assert (second["traces"], second["spans"], second["skipped"]) == (0, 0, 1)


def test_import_from_standard_input(cli, docs: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    result = ok(cli("trace", "import", "-", "--json", input=docs["jsonl"].read_text()))
    assert json.loads(result.stdout)["traces"] == 1
    result = ok(cli("trace", "import", "-", str(docs["genai"]), input=docs["openinference"].read_text()))
    assert result.stdout.startswith(SUMMARY.format(2, 16, 0))


def test_import_replace(cli, docs: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    ok(cli("trace", "import", str(docs["genai"])))
    exported = json.loads(ok(cli("trace", "export", genai_id(docs))).stdout)
    exported["traces"][0]["trace"]["name"] = "renamed by hand"
    exported["traces"][0]["spans"] = exported["traces"][0]["spans"][:3]
    text = json.dumps(exported)

    skipped = ok(cli("trace", "import", "-", input=text))
    assert skipped.stdout.startswith(SUMMARY.format(0, 0, 1))
    replaced = ok(cli("trace", "import", "-", "--replace", input=text))
    assert replaced.stdout == SUMMARY.format(1, 3, 0) + "; replaced 1\n"
    shown = json.loads(ok(cli("trace", "show", genai_id(docs), "--json")).stdout)
    assert shown["trace"]["name"] == "renamed by hand" and len(shown["spans"]) == 3
    again = ok(cli("trace", "import", "-", "--replace", input=text))  # the same copy again: left alone
    assert again.stdout == SUMMARY.format(0, 0, 0) + "; 1 unchanged\n"


def test_import_replace_asks_before_deleting_checkpoints_and_replays(cli, docs: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    ok(cli("trace", "import", str(docs["genai"])))
    trace_id = genai_id(docs)
    ok(cli("checkpoint", "auto", trace_id))
    checkpoints = json.loads(ok(cli("checkpoint", "list", trace_id, "--json")).stdout)
    ok(cli("replay", "run", checkpoints[0]["checkpoint_id"], "--dry-run"))

    same = json.loads(ok(cli("trace", "import", str(docs["genai"]), "--replace", "--json")).stdout)
    assert (same["unchanged_ids"], same["replaced"], same["discarded_replays"]) == ([trace_id], 0, 0)
    assert len(json.loads(ok(cli("replay", "list", trace_id, "--json")).stdout)) == 1

    exported = json.loads(ok(cli("trace", "export", trace_id)).stdout)
    exported["traces"][0]["trace"]["name"] = "edited"
    text = json.dumps(exported)
    refused = cli("trace", "import", "-", "--replace", input=text)  # no terminal to ask on
    assert refused.exit_code == 2
    assert refused.stderr == (
        f"error: trace {trace_id} is stored with {len(checkpoints)} checkpoint(s) and 1 replay(s), which replacing it "
        "with the changed copy given would delete. Pass --yes to replace it anyway, or leave --replace out to keep "
        "the stored one. Nothing was imported.\n"
    )
    assert json.loads(ok(cli("trace", "show", trace_id, "--json")).stdout)["trace"]["name"] != "edited"
    assert len(json.loads(ok(cli("replay", "list", trace_id, "--json")).stdout)) == 1

    done = ok(cli("trace", "import", "-", "--replace", "--yes", input=text))
    assert done.stdout.endswith(
        f"; replaced 1 (deleting {len(checkpoints)} checkpoint(s) and 1 replay(s) of the old version)\n"
    )
    assert json.loads(ok(cli("trace", "show", trace_id, "--json")).stdout)["trace"]["name"] == "edited"
    assert json.loads(ok(cli("replay", "list", trace_id, "--json")).stdout) == []


def _parts(docs: dict[str, Path], folder: Path) -> tuple[Path, Path, int]:
    """The GenAI trace split in two JSON Lines files, the way a rotating file exporter leaves it."""
    lines = otel_traces.jsonl_variant(docs["genai"].read_text(), batch_size=3).splitlines(keepends=True)
    first, second = folder / "part1.jsonl", folder / "part2.jsonl"
    first.write_text("".join(lines[: len(lines) // 2]))
    second.write_text("".join(lines[len(lines) // 2 :]))
    spans = sum(len(json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]) for line in lines)
    return first, second, spans


def stored_spans(cli, trace_id: str) -> int:  # type: ignore[no-untyped-def]
    return len(json.loads(ok(cli("trace", "show", trace_id, "--json")).stdout)["spans"])


def test_a_trace_split_over_files_is_put_together_in_one_command(cli, docs: dict[str, Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first, second, spans = _parts(docs, tmp_path)
    result = ok(cli("trace", "import", str(first), str(second)))
    assert result.stdout == SUMMARY.format(1, spans, 0) + "\n"
    assert stored_spans(cli, genai_id(docs)) == spans
    whole = ok(cli("trace", "export", genai_id(docs))).stdout
    ok(cli("trace", "delete", "--yes", genai_id(docs)))
    ok(cli("trace", "import", str(docs["genai"])))  # the same trace from one file
    assert ok(cli("trace", "export", genai_id(docs))).stdout == whole


def test_a_later_part_of_a_stored_trace_is_refused_not_skipped(cli, docs: dict[str, Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    first, second, spans = _parts(docs, tmp_path)
    ok(cli("trace", "import", str(first)))
    part = stored_spans(cli, genai_id(docs))
    result = cli("trace", "import", str(second))
    assert result.exit_code == 2 and result.stdout == ""
    assert "part2.jsonl: trace " in result.stderr and "is already stored, without" in result.stderr
    assert "Import all of its files in one command, with --replace" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert stored_spans(cli, genai_id(docs)) == part  # nothing changed
    assert ok(cli("trace", "import", str(first))).stdout == SUMMARY.format(0, 0, 1) + "\n"  # the same part: skipped
    replaced = ok(cli("trace", "import", "--replace", str(first), str(second)))
    assert replaced.stdout == SUMMARY.format(1, spans, 0) + "; replaced 1\n"
    assert stored_spans(cli, genai_id(docs)) == spans


# --- list -------------------------------------------------------------------------------------


def native_trace(trace_id: str, name: str, status: str, start: datetime) -> dict[str, Any]:
    when = start.isoformat()
    return {
        "trace": {"trace_id": trace_id, "name": name, "status": status, "start_time": when, "end_time": when,
                  "metadata": {}, "total_tokens": 7, "total_cost_usd": 0.0, "total_latency_ms": 0.0, "agent_count": 0},
        "agents": [],
        "spans": [{"span_id": "s1", "trace_id": trace_id, "name": "step", "kind": "tool_call", "start_time": when,
                   "end_time": when, "input": {"name": "t", "arguments": {}}, "output": {"result": 1}}],
    }  # fmt: skip


@pytest.fixture
def several(cli) -> datetime:  # type: ignore[no-untyped-def]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    document = {"format": "agenttrace-replay", "version": 1, "traces": [
        native_trace("run-old", "nightly eval", "completed", now - timedelta(days=10)),
        native_trace("run-failed", "Support bot", "failed", now - timedelta(hours=5)),
        native_trace("run-new", "support bot", "completed", now - timedelta(minutes=5)),
    ]}  # fmt: skip
    ok(cli("trace", "import", "-", input=json.dumps(document)))
    return now


def test_list_newest_first_as_a_table(cli, several: datetime) -> None:  # type: ignore[no-untyped-def]
    out = ok(cli("trace", "list")).stdout
    lines = out.splitlines()
    assert lines[0].split() == ["trace", "name", "started", "status", "spans", "tokens", "latency"]
    assert [line.split()[0] for line in lines[1:]] == ["run-new", "run-failed", "run-old"]
    assert "failed" in lines[2] and "Support bot" in lines[2]


def test_list_json_and_filters(cli, several: datetime) -> None:  # type: ignore[no-untyped-def]
    def listed(*args: str) -> list[str]:
        return [r["trace_id"] for r in json.loads(ok(cli("trace", "list", "--json", *args)).stdout)]

    assert listed() == ["run-new", "run-failed", "run-old"]
    assert listed("--name", "support") == ["run-new", "run-failed"]
    assert listed("--status", "failed") == ["run-failed"]
    assert listed("--since", "1d") == ["run-new", "run-failed"]
    assert listed("--since", "30m") == ["run-new"]
    assert listed("--since", (several - timedelta(days=30)).date().isoformat()) == ["run-new", "run-failed", "run-old"]
    assert listed("--limit", "1") == ["run-new"]
    row = json.loads(ok(cli("trace", "list", "--json", "--limit", "1")).stdout)[0]
    assert row["span_count"] == 1 and row["total_tokens"] == 7 and row["status"] == "completed"


def test_an_empty_list_says_how_to_get_traces(cli) -> None:  # type: ignore[no-untyped-def]
    assert "agenttrace-replay demo" in ok(cli("trace", "list")).stdout
    assert json.loads(ok(cli("trace", "list", "--json")).stdout) == []


# --- show ------------------------------------------------------------------------------------


def test_show_draws_the_span_tree(cli, docs: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    ok(cli("trace", "import", str(docs["genai"])))
    out = ok(cli("trace", "show", genai_id(docs)[:8])).stdout  # a unique prefix is enough
    lines = out.splitlines()
    assert lines[0].startswith(f"invoke_agent supervisor  {genai_id(docs)}  completed")
    assert "2491 tokens  10 spans  2 agents" in lines[1]
    assert lines[2].startswith("└── [agent_message] invoke_agent supervisor")
    chat = next(line for line in lines if "[llm_call] chat gpt-4o" in line)
    assert chat.startswith("    ├── ") and "agent=supervisor" in chat
    assert "model=gpt-4o-2024-08-06" in chat and "tokens=412+38" in chat and " ms" in chat
    failed = next(line for line in lines if "execute_tool get_invoice" in line)
    assert failed.startswith("    │   ├── ") or failed.startswith("    │   └── ")
    assert "error: invoice service HTTP 503" in failed
    nested = next(line for line in lines if "chat claude-3-5-sonnet" in line)
    assert nested.index("[llm_call]") > chat.index("[llm_call]")  # deeper in the tree
    assert "[handoff] transfer_to_billing_specialist" in out


def test_show_json(cli, docs: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    ok(cli("trace", "import", str(docs["openinference"])))
    (trace_id,) = trace_ids(cli)
    shown = json.loads(ok(cli("trace", "show", trace_id, "--json")).stdout)
    assert shown["trace"]["trace_id"] == trace_id
    assert [s["kind"] for s in shown["spans"]].count("llm_call") == 2
    assert shown["agents"][0]["name"] == "researcher"


# --- export -----------------------------------------------------------------------------------


def test_export_to_a_file_and_back_into_an_empty_database(cli, docs: dict[str, Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for name in ("genai", "openinference", "jsonl"):
        ok(cli("trace", "import", str(docs[name])))
    ids = trace_ids(cli)
    out = tmp_path / "export.json"
    result = ok(cli("trace", "export", *ids, "-o", str(out)))
    assert result.stdout == "" and f"wrote {out}" in result.stderr
    assert ok(cli("trace", "export", *ids)).stdout == out.read_text()  # stdout and -o agree

    empty = {"AGENTTRACE_SCHEMA": "empty_copy"}  # a second, empty set of tables
    ok(cli("db", "migrate", extra_env=empty))
    assert ok(cli("trace", "import", str(out), extra_env=empty)).stdout.startswith(SUMMARY.format(3, 22, 0))
    again = tmp_path / "again.json"
    ok(cli("trace", "export", *ids, "-o", str(again), extra_env=empty))
    assert again.read_bytes() == out.read_bytes()


# --- delete -----------------------------------------------------------------------------------


def test_delete_with_yes(cli, docs: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    ok(cli("trace", "import", str(docs["genai"]), str(docs["openinference"])))
    result = ok(cli("trace", "delete", genai_id(docs), "--yes"))
    assert result.stdout == f"deleted trace {genai_id(docs)}\n"
    assert genai_id(docs) not in trace_ids(cli) and len(trace_ids(cli)) == 1
    (other,) = trace_ids(cli)
    assert json.loads(ok(cli("trace", "delete", other[:6], "-y", "--json")).stdout) == {"deleted": other}
    assert trace_ids(cli) == []


def test_delete_refuses_without_a_terminal(cli, docs: dict[str, Path]) -> None:  # type: ignore[no-untyped-def]
    ok(cli("trace", "import", str(docs["genai"])))
    result = cli("trace", "delete", genai_id(docs))
    assert result.exit_code == 2
    assert result.stderr == "error: nothing deleted: standard input is not a terminal. Pass --yes to confirm.\n"
    assert trace_ids(cli) == [genai_id(docs)]


# --- demo -------------------------------------------------------------------------------------


def test_demo_loads_the_shipped_samples_and_suggests_commands(cli) -> None:  # type: ignore[no-untyped-def]
    samples = sample_files()
    assert samples, "agenttrace_replay/samples/ is empty"
    result = ok(cli("demo"))
    lines = result.stdout.splitlines()
    assert lines[0].startswith("loaded ") and "sample trace(s) (0 were already there)" in lines[0]
    loaded = trace_ids(cli)
    assert len(loaded) == int(lines[0].split()[1]) >= len(samples)
    assert "Try next:" in lines
    tips = lines[lines.index("Try next:") + 1 :]
    assert tips[0] == f"  agenttrace-replay trace show {loaded[0]}"
    assert any(t.strip().startswith("agenttrace-replay checkpoint auto ") for t in tips)
    assert any("replay run" in t for t in tips) and any(t.strip().startswith("agenttrace-replay diff") for t in tips)
    ok(cli("trace", "show", loaded[0]))  # the first suggestion works

    again = json.loads(ok(cli("demo", "--json")).stdout)
    assert again["traces"] == 0 and again["skipped"] == len(loaded)
    assert sorted(again["sample_traces"]) == sorted(loaded)


# --- the progress bar, on a real terminal ---------------------------------------------------


def big_otlp(spans: int, padding: int = 0) -> str:
    trace_id = "ab" * 16
    start = 1_767_000_000_000_000_000
    items = [
        {"traceId": trace_id, "spanId": f"{i + 1:016x}", "name": f"chat step {i}", "kind": 1,
         "parentSpanId": "" if i == 0 else f"{1:016x}",
         "startTimeUnixNano": str(start + i * 1000), "endTimeUnixNano": str(start + i * 1000 + 500),
         "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}},
                        {"key": "gen_ai.request.model", "value": {"stringValue": "gpt-4o"}},
                        {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "10"}},
                        {"key": "note", "value": {"stringValue": "x" * padding}}]}
        for i in range(spans)
    ]  # fmt: skip
    return json.dumps({"resourceSpans": [{"resource": {}, "scopeSpans": [{"scope": {"name": "t"}, "spans": items}]}]})


def drawn_on_a_terminal(db_url: str, path: Path, tmp_path: Path) -> tuple[bytes, str]:
    """Run `trace import` with stderr on a pseudo-terminal: (what it drew there, its stdout)."""
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "AGENTTRACE_DATA_DIR": str(tmp_path)}
    env.pop("NO_COLOR", None)
    env.pop("CI", None)
    controller, terminal = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "agenttrace_replay", "--db", db_url, "trace", "import", str(path)],
        stdout=subprocess.PIPE, stderr=terminal, env=env, text=True,
    )  # fmt: skip
    os.close(terminal)
    drawn = b""
    while True:
        ready, _, _ = select.select([controller], [], [], 30)
        if not ready:
            break
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        drawn += chunk
    os.close(controller)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0
    return drawn, out


def test_a_progress_bar_is_drawn_on_a_terminal_for_many_spans(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "many.json"
    path.write_text(big_otlp(600))
    drawn, out = drawn_on_a_terminal(db_url, path, tmp_path)
    assert out == SUMMARY.format(1, 600, 0) + "\n"  # stdout, a pipe, carries only the summary
    assert b"importing spans" in drawn and b"100%" in drawn
    assert b"reading" not in drawn  # a small file is read in no time


def test_a_progress_bar_is_drawn_on_a_terminal_for_a_large_file(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "large.json"
    path.write_text(big_otlp(300, padding=4000))
    assert path.stat().st_size > 1_000_000
    drawn, out = drawn_on_a_terminal(db_url, path, tmp_path)
    assert out == SUMMARY.format(1, 300, 0) + "\n"
    assert b"reading" in drawn and b"large.json" in drawn and b"importing spans" in drawn


def test_no_progress_bar_on_a_terminal_for_small_inputs(db_url: str, tmp_path: Path) -> None:
    path = tmp_path / "small.json"
    path.write_text(big_otlp(20))
    drawn, out = drawn_on_a_terminal(db_url, path, tmp_path)
    assert out == SUMMARY.format(1, 20, 0) + "\n" and drawn == b""


def test_a_stdout_that_is_not_utf8_never_stops_a_command(db_url: str, tmp_path: Path) -> None:
    """`PYTHONIOENCODING=ascii` (or an old locale): tables show `?`, JSON and exports stay UTF-8."""
    name = "研究者 führt aus"
    span = {"traceId": "ab" * 16, "spanId": "cd" * 8, "name": name,
            "attributes": [{"key": "gen_ai.agent.name", "value": {"stringValue": "研究者"}}]}  # fmt: skip
    path = tmp_path / "unicode.json"
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}), encoding="utf-8")
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "AGENTTRACE_DATA_DIR": str(tmp_path / "no-embedded")}

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run([sys.executable, "-m", "agenttrace_replay", "--db", db_url, *args],
                              capture_output=True, env=env, stdin=subprocess.DEVNULL)  # fmt: skip
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        return proc

    run("trace", "import", str(path))
    assert "??? f?hrt aus" in run("trace", "show", "ab" * 16).stdout.decode("ascii")
    assert "??? f?hrt aus" in run("trace", "list").stdout.decode("ascii")
    exported = json.loads(run("trace", "export", "ab" * 16).stdout.decode("utf-8"))
    assert exported["traces"][0]["spans"][0]["name"] == name
    assert json.loads(run("trace", "show", "ab" * 16, "--json").stdout.decode("utf-8"))["trace"]["name"] == name


def test_two_different_exports_of_one_trace_in_one_command(cli, docs: dict[str, Path], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    ok(cli("trace", "import", str(docs["genai"])))
    exported = json.loads(ok(cli("trace", "export", genai_id(docs))).stdout)
    whole, part = tmp_path / "whole.json", tmp_path / "part.json"
    whole.write_text(json.dumps(exported))
    exported["traces"][0]["spans"] = exported["traces"][0]["spans"][:3]
    part.write_text(json.dumps(exported))
    result = cli("trace", "import", "--replace", str(part), str(whole))
    assert result.exit_code == 2 and "is given twice, with different" in result.stderr
    assert "Import one of the two copies" in result.stderr and len(result.stderr.splitlines()) == 1
    assert stored_spans(cli, genai_id(docs)) == len(json.loads(whole.read_text())["traces"][0]["spans"])  # unchanged
    assert ok(cli("trace", "import", str(whole), str(part))).stdout == SUMMARY.format(0, 0, 2) + "\n"  # a subset: skipped


def test_durations_read_well_even_from_skewed_clocks() -> None:
    from agenttrace_replay.cli.render import fmt_ms

    assert [fmt_ms(v) for v in (None, 2.25, 250, 12_500, -16746744072709.6)] == [
        "-", "2.2 ms", "250 ms", "12.5 s", "? (end before start)",
    ]


def test_trace_list_keeps_one_line_per_trace_and_only_the_name_gives_way() -> None:
    from io import StringIO

    from rich.cells import cell_len
    from rich.console import Console

    from agenttrace_replay.cli.render import trace_table

    row = {"trace_id": "1e088033ef95aa", "name": "invoke_agent triage with a long name that does not fit", "start_time": None,
           "status": "completed", "span_count": 11, "total_tokens": 4189, "total_latency_ms": 21700.0}  # fmt: skip
    wide = {**row, "trace_id": "ffff", "name": "東京の天気を調べるエージェント"}
    out = StringIO()
    Console(file=out, width=80, color_system=None).print(trace_table([row, wide], 80))
    lines = out.getvalue().splitlines()
    assert len(lines) == 3 and all(line.rstrip().endswith(("latency", "21.7 s")) for line in lines)
    assert "invoke_agent" in lines[1] and "…" in lines[1] and "1e088033ef95" in lines[1] and "東京" in lines[2]
    assert max(cell_len(line) for line in lines) <= 80
    busy = {**row, "name": "[/]", "span_count": 60001, "total_tokens": 123456789, "total_latency_ms": 2454000.0}
    out = StringIO()
    Console(file=out, width=80, color_system=None).print(trace_table([busy], 80))  # markup-like name, wide figures
    header, line = out.getvalue().splitlines()
    assert header.rstrip().endswith("latency") and line.rstrip().endswith("2454.0 s")
    assert "[/]" in line and "60001" in line and "123456789" in line


def test_standard_input_is_read_as_bytes(db_url: str, tmp_path: Path) -> None:
    """`trace import -` reads UTF-8 (and gzip) whatever the locale's encoding: a Latin-1
    stdin must not turn `研究者` into mojibake, nor a gzip on stdin into an encoding error."""
    import gzip

    name = "résumé 研究者"
    span = {"traceId": "ef" * 16, "spanId": "cd" * 8, "name": name}
    text = json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}, ensure_ascii=False)
    env = {**os.environ, "PYTHONIOENCODING": "latin-1", "AGENTTRACE_DATA_DIR": str(tmp_path / "no-embedded")}
    for data in (text.encode("utf-8"), gzip.compress(text.encode("utf-8"))):
        proc = subprocess.run([sys.executable, "-m", "agenttrace_replay", "--db", db_url, "trace", "import", "--replace", "-"],
                              input=data, capture_output=True, env=env)  # fmt: skip
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
        shown = subprocess.run([sys.executable, "-m", "agenttrace_replay", "--db", db_url, "trace", "show", "ef" * 16, "--json"],
                               capture_output=True, env=env, stdin=subprocess.DEVNULL)  # fmt: skip
        assert json.loads(shown.stdout.decode("utf-8"))["trace"]["name"] == name


def test_text_from_a_file_never_reaches_the_terminal_raw(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Escape sequences, line breaks and bidirectional overrides in names are shown as escapes
    in error lines and messages, so an error stays one line and cannot retitle the window."""
    hostile = "x\x1b]0;owned\x07\x1b[2J\r\nfine: imported 1 trace(s)\u202e"
    span = {"traceId": "12" * 16, "spanId": "34" * 8, "name": hostile, "startTimeUnixNano": "soon"}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [span]}]}]}))
    result = cli("trace", "import", str(path))
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "\x1b" not in result.stderr and "\r" not in result.stderr
    assert "\\x1b]0;owned\\x07" in result.stderr and "\\u202e" in result.stderr
    native = {"format": "agenttrace-replay", "version": 1, "traces": [{
        "trace": {"trace_id": "t\x1b[2J\u202eevil", "status": "completed"}, "agents": [], "spans": []}]}  # fmt: skip
    path.write_text(json.dumps(native))
    ok(cli("trace", "import", str(path)))
    deleted = ok(cli("trace", "delete", "t\x1b[2J\u202eevil", "--yes"))
    assert deleted.stdout == "deleted trace t\\x1b[2J\\u202eevil\n"
