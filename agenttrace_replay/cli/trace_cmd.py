"""``trace import | list | show | export | delete``."""

from __future__ import annotations

import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Annotated, Optional

import typer

from agenttrace_replay.cli.common import JsonFlag, YesFlag, confirm, fail, guarded, note, options, print_json, print_line, printable, run, stderr, stdout, write_stdout
from agenttrace_replay.errors import ExitCode, InvalidInput, WouldDiscard

app = typer.Typer(help="Import, list, show, export and delete traces.", no_args_is_help=True)

_RELATIVE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_since(text: str) -> datetime:
    """An ISO date or time, or a relative age such as ``30m``, ``2h``, ``7d``."""
    match = _RELATIVE.match(text.strip())
    try:
        if match:
            return datetime.now(timezone.utc) - timedelta(**{_UNITS[match[2]]: int(match[1])})
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"--since {text!r} is neither an ISO date/time nor an age like 30m, 2h, 7d.") from None
    except OverflowError:
        raise InvalidInput(f"--since {text!r} reaches back before the year 1.", "Give a shorter age.") from None
    value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        value.astimezone(timezone.utc)  # the database compares in UTC: the time must exist there
    except OverflowError:
        raise InvalidInput(f"--since {text!r} is outside the years 1 to 9999 in UTC.", "Give another date.") from None
    return value


def read_source(name: str) -> str:
    """The text of a file, or of standard input for `-`: read as bytes either way, so gzip is
    recognised and UTF-8 is the encoding whatever the locale says."""
    if name == "-":
        stream = getattr(sys.stdin, "buffer", None)
        data = stream.read() if stream is not None else (sys.stdin.read() if sys.stdin else "").encode("utf-8", "surrogateescape")
    else:
        try:
            data = Path(name).read_bytes()
        except FileNotFoundError:
            raise InvalidInput(f"{name}: no such file.", "Check the path.") from None
        except IsADirectoryError:
            raise InvalidInput(f"{name}: is a folder, not a file.") from None
        except PermissionError as exc:
            raise InvalidInput(f"{name}: cannot read it: {exc.strerror}.", "Check its permissions.") from None
        except OSError as exc:
            raise InvalidInput(f"{name}: cannot read it: {exc.strerror or exc}.", "Check the path.") from None
    if data[:2] == b"\x1f\x8b":  # gzip, whatever the file is called
        import gzip
        import zlib

        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidInput(f"{name}: a damaged gzip file ({exc}).", "Check the file, or give it uncompressed.") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{name}: {_kind_of_undecodable(data)} (byte {exc.start} is not UTF-8).", _BINARY_HINT) from None
    if "\x00" in text[:1024]:  # valid UTF-8, but no JSON text holds NUL bytes: UTF-16 without a byte-order mark?
        raise InvalidInput(f"{name}: holds NUL bytes, as UTF-16 text does; save it as UTF-8.", _BINARY_HINT)
    return text


_BINARY_HINT = "Give OTLP/JSON (one document or JSON Lines), gzip-compressed or not, or an agenttrace-replay export."


