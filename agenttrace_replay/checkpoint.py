"""Checkpoints: the agent's state just before a span, saved and restored.

See docs/checkpoints.md for what a state holds and how it is stored. Library API::

    manager = CheckpointManager(pool)
    ids = await manager.auto_checkpoint_trace("trace-123")
    state = await manager.restore(ids[0])
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable

import asyncpg

from agenttrace_replay import ids as idlib
from agenttrace_replay import traces
from agenttrace_replay.db import Database
from agenttrace_replay.errors import DatabaseUnavailable, InvalidInput, NotFound
from agenttrace_replay.records import SPAN_KINDS
from agenttrace_replay.state import StateView, agent_info, iter_states, span_info
from agenttrace_replay.db.codecs import RawJSON
from agenttrace_replay.storage import HASH_SIZE, ListRow, ListStore, Prefix, canonical, digest_text, split_hashes

DEFAULT_KINDS = ("llm_call", "tool_call", "handoff", "checkpoint")
CHECKPOINT_COLUMNS = (
    "checkpoint_id", "trace_id", "span_id", "step", "name", "auto", "span_kind", "span_name", "agent_id",
    "span_hash", "agent_hash", "input_hash",
)
LIST_COLUMNS = ("checkpoint_id", "list", "base_checkpoint_id", "base_list", "keep", "added", "pos")
CHECKPOINT_HINT = "List checkpoints with: agenttrace-replay checkpoint list TRACE"
_FULL_ID = re.compile(r"chk-[0-9a-f]{12}")
# Lists whose candidates for a shared prefix are the predecessor's lists of the same name and
# the lists named here (an LLM call's prompt usually repeats the agent's history).
_ALSO_TRY = {"input_messages": ("messages",), "messages": ("input_messages",)}


def checkpoint_id_for(trace_id: str, span_id: str) -> str:
    """A stable id: the same trace and span give the same checkpoint id in any database."""
    return "chk-" + hashlib.blake2b(f"{trace_id}\x00{span_id}".encode(), digest_size=6).hexdigest()


@dataclass
class Checkpoint:
    checkpoint_id: str
    trace_id: str
    span_id: str
    step: int
    name: str | None = None
    auto: bool = False
    span_kind: str | None = None
    span_name: str | None = None
    agent_id: str | None = None
    agent_name: str | None = None
    created_at: datetime | None = None
    replay_count: int = 0
    last_replayed_at: datetime | None = None
    state: dict[str, Any] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "state"}
        if self.state is not None:
            data["state"] = self.state
        return data


def _parts(state: StateView) -> tuple[dict[str, Any], dict[str, Prefix]]:
    """The state as single values and lists of values to store, by name."""
    inp = state.span.input
    single = {"span": span_info(state.span, state.parent_chain), "agent": agent_info(state.agent), "input": inp}
    lists = {"messages": state.messages, "completed": state.completed}
    if isinstance(inp, dict) and isinstance(inp.get("messages"), list):
        single["input"] = {k: v for k, v in inp.items() if k != "messages"}
        lists["input_messages"] = Prefix(inp["messages"], len(inp["messages"]))
    return single, lists


class _Hasher:
    """Hashes values, each distinct object once (states share their message objects).

    The cache is keyed by ``id()`` and keeps the object alive: an id is only unique while
    its object lives, and a temporary's id is soon reused by another value.
    """

    def __init__(self) -> None:
        self.blobs: dict[bytes, Any] = {}
        self._by_id: dict[int, tuple[Any, bytes]] = {}
        self._lists: dict[int, tuple[list[Any], list[bytes]]] = {}

    def __call__(self, value: Any) -> bytes:
        key = id(value)
        cached = self._by_id.get(key)
        if cached is not None and cached[0] is value:
            return cached[1]
        text = canonical(value)
        h = digest_text(text)
        self.blobs.setdefault(h, RawJSON(text))
        if isinstance(value, (dict, list)):  # mutable containers only: cheap values are hashed again
            self._by_id[key] = (value, h)
        return h

    def prefix(self, values: Prefix) -> Prefix:
        """Hashes of a Prefix, as a Prefix: one hash list per value list, which only grows with
        it, so a state's lists cost the hashing of their new values only."""
        entry = self._lists.get(id(values.items))
        if entry is None:
            entry = self._lists[id(values.items)] = (values.items, [])
        hashes = entry[1]
        hashes.extend(map(self, values.items[len(hashes) : values.length]))
        return Prefix(hashes, values.length)


