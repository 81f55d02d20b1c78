"""Reading and writing traces: import (atomic, idempotent), list, show, export, delete."""

from __future__ import annotations

import asyncio
import gc
import math
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable

import asyncpg

from agenttrace_replay import ids
from agenttrace_replay.db import Database
from agenttrace_replay.errors import InvalidInput, NotFound, WouldDiscard
from agenttrace_replay.records import (
    SPAN_KINDS,
    SPAN_STATUSES,
    TRACE_STATUSES,
    AgentRecord,
    SpanRecord,
    TraceBundle,
    TraceRecord,
)

if TYPE_CHECKING:
    from agenttrace_replay.importers.raw import RawSpan

AGENT_COLUMNS = ("trace_id", "agent_id", "name", "role", "model", "framework", "config")
SPAN_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "agent_id", "name", "kind", "start_time", "end_time",
    "status", "model", "input_tokens", "output_tokens", "cost_usd", "input", "output", "error", "attributes",
)
TRACE_HINT = "List traces with: agenttrace-replay trace list"


@dataclass
class ImportResult:
    """What one import wrote: trace ids imported, skipped (already there) and span count."""

    imported: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # also in `imported`: stored again, changed
    unchanged: list[str] = field(default_factory=list)  # --replace of an identical copy: left as it was
    spans: int = 0
    discarded_checkpoints: int = 0  # of the replaced traces' old versions
    discarded_replays: int = 0

    def add(self, other: "ImportResult") -> None:
        self.imported += other.imported
        self.skipped += other.skipped
        self.replaced += other.replaced
        self.unchanged += other.unchanged
        self.spans += other.spans
        self.discarded_checkpoints += other.discarded_checkpoints
        self.discarded_replays += other.discarded_replays

    def as_dict(self) -> dict[str, Any]:
        return {
            "traces": len(self.imported),
            "spans": self.spans,
            "skipped": len(self.skipped),
            "replaced": len(self.replaced),
            "unchanged": len(self.unchanged),
            "imported_ids": self.imported,
            "skipped_ids": self.skipped,
            "replaced_ids": self.replaced,
            "unchanged_ids": self.unchanged,
            "discarded_checkpoints": self.discarded_checkpoints,
            "discarded_replays": self.discarded_replays,
        }


def parse_text(text: str, source: str = "<input>", *, pending: bool = False) -> list[TraceBundle]:
    """Bundles from the text of an OTLP/JSON, OTLP JSON Lines or native export file.

    Every check is made here. With `pending`, OTLP spans' input and output are worked out
    later, while `import_bundles` writes them, so that work overlaps the database's.
    """
    return [bundle for _, bundle in parse_texts([(text, source)], pending=pending)]


def parse_texts(sources: Iterable[tuple[str, str]], *, pending: bool = False) -> list[tuple[str, TraceBundle]]:
    """`(source, bundle)` for every trace in several files (`(text, source)` pairs) read as one.

    A trace whose spans are spread over several OTLP files (the Collector's file exporter
    rotates its files, a long run is exported in parts) is built once, from all of them,
    and named with the first file it appears in. Every file is read and every check made
    before this returns, so nothing is written when any file is wrong.
    """
    from agenttrace_replay.importers.otlp import bundles_from_spans

    with gc_paused():
        out: list[tuple[str, TraceBundle]] = []
        spans: list[RawSpan] = []
        first_file: dict[str, str] = {}
        for text, source in sources:
            native, read = _read_text(text, source)
            out.extend((source, bundle) for bundle in native)
            spans.extend(read)
            for span in read:
                first_file.setdefault(span.trace_id, source)
        for bundle in bundles_from_spans(spans, pending=True):
            out.append((first_file[bundle.trace.trace_id], bundle))
        for source, bundle in out:
            try:
                validate_bundle(bundle, source)
            except InvalidInput as exc:
                exc.hint = exc.hint or "Fix the file. Nothing was imported."
                raise
        if not pending:
            for _, bundle in out:
                bundle.complete()
        return out


