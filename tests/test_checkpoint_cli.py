"""``agenttrace-replay checkpoint ...`` as a user and a script see it: exit codes, JSON on
stdout, messages on stderr, the transcript rendered at a fixed width."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest
from builders import long_trace, span, weather_trace
from typer.testing import CliRunner

from agenttrace_replay import traces
from agenttrace_replay.checkpoint import checkpoint_id_for
from agenttrace_replay.cli.app import app
from agenttrace_replay.db import Database, create_pool
from agenttrace_replay.records import TraceBundle, TraceRecord

WIDTH = "100"
CHK = {s: checkpoint_id_for("trace-weather", s) for s in ("s-agent", "s-llm1", "s-tool", "s-llm2")}


def seed(db_url: str, *bundles: TraceBundle) -> None:
    async def go() -> None:
        db = Database(await create_pool(db_url), owned=True)
        try:
            await traces.import_bundles(db, list(bundles))
        finally:
            await db.close()

    asyncio.run(go())


def checkpoint_count(db_url: str) -> int:
    async def go() -> int:
        db = Database(await create_pool(db_url), owned=True)
        try:
            async with db.acquire() as conn:
                return await conn.fetchval("SELECT count(*) FROM agenttrace.checkpoints")
        finally:
            await db.close()

    return asyncio.run(go())


@pytest.fixture
def cli(db_url: str):
    """Run the app on this test's database at a fixed width; stdin is not a terminal."""

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        env = {"COLUMNS": WIDTH, "NO_COLOR": "1", "AGENTTRACE_DATABASE_URL": None, "AGENTTRACE_CONFIG": None}
        return CliRunner().invoke(app, ["--db", db_url, *args], env=env, input=input)

    return invoke


@pytest.fixture
def weather(db_url: str) -> str:
    seed(db_url, weather_trace())
    return db_url


# --- auto ---------------------------------------------------------------------------------


def test_auto_prints_the_checkpoints_and_is_idempotent(cli, weather) -> None:
    result = cli("checkpoint", "auto", "trace-weather")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["step", "checkpoint", "kind", "span", "agent", "replays"]
    assert lines[1].split() == ["1", CHK["s-llm1"], "llm_call", "chat", "gpt-test", "weather", "0"]
    assert lines[2].split() == ["2", CHK["s-tool"], "tool_call", "execute_tool", "get_weather", "weather", "0"]
    assert len(lines) == 4
    assert "3 new checkpoint(s), 0 already there" in result.stderr

    again = cli("checkpoint", "auto", "trace-weather")
    assert again.exit_code == 0
    assert again.stdout == result.stdout
    assert "0 new checkpoint(s), 3 already there" in again.stderr
    assert checkpoint_count(weather) == 3


def test_auto_json_and_kinds(cli, weather) -> None:
    result = cli("checkpoint", "auto", "trace-wea", "--kinds", "tool_call, agent_message", "--json")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["created"] == 2
    assert [c["checkpoint_id"] for c in doc["checkpoints"]] == [CHK["s-agent"], CHK["s-tool"]]
    first = doc["checkpoints"][0]
    assert {"checkpoint_id", "trace_id", "span_id", "step", "name", "auto", "span_kind", "span_name", "agent_id",
            "agent_name", "created_at", "replay_count", "last_replayed_at"} <= set(first)
    assert (first["trace_id"], first["step"], first["span_kind"], first["auto"]) == ("trace-weather", 0, "agent_message", True)

    bad = cli("checkpoint", "auto", "trace-weather", "--kinds", "tool,llm_call")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: unknown span kind(s): tool.")
    assert bad.stdout == ""


def test_auto_on_a_trace_without_eligible_spans_says_so_and_exits_0(cli, db_url) -> None:
    quiet = TraceBundle(TraceRecord(trace_id="trace-quiet"), [], [span("trace-quiet", "s1", "plan", 0, 10, kind="agent_message")])
    seed(db_url, quiet)
    result = cli("checkpoint", "auto", "trace-quiet")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "no spans of kind llm_call, tool_call, handoff, checkpoint in this trace: no checkpoints created" in result.stderr
    as_json = cli("checkpoint", "auto", "trace-quiet", "--json")
    assert as_json.exit_code == 0
    assert json.loads(as_json.stdout) == {"created": 0, "checkpoints": []}
    assert "no checkpoints created" in as_json.stderr
    assert checkpoint_count(db_url) == 0


def test_unknown_trace_is_exit_3(cli, weather) -> None:
    for args in (("auto", "nope"), ("list", "nope"), ("create", "nope", "--span", "s-tool")):
        result = cli("checkpoint", *args)
        assert result.exit_code == 3, args
        assert result.stderr == "error: no trace 'nope'. List traces with: agenttrace-replay trace list\n"
        assert result.stdout == ""


# --- create -------------------------------------------------------------------------------