class _ContentMissing(Exception):
    """A checkpoint's row was read but some of its blobs were not there."""


class CheckpointManager:
    """Create, read and delete checkpoints. Accepts an asyncpg pool or a `Database`."""

    def __init__(self, db_pool: Any, schema: str | None = None) -> None:
        self.db = Database.wrap(db_pool, schema)
        # where the last create or auto spent its time (the benchmark reads it): reading the
        # trace's checkpoints, encoding in Python, and the write transaction
        self.last_timings: dict[str, float] = {}

    # --- ids ---------------------------------------------------------------------------
    async def resolve_id(self, checkpoint_id: str, conn: Any = None) -> str:
        if conn is None:
            async with self.db.acquire() as conn:
                return await idlib.resolve(conn, self.db.q.checkpoint_ids_matching, checkpoint_id, "checkpoint", CHECKPOINT_HINT)
        return await idlib.resolve(conn, self.db.q.checkpoint_ids_matching, checkpoint_id, "checkpoint", CHECKPOINT_HINT)

    async def _resolve_span(self, conn: Any, trace_id: str, span_id: str) -> str:
        q = self.db.q
        idlib.require(span_id, "span", f"See the trace's spans with: agenttrace-replay trace show {trace_id}")
        span_id, rows = await idlib.matching(conn, q.span_ids_matching, span_id, trace_id)
        if rows and (rows[0] == span_id or len(rows) == 1):
            return rows[0]
        if rows:
            from agenttrace_replay.errors import AmbiguousId

            raise AmbiguousId(span_id, rows, "span")
        others = [r[0] for r in await conn.fetch(q.span_traces, span_id)]
        if others:
            raise InvalidInput(
                f"span {span_id} belongs to trace {', '.join(others)}, not to trace {trace_id}.",
                f"Use: agenttrace-replay checkpoint create {others[0]} --span {span_id}",
            )
        raise NotFound(
            f"no span '{span_id}' in trace {trace_id} (a span of another trace is found only by its full id).",
            f"See its spans with: agenttrace-replay trace show {trace_id}",
        )

    # --- creating ----------------------------------------------------------------------
    async def auto_checkpoint_trace(self, trace_id: str, kinds: Iterable[str] | None = None) -> list[str]:
        """One checkpoint before every span of the given kinds, in execution order.

        Idempotent: existing checkpoints are kept and their ids returned; concurrent runs on
        one trace are serialised by an advisory lock, so they produce one set.
        """
        ids, _created = await self.auto_checkpoint(trace_id, kinds)
        return ids

    async def auto_checkpoint(self, trace_id: str, kinds: Iterable[str] | None = None) -> tuple[list[str], int]:
        """Like `auto_checkpoint_trace`, and also says how many checkpoints were new."""
        if isinstance(kinds, str):  # "llm_call" or "llm_call,tool_call", not its letters
            kinds = [k.strip() for k in kinds.split(",") if k.strip()]
        wanted_kinds = tuple(kinds) if kinds is not None else DEFAULT_KINDS
        if not wanted_kinds:
            raise InvalidInput("the list of kinds names no span kind.", f"Give some of: {', '.join(SPAN_KINDS)}.")
        unknown = [k for k in wanted_kinds if k not in SPAN_KINDS]
        if unknown:
            raise InvalidInput(f"unknown span kind(s): {', '.join(unknown)}.", f"Use: {', '.join(SPAN_KINDS)}.")
        bundle = await traces.get_trace(self.db, trace_id)
        span_ids = [s.span_id for s in bundle.spans if s.kind in wanted_kinds]
        if not span_ids:
            return [], 0
        return await self._create(bundle, span_ids, auto=True)

    async def create_checkpoint(self, trace_id: str, span_id: str, name: str | None = None) -> str:
        """A checkpoint before one span; an existing checkpoint there is returned (and renamed)."""
        if name is not None and (not isinstance(name, str) or not name.strip()):
            # a blank name would look like no name in a listing, yet not be one
            raise InvalidInput("empty checkpoint name.", "Give the name some text, or leave the name out.")
        async with self.db.acquire() as conn:
            full_trace = await traces.resolve_trace_id(self.db, trace_id, conn)
            full_span = await self._resolve_span(conn, full_trace, span_id)
        bundle = await traces.get_trace(self.db, full_trace)
        if not any(span.span_id == full_span for span in bundle.spans):  # the trace was replaced meanwhile
            raise NotFound(f"span {full_span} is no longer in trace {full_trace} (replaced meanwhile?).", f"List its spans with: agenttrace-replay trace show {full_trace}")
        (checkpoint_id,), _created = await self._create(bundle, [full_span], auto=False, name=name)
        return checkpoint_id

    async def _create(self, bundle: Any, span_ids: list[str], *, auto: bool, name: str | None = None) -> tuple[list[str], int]:
        """Encode outside the transaction, against the checkpoints there now; then, under the
        trace's lock, write, or encode again if another run changed the trace's checkpoints
        in between. The transaction holds database work only, so it stays short."""
        trace_id = bundle.trace.trace_id
        q = self.db.q
        clock = time.perf_counter
        started = clock()
        async with self.db.acquire() as conn:
            seen = await self._existing(conn, trace_id)
            rows = await self._list_rows(conn, trace_id, seen, span_ids)
        read_done = clock()
        plan = self._plan(bundle, span_ids, seen, rows, auto=auto, name=name)
        write_started = clock()
        encode_s, reencode_s = write_started - read_done, 0.0
        try:
            async with self.db.transaction() as conn:
                await conn.execute(q.lock_trace, trace_id)
                existing = await self._existing(conn, trace_id)
                if existing != seen:  # another run wrote or deleted meanwhile
                    rows = await self._list_rows(conn, trace_id, existing, span_ids)
                    again = clock()
                    plan = self._plan(bundle, span_ids, existing, rows, auto=auto, name=name)
                    reencode_s = clock() - again
                missing = [s for s in span_ids if s not in existing]
                if plan is not None:
                    await self._insert(conn, trace_id, *plan)
                    existing.update({c.span_id: (c.checkpoint_id, c.step) for c in plan[0]})
                elif name is not None:
                    for span_id in span_ids:
                        await conn.execute(q.set_checkpoint_name, existing[span_id][0], name)
                # after the rows went in: their foreign keys now keep the trace row until commit
                await self._same_trace(conn, bundle)
        except asyncpg.ForeignKeyViolationError:  # the trace row went before the rows went in
            async with self.db.acquire() as conn:
                await self._same_trace(conn, bundle)  # says deleted or replaced
            raise
        finished = clock()
        self.last_timings = {
            "read_ms": (read_done - started) * 1000,
            "encode_ms": (encode_s + reencode_s) * 1000,
            "write_ms": (finished - write_started - reencode_s) * 1000,
            "created": len(missing),
        }
        return [existing[s][0] for s in sorted(span_ids, key=lambda s: existing[s][1])], len(missing)

    async def _same_trace(self, conn: Any, bundle: Any) -> None:
        """The trace the states were built from is still the stored one: one deleted or
        replaced (`trace import --replace`) meanwhile must not get checkpoints of the old
        copy's content. A plain read (no row lock, which would need UPDATE rights on traces):
        run after the checkpoint rows are in, whose foreign keys hold the row until commit."""
        if bundle.version is None:  # a bundle not read from the database: nothing to compare
            return
        trace_id = bundle.trace.trace_id
        version = await conn.fetchval(self.db.q.trace_version, trace_id)
        if version is None:
            raise NotFound(f"trace {trace_id} was deleted while its checkpoints were being made; none were written.", traces.TRACE_HINT)
        if version != bundle.version:
            raise DatabaseUnavailable(
                f"trace {trace_id} was replaced while its checkpoints were being made; none were written.",
                "Run the command again to checkpoint the new copy.",
            )

    async def _existing(self, conn: Any, trace_id: str) -> dict[str, tuple[str, int]]:
        """span id -> (checkpoint id, step) of every checkpoint of the trace."""
        return {r["span_id"]: (r["checkpoint_id"], r["step"]) for r in await conn.fetch(self.db.q.trace_checkpoints, trace_id)}

    async def _list_rows(self, conn: Any, trace_id: str, existing: dict[str, tuple[str, int]], span_ids: list[str]) -> list[ListRow]:
        if not existing or all(s in existing for s in span_ids):
            return []
        return [ListRow(**dict(r)) for r in await conn.fetch(self.db.q.trace_checkpoint_lists, trace_id)]

    def _plan(
        self, bundle: Any, span_ids: list[str], existing: dict[str, tuple[str, int]], rows: list[ListRow], *, auto: bool, name: str | None
    ) -> tuple[list[Checkpoint], dict[bytes, Any], list[ListRow]] | None:
        missing = [s for s in span_ids if s not in existing]
        if not missing:
            return None
        with traces.gc_paused():  # the states and their encoding: 20,000 steps 5.8 s, not 7.6
            return self._encode(bundle, missing, existing, ListStore(rows), auto=auto, name=name)

    def _encode(
        self, bundle: Any, span_ids: list[str], existing: dict[str, tuple[str, int]], store: ListStore, *, auto: bool, name: str | None
    ) -> tuple[list[Checkpoint], dict[bytes, Any], list[ListRow]]:
        trace_id = bundle.trace.trace_id
        agent_of = {s.span_id: s.agent_id for s in bundle.spans}
        # the trace's checkpoints there already, by step, merged with the new ones as they come
        # (in step order) to find each new one's predecessors
        before = sorted((step, cid, agent_of.get(sid)) for sid, (cid, step) in existing.items())
        seen = 0
        previous: str | None = None
        latest: dict[str | None, str] = {}  # agent id -> its latest checkpoint so far
        hasher = _Hasher()
        rows: list[ListRow] = []
        created: list[Checkpoint] = []

        for st in iter_states(bundle, span_ids):
            while seen < len(before) and before[seen][0] < st.step:
                _step, previous, agent_id = before[seen]
                latest[agent_id] = previous
                seen += 1
            cid = checkpoint_id_for(trace_id, st.span.span_id)
            same_agent = latest.get(st.span.agent_id)
            single, lists = _parts(st)
            singles = {part: hasher(value) for part, value in single.items()}
            for list_name, values in lists.items():
                candidates = []
                for base in dict.fromkeys(c for c in (same_agent, previous) if c):
                    candidates.append((base, list_name))
                    candidates += [(base, other) for other in _ALSO_TRY.get(list_name, ())]
                candidates += [(cid, other) for other in _ALSO_TRY.get(list_name, ()) if (cid, other) in store.rows]
                rows.append(store.encode(cid, list_name, hasher.prefix(values), candidates))
            previous = latest[st.span.agent_id] = cid
            created.append(Checkpoint(
                checkpoint_id=cid, trace_id=trace_id, span_id=st.span.span_id, step=st.step, name=name, auto=auto,
                span_kind=st.span.kind, span_name=st.span.name, agent_id=st.span.agent_id,
                state=singles,
            ))
        return created, hasher.blobs, rows

    async def _insert(self, conn: Any, trace_id: str, created: list[Checkpoint], blobs: dict[bytes, Any], rows: list[ListRow]) -> None:
        # COPY is safe without ON CONFLICT: the caller holds the trace's advisory lock, and
        # blobs the trace already has are filtered out first.
        known = {r[0] for r in await conn.fetch(self.db.q.known_blobs, trace_id, list(blobs))}
        schema = self.db.schema
        await conn.copy_records_to_table(
            "blobs", schema_name=schema, columns=("hash", "trace_id", "value"),
            records=[(h, trace_id, v) for h, v in blobs.items() if h not in known],
        )
        await conn.copy_records_to_table(
            "checkpoints", schema_name=schema, columns=CHECKPOINT_COLUMNS,
            records=[
                (c.checkpoint_id, trace_id, c.span_id, c.step, c.name, c.auto, c.span_kind, c.span_name, c.agent_id,
                 c.state["span"], c.state["agent"], c.state["input"])  # type: ignore[index]
                for c in created
            ],
        )
        await conn.copy_records_to_table(
            "checkpoint_lists", schema_name=schema, columns=LIST_COLUMNS,
            records=[(r.checkpoint_id, r.list, r.base_checkpoint_id, r.base_list, r.keep, r.added, r.pos) for r in rows],
        )
        for checkpoint in created:
            checkpoint.state = None

    # --- reading -----------------------------------------------------------------------
    async def restore(self, checkpoint_id: str) -> dict[str, Any]:
        """The state saved at a checkpoint (two queries for a full id)."""
        return (await self.get_checkpoint(checkpoint_id)).state or {}

    async def get_checkpoint(self, checkpoint_id: str) -> Checkpoint:
        with traces.gc_paused():  # a late checkpoint's state is a whole history of decoded values
            try:
                return await self._get_checkpoint(checkpoint_id)
            except _ContentMissing:
                # deleted (and its blobs with it) between the two reads: read again, which says
                # so, or gives a checkpoint of the same id created again meanwhile
                try:
                    return await self._get_checkpoint(checkpoint_id)
                except _ContentMissing as exc:
                    raise NotFound(f"checkpoint {exc.args[0]} refers to content that is missing from the database.") from exc

    async def _get_checkpoint(self, checkpoint_id: str) -> Checkpoint:
        q = self.db.q
        async with self.db.acquire() as conn:
            # a full id takes two queries (this one and the blobs); a prefix is resolved first
            full = checkpoint_id if _FULL_ID.fullmatch(checkpoint_id) else await self.resolve_id(checkpoint_id, conn)
            row = await conn.fetchrow(q.restore_checkpoint, full)
            if row is None:
                await self.resolve_id(checkpoint_id, conn)  # raises the not-found error
                raise NotFound(f"no checkpoint '{checkpoint_id}'.", CHECKPOINT_HINT)  # pragma: no cover - deleted meanwhile
            cid = row["checkpoint_id"]
            lists: dict[str, list[bytes]] = {}
            if row["ids"]:
                store = ListStore(
                    ListRow(*fields) for fields in zip(row["ids"], row["lists"], row["bases"], row["base_lists"], row["keeps"], row["added"])
                )
                lists = {name: store.value((cid, name)) for (c, name) in list(store.rows) if c == cid}
            singles = {"span": row["span_hash"], "agent": row["agent_hash"], "input": row["input_hash"]}
            wanted = {h for hashes in lists.values() for h in hashes} | set(singles.values())
            found = await conn.fetchrow(q.get_blobs, row["trace_id"], list(wanted))
            values = dict(zip(found["hashes"] or (), found["vals"] or ()))
        try:
            resolved = {name: [values[h] for h in hashes] for name, hashes in lists.items()}
            single = {name: values[h] for name, h in singles.items()}
        except KeyError as exc:
            raise _ContentMissing(cid) from exc
        inp = single["input"]
        if "input_messages" in resolved:
            inp = {**(inp or {}), "messages": resolved["input_messages"]}
        span = single["span"]
        checkpoint = Checkpoint(**{k: row[k] for k in (
            "checkpoint_id", "trace_id", "span_id", "step", "name", "auto", "span_kind", "span_name", "agent_id",
            "created_at", "replay_count", "last_replayed_at")})
        agent = single["agent"]
        checkpoint.agent_name = agent["name"] if agent else None
        checkpoint.state = {
            "checkpoint_id": cid,
            "trace_id": row["trace_id"],
            "step": row["step"],
            "span": span,
            "agent": agent,
            "messages": resolved.get("messages", []),
            "input": inp,
            "completed": resolved.get("completed", []),
        }
        return checkpoint

    async def list_checkpoints(self, trace_id: str) -> list[Checkpoint]:
        async with self.db.acquire() as conn:
            full = await traces.resolve_trace_id(self.db, trace_id, conn)
            rows = await conn.fetch(self.db.q.list_checkpoints, full)
        return [Checkpoint(**dict(r)) for r in rows]

    # --- deleting ----------------------------------------------------------------------
    async def delete_checkpoint(self, checkpoint_id: str) -> str:
        """Delete a checkpoint and its replays; checkpoints stored against it are re-encoded,
        and the stored values no other checkpoint of the trace uses go with it."""
        q = self.db.q
        async with self.db.transaction() as conn:
            full = await self.resolve_id(checkpoint_id, conn)
            trace_id = await conn.fetchval(q.checkpoint_trace, full)
            await conn.execute(q.lock_trace, trace_id)
            if trace_id is None or await conn.fetchval(q.checkpoint_trace, full) is None:  # deleted meanwhile
                raise NotFound(f"no checkpoint '{checkpoint_id}'.", CHECKPOINT_HINT)
            store = ListStore(ListRow(**dict(r)) for r in await conn.fetch(q.trace_checkpoint_lists, trace_id))
            singles = {r[0]: r[1:] for r in await conn.fetch(q.checkpoint_single_hashes, trace_id)}
            # what only this checkpoint may have used: its single values and its lists' own entries
            candidates = set(singles.pop(full, ())) | {
                h for key, row in store.rows.items() if key[0] == full for h in split_hashes(row.added)
            }
            changed = store.without(full)
            # point dependants away first, then delete (the foreign key checks both steps)
            for row in changed:
                await conn.execute(
                    q.update_checkpoint_list, row.checkpoint_id, row.list, row.base_checkpoint_id, row.base_list, row.keep, row.added, row.pos
                )
            await conn.execute(q.delete_checkpoint, full)
            unused = _unused(candidates, singles.values(), store.rows.values())
            if unused:
                await conn.execute(q.delete_blobs, trace_id, unused)
        return full


