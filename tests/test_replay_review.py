"""Defects found by reviewing the replay engine as an adversarial user, each pinned by a test.

Everything runs on the real embedded PostgreSQL; executors are real functions registered for
the test, the openai executor talks to the local Chat Completions server.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from io import StringIO
from typing import Any

import pytest
from builders import weather_trace
from openai_server import OpenAIServer
from rich.console import Console
from typer.testing import CliRunner

from agenttrace_replay import traces
from agenttrace_replay.checkpoint import CheckpointManager, checkpoint_id_for
from agenttrace_replay.cli.app import app
from agenttrace_replay.cli.diffview import DiffSummary, SideBySide, Unified
from agenttrace_replay.db import Database
from agenttrace_replay.differ import compute_diff, text_diff
from agenttrace_replay.errors import InvalidInput
from agenttrace_replay.executor import ReplayConfig, ReplayExecutor
from agenttrace_replay.inputs import merge_input, parse_assignments

WEATHER = "trace-weather"
LLM1 = checkpoint_id_for(WEATHER, "s-llm1")


async def loaded(db: Database, own_thread: bool = False) -> ReplayExecutor:
    await traces.import_bundles(db, [weather_trace()])
    await CheckpointManager(db).auto_checkpoint_trace(WEATHER)
    if own_thread:
        return ReplayExecutor(CheckpointManager(db), db, own_thread=True)
    return ReplayExecutor(CheckpointManager(db), db)


async def rows(db: Database) -> list[dict[str, Any]]:
    async with db.acquire() as conn:
        found = await conn.fetch("SELECT * FROM agenttrace.replays ORDER BY created_at, replay_id")
        count = await conn.fetchval("SELECT replay_count FROM agenttrace.checkpoints WHERE checkpoint_id = $1", LLM1)
    return [dict(r, replay_count=count) for r in found]


def strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


# --- executors that fail in unusual ways are stored, never lost ---------------------------------


class Unprintable(Exception):
    def __str__(self) -> str:
        raise ValueError("no text")


class AgentGaveUp(BaseException):
    pass


@pytest.mark.parametrize(
    ("raised", "error"),
    [
        (Unprintable(), "Unprintable: <Unprintable whose text cannot be read>"),
        (AgentGaveUp("quota"), "AgentGaveUp: quota"),
        (SystemExit(0), "SystemExit: 0"),
        (RuntimeError("bad \x00 byte"), "RuntimeError: bad \\x00 byte"),
    ],
)
async def test_any_exception_from_an_executor_is_stored_as_a_failed_replay(
    db: Database, registered, raised: BaseException, error: str
) -> None:
    rx = await loaded(db)

    async def failing(input, state, config, overrides=None):
        raise raised

    result = await rx.replay(LLM1, ReplayConfig(executor=registered("failing", failing)))
    assert result.success is False and result.error == error
    (row,) = await rows(db)
    assert row["success"] is False and row["error"] == error and row["replay_count"] == 1


@pytest.mark.parametrize(
    ("extra", "tokens", "cost"),
    [
        ({"tokens": float("inf"), "cost_usd": float("nan")}, None, None),
        ({"tokens": 10**30, "cost_usd": 10**400}, None, None),
        ({"tokens": True, "cost_usd": float("-inf")}, None, None),
        ({"tokens": -5, "cost_usd": "0.25"}, None, 0.25),
        ({"tokens": 12.0, "cost_usd": 0.5}, 12, 0.5),
    ],
)
async def test_token_and_cost_values_that_cannot_be_stored_are_not_reported(
    db: Database, registered, extra: dict[str, Any], tokens: int | None, cost: float | None
) -> None:
    rx = await loaded(db)

    async def counting(input, state, config, overrides=None):
        return {"output": "ok", **extra}

    result = await rx.replay(LLM1, ReplayConfig(executor=registered("counting", counting)))
    assert result.success and (result.tokens_used, result.cost_usd) == (tokens, cost)
    (row,) = await rows(db)
    assert (row["tokens_used"], row["cost_usd"]) == (tokens, cost)
    strict_json(json.dumps(result.as_dict(), default=str))  # no NaN in what --json prints


@pytest.mark.parametrize("output", ["a\x00b", {"k\x00": 1}, ["\x00"]])
async def test_an_output_with_a_nul_character_is_a_stored_failure(db: Database, registered, output: Any) -> None:
    rx = await loaded(db)

    async def nul(input, state, config, overrides=None):
        return {"output": output, "note": "see \x00 here"}

    result = await rx.replay(LLM1, ReplayConfig(executor=registered("nul", nul)))
    assert result.success is False
    assert result.error == "executor 'nul' returned an output with a NUL character (\\u0000), which PostgreSQL cannot store."
    assert (await rows(db))[0]["error"] == result.error


async def test_a_literal_backslash_u0000_text_is_no_nul(db: Database, registered) -> None:
    rx = await loaded(db)

    async def text(input, state, config, overrides=None):
        return {"output": "\\u0000 is how JSON writes NUL", "note": "n\x00te"}

    result = await rx.replay(LLM1, ReplayConfig(executor=registered("text", text)))
    assert result.success and result.replay_output == "\\u0000 is how JSON writes NUL"
    assert result.note == "n\\x00te" and (await rows(db))[0]["note"] == "n\\x00te"


@pytest.mark.parametrize(
    "config",
    [
        ReplayConfig(modified_input={"query": "a\x00b"}),
        ReplayConfig(modified_input={"parameters": {"temperature": float("nan")}}),
        ReplayConfig(modified_input={"k\x00": 1}),
        ReplayConfig(agent_overrides={"seed": float("inf")}),
    ],
)
async def test_a_patch_the_database_cannot_store_is_refused_before_the_executor_runs(
    db: Database, registered, config: ReplayConfig
) -> None:
    rx = await loaded(db)
    called: list[Any] = []

    async def spy(input, state, config, overrides=None):
        called.append(input)
        return {"output": "ran"}

    config.executor = registered("spy", spy)
    with pytest.raises(InvalidInput):
        await rx.replay(LLM1, config)
    assert called == [] and await rows(db) == []


def test_nul_in_an_input_file_exits_2_before_the_executor_runs(db_url: str, registered, tmp_path) -> None:
    asyncio.run(_load_cli(db_url))
    called: list[Any] = []

    async def spy(input, state, config, overrides=None):
        called.append(input)
        return {"output": "ran"}

    patch = tmp_path / "patch.json"
    patch.write_text('{"query": "a\\u0000b"}')
    result = CliRunner().invoke(app, ["--db", db_url, "replay", "run", LLM1, "-e", registered("spy", spy), "--input-file", str(patch)])
    assert result.exit_code == 2 and called == []
    assert result.stderr.startswith("error: modified_input: query holds a NUL character") and result.stderr.count("\n") == 1


# --- timeouts that hold when the executor does not cooperate ----------------------------------


@pytest.fixture
def stop_flag():
    flag = threading.Event()
    yield flag
    flag.set()  # lets abandoned executors end


def ignoring_cancellation(stop_flag: threading.Event):  # type: ignore[no-untyped-def]
    """An executor that swallows every cancellation and runs until the test ends."""

    async def stubborn(input, state, config, overrides=None):  # type: ignore[no-untyped-def]
        while not stop_flag.is_set():
            try:
                await asyncio.sleep(0.05)
            except asyncio.CancelledError:
                pass
        return {"output": "late"}

    return stubborn


async def test_an_executor_that_ignores_cancellation_is_abandoned_and_stored_as_timed_out(
    db: Database, registered, stop_flag: threading.Event
) -> None:
    rx = await loaded(db)

    started = time.perf_counter()
    result = await rx.replay(LLM1, ReplayConfig(executor=registered("stubborn", ignoring_cancellation(stop_flag)),
                                                timeout_seconds=0.2))  # fmt: skip
    assert time.perf_counter() - started < 3
    assert result.success is False and result.error == "timed out after 0.2 s"
    assert (await rows(db))[0]["error"] == "timed out after 0.2 s"


async def test_an_async_executor_that_blocks_the_loop_past_the_timeout_is_timed_out(db: Database, registered) -> None:
    rx = await loaded(db)

    async def blocking(input, state, config, overrides=None):
        time.sleep(0.6)  # a synchronous SDK call inside an async executor
        return {"output": "late"}

    result = await rx.replay(LLM1, ReplayConfig(executor=registered("blocking", blocking), timeout_seconds=0.2))
    assert result.success is False and result.replay_output is None
    assert result.error.startswith("timed out after 0.2 s (the executor blocked the event loop for 0.6 s")
    assert (await rows(db))[0]["success"] is False


async def test_own_thread_stops_waiting_for_a_blocking_async_executor_on_time(
    db: Database, registered, stop_flag: threading.Event
) -> None:
    rx = await loaded(db, own_thread=True)

    async def blocking(input, state, config, overrides=None):
        stop_flag.wait(30)
        return {"output": "late"}

    async def fine(input, state, config, overrides=None):
        await asyncio.sleep(0)
        return {"output": "on time", "tokens": 3}

    started = time.perf_counter()
    result = await rx.replay(LLM1, ReplayConfig(executor=registered("blocking", blocking), timeout_seconds=0.2))
    assert time.perf_counter() - started < 3
    assert result.error == "timed out after 0.2 s"
    ok = await rx.replay(LLM1, ReplayConfig(executor=registered("fine", fine)))
    assert ok.success and ok.replay_output == "on time" and ok.tokens_used == 3
    assert [r["success"] for r in await rows(db)] == [False, True]


async def test_a_cancelled_replay_cancels_its_executor_and_is_stored_as_interrupted(db: Database, registered) -> None:
    rx = await loaded(db)
    cancelled = asyncio.Event()

    async def slow(input, state, config, overrides=None):
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    task = asyncio.ensure_future(rx.replay(LLM1, ReplayConfig(executor=registered("slow", slow))))
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cancelled.is_set()
    (row,) = await rows(db)
    assert row["error"] == "interrupted" and row["replay_count"] == 1


async def _load_cli(db_url: str) -> None:
    from agenttrace_replay.db import create_pool

    db = Database(await create_pool(db_url), owned=True)
    try:
        await loaded(db)
    finally:
        await db.close()


@pytest.mark.parametrize("kind", ["blocks", "ignores-cancel", "exits"])
def test_the_cli_reports_stubborn_executors_promptly_with_exit_5(
    db_url: str, registered, stop_flag: threading.Event, kind: str
) -> None:
    asyncio.run(_load_cli(db_url))

    async def blocks(input, state, config, overrides=None):
        stop_flag.wait(30)
        return {"output": "late"}

    async def exits(input, state, config, overrides=None):
        raise SystemExit(0)  # before: the CLI exited 0, printing and storing nothing

    fn = {"blocks": blocks, "ignores-cancel": ignoring_cancellation(stop_flag), "exits": exits}[kind]
    started = time.perf_counter()
    result = CliRunner().invoke(app, ["--db", db_url, "replay", "run", LLM1, "-e", registered(kind, fn), "--timeout", "0.3"])
    assert time.perf_counter() - started < 4
    assert result.exit_code == 5
    expected = "SystemExit: 0" if kind == "exits" else "timed out after 0.3 s"
    assert result.stderr.endswith(f"failed: {expected}\n") and result.stderr.count("\n") == 1
    from test_replay_cli import replays

    (row,) = replays(db_url)
    assert row["success"] is False and row["error"] == expected


def test_json_output_stays_valid_when_an_executor_reports_nan_cost(db_url: str, registered) -> None:
    asyncio.run(_load_cli(db_url))

    async def nan_cost(input, state, config, overrides=None):
        return {"output": "x", "cost_usd": float("nan"), "tokens": float("inf")}

    result = CliRunner().invoke(app, ["--db", db_url, "replay", "run", LLM1, "-e", registered("nan", nan_cost), "--json"])
    assert result.exit_code == 0, result.output
    data = strict_json(result.stdout)
    assert data["cost_usd"] is None and data["tokens_used"] is None


# --- the openai executor against a misbehaving server -------------------------------------------



@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"choices": [{"message": null}]}', "choices[0] has no message object"),
        (b'{"choices": [{"message": {"content": "hi", "tool_calls": ["x"]}}]}', "a tool call is not an object"),
        (b'{"choices": ["text"]}', "choices[0] has no message object"),
        (b"not json", "did not answer with a Chat Completions response"),
        (b'{"choices": [{"message": {"content": "a\\u0000b"}}]}', "NUL character"),
    ],
)
async def test_openai_malformed_replies_are_stored_failures_saying_what_was_wrong(
    db: Database, openai_server: OpenAIServer, raw: bytes, expected: str
) -> None:
    rx = await loaded(db)
    openai_server.reply_next(raw)
    result = await rx.replay(LLM1, ReplayConfig(executor="openai", base_url=openai_server.base_url))
    assert result.success is False and expected in result.error
    assert "AttributeError" not in result.error
    assert (await rows(db))[0]["error"] == result.error


@pytest.mark.parametrize(
    ("raw", "status", "expected"),
    [
        (b"", 307, "answered HTTP 307 Temporary Redirect, not a Chat Completions response."),
        (b"", 204, "answered HTTP 204 No Content, not a Chat Completions response."),
        (b'{"error": {"message": "quota exceeded", "type": "insufficient_quota"}}', 200, "answered with an error: quota exceeded"),
    ],
)
async def test_openai_answers_that_are_not_completions_say_what_came_back(
    db: Database, openai_server: OpenAIServer, raw: bytes, status: int, expected: str
) -> None:
    rx = await loaded(db)
    openai_server.reply_next(raw, status=status)
    result = await rx.replay(LLM1, ReplayConfig(executor="openai", base_url=openai_server.base_url))
    assert result.success is False and expected in result.error, result.error


async def test_openai_a_usage_that_is_not_an_object_does_not_fail_a_good_reply(db: Database, openai_server: OpenAIServer) -> None:
    rx = await loaded(db)
    openai_server.reply_next(b'{"choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}], "usage": "n/a"}')
    result = await rx.replay(LLM1, ReplayConfig(executor="openai", base_url=openai_server.base_url))
    assert result.success, result.error
    assert result.replay_output == {"messages": [{"role": "assistant", "content": "hi"}], "finish_reason": "stop"}
    assert result.tokens_used is None


async def test_openai_a_slow_server_is_a_stored_timeout(db: Database, openai_server: OpenAIServer) -> None:
    rx = await loaded(db)
    openai_server.reply_next(b'{"choices": [{"message": {"content": "hi"}}]}', delay=2)
    started = time.perf_counter()
    result = await rx.replay(LLM1, ReplayConfig(executor="openai", base_url=openai_server.base_url, timeout_seconds=0.3))
    assert time.perf_counter() - started < 1.5
    assert result.success is False and result.error == "timed out after 0.3 s"


# --- the merge rule -------------------------------------------------------------------------------


RECORDED = {"messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}, {"role": "assistant", "content": "a"}]}


def test_null_in_a_list_edit_removes_the_item_instead_of_leaving_a_null_message() -> None:
    assert merge_input(RECORDED, {"messages": {"-1": None}})["messages"] == RECORDED["messages"][:2]
    both = merge_input(RECORDED, {"messages": {"0": None, "-1": None}})
    assert both["messages"] == [{"role": "user", "content": "u"}]
    edited = merge_input(RECORDED, {"messages": {"0": None, "1": {"content": "v"}}})
    assert edited["messages"] == [{"role": "user", "content": "v"}, {"role": "assistant", "content": "a"}]
    assert merge_input(RECORDED, parse_assignments(["messages.0=null"]))["messages"][0]["role"] == "user"


@pytest.mark.parametrize("key", ["1_0", " 1", "\uff11", "+1", "1.0"])
def test_only_plain_integers_index_a_list(key: str) -> None:
    # int() reads "1_0" as ten and a full-width digit as one; they are ordinary keys here
    assert merge_input(RECORDED, {"messages": {key: {"content": "x"}}})["messages"] == {key: {"content": "x"}}
    assert merge_input(RECORDED, {"messages": {"-0": {"content": "x"}}})["messages"][0]["content"] == "x"


def test_repeated_appends_on_the_command_line_accumulate() -> None:
    patch = parse_assignments(["tags+=a", "tags+=[\"b\", \"c\"]", "x=1", "x=2"])
    assert patch == {"tags+": ["a", "b", "c"], "x": 2}
    assert merge_input({"tags": ["z"]}, patch)["tags"] == ["z", "a", "b", "c"]


async def test_a_removed_message_never_reaches_the_executor_as_null(db: Database, registered) -> None:
    rx = await loaded(db)
    seen: list[Any] = []

    async def spy(input, state, config, overrides=None):
        seen.append(input)
        return {"output": "ok"}

    await rx.replay(LLM1, ReplayConfig(executor=registered("spy", spy), modified_input={"messages": {"-1": None}}))
    assert None not in seen[0]["messages"] and len(seen[0]["messages"]) == 1


# --- text diffs and the terminal views --------------------------------------------------------------


def test_a_text_diff_shows_a_missing_final_newline() -> None:
    assert text_diff("abc\n", "abc") == "--- original\n+++ replay\n@@ -1 +1 @@\n-abc\n+abc\n\\ No newline at end of file"
    diff = compute_diff({"t": "line one\nline two\n"}, {"t": "line one\nline two"})
    assert diff["text_diffs"]['root["t"]'].endswith("+line two\n\\ No newline at end of file")
    # the same ending on both sides is not marked, and unchanged texts stay as before
    assert text_diff("a\nb", "a\nc") == "--- original\n+++ replay\n@@ -1,2 +1,2 @@\n a\n-b\n+c"
    assert text_diff("", "x") == "--- original\n+++ replay\n@@ -0,0 +1 @@\n+x"
    assert text_diff("same\n", "same\n") == ""


def test_a_text_diff_tells_crlf_from_lf_and_splits_at_newlines_only() -> None:
    assert text_diff("a\r\nb\n", "a\nb\n") != ""
    assert text_diff("a\u2028b\nc", "a\u2028b\nd") == "--- original\n+++ replay\n@@ -1,2 +1,2 @@\n a\u2028b\n-c\n+d"


def render(renderable: Any, width: int = 100) -> str:
    console = Console(file=StringIO(), width=width, color_system=None)
    console.print(renderable)
    return console.file.getvalue()


@pytest.mark.parametrize("char", ["\u2028", "\u2029", "\x85", "\u202e", "\x7f", "\u200b"])
def test_line_breaking_and_invisible_characters_print_as_escapes(char: str) -> None:
    original, replay = {"t": f"a{char}b", "z": 1}, {"t": f"a{char}c", "z": 1}
    escape = f"\\u{ord(char):04x}"
    side = render(SideBySide(original, replay))
    assert f'"t": "a{escape}b",' in side and f'"t": "a{escape}c",' in side
    assert char not in side
    # four lines of JSON on each side, numbered 1 to 4: no line was split in two
    assert [line.split()[0] for line in side.splitlines()[3:7]] == ["1", "2", "3", "4"]
    unified = render(Unified(original, replay))
    assert f'-  "t": "a{escape}b",' in unified and char not in unified
    summary = render(DiffSummary(compute_diff(original, replay)))
    assert f'"a{escape}b"' in summary and char not in summary


async def test_a_stored_replay_keeps_the_order_it_was_made_in(db: Database, registered) -> None:
    """`replay show --json` and `diff --json` print what `replay run --json` printed: the
    diff's entries in document order, objects' keys as written (jsonb would sort them)."""
    rx = await loaded(db)

    async def ordered(input, state, config, overrides=None):
        return {"output": {"zzz": {"z": 1, "a": 2}, "bbb": 1, "a": 2}}

    result = await rx.replay(LLM1, ReplayConfig(executor=registered("ordered", ordered)))
    stored = await rx.get_replay(result.replay_id)
    assert json.dumps(stored.as_dict(), default=str) == json.dumps(result.as_dict(), default=str)
    assert list(stored.replay_output) == ["zzz", "bbb", "a"] and list(stored.replay_output["zzz"]) == ["z", "a"]
    assert list(stored.diff["added"]) == list(result.diff["added"]) == ['root["zzz"]', 'root["bbb"]', 'root["a"]']


# --- library use (a review of the Python API) ------------------------------------------------


@pytest.mark.parametrize(("given", "message"), [
    ({"query": {1, 2}}, "is a set"),
    ({"query": b"bytes"}, "is a bytes"),
    ({"query": ("a", "b")}, "is a tuple"),
    ({"query": {1: "x", "1": "y"}}, "key 1 at query is not a string"),
])
async def test_modified_input_that_json_cannot_hold_is_refused_before_the_run(db: Database, given, message: str) -> None:
    rx = await loaded(db)
    with pytest.raises(InvalidInput, match=message):
        await rx.replay(LLM1, ReplayConfig(dry_run=True, modified_input=given))
    assert await rows(db) == []


async def test_an_executor_that_changes_its_input_does_not_change_the_stored_one(db: Database, registered) -> None:
    rx = await loaded(db)

    async def meddling(input, state, config, overrides=None):
        input["query"] = "changed by the executor"
        input.setdefault("messages", []).clear()
        return {"output": "x"}

    result = await rx.replay(LLM1, ReplayConfig(executor=registered("meddling", meddling), modified_input={"query": "asked"}))
    assert result.input["query"] == "asked" and result.input["messages"]
    assert (await rx.get_replay(result.replay_id)).input == result.input


def test_an_ignore_pattern_given_as_one_string_is_one_pattern() -> None:
    report = compute_diff({"meta": 1, "m": 1}, {"meta": 2, "m": 2}, "meta")  # type: ignore[arg-type]
    assert list(report["changed"]) == ['root["m"]']


async def test_the_library_says_what_it_needs_when_given_something_else(db: Database) -> None:
    with pytest.raises(TypeError, match="expected an asyncpg pool .* not str"):
        CheckpointManager("postgresql://localhost/db")
    with pytest.raises(InvalidInput, match="schema 'other' was given with a Database whose schema is 'agenttrace'"):
        CheckpointManager(db, schema="other")
    await traces.import_bundles(db.pool, [weather_trace()])  # the trace functions take a pool too
    assert [t["trace_id"] for t in await traces.list_traces(db.pool)] == [WEATHER]