def _kind_of_undecodable(data: bytes) -> str:
    """What a file that is not UTF-8 text probably is, for the message."""
    if data[:4] in (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff"):
        return "UTF-32 text; save it as UTF-8"
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 byte-order mark (PowerShell's default)
        return "UTF-16 text; save it as UTF-8"
    if data[:4] == b"PK\x03\x04":
        return "a zip archive; extract the file from it first"
    if data[:4] == b"\x28\xb5\x2f\xfd" or data[4:8] == b"\x28\xb5\x2f\xfd":  # alone or length-prefixed (the Collector's)
        return "zstd-compressed data, which this tool does not read; decompress it first"
    if data[:2] == b"\x1f\x8b":
        return "compressed twice with gzip; decompress it once first"
    if _protobuf_request(data):
        return "binary data, probably OTLP protobuf, which this tool does not read; export OTLP/JSON instead"
    head = data[:4096]
    controls = sum(1 for byte in head if byte < 0x20 and byte not in b"\t\n\r")
    if controls * 50 < len(head):  # hardly any control bytes: text in another encoding (Latin-1, Windows-1252)
        return "text, but not UTF-8; save it as UTF-8"
    return "binary data, not text"


def _protobuf_request(data: bytes) -> bool:
    """Whether the bytes start like an ExportTraceServiceRequest: field 1 (resource_spans),
    length-delimited, whose content starts with field 1 (resource) or 2 (scope_spans)."""
    if data[:1] != b"\x0a":
        return False
    position, length, shift = 1, 0, 0
    while position < min(len(data), 11):  # the length, as a varint
        byte = data[position]
        length |= (byte & 0x7F) << shift
        position, shift = position + 1, shift + 7
        if not byte & 0x80:
            return length > 0 and data[position:position + 1] in (b"\x0a", b"\x12")
    return False


PROGRESS_BYTES = 1_000_000  # files this large take a moment to parse
PROGRESS_SPANS = 500  # and this many spans a moment to write


def _size(name: str) -> int:
    try:
        return 0 if name == "-" else Path(name).stat().st_size
    except OSError:
        return 0  # read_source reports it


def _progress():  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn())
    return Progress(*columns, console=stderr(), transient=True)


@app.command("import")
def import_(
    ctx: typer.Context,
    files: Annotated[list[str], typer.Argument(help="OTLP/JSON, OTLP JSON Lines or agenttrace-replay export files; - reads standard input.", metavar="FILE...")],
    replace: Annotated[bool, typer.Option("--replace", help="Store again the traces that are already in the database and differ from the copy given (their checkpoints and replays are deleted: asks first, or --yes).")] = False,
    yes: YesFlag = False,
    json: JsonFlag = False,
) -> None:
    """Import trace files, all in or not at all; a trace already present is skipped."""
    from agenttrace_replay import traces

    if files.count("-") > 1:
        fail(InvalidInput("- (standard input) is given more than once.", "Give it once."), options(ctx).debug)
    # A bar on a terminal for large inputs: while reading (one step per file, a spinner
    # meanwhile) and while writing (spans). Never on a pipe, never with --json.
    big = sum(_size(name) for name in files) >= PROGRESS_BYTES
    progress = _progress() if not json and sys.stderr.isatty() and big else None

    def sources():  # type: ignore[no-untyped-def]
        reading = progress.add_task("reading", total=len(files)) if progress else None
        for name in files:
            if progress:
                from rich.markup import escape  # only with a bar: Rich takes 20 ms to import

                progress.update(reading, description=f"reading {escape(name)}")
            yield read_source(name), name
            if progress:
                progress.advance(reading)

    if progress:
        progress.start()
    try:
        # Every file is read and checked first: a bad file stops the command before anything
        # is written. A trace spread over several of the files is put together from all of them.
        parsed = guarded(ctx, lambda: traces.parse_texts(sources(), pending=True))
        total_spans = sum(len(bundle.spans) for _, bundle in parsed)
        if progress is None and not json and sys.stderr.isatty() and total_spans >= PROGRESS_SPANS:
            progress = _progress()
            progress.start()
        file_of: dict[str, str] = {}
        for name, bundle in parsed:
            file_of.setdefault(bundle.trace.trace_id, name)

        def waiting() -> None:
            text = "waiting for another import into this database to finish"
            if progress:  # above the bar, not through it
                progress.console.print(text, markup=False, highlight=False)
            else:
                note(text)

        async def body(db):  # type: ignore[no-untyped-def]
            task = progress.add_task("importing spans", total=total_spans) if progress else None
            on_spans = (lambda count: progress.advance(task, count)) if progress else None
            bundles = [b for _, b in parsed]
            try:
                try:
                    return await traces.import_bundles(db, bundles, replace=replace, discard=yes, on_spans=on_spans, on_wait=waiting)
                except WouldDiscard as exc:  # nothing written yet: ask on a terminal, then once more
                    if yes or not sys.stdin.isatty():
                        raise
                    if progress:
                        progress.stop()
                    traces_named = ", ".join(exc.discards)
                    checkpoints = sum(c for c, _ in exc.discards.values())
                    replays = sum(r for _, r in exc.discards.values())
                    question = (f"Replace {traces_named} with the changed copy given, deleting "
                                f"{checkpoints} checkpoint(s) and {replays} replay(s) of the stored version?")  # fmt: skip
                    if not typer.confirm(printable(question, one_line=True), default=False, err=True):
                        sys.stderr.write("nothing imported\n")
                        raise typer.Exit(int(ExitCode.OK)) from None
                    return await traces.import_bundles(db, bundles, replace=True, discard=True)
            except InvalidInput as exc:  # refused by the database, or in conflict with it: all rolled back
                name = file_of.get(getattr(exc, "trace_id", None) or "")
                where = f"{name}: " if name else ""
                raise InvalidInput(f"{where}{exc.message}", exc.hint or "Nothing was imported.") from exc

        result = run(ctx, body)
    finally:
        if progress:
            progress.stop()
    if json:
        print_json(result.as_dict())
        return
    line = f"imported {len(result.imported)} trace(s), {result.spans} span(s); skipped {len(result.skipped)} already present"
    if result.replaced:
        line += f"; replaced {len(result.replaced)}"
        if result.discarded_checkpoints or result.discarded_replays:
            line += (f" (deleting {result.discarded_checkpoints} checkpoint(s) and {result.discarded_replays} "
                     "replay(s) of the old version)")  # fmt: skip
    if result.unchanged:
        line += f"; {len(result.unchanged)} unchanged"
    print_line(line)


@app.command("list")
def list_(
    ctx: typer.Context,
    name: Annotated[Optional[str], typer.Option("--name", help="Only traces whose name contains this text.")] = None,
    status: Annotated[Optional[str], typer.Option("--status", help="running, completed, failed or timeout.")] = None,
    since: Annotated[Optional[str], typer.Option("--since", help="Only traces started since an ISO time or an age (30m, 2h, 7d).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many traces.")] = 50,
    json: JsonFlag = False,
) -> None:
    """List traces, newest first."""
    from agenttrace_replay import traces

    since_time = guarded(ctx, lambda: parse_since(since)) if since is not None else None
    rows = run(ctx, lambda db: traces.list_traces(db, name=name, status=status, since=since_time, limit=limit))
    if json:
        print_json(rows)
        return
    from agenttrace_replay.cli.render import print_lines, trace_table

    out = stdout()
    print_lines(out, trace_table(rows, out.width))


@app.command("show")
def show(ctx: typer.Context, trace: Annotated[str, typer.Argument(help="Trace id or a unique prefix.", metavar="TRACE")], json: JsonFlag = False) -> None:
    """Show a trace as a tree of spans."""
    from agenttrace_replay import traces

    bundle = run(ctx, lambda db: traces.get_trace(db, trace))
    if json:
        from agenttrace_replay.importers.native import bundle_to_dict

        guarded(ctx, lambda: print_json(bundle_to_dict(bundle)))
        return
    from agenttrace_replay.cli.render import trace_tree

    out = stdout()
    out.print(trace_tree(bundle, out.width))


@app.command("export")
def export(
    ctx: typer.Context,
    trace: Annotated[list[str], typer.Argument(help="Trace ids or unique prefixes.", metavar="TRACE...")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write to this file instead of stdout (- is stdout).")] = None,
) -> None:
    """Export traces in the agenttrace-replay format (re-importable, round-trips exactly)."""
    from agenttrace_replay import traces

    text = run(ctx, lambda db: traces.export_traces(db, trace))
    if output is None or str(output) == "-":
        write_stdout(text)
        return

    def write() -> None:
        try:
            output.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"cannot write {output}: {exc.strerror}.") from None

    guarded(ctx, write)
    note(f"wrote {output}")


@app.command("delete")
def delete(
    ctx: typer.Context,
    trace: Annotated[str, typer.Argument(help="Trace id or a unique prefix.", metavar="TRACE")],
    yes: YesFlag = False,
    json: JsonFlag = False,
) -> None:
    """Delete a trace with its spans, checkpoints and replays."""
    from agenttrace_replay import traces

    full_id = run(ctx, lambda db: traces.resolve_trace_id(db, trace))
    confirm(f"Delete trace {full_id} with its checkpoints and replays?", yes)
    deleted = run(ctx, lambda db: traces.delete_trace(db, full_id))
    if json:
        print_json({"deleted": deleted})
    else:
        print_line(f"deleted trace {printable(deleted, one_line=True)}")