def _unused(candidates: set[bytes], singles: Iterable[Iterable[bytes]], rows: Iterable[ListRow]) -> list[bytes]:
    """The candidate hashes that no other checkpoint names: not among their single values,
    nor in any remaining list's own entries (a list's other entries are in its base's rows).

    A few candidates are searched for in all the entries at once (at C speed); many, as a
    checkpoint at a power-of-two step of a long trace has, are struck off entry by entry: a
    search per candidate took 141 s for the checkpoint at step 32,768 of a 60,000-step trace."""
    left = candidates - {h for hashes in singles for h in hashes}
    if not left:
        return []
    packed = b"".join(row.added for row in rows)  # every entry starts at a multiple of HASH_SIZE
    if len(left) <= _SEARCHED:
        return searched_unused(left, packed)
    for at in range(0, len(packed), HASH_SIZE):
        left.discard(packed[at : at + HASH_SIZE])
        if not left:
            break
    return list(left)


def searched_unused(hashes: Iterable[bytes], packed: bytes) -> list[bytes]:
    """The hashes that are no entry of `packed` (entries at multiples of HASH_SIZE), a search each."""
    unused = []
    for h in hashes:
        at = packed.find(h)
        while at != -1 and at % HASH_SIZE:
            at = packed.find(h, at + 1)
        if at == -1:
            unused.append(h)
    return unused


# Up to this many candidates a search each is quicker than one pass over every entry (a search
# reads about as many bytes per nanosecond as a pass takes nanoseconds per 16-byte entry).
_SEARCHED = 32
