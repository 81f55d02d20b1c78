"""Errors as a user meets them: one line on stderr, a documented exit code, nothing written.

Most cases run in-process (CliRunner); the ones about the process itself (how long it takes
to give up on a database, whether a traceback is printed) run the real command.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import otel_traces  # tests/ is on sys.path (conftest.py)
import pytest
from typer.testing import CliRunner, Result

from agenttrace_replay.cli.app import app
from agenttrace_replay.errors import ExitCode

PASSWORD = "s3cr3t-pw"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    return {"AGENTTRACE_DATABASE_URL": None, "AGENTTRACE_CONFIG": None, "AGENTTRACE_SCHEMA": None,
            "AGENTTRACE_DATA_DIR": str(tmp_path / "no-embedded"), "COLUMNS": "200"}  # fmt: skip


@pytest.fixture
def cli(db_url: str, env: dict[str, str | None]):  # type: ignore[no-untyped-def]
    def run(*args: str, input: str | None = None, db: str | None = db_url, **extra: str | None) -> Result:
        head = ["--db", db] if db else []
        return CliRunner().invoke(app, [*head, *args], input=input, env={**env, **extra})

    return run


def one_line_error(result: Result, code: ExitCode, *fragments: str) -> str:
    """The result failed with ``code`` and exactly one stderr line containing every fragment."""
    assert result.exit_code == code, f"exit {result.exit_code}, stderr: {result.stderr!r}"
    assert result.stdout == ""  # stdout is for data only
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ") and "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def nothing_imported(cli) -> None:  # type: ignore[no-untyped-def]
    listed = cli("trace", "list", "--json")
    assert listed.exit_code == 0 and json.loads(listed.stdout) == []


@pytest.fixture(scope="module")
def good_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("files") / "good.json"
    path.write_text(otel_traces.openinference_trace())
    return path


# --- files that cannot be imported ---------------------------------------------------------


def test_a_missing_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("trace", "import", str(tmp_path / "nope.json")), ExitCode.USAGE, "nope.json: no such file")


def test_a_folder_instead_of_a_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("trace", "import", str(tmp_path)), ExitCode.USAGE, "is a folder, not a file")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads any file")
def test_a_file_without_read_permission(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "secret.json"
    path.write_text("{}")
    path.chmod(0)
    one_line_error(cli("trace", "import", str(path)), ExitCode.USAGE, "cannot read it", "permissions")


@pytest.mark.skipif(not Path("/proc/self/mem").exists(), reason="Linux only")
def test_a_file_that_fails_to_read(cli) -> None:  # type: ignore[no-untyped-def]
    # reading /proc/self/mem from offset 0 fails with EIO for every user, root included
    one_line_error(cli("trace", "import", "/proc/self/mem"), ExitCode.USAGE, "/proc/self/mem: cannot read it")


def test_a_binary_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "trace.bin"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    one_line_error(cli("trace", "import", str(path)), ExitCode.USAGE, "trace.bin: binary data, not text (byte 0 is not UTF-8)")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("this is not json", "not valid JSON"),
        ('{"resourceSpans": [', "not valid JSON"),
        ("", "empty"),
    ],
)
def test_text_that_is_not_json(cli, tmp_path: Path, content: str, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "bad.json"
    path.write_text(content)
    one_line_error(cli("trace", "import", str(path)), ExitCode.USAGE, "bad.json: ", message)
    nothing_imported(cli)


def _native_span(more: list[dict[str, object]] | None = None, **fields: object) -> dict[str, object]:
    """A native export of trace `t` with span `s1` (these fields added) and `more` spans."""
    span = {"span_id": "s1", "trace_id": "t", "name": "x", **fields}
    return {"format": "agenttrace-replay", "version": 1, "traces": [{"trace": {"trace_id": "t"}, "spans": [span, *(more or [])]}]}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"foo": 1}, "no 'resourceSpans' key"),
        ([1, 2], "expected a JSON object"),
        ({"resourceLogs": []}, "OTLP logs export, not traces"),
        ({"resourceSpans": [{"scopeSpans": [{"spans": [{"name": "x", "spanId": "00f067aa0ba902b7"}]}]}]},
         "missing traceId"),
        ({"format": "agenttrace-replay", "version": 1, "traces": {"not": "a list"}}, "'traces' must be a list"),
        ({"format": "agenttrace-replay", "version": 99, "traces": []}, "unsupported agenttrace-replay export version 99"),
        ({"format": "agenttrace-replay", "version": 1, "traces": [{"trace": {"trace_id": "t", "colour": "red"}}]},
         "unknown field(s) colour"),
        ({"format": "agenttrace-replay", "version": 1, "traces": [{"trace": {"trace_id": "t", "total_tokens": "lots"}}]},
         "total_tokens must be int"),
        ({"resourceSpans": [{"scopeSpans": [{"spans": [
            {"traceId": "ab" * 16, "spanId": f"{i:016x}", "name": f"chat {i}",
             "attributes": [{"key": "gen_ai.usage.cost", "value": {"doubleValue": 1e308}}]} for i in (1, 2)]}]}]},
         "total_cost_usd must be int or float (in range), found inf"),
        (_native_span(kind="llm_call", input={"messages": [5]}),
         "span 's1': input.messages[0] must be an object with a text role, found 5"),
        (_native_span(kind="llm_call", output={"messages": [{"role": "assistant", "tool_calls": 5}]}),
         "output.messages[0].tool_calls must be a list of objects"),
        (_native_span(parent_span_id="s1"), "span s1 is its own ancestor"),
        (_native_span(parent_span_id="s2", more=[{"span_id": "s2", "trace_id": "t", "name": "y", "parent_span_id": "s1"}]),
         "is its own ancestor"),
    ],
)  # fmt: skip
def test_json_of_the_wrong_shape(cli, tmp_path: Path, document: object, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "shape.json"
    path.write_text(json.dumps(document))
    one_line_error(cli("trace", "import", str(path)), ExitCode.USAGE, "shape.json", message)
    nothing_imported(cli)


def test_a_bad_file_among_good_ones_stops_everything(cli, good_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "bad.json"
    bad.write_text('{"resourceSpans": 7}')
    one_line_error(cli("trace", "import", str(good_file), str(bad)), ExitCode.USAGE, "bad.json")
    nothing_imported(cli)  # files are read and checked before anything is written


def test_a_file_the_database_refuses_is_rolled_back(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A NUL character passes every check before the write (JSON allows it); PostgreSQL refuses
    # it in text, so the second trace's write fails and the first one of the same file rolls back.
    def trace(trace_id: str, output: str) -> str:
        return ('{"trace": {"trace_id": "%s"}, "spans": [{"span_id": "s1", "trace_id": "%s", "name": "x", '
                '"output": %s}]}') % (trace_id, trace_id, output)  # fmt: skip

    path = tmp_path / "nul.json"
    path.write_text('{"format": "agenttrace-replay", "version": 1, "traces": [%s, %s]}'
                    % (trace("first-ok", "1"), trace("second-bad", '"a\\u0000b"')))  # fmt: skip
    one_line_error(cli("trace", "import", str(path)), ExitCode.USAGE,
                   "nul.json: trace second-bad: the database refused it", "Nothing was imported")  # fmt: skip
    nothing_imported(cli)
    # with a good file before it in the same command: the command is all in or not at all
    good = tmp_path / "good.json"
    good.write_text('{"format": "agenttrace-replay", "version": 1, "traces": [%s]}' % trace("fine", "1"))
    one_line_error(cli("trace", "import", str(good), str(path)), ExitCode.USAGE,
                   "nul.json: trace second-bad: the database refused it", "Nothing was imported")  # fmt: skip
    nothing_imported(cli)



def test_an_integer_longer_than_python_reads_is_refused_plainly(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "big.json"
    path.write_text('{"format": "agenttrace-replay", "version": 1, "traces": [{"trace": {"trace_id": "t", '
                    '"metadata": {"n": %s}}}]}' % ("1" * 5000))  # fmt: skip
    one_line_error(cli("trace", "import", str(path)), ExitCode.USAGE, "an integer has 5,000 digits; at most 4,300 are read")
    nothing_imported(cli)


@pytest.mark.parametrize("value", ["NaN", "-Infinity", "1e999"])
def test_numbers_json_cannot_hold_are_refused_when_read(cli, tmp_path: Path, value: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "nan.json"
    path.write_text('{"format": "agenttrace-replay", "version": 1, "traces": [{"trace": {"trace_id": "t"}, '
                    '"spans": [{"span_id": "s1", "trace_id": "t", "name": "x", "output": %s}]}]}' % value)  # fmt: skip
    one_line_error(cli("trace", "import", str(path)), ExitCode.USAGE, "nan.json: not valid JSON")
    nothing_imported(cli)

def test_bad_standard_input(cli) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("trace", "import", "-", input="{oops"), ExitCode.USAGE, "-: not valid JSON")


# --- ids that name nothing ------------------------------------------------------------------


@pytest.mark.parametrize("command", [["trace", "show"], ["trace", "export"], ["trace", "delete", "--yes"]])
def test_an_unknown_trace_id(cli, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    line = one_line_error(cli(*command[:2], "no-such-trace", *command[2:]), ExitCode.NOT_FOUND,
                          "no trace 'no-such-trace'", "agenttrace-replay trace list")  # fmt: skip
    assert line == "error: no trace 'no-such-trace'. List traces with: agenttrace-replay trace list"


def test_values_that_cannot_be_ids(cli, good_file: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("trace", "import", str(good_file)).exit_code == 0
    trace_id = json.loads(cli("trace", "list", "--json").stdout)[0]["trace_id"]
    one_line_error(cli("trace", "show", ""), ExitCode.USAGE, "empty trace id")
    one_line_error(cli("trace", "show", "\udcff"), ExitCode.USAGE, "the database refused a value given")  # bytes 0xff
    one_line_error(cli("trace", "show", "a" * 5000), ExitCode.NOT_FOUND, "ids are at most 1,000 bytes long")
    assert len(cli("trace", "show", "a" * 5000).stderr) < 300  # not echoed in full
    one_line_error(cli("checkpoint", "create", trace_id, "--span", ""), ExitCode.USAGE, "empty span id")
    one_line_error(cli("checkpoint", "auto", trace_id, "--kinds", ","), ExitCode.USAGE, "names no span kind")


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"format": "agenttrace-replay", "version": 1, "traces": [{"trace": {"trace_id": "t" * 1001}}]},
         "a trace id is longer than 1,000 bytes"),
        (_native_span(span_id="s" * 3000), "is longer than 1,000 bytes"),
        ({"format": "agenttrace-replay", "version": 1, "traces": [{"trace": {"trace_id": "t"},
                                                                   "spans": [{"span_id": "s", "trace_id": "t"}]}]},
         "traces[0].spans[0]: missing field(s) name"),
        ({"format": "agenttrace-replay", "version": True, "traces": []}, "unsupported agenttrace-replay export version True"),
    ],
)  # fmt: skip
def test_native_files_the_database_could_not_take(cli, tmp_path: Path, document: object, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "native.json"
    path.write_text(json.dumps(document))
    one_line_error(cli("trace", "import", str(path)), ExitCode.USAGE, message)
    nothing_imported(cli)


def test_a_command_started_with_stdout_closed(db_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "AGENTTRACE_DATA_DIR": str(tmp_path)}
    base = [sys.executable, "-m", "agenttrace_replay", "--db", db_url]
    proc = subprocess.run([*base, "trace", "delete", "--yes", "no-such-trace"], stderr=subprocess.PIPE, env=env,
                          text=True, preexec_fn=lambda: os.close(1))  # fmt: skip
    assert proc.returncode == 3 and proc.stderr.startswith("error: no trace 'no-such-trace'")
    assert len(proc.stderr.splitlines()) == 1
    proc = subprocess.run([*base, "trace", "list", "--json"], stderr=subprocess.PIPE, env=env, text=True,
                          preexec_fn=lambda: os.close(1))  # fmt: skip
    assert (proc.returncode, proc.stderr) == (0, "")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_output_that_cannot_be_written(db_url: str, good_file: Path, tmp_path: Path) -> None:
    """A full disk on stdout (here /dev/full): one line and exit 2, like `-o` on a bad path."""
    env = {**os.environ, "AGENTTRACE_DATA_DIR": str(tmp_path)}
    base = [sys.executable, "-m", "agenttrace_replay", "--db", db_url]
    subprocess.run([*base, "trace", "import", str(good_file)], check=True, capture_output=True, env=env)
    with open("/dev/full", "w") as full:
        proc = subprocess.run([*base, "trace", "list", "--json"], stdout=full, stderr=subprocess.PIPE, env=env, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == "error: cannot write the output: No space left on device.\n"


def test_an_ambiguous_prefix(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    document = {"format": "agenttrace-replay", "version": 1,
                "traces": [{"trace": {"trace_id": f"run-{i}"}} for i in range(2)]}  # fmt: skip
    assert cli("trace", "import", "-", input=json.dumps(document)).exit_code == 0
    one_line_error(cli("trace", "show", "run-"), ExitCode.USAGE, "prefix 'run-' is ambiguous: run-0, run-1")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "yesterday"], "--since 'yesterday' is neither"),
        (["--status", "done"], "unknown status 'done'"),
        (["--limit", "0"], "--limit must be between 1 and 2^63 - 1"),
        (["--limit", "99999999999999999999999"], "--limit must be between 1"),
        (["--since", "99999999999d"], "reaches back before the year 1"),
        (["--since", "0001-01-01T00:00:00+05:00"], "is outside the years 1 to 9999 in UTC"),
        (["--since", ""], "is neither an ISO date/time"),
    ],
)
def test_bad_list_options(cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    one_line_error(cli("trace", "list", *args), ExitCode.USAGE, message)


def test_export_to_an_unwritable_place(cli, good_file: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert cli("trace", "import", str(good_file)).exit_code == 0
    trace_id = json.loads(cli("trace", "list", "--json").stdout)[0]["trace_id"]
    one_line_error(cli("trace", "export", trace_id, "-o", str(tmp_path / "missing" / "x.json")), ExitCode.USAGE, "cannot write")


# --- the database -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        f"mysql://bob:{PASSWORD}@localhost/db",
        f"postgresql://bob:{PASSWORD}@localhost:99999/db",
        "not a url at all",
    ],
)
@pytest.mark.parametrize("command", [["trace", "list"], ["db", "status"], ["db", "migrate"], ["demo"]])
def test_an_invalid_db_url(cli, url: str, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    line = one_line_error(cli(*command, db=url), ExitCode.USAGE, "invalid database URL")
    assert PASSWORD not in line


def test_an_invalid_url_in_the_environment(cli) -> None:  # type: ignore[no-untyped-def]
    line = one_line_error(cli("trace", "list", db=None, AGENTTRACE_DATABASE_URL=f"sqlite://u:{PASSWORD}@x/db"),
                          ExitCode.USAGE, "invalid database URL", "sqlite://u:***@x/db")  # fmt: skip
    assert PASSWORD not in line


def test_a_bad_config_file(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = tmp_path / "agenttrace.yaml"
    config.write_text("database_url: [\n")
    one_line_error(cli("--config", str(config), "trace", "list", db=None), ExitCode.USAGE, "is not valid YAML")
    config.write_text("databse_url: postgresql://x@y/z\n")
    one_line_error(cli("--config", str(config), "trace", "list", db=None), ExitCode.USAGE, "unknown key(s): databse_url")


def run_process(*args: str, timeout: float = 60) -> tuple[subprocess.CompletedProcess[str], float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTTRACE_")}
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "agenttrace_replay", *args], capture_output=True, text=True,
                          env=env, timeout=timeout, stdin=subprocess.DEVNULL)  # fmt: skip
    return proc, time.monotonic() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a hung or firewalled server)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def assert_unreachable(proc: subprocess.CompletedProcess[str], seconds: float, shown_url: str) -> None:
    assert proc.returncode == ExitCode.DATABASE, proc.stderr
    assert proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("error: cannot connect to the database at " + shown_url)
    assert "Traceback" not in proc.stderr and PASSWORD not in proc.stderr
    assert "--db" in line  # says what to do
    assert seconds < 10, f"took {seconds:.1f} s to give up"  # a behavioural bound, not a benchmark


def test_nothing_listening_on_the_port(tmp_path: Path) -> None:
    port = free_port()
    proc, seconds = run_process("--db", f"postgresql://bob:{PASSWORD}@127.0.0.1:{port}/app", "trace", "list")
    assert_unreachable(proc, seconds, f"postgresql://bob:***@127.0.0.1:{port}/app")


def test_a_server_that_never_answers(silent_server: int) -> None:
    url = f"postgresql://bob:{PASSWORD}@127.0.0.1:{silent_server}/app"
    proc, seconds = run_process("--db", url, "trace", "list", "--json")
    assert_unreachable(proc, seconds, f"postgresql://bob:***@127.0.0.1:{silent_server}/app")


def test_a_host_that_does_not_resolve() -> None:
    proc, seconds = run_process("--db", f"postgresql://bob:{PASSWORD}@no-such-host.invalid/app", "db", "status")
    assert_unreachable(proc, seconds, "postgresql://bob:***@no-such-host.invalid/app")


def test_a_database_that_does_not_exist(pg_server: str) -> None:
    head, _, query = pg_server.partition("?")
    url = f"{head.rsplit('/', 1)[0]}/no_such_database?{query}"
    proc, _ = run_process("--db", url, "trace", "list")
    assert proc.returncode == ExitCode.DATABASE
    (line,) = proc.stderr.splitlines()
    assert "does not exist" in line and "Create it or fix the URL" in line


# --- tracebacks only on request ---------------------------------------------------------------


def test_debug_shows_the_traceback(db_url: str) -> None:
    plain, _ = run_process("--db", db_url, "trace", "show", "no-such-trace")
    assert plain.returncode == ExitCode.NOT_FOUND and plain.stderr.count("\n") == 1
    debug, _ = run_process("--debug", "--db", db_url, "trace", "show", "no-such-trace")
    assert debug.returncode == ExitCode.NOT_FOUND
    assert "Traceback (most recent call last)" in debug.stderr and "NotFound" in debug.stderr
    assert debug.stderr.rstrip().endswith("error: no trace 'no-such-trace'. List traces with: agenttrace-replay trace list")


def test_debug_traceback_for_an_unreachable_database() -> None:
    proc, _ = run_process("--debug", "--db", f"postgresql://bob:{PASSWORD}@127.0.0.1:{free_port()}/x", "trace", "list")
    assert proc.returncode == ExitCode.DATABASE and "Traceback" in proc.stderr and "DatabaseUnavailable" in proc.stderr


def test_exit_codes_are_stable() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0, "ERROR": 1, "USAGE": 2, "NOT_FOUND": 3, "DATABASE": 4, "EXECUTOR": 5, "DIFF_FOUND": 6,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x28\xb5\x2f\xfd\x00\x58\x61\x00", "zstd-compressed"),
        (b"\x00\x00\x01\x00\x28\xb5\x2f\xfd\x00\x58", "zstd-compressed"),  # the Collector's length-prefixed frames
        (b"\x0a\xa5\x02\x0a\x24\x0a\x22\x0a\x0cservice.name\x12\x12\xff", "OTLP protobuf"),
        (__import__("gzip").compress(__import__("gzip").compress(b'{"resourceSpans": []}')), "compressed twice"),
        ('{"resourceSpans": []}'.encode("utf-16"), "UTF-16 text; save it as UTF-8"),
        ('\n{"name": "café"}\n'.encode("latin-1"), "text, but not UTF-8; save it as UTF-8"),
    ],
)
def test_binary_files_are_named_for_what_they_are(cli, tmp_path: Path, data: bytes, message: str) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "trace.bin"
    path.write_bytes(data)
    one_line_error(cli("trace", "import", str(path)), ExitCode.USAGE, "trace.bin: ", message)