def test_create_text_and_json(cli, weather) -> None:
    result = cli("checkpoint", "create", "trace-weather", "--span", "s-tool", "--name", "before [the] tool")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{CHK['s-tool']}  step 2  tool_call execute_tool get_weather\n"
    as_json = cli("checkpoint", "create", "trace-weather", "--span", "s-agent", "--json")
    doc = json.loads(as_json.stdout)
    assert doc["checkpoint_id"] == CHK["s-agent"] and doc["auto"] is False and "state" not in doc
    listed = json.loads(cli("checkpoint", "list", "trace-weather", "--json").stdout)
    assert [(c["checkpoint_id"], c["name"]) for c in listed] == [(CHK["s-agent"], None), (CHK["s-tool"], "before [the] tool")]


def test_create_bad_spans(cli, db_url) -> None:
    seed(db_url, weather_trace(), long_trace(3, "trace-other"))
    unknown = cli("checkpoint", "create", "trace-weather", "--span", "s-nothing")
    assert unknown.exit_code == 3
    assert "no span 's-nothing' in trace trace-weather" in unknown.stderr
    foreign = cli("checkpoint", "create", "trace-weather", "--span", "s00002")
    assert foreign.exit_code == 2
    assert "span s00002 belongs to trace trace-other, not to trace trace-weather" in foreign.stderr
    assert "checkpoint create trace-other --span s00002" in foreign.stderr
    ambiguous = cli("checkpoint", "create", "trace-weather", "--span", "s-llm")
    assert ambiguous.exit_code == 2
    assert "s-llm1" in ambiguous.stderr and "s-llm2" in ambiguous.stderr
    assert all(len(r.stderr.splitlines()) == 1 for r in (unknown, foreign, ambiguous))  # one line, no traceback
    assert checkpoint_count(db_url) == 0


# --- list ---------------------------------------------------------------------------------


def test_list_text_json_and_empty(cli, weather) -> None:
    empty = cli("checkpoint", "list", "trace-weather")
    assert empty.exit_code == 0 and empty.stdout == ""
    assert "no checkpoints for this trace" in empty.stderr
    assert json.loads(cli("checkpoint", "list", "trace-weather", "--json").stdout) == []

    cli("checkpoint", "auto", "trace-weather")
    result = cli("checkpoint", "list", "trace-weather")
    assert result.exit_code == 0
    rows = [line.split() for line in result.stdout.splitlines()[1:]]
    assert [r[:3] for r in rows] == [["1", CHK["s-llm1"], "llm_call"], ["2", CHK["s-tool"], "tool_call"], ["3", CHK["s-llm2"], "llm_call"]]
    assert max(len(line) for line in result.stdout.splitlines()) <= int(WIDTH)
    doc = json.loads(cli("checkpoint", "list", "trace-weather", "--json").stdout)
    assert [c["replay_count"] for c in doc] == [0, 0, 0]
    assert [c["agent_name"] for c in doc] == ["weather"] * 3


# --- show ---------------------------------------------------------------------------------


def test_show_renders_the_transcript_and_the_input(cli, weather) -> None:
    cli("checkpoint", "auto", "trace-weather")
    result = cli("checkpoint", "show", CHK["s-llm2"][:8])
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"{CHK['s-llm2']}  step 3  before llm_call 'chat gpt-test' (s-llm2)\n")
    assert "agent weather  role=answers weather questions  model=gpt-test" in out
    assert "conversation so far (4 messages)" in out
    transcript = [line.strip("│ ").rstrip() for line in out.splitlines()]
    assert "system: You are a weather assistant." in transcript
    assert "user: What's the weather in Paris?" in transcript
    assert "assistant:" in transcript
    assert '-> get_weather({"city": "Paris"})  [call_1]' in transcript
    assert "tool get_weather: sunny, 21C" in transcript
    assert "input of the span" in out
    assert '"model": "gpt-test"' in out
    assert "finished before it (2 spans)" in out
    assert "FINAL" not in out and "It is sunny in Paris" not in out
    assert all(len(line) <= int(WIDTH) for line in out.splitlines())
    assert "\x1b[" not in out


def test_show_before_anything_was_said(cli, weather) -> None:
    cli("checkpoint", "auto", "trace-weather")
    out = cli("checkpoint", "show", CHK["s-llm1"]).stdout
    assert "conversation so far (0 messages)" in out
    assert "(no messages yet)" in out


def test_show_json_has_the_state(cli, weather) -> None:
    cli("checkpoint", "auto", "trace-weather")
    result = cli("checkpoint", "show", CHK["s-tool"], "--json")
    doc = json.loads(result.stdout)
    state = doc["state"]
    assert set(state) == {"checkpoint_id", "trace_id", "step", "span", "agent", "messages", "input", "completed"}
    assert state["checkpoint_id"] == CHK["s-tool"]
    assert [m["role"] for m in state["messages"]] == ["system", "user", "assistant"]
    assert state["input"] == {"name": "get_weather", "arguments": {"city": "Paris"}, "call_id": "call_1"}
    assert [c["span_id"] for c in state["completed"]] == ["s-llm1"]