def _read_text(text: str, source: str) -> tuple[list[TraceBundle], list[RawSpan]]:
    """A native export's bundles, or an OTLP file's spans; errors name the file."""
    head = text.lstrip()[:200]
    if not head:
        raise InvalidInput(f"{source}: the file is empty.", "Give an OTLP/JSON or agenttrace-replay export file.")
    from agenttrace_replay.importers import native_document

    try:
        document = native_document(text)
        if document is not None:
            from agenttrace_replay.importers.native import parse_native

            return parse_native(document), []
        from agenttrace_replay.importers.otlp import _text, read_file

        natives, spans = read_file(_text(text))
        if not natives:
            return [], spans
        from agenttrace_replay.importers.native import parse_native

        bundles = []
        for where, document in natives:  # exports one per line or appended to one file
            try:
                bundles.extend(parse_native(document))
            except InvalidInput as exc:
                raise InvalidInput(f"{where}{exc.message}", exc.hint) from exc
        return bundles, spans
    except InvalidInput as exc:
        message = exc.message if exc.message.endswith((".", "!", "?")) else exc.message + "."
        raise InvalidInput(f"{source}: {message}", exc.hint or "Nothing was imported.") from exc


@contextmanager
def gc_paused() -> Iterator[None]:
    """Keep the cyclic garbage collector off while a file is imported or a trace read.

    An import allocates a few hundred thousand objects that all stay alive until it ends, so
    the collector would walk the whole decoded file again and again for nothing (the import
    makes no reference cycles); that cost 10 ms on the median import of the benchmark trace,
    and reading a trace of 20,000 spans took 1.2 s instead of 0.65 s.
    It is switched back on afterwards only if it was on before. The switch is process-wide:
    a program that imports while other work runs in it gets no cyclic collection for that
    long (reference counting still frees everything else).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


_INT32 = 2**31 - 1
_INT64 = 2**63 - 1
_BIGINT = frozenset(("total_tokens", "input_tokens", "output_tokens"))  # bigint columns
_TEXT = (str, type(None))


def _check_types(record: Any, where: Callable[[], str], rules: dict[str, tuple[Any, ...]]) -> None:
    """Each field has one of its allowed types (``int`` never accepts a bool) and fits its column;
    a float is finite (a cost that adds up to infinity would make every JSON output invalid)."""
    for name, allowed in rules.items():
        value = getattr(record, name)
        kind = type(value)
        if kind in allowed and kind is not int and kind is not float:  # the usual case
            continue
        ok = isinstance(value, allowed) and not (isinstance(value, bool) and bool not in allowed)
        if ok and isinstance(value, int) and not isinstance(value, bool):
            ok = abs(value) <= (_INT64 if name in _BIGINT else _INT32)
        elif ok and isinstance(value, float):
            ok = math.isfinite(value)
        if not ok:
            kinds = " or ".join("null" if t is type(None) else t.__name__ for t in allowed)
            raise InvalidInput(f"{where()}: {name} must be {kinds} (in range), found {value!r:.60}.")


def _check_messages(payload: Any, where: Callable[[], str]) -> None:
    """A model call's `messages`, in the shape of docs/messages.md as far as everything that
    reads them relies on it: objects with a text role, tool calls a list of objects. (OTLP
    payloads are built in that shape; this guards the native format.)"""
    if not isinstance(payload, dict) or "messages" not in payload:
        return
    messages = payload["messages"]
    if not isinstance(messages, list):
        raise InvalidInput(f"{where()}.messages must be a list of messages, found {messages!r:.60}.")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or not isinstance(message.get("role"), str):
            raise InvalidInput(f"{where()}.messages[{index}] must be an object with a text role, found {message!r:.60}.")
        calls = message.get("tool_calls")
        if calls is not None and not (isinstance(calls, list) and all(isinstance(c, dict) for c in calls)):
            raise InvalidInput(f"{where()}.messages[{index}].tool_calls must be a list of objects, found {calls!r:.60}.")


def validate_bundle(bundle: TraceBundle, source: str) -> None:
    """Checks the database would otherwise reject mid-import, as clear messages."""
    trace = bundle.trace
    if not isinstance(trace.trace_id, str) or not trace.trace_id:
        raise InvalidInput(f"{source}: a trace has no text trace_id (found {trace.trace_id!r:.60}).")
    if ids.too_long(trace.trace_id):
        raise InvalidInput(f"{source}: a trace id is longer than {ids.MAX_ID_LENGTH:,} bytes ({trace.trace_id[:40]!r}...).")
    where = f"{source}: trace {trace.trace_id}"
    _check_types(trace, lambda: where, _TRACE_TYPES)
    for agent in bundle.agents:
        _check_types(agent, lambda: f"{where}: agent {agent.agent_id!r:.60}", _AGENT_TYPES)
        if agent.trace_id != trace.trace_id:
            raise InvalidInput(f"{where}: agent {agent.agent_id} names another trace ({agent.trace_id!r:.60}).")
    for span in bundle.spans:
        _check_types(span, lambda: f"{where}: span {span.span_id!r:.60}", _SPAN_TYPES)
        if span.trace_id != trace.trace_id:
            raise InvalidInput(f"{where}: span {span.span_id} names another trace ({span.trace_id!r:.60}).")
        if span.kind == "llm_call":  # other spans' payloads are whatever the agent passed
            _check_messages(span.input, lambda: f"{where}: span {span.span_id!r:.60}: input")
            _check_messages(span.output, lambda: f"{where}: span {span.span_id!r:.60}: output")
    if trace.status not in TRACE_STATUSES:
        raise InvalidInput(f"{where}: status {trace.status!r} is not one of {', '.join(TRACE_STATUSES)}.")
    seen: set[str] = set()
    for span in bundle.spans:
        if not span.span_id:
            raise InvalidInput(f"{where}: a span has no span_id.")
        if ids.too_long(span.span_id):
            raise InvalidInput(f"{where}: span id {span.span_id[:40]!r}... is longer than {ids.MAX_ID_LENGTH:,} bytes.")
        if span.span_id in seen:
            raise InvalidInput(f"{where}: span id {span.span_id} appears twice.")
        seen.add(span.span_id)
        if span.kind is not None and span.kind not in SPAN_KINDS:
            raise InvalidInput(f"{where}: span {span.span_id} has unknown kind {span.kind!r}.")
        if span.status not in SPAN_STATUSES:
            raise InvalidInput(f"{where}: span {span.span_id} has unknown status {span.status!r}.")
    agent_ids = [a.agent_id for a in bundle.agents]
    if any(ids.too_long(agent_id) for agent_id in agent_ids):
        raise InvalidInput(f"{where}: an agent id is longer than {ids.MAX_ID_LENGTH:,} bytes.")
    if len(agent_ids) != len(set(agent_ids)):
        raise InvalidInput(f"{where}: an agent id appears twice.")
    _check_no_cycle(bundle, where)


def _check_no_cycle(bundle: TraceBundle, where: str) -> None:
    """No span is its own ancestor: every reader walks the spans as a tree."""
    parent = {s.span_id: s.parent_span_id for s in bundle.spans}
    done: set[str] = set()  # spans whose ancestry is known to end at a root
    for span in bundle.spans:
        path: set[str] = set()
        current: str | None = span.span_id
        while current is not None and current in parent and current not in done:
            if current in path:
                raise InvalidInput(
                    f"{where}: span {current} is its own ancestor (its parent_span_id chain loops).",
                    "Fix the parent ids in the file; nothing was imported.",
                )
            path.add(current)
            current = parent[current]
        done.update(path)


_NUMBER = (int, float)
_TIME = (datetime, type(None))
_TRACE_TYPES: dict[str, tuple[Any, ...]] = {
    "name": _TEXT, "start_time": _TIME, "end_time": _TIME, "status": (str,), "metadata": (dict, type(None)),
    "total_tokens": (int,), "total_cost_usd": _NUMBER, "total_latency_ms": (*_NUMBER, type(None)),
    "agent_count": (int,),
}
_AGENT_TYPES: dict[str, tuple[Any, ...]] = {
    "agent_id": (str,), "name": (str,), "role": _TEXT, "model": _TEXT, "framework": _TEXT,
    "config": (dict, type(None)),
}
_SPAN_TYPES: dict[str, tuple[Any, ...]] = {
    "span_id": (str,), "parent_span_id": _TEXT, "agent_id": _TEXT, "name": (str,), "kind": _TEXT,
    "start_time": _TIME, "end_time": _TIME, "status": (str,), "model": _TEXT,
    "input_tokens": (int, type(None)), "output_tokens": (int, type(None)), "cost_usd": (*_NUMBER, type(None)),
    "error": _TEXT, "attributes": (dict, type(None)),
}  # fmt: skip


async def import_bundles(
    db: "Database | asyncpg.Pool",
    bundles: list[TraceBundle],
    *,
    replace: bool = False,
    discard: bool = False,
    on_spans: Callable[[int], None] | None = None,
    on_wait: Callable[[], None] | None = None,
) -> ImportResult:
    """Write the bundles in one transaction. Traces already present are skipped unless ``replace``.

    With ``replace``, a stored trace identical to the one given is left as it is, with its
    checkpoints and replays (``unchanged``); a changed one is deleted and stored again
    (``replaced``). Its checkpoints and replays belong to the old version and go with it,
    which needs ``discard``: without it, `WouldDiscard` is raised and nothing is written.

    ``on_spans(n)`` is called as spans are stored, a batch at a time (and with a skipped
    trace's span count), so the calls add up to the bundles' spans: a progress bar's steps.
    Imports into one database take turns; ``on_wait()`` is called when this one has to wait.
    """
    db = Database.wrap(db)  # an asyncpg pool works too
    result = ImportResult()
    with gc_paused():
        await _import(db, bundles, replace, discard, on_spans or _ignore, on_wait or _nothing, result)
    return result


def _nothing() -> None:
    pass


def _ignore(_count: int) -> None:
    pass


async def _import(
    db: Database, bundles: list[TraceBundle], replace: bool, discard: bool, on_spans: Callable[[int], None],
    on_wait: Callable[[], None], result: ImportResult,
) -> None:
    async with db.transaction() as conn:
        # one import at a time: two imports of the same traces each waited for rows the other
        # had written first (in other orders, or one deleting a trace to replace it): deadlocks
        if not await conn.fetchval(db.q.try_lock_imports):
            on_wait()
            await conn.execute(db.q.lock_imports)
        if replace:
            bundles = await _replace(conn, db, bundles, discard, result, on_spans)
        await _write_bundles(conn, db, bundles, result, on_spans)


async def _replace(
    conn: Any, db: Database, bundles: list[TraceBundle], discard: bool, result: ImportResult,
    on_spans: Callable[[int], None],
) -> list[TraceBundle]:
    """Delete the stored traces that the bundles change; the bundles still to write."""
    from agenttrace_replay.importers.native import bundle_to_dict

    trace_ids = list(dict.fromkeys(b.trace.trace_id for b in bundles))
    await conn.fetch(db.q.lock_stored_traces, trace_ids)
    # counted after the lock, in a statement of its own: what committed while it waited counts
    stored = {r["trace_id"]: (r["checkpoints"], r["replays"]) for r in await conn.fetch(db.q.work_of_traces, trace_ids)}
    copies: dict[str, list[TraceBundle]] = {}
    for bundle in bundles:
        copies.setdefault(bundle.trace.trace_id, []).append(bundle)
    changed: dict[str, tuple[int, int]] = {}
    to_write = []
    for trace_id, given in copies.items():
        if trace_id not in stored:
            to_write.extend(given)
            continue
        new = [bundle_to_dict(b.complete()) for b in given]
        if any(not _same_trace(new[0], other) for other in new[1:]):
            error = InvalidInput(
                f"trace {trace_id} is given twice, with different content.",
                "Import one of the two copies. Nothing was imported.",
            )
            error.trace_id = trace_id  # type: ignore[attr-defined]
            raise error
        old = bundle_to_dict(await _read_trace(conn, db, trace_id))
        if _same_trace(old, new[0]):
            result.unchanged.append(trace_id)
            on_spans(sum(len(b.spans) for b in given))
        else:
            changed[trace_id] = stored[trace_id]
            to_write.extend(given)
    discards = {t: counts for t, counts in changed.items() if any(counts)}
    if discards and not discard:
        first, (checkpoints, replays) = next(iter(discards.items()))
        more = f" (and {len(discards) - 1} more trace(s))" if len(discards) > 1 else ""
        raise WouldDiscard(
            f"trace {first} is stored with {checkpoints} checkpoint(s) and {replays} replay(s), which replacing it "
            f"with the changed copy given would delete{more}.",
            "Pass --yes to replace it anyway, or leave --replace out to keep the stored one. Nothing was imported.",
            discards,
        )
    if changed:
        await conn.execute(db.q.delete_traces, list(changed))
        result.replaced = list(changed)
        result.discarded_checkpoints = sum(c for c, _ in changed.values())
        result.discarded_replays = sum(r for _, r in changed.values())
    return to_write


def _same_trace(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether a stored trace (`bundle_to_dict`) holds what is given for it, span order aside,
    as JSON compares: `true` is not `1`, while numbers are equal by value (jsonb keeps `1e23`
    as 100000000000000000000000), and an empty metadata or config is stored for a missing one."""
    if len(a["spans"]) != len(b["spans"]) or len(a["agents"]) != len(b["agents"]):
        return False
    spans_a = {s["span_id"]: s for s in a["spans"]}
    spans_b = {s["span_id"]: s for s in b["spans"]}
    return (
        _same_json(_filled(a["trace"], "metadata"), _filled(b["trace"], "metadata"))
        and all(_same_json(_filled(x, "config"), _filled(y, "config")) for x, y in zip(a["agents"], b["agents"]))
        and spans_a.keys() == spans_b.keys()
        and all(_same_json(spans_a[k], spans_b[k]) for k in spans_a)
    )


def _filled(record: dict[str, Any], key: str) -> dict[str, Any]:
    return {**record, key: record.get(key) or {}}


def _same_json(a: Any, b: Any) -> bool:
    """Equality as JSON values, iteratively (no recursion limit)."""
    stack = [(a, b)]
    while stack:
        x, y = stack.pop()
        if isinstance(x, bool) or isinstance(y, bool):
            if not (type(x) is type(y) and x == y):
                return False
        elif isinstance(x, (int, float)) and isinstance(y, (int, float)):
            if _number(x) != _number(y):
                return False
        elif isinstance(x, dict) and isinstance(y, dict):
            if x.keys() != y.keys():
                return False
            stack.extend((x[k], y[k]) for k in x)
        elif isinstance(x, list) and isinstance(y, list):
            if len(x) != len(y):
                return False
            stack.extend(zip(x, y))
        elif type(x) is not type(y) or x != y:
            return False
    return True


def _number(value: int | float) -> Any:
    from decimal import Decimal

    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


# What a write raises for a value validate_bundle let through (a NUL character, say); the
# transaction then rolls back. Only the database calls are wrapped: an error while working
# out payloads is the importer's own and is reported as what it is.
_REFUSED = (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError, OverflowError, ValueError)


@contextmanager
def _refusal(trace_of: Callable[[BaseException], str | None]) -> Iterator[None]:
    """A value the database refused, as InvalidInput naming its trace (`trace_of(error)`)."""
    try:
        yield
    except _REFUSED as exc:
        # asyncpg raises it as it is from a jsonb value, wrapped in a DataError from a text column
        unicode = exc if isinstance(exc, UnicodeEncodeError) else exc.__cause__ or exc.__context__
        trace_id = trace_of(exc)
        where = f"trace {trace_id}: " if trace_id else ""
        if isinstance(unicode, UnicodeEncodeError) and unicode.reason == "surrogates not allowed":
            code = ord(unicode.object[unicode.start]) if isinstance(unicode.object, str) else 0
            error = InvalidInput(
                f"{where}a text holds a lone UTF-16 surrogate (\\u{code:04x}), which no UTF-8 text can hold.",
                "Fix the \\u escapes in the file (a pair like \\ud83d\\ude00 is fine). Nothing was imported.",
            )
        else:
            reason = str(exc).splitlines()[0]
            error = InvalidInput(f"{where}the database refused {'it' if trace_id else 'a value'}: {reason}.")
        error.trace_id = trace_id  # type: ignore[attr-defined]  # which file, for the CLI
        raise error from exc


def _trace_of_row(
    rows: list[tuple[Any, ...]], owners: list[TraceBundle], exc: BaseException
) -> str | None:
    """The trace a COPY of `rows` (`owners[i]` is row i's bundle) was refused for. The server
    names the row's line last in its error context; a text that cannot be encoded is looked
    for; a refusal of neither kind (a number out of range, a foreign key) is put down to the
    batch's one trace, or else to the first whose values the checks of `trace import` refuse.
    None rather than a guess."""
    lines = (getattr(exc, "context", None) or "").splitlines()
    line = re.fullmatch(r"COPY \S+, line (\d+)(?:, column \S+)?", lines[-1]) if lines else None
    if line and 1 <= int(line.group(1)) <= len(rows):
        return owners[int(line.group(1)) - 1].trace.trace_id
    unicode = exc if isinstance(exc, UnicodeEncodeError) else exc.__cause__ or exc.__context__
    if isinstance(unicode, UnicodeEncodeError) and isinstance(unicode.object, str):
        for row, owner in zip(rows, owners):
            if any(_holds_text(value, unicode.object) for value in row):
                return owner.trace.trace_id
    suspects = list({id(owner): owner for owner in owners}.values())
    if len(suspects) == 1:
        return suspects[0].trace.trace_id
    for bundle in suspects:
        try:
            validate_bundle(bundle, "")
        except InvalidInput:
            return bundle.trace.trace_id
    return None


def _holds_text(value: Any, text: str) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if item == text:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


async def _write_bundles(
    conn: Any, db: Database, bundles: list[TraceBundle], result: ImportResult, on_spans: Callable[[int], None]
) -> None:
    """The traces' rows in one statement, all their spans by COPY in batches that run on from
    one trace into the next, then all their agents in one COPY: a Collector file of a thousand
    small traces takes a few dozen round trips, not thousands. A trace already stored is
    skipped (importing again changes nothing), once its spans are checked to be stored too."""
    inserted = await _insert_traces(conn, db, bundles)
    new: list[TraceBundle] = []
    skipped: list[TraceBundle] = []
    for bundle in bundles:
        if bundle.trace.trace_id in inserted:
            inserted.discard(bundle.trace.trace_id)  # the first copy is written, any other checked
            new.append(bundle)
        else:
            skipped.append(bundle)
    written = {bundle.trace.trace_id for bundle in new}
    copies = [bundle for bundle in skipped if bundle.trace.trace_id in written]
    for bundle in skipped:  # stored before this import: checked before anything is written
        if bundle.trace.trace_id not in written:
            await _check_nothing_new(conn, db, bundle, earlier=False)
            on_spans(len(bundle.spans))
    if any(bundle.spans for bundle in new):
        await _copy_spans(conn, db, new, on_spans)
    # after the spans: a pending bundle's agent config comes from their payloads
    owners = [b for b in new for _ in b.agents]
    rows = [(b.trace.trace_id, a.agent_id, a.name, a.role, a.model, a.framework, a.config or {}) for b in new for a in b.agents]
    if rows:
        with _refusal(lambda exc: _trace_of_row(rows, owners, exc)):
            await conn.copy_records_to_table("agents", schema_name=db.schema, columns=AGENT_COLUMNS, records=rows)
    for bundle in copies:
        await _check_nothing_new(conn, db, bundle, earlier=True)
        on_spans(len(bundle.spans))
    for bundle in new:
        result.imported.append(bundle.trace.trace_id)
        result.spans += len(bundle.spans)
    result.skipped.extend(bundle.trace.trace_id for bundle in skipped)


async def _insert_traces(conn: Any, db: Database, bundles: list[TraceBundle]) -> set[str]:
    """Insert the traces' rows; the ids of those that were not stored yet."""
    rows = [
        (t.trace_id, t.name, t.start_time, t.end_time, t.status, t.metadata or {}, t.total_tokens, t.total_cost_usd,
         t.total_latency_ms, t.agent_count)
        for t in (bundle.trace for bundle in bundles)
    ]  # fmt: skip
    if len(rows) > 1:
        # the stored ones held until the import commits: one deleted meanwhile would make the
        # check of a skipped trace's spans fail (one trace alone is checked at once instead)
        await conn.fetch(db.q.share_stored_traces, [row[0] for row in rows])
        try:
            async with conn.transaction():  # a savepoint: a refused row is then looked for one at a time
                return {r[0] for r in await conn.fetch(db.q.insert_traces, *zip(*rows))}
        except _REFUSED:
            pass
    inserted = set()
    for row in rows:  # one trace, or finding the one refused (the import then rolls back)
        with _refusal(lambda _exc: row[0]):
            if await conn.fetchval(db.q.insert_trace, *row) is not None:
                inserted.add(row[0])
    return inserted


async def _check_nothing_new(conn: Any, db: Database, bundle: TraceBundle, *, earlier: bool) -> None:
    """Refuse to skip a stored trace when this file has spans of it that are not stored.

    That is a trace split over several files (a rotated Collector file, a run exported in
    parts) imported a part at a time: skipping the later part would lose its spans unseen.
    `earlier`: the stored copy came from this same import (two exports of one trace).
    """
    stored = {row[0] for row in await conn.fetch(db.q.span_ids_of_trace, bundle.trace.trace_id)}
    new = sum(1 for span in bundle.spans if span.span_id not in stored)
    if new:
        trace_id = bundle.trace.trace_id
        if earlier:
            error = InvalidInput(
                f"trace {trace_id} is given twice, with different spans.",
                "Import one of the two copies. Nothing was imported.",
            )
        else:
            error = InvalidInput(
                f"trace {trace_id} is already stored, without {new} of the {len(bundle.spans)} spans given for it "
                "now (is it split over several files?).",
                "Import all of its files in one command, with --replace to store them together. Nothing was imported.",
            )
        error.trace_id = trace_id  # type: ignore[attr-defined]
        raise error


async def _copy_spans(conn: Any, db: Database, bundles: list[TraceBundle], on_spans: Callable[[int], None]) -> None:
    """COPY the bundles' spans in batches, each sent while the next one is being worked out.

    One streamed COPY leaves the server's per-row foreign-key checks of every span to the
    end of the statement, after the last span is ready (measured: no faster than waiting).
    Batches overlap the two: a batch goes out as soon as the server has finished the one
    before, and grows while it is busy. All of it is one transaction, as before.
    """

    async def copy(rows: list[tuple[Any, ...]], owners: list[TraceBundle]) -> None:
        with _refusal(lambda exc: _trace_of_row(rows, owners, exc)):
            await conn.copy_records_to_table("spans", schema_name=db.schema, columns=SPAN_COLUMNS, records=rows)
        on_spans(len(rows))

    copying: asyncio.Task[None] | None = None
    batch: list[tuple[Any, ...]] = []
    owners: list[TraceBundle] = []  # each row's bundle
    try:
        for bundle, span in ((bundle, span) for bundle in bundles for span in bundle.completing()):
            batch.append(_span_row(span))
            owners.append(bundle)
            if len(batch) % _YIELD_EVERY == 0:
                await asyncio.sleep(0)  # the event loop sends what the socket has not taken yet
                if copying is None or copying.done():
                    if copying is not None:
                        copying.result()  # the server's error, if it refused a row
                    if len(batch) >= _MIN_BATCH:
                        copying, batch, owners = asyncio.create_task(copy(batch, owners)), [], []
        if copying is not None:
            await _unless_lost(conn, copying)
        if batch:
            await _unless_lost(conn, asyncio.create_task(copy(batch, owners)))
    except BaseException:
        if copying is not None:  # never leave a COPY running on the connection
            try:
                await _unless_lost(conn, copying)
            except BaseException:
                pass  # the error being raised is the one to report
        raise


async def _unless_lost(conn: Any, task: "asyncio.Task[None]") -> None:
    """Wait for a COPY, or give up on it once its connection is closed: asyncpg's COPY can
    wait forever for a socket the server has closed under it (seen with the server ending
    the connection mid-import)."""
    while True:
        done, _ = await asyncio.wait([task], timeout=0.5)
        if done:
            return task.result()
        if conn.is_closed():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise asyncpg.ConnectionDoesNotExistError("the connection to the database was closed during the import")


_YIELD_EVERY = 8
_MIN_BATCH = 16


def _span_row(s: SpanRecord) -> tuple[Any, ...]:
    return (
        s.trace_id, s.span_id, s.parent_span_id, s.agent_id, s.name, s.kind, s.start_time, s.end_time,
        s.status, s.model, s.input_tokens, s.output_tokens, s.cost_usd, s.input, s.output, s.error,
        s.attributes or {},
    )


async def resolve_trace_id(db: "Database | asyncpg.Pool", given: str, conn: Any = None) -> str:
    db = Database.wrap(db)  # an asyncpg pool works too
    if conn is None:
        async with db.acquire() as conn:
            return await ids.resolve(conn, db.q.trace_ids_matching, given, "trace", TRACE_HINT)
    return await ids.resolve(conn, db.q.trace_ids_matching, given, "trace", TRACE_HINT)


async def list_traces(
    db: "Database | asyncpg.Pool", *, name: str | None = None, status: str | None = None, since: datetime | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    db = Database.wrap(db)  # an asyncpg pool works too
    if status is not None and status not in TRACE_STATUSES:
        raise InvalidInput(f"unknown status {status!r}.", f"Use one of: {', '.join(TRACE_STATUSES)}.")
    if not 1 <= limit <= _INT64:
        raise InvalidInput("--limit must be between 1 and 2^63 - 1.")
    if name is not None:  # literal text: '_' and '%' in a name are not wildcards
        name = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    async with db.acquire() as conn:
        rows = await conn.fetch(db.q.list_traces, name, status, since, limit)
    return [dict(r) for r in rows]


async def get_trace(db: "Database | asyncpg.Pool", trace_id: str) -> TraceBundle:
    """The whole trace (a unique id prefix is enough); spans in execution order."""
    db = Database.wrap(db)  # an asyncpg pool works too
    async with db.acquire() as conn:
        # one snapshot: a trace deleted or replaced meanwhile is read whole or not at all
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            full_id = await resolve_trace_id(db, trace_id, conn)
            return await _read_trace(conn, db, full_id)


async def _read_trace(conn: Any, db: Database, full_id: str) -> TraceBundle:
    row = await conn.fetchrow(db.q.get_trace, full_id)
    if row is None:  # deleted since its id was looked up
        raise NotFound(f"trace {full_id} was deleted meanwhile.", TRACE_HINT)
    agents = await conn.fetch(db.q.get_agents, full_id)
    with gc_paused():  # the spans' decoded payloads: half the time of reading a large trace otherwise
        spans = await conn.fetch(db.q.get_spans, full_id)
        return _bundle(row, agents, spans)


def _bundle(row: Any, agents: list[Any], spans: list[Any]) -> TraceBundle:
    fields = dict(row)
    version = fields.pop("imported_at")
    return TraceBundle(
        TraceRecord(**fields), [AgentRecord(**dict(a)) for a in agents], [SpanRecord(**dict(s)) for s in spans],
        version=version,
    )


async def export_traces(db: "Database | asyncpg.Pool", trace_ids: list[str]) -> str:
    """The traces (ids or unique prefixes) in the native format, read in one snapshot: an id
    looked up each, then three queries for all of them (read one by one, in a transaction
    each, 5,000 traces took 2.3 ms each)."""
    db = Database.wrap(db)  # an asyncpg pool works too
    from agenttrace_replay.importers.native import dumps

    async with db.acquire() as conn:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            # a trace named twice (by two prefixes) is exported once
            full_ids = list(dict.fromkeys([await resolve_trace_id(db, given, conn) for given in trace_ids]))
            with gc_paused():
                rows = {r["trace_id"]: r for r in await conn.fetch(db.q.get_traces, full_ids)}
                agents: dict[str, list[Any]] = {}
                for agent in await conn.fetch(db.q.get_agents_of_traces, full_ids):
                    agents.setdefault(agent["trace_id"], []).append(agent)
                spans: dict[str, list[Any]] = {}
                for span in await conn.fetch(db.q.get_spans_of_traces, full_ids):
                    spans.setdefault(span["trace_id"], []).append(span)
                bundles = [_bundle(rows[t], agents.get(t, []), spans.get(t, [])) for t in full_ids]
    with gc_paused():
        return dumps(bundles)


async def delete_trace(db: "Database | asyncpg.Pool", trace_id: str) -> str:
    """Delete a trace with its agents, spans, checkpoints and replays, in one transaction."""
    db = Database.wrap(db)  # an asyncpg pool works too
    async with db.transaction() as conn:
        full_id = await resolve_trace_id(db, trace_id, conn)
        await conn.execute(db.q.delete_trace, full_id)
    return full_id