def test_show_unknown_and_ambiguous(cli, weather) -> None:
    cli("checkpoint", "auto", "trace-weather")
    missing = cli("checkpoint", "show", "chk-zzz")
    assert missing.exit_code == 3
    assert missing.stderr == "error: no checkpoint 'chk-zzz'. List checkpoints with: agenttrace-replay checkpoint list TRACE\n"
    ambiguous = cli("checkpoint", "show", "chk-", "--json")
    assert ambiguous.exit_code == 2
    assert ambiguous.stdout == ""
    assert "checkpoint prefix 'chk-' is ambiguous" in ambiguous.stderr
    for cid in (CHK["s-llm1"], CHK["s-tool"], CHK["s-llm2"]):
        assert cid in ambiguous.stderr


# --- delete -------------------------------------------------------------------------------


def test_delete_refuses_without_yes_when_nobody_can_answer(cli, weather) -> None:
    cli("checkpoint", "auto", "trace-weather")
    result = cli("checkpoint", "delete", CHK["s-tool"])
    assert result.exit_code == 2
    assert "nothing deleted" in result.stderr and "--yes" in result.stderr
    assert checkpoint_count(weather) == 3


def test_delete_with_yes_text_and_json(cli, weather) -> None:
    cli("checkpoint", "auto", "trace-weather")
    result = cli("checkpoint", "delete", CHK["s-tool"][:7], "--yes")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"deleted checkpoint {CHK['s-tool']}\n"
    as_json = cli("checkpoint", "delete", CHK["s-llm1"], "--yes", "--json")
    assert json.loads(as_json.stdout) == {"deleted": CHK["s-llm1"]}
    assert checkpoint_count(weather) == 1
    gone = cli("checkpoint", "delete", CHK["s-llm1"], "--yes")
    assert gone.exit_code == 3
    # what is left still restores
    state = json.loads(cli("checkpoint", "show", CHK["s-llm2"], "--json").stdout)["state"]
    assert state["messages"][-1]["content"] == "sunny, 21C"


def _run_on_a_terminal(args: list[str], answer: str, timeout: float = 60) -> tuple[int, str]:
    """Run the command with stdin and stderr on a pseudo-terminal and answer its question."""
    try:
        controller, terminal = pty.openpty()
    except OSError as exc:  # pragma: no cover - a sandbox without pseudo-terminals
        pytest.skip(f"no pseudo-terminal: {exc}")
    proc = subprocess.Popen([sys.executable, "-m", "agenttrace_replay", *args], stdin=terminal, stderr=terminal,
                            stdout=subprocess.DEVNULL, env={**os.environ, "NO_COLOR": "1"})
    os.close(terminal)
    seen = b""
    deadline = time.monotonic() + timeout
    answered = False
    while time.monotonic() < deadline:
        ready, _, _ = select.select([controller], [], [], 0.1)
        if ready:
            try:
                seen += os.read(controller, 1024)
            except OSError:
                break
        if not answered and b"[y/N]" in seen:
            os.write(controller, answer.encode() + b"\n")
            answered = True
        if proc.poll() is not None and not ready:
            break
    os.close(controller)
    proc.wait(timeout=timeout)
    assert answered, seen
    return proc.returncode, seen.decode(errors="replace")


def test_delete_asks_on_a_terminal(weather: str) -> None:
    seed_cli = ["--db", weather, "checkpoint"]
    subprocess.run([sys.executable, "-m", "agenttrace_replay", *seed_cli, "auto", "trace-weather"], check=True, capture_output=True)
    code, text = _run_on_a_terminal([*seed_cli, "delete", CHK["s-tool"]], "n")
    assert code == 0 and f"Delete checkpoint {CHK['s-tool']} and its replays?" in text and "nothing deleted" in text
    assert checkpoint_count(weather) == 3
    code, _text = _run_on_a_terminal([*seed_cli, "delete", CHK["s-tool"]], "y")
    assert code == 0
    assert checkpoint_count(weather) == 2


# --- as a script runs it ------------------------------------------------------------------


def test_piped_subprocess_json_is_clean(weather: str) -> None:
    base = [sys.executable, "-m", "agenttrace_replay", "--db", weather, "checkpoint"]
    auto = subprocess.run([*base, "auto", "trace-weather", "--json"], capture_output=True, text=True, timeout=60)
    assert auto.returncode == 0, auto.stderr
    ids = [c["checkpoint_id"] for c in json.loads(auto.stdout)["checkpoints"]]
    show = subprocess.run([*base, "show", ids[-1]], capture_output=True, text=True, timeout=60)
    assert show.returncode == 0
    assert "\x1b[" not in show.stdout  # no colour when piped
    assert "tool get_weather: sunny, 21C" in show.stdout
    missing = subprocess.run([*base, "show", "chk-000"], capture_output=True, text=True, timeout=60)
    assert missing.returncode == 3 and missing.stdout == "" and "Traceback" not in missing.stderr
