"""The replay engine: re-execute an agent from a checkpoint and keep what happened.

Library API::

    executor = ReplayExecutor(CheckpointManager(pool), pool)
    result = await executor.replay("chk-3f2a", ReplayConfig(modified_input={"query": "..."}, dry_run=True))
    print(result.diff["summary"])

Every replay that reached its executor is stored, in one transaction with the checkpoint's
replay count: successful, failed and timed-out ones alike.
"""

from __future__ import annotations

import asyncio
import copy
import json
import math
import re
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from agenttrace_replay import ids as idlib
from agenttrace_replay.checkpoint import CheckpointManager
from agenttrace_replay.config import is_graph_path, is_http_url
from agenttrace_replay.db import Database
from agenttrace_replay.errors import AgentTraceError, DatabaseUnavailable, ExecutorError, InvalidInput, NotFound
from agenttrace_replay.executors.deadline import DeadlinePassed, Escaped, run_with_deadline
from agenttrace_replay.inputs import check_storable, merge_input
from agenttrace_replay.jsonio import STORED_NESTING, capped

if TYPE_CHECKING:
    from agenttrace_replay.executors.base import ExecutorConfig, ExecutorState

REPLAY_HINT = "List replays with: agenttrace-replay replay list TRACE"


@dataclass
class ReplayConfig:
    """How to replay. ``dry_run`` means the mock executor (no network, no LLM calls)."""

    modified_input: dict[str, Any] | None = None
    agent_overrides: dict[str, Any] | None = None
    stop_at_span: str | None = None
    timeout_seconds: float = 300
    dry_run: bool = False
    executor: str | None = None
    graph: str | None = None  # langgraph: "module:attr" of the compiled graph
    base_url: str | None = None  # openai: the Chat Completions endpoint
    api_key_env: str = "OPENAI_API_KEY"
    ignore: list[str] = field(default_factory=list)  # diff paths to ignore (glob patterns)
    settings: dict[str, Any] = field(default_factory=dict)  # the config file's executor table

    def stored(self) -> dict[str, Any]:
        """What a replay row keeps of its config (settings come from the config file)."""
        return {
            "modified_input": self.modified_input,
            "agent_overrides": self.agent_overrides,
            "stop_at_span": self.stop_at_span,
            "timeout_seconds": self.timeout_seconds,
            "dry_run": self.dry_run,
            "executor": self.executor,
            "graph": self.graph,
            "base_url": self.base_url,
            "ignore": self.ignore,
        }

    def validate(self) -> None:
        if self.modified_input is not None and not isinstance(self.modified_input, dict):
            raise InvalidInput("modified_input must be an object (a mapping of keys).")
        if self.agent_overrides is not None and not isinstance(self.agent_overrides, dict):
            raise InvalidInput("agent_overrides must be an object (a mapping of keys).")
        check_storable(self.modified_input, "modified_input")
        check_storable(self.agent_overrides, "agent_overrides")
        if not isinstance(self.timeout_seconds, (int, float)) or not 0 < self.timeout_seconds < math.inf:
            raise InvalidInput(f"timeout must be a positive, finite number of seconds, not {self.timeout_seconds!r}.")
        for name in ("executor", "graph", "base_url", "api_key_env", "stop_at_span"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise InvalidInput(f"{name} must be a non-empty string, not {value!r:.60}.")
        if self.graph is not None and not is_graph_path(self.graph):
            raise InvalidInput(f"graph '{self.graph}' is not of the form module:attr.", "Example: myapp.agent:graph")
        if self.base_url is not None and not is_http_url(self.base_url):
            raise InvalidInput(f"base URL '{self.base_url}' must start with http:// or https://.", "Example: http://localhost:11434/v1")
        if not isinstance(self.settings, dict):
            raise InvalidInput("settings must be an object (a mapping of keys).")
        if self.ignore:  # a bad pattern must fail before the executor runs (and spends), not after
            from agenttrace_replay.differ import compile_ignore

            compile_ignore(self.ignore)


@dataclass
class ReplayResult:
    replay_id: str
    checkpoint_id: str
    original_output: Any
    replay_output: Any
    diff: dict[str, Any] | None
    success: bool
    error: str | None
    duration_ms: float
    tokens_used: int | None = None
    cost_usd: float | None = None
    trace_id: str | None = None
    executor: str | None = None
    executed: bool = True
    note: str | None = None
    input: Any = None
    config: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)  # a copy: outputs are kept within jsonio.STORED_NESTING levels, so it can recurse


class ReplayExecutor:
    """Runs replays through executors and stores them."""

    def __init__(self, checkpoint_manager: CheckpointManager, db_pool: Any = None, *, own_thread: bool = False) -> None:
        """``own_thread=True`` runs each executor on a private event loop in a daemon thread,
        so a timeout holds even for executors that block their loop (see executors/deadline.py);
        the CLI uses it. Library callers keep the default: their executors may use objects
        bound to the caller's loop."""
        self.checkpoints = checkpoint_manager
        self.own_thread = own_thread
        self.interrupted: ReplayResult | None = None  # the stored replay of the last interrupted `replay`
        self.db = Database.wrap(db_pool, checkpoint_manager.db.schema) if db_pool is not None else checkpoint_manager.db

    async def replay(self, checkpoint_id: str, config: ReplayConfig | None = None) -> ReplayResult:
        from agenttrace_replay.executors import get_executor, resolve_executor_name

        config = config or ReplayConfig()
        config.validate()
        checkpoint = await self.checkpoints.get_checkpoint(checkpoint_id)
        state = checkpoint.state or {}
        new_input = merge_input(state.get("input"), config.modified_input or {})
        framework = (state.get("agent") or {}).get("framework")
        name = resolve_executor_name(config.executor, config.dry_run, framework)
        run_fn = get_executor(name)
        kinds = getattr(run_fn, "span_kinds", None)  # an executor may say which spans it can replay
        kind = (state.get("span") or {}).get("kind")
        if kinds and kind not in kinds:  # known before anything runs: nothing is stored
            raise ExecutorError(
                f"the {name} executor replays {' and '.join(kinds)} spans, and checkpoint "
                f"{checkpoint.checkpoint_id} is before a {kind or 'untyped'} span.",
                "Pick a checkpoint before such a span, or another executor (--executor).",
            )

        async with self.db.acquire() as conn:
            outputs = await conn.fetchrow(self.db.q.span_outputs, checkpoint.trace_id, checkpoint.span_id)
        exec_config: ExecutorConfig = {
            "timeout_seconds": float(config.timeout_seconds),
            "graph": config.graph,
            "base_url": config.base_url,
            "api_key_env": config.api_key_env,
            "original_output": outputs["span_output"],
            "run_output": outputs["run_output"],
            "stop_at_span": config.stop_at_span,
            "stop_at": await self._stop_at(checkpoint, config.stop_at_span) if config.stop_at_span else None,
            "settings": dict(config.settings),
        }
        started = time.perf_counter()
        error: str | None = None
        result: dict[str, Any] = {}
        try:
            given = copy.deepcopy(new_input)  # the stored input stays what was asked for, whatever the executor does
            raw = await run_with_deadline(
                lambda: run_fn(given, cast("ExecutorState", state), exec_config, config.agent_overrides),
                config.timeout_seconds, own_thread=self.own_thread,
            )
            if not isinstance(raw, dict) or "output" not in raw:
                raise ExecutorError(f"executor '{name}' returned {type(raw).__name__} without an 'output' key.")
            result = _as_stored(raw, name)
        except DeadlinePassed as exc:
            error = str(exc)
        except (asyncio.CancelledError, KeyboardInterrupt):
            # Ctrl-C, a termination signal or a cancelled caller: keep the replay as
            # interrupted (`self.interrupted`), then stop.
            self.interrupted = self._interrupted(checkpoint, name, new_input, config, started, outputs["span_output"])
            await asyncio.shield(self._store(self.interrupted))
            raise
        except Escaped as exc:  # SystemExit and the like: the agent's failure, not the caller's exit
            error = _error_text(exc.original)
        except AgentTraceError as exc:
            error = _safe_str(exc)
        except Exception as exc:  # an executor's own bug or its framework's error: kept with the replay
            error = _error_text(exc)
        duration_ms = (time.perf_counter() - started) * 1000

        original = result.get("original_output", outputs["span_output"]) if result else outputs["span_output"]
        replay_output = result.get("output") if result else None
        diff = None
        if error is None:
            from agenttrace_replay.differ import compute_diff

            diff = compute_diff(original, replay_output, config.ignore or None)
        replay = ReplayResult(
            replay_id=idlib.new_id("rpl"),
            checkpoint_id=checkpoint.checkpoint_id,
            trace_id=checkpoint.trace_id,
            original_output=original,
            replay_output=replay_output,
            diff=diff,
            success=error is None,
            error=error,
            duration_ms=duration_ms,
            tokens_used=_tokens(result.get("tokens")),
            cost_usd=_cost(result.get("cost_usd")),
            executor=name,
            executed=bool(result.get("executed", True)) if result else True,
            note=result.get("note") if result else None,
            input=new_input,
            config=config.stored(),
        )
        await self._store(replay)
        return replay

    async def _stop_at(self, checkpoint: Any, stop_span: str) -> dict[str, Any]:
        """Where a replay that runs on past its span should stop, as the recorded run shows it.

        The span must come after the checkpoint's span in the same trace. Returned: the
        span, the LangGraph node it ran in and which run of that node since the checkpoint
        (``occurrence``), and the agent's conversation just before it (what the replay is
        compared with).
        """
        from agenttrace_replay import traces
        from agenttrace_replay.state import build_states, execution_order, span_info

        bundle = await traces.get_trace(self.db, checkpoint.trace_id)
        order = execution_order(bundle.spans)
        ids = [s.span_id for s in order]
        matches = [i for i in ids if i == stop_span] or [i for i in ids if i.startswith(stop_span)]
        if len(matches) != 1:
            what = "no span" if not matches else "more than one span"
            raise InvalidInput(
                f"stop_at_span '{stop_span}': {what} of trace {checkpoint.trace_id} matches.",
                f"See its spans with: agenttrace-replay trace show {checkpoint.trace_id}",
            )
        stop_index, start_index = ids.index(matches[0]), ids.index(checkpoint.span_id)
        if stop_index <= start_index:
            raise InvalidInput(
                f"stop_at_span '{matches[0]}' does not come after the checkpoint's span (step {start_index}).",
                "Give a span that ran later in the trace.",
            )
        (stop_state,) = build_states(bundle, [matches[0]])
        node = _langgraph_node(span_info(stop_state.span, stop_state.parent_chain))
        occurrence = 0
        if node:
            first, last = order[start_index].start_time, order[stop_index].start_time
            steps = {
                _langgraph_step(s) for s in order
                if s.start_time is not None and first is not None and last is not None and first <= s.start_time <= last
                and _langgraph_node(span_info(s, [])) == node
            }
            occurrence = len(steps)
        return {
            "span_id": matches[0], "name": stop_state.span.name, "kind": stop_state.span.kind, "step": stop_index,
            "node": node, "occurrence": occurrence, "messages": stop_state.messages,
        }

    def _interrupted(
        self, checkpoint: Any, name: str, new_input: Any, config: ReplayConfig, started: float, original: Any
    ) -> ReplayResult:
        return ReplayResult(
            replay_id=idlib.new_id("rpl"), checkpoint_id=checkpoint.checkpoint_id, trace_id=checkpoint.trace_id,
            original_output=original, replay_output=None, diff=None, success=False, error="interrupted",
            duration_ms=(time.perf_counter() - started) * 1000, executor=name, input=new_input,
            config=config.stored(),
        )

    async def _store(self, r: ReplayResult) -> None:
        """Store a replay that ran. If it cannot be (its checkpoint was deleted meanwhile, the
        database went away), the error raised carries it as ``result``: the outcome of a run
        that may have cost a model call is never just dropped."""
        import asyncpg

        q = self.db.q
        try:
            for attempt in range(3):
                try:
                    async with self.db.transaction() as conn:
                        r.created_at = await conn.fetchval(
                            q.insert_replay, r.replay_id, r.checkpoint_id, r.trace_id, r.executor, r.config, r.input,
                            r.original_output, r.replay_output, r.diff, r.success, r.error, r.executed, r.note,
                            r.duration_ms, r.tokens_used, r.cost_usd,
                        )
                        await conn.execute(q.count_replay, r.checkpoint_id)
                    break
                except (asyncpg.DeadlockDetectedError, asyncpg.SerializationError):
                    # a trace import --replace or delete of this trace at the same moment (it
                    # locks the trace, then its checkpoints; the replay's keys the other way)
                    if attempt == 2:
                        raise
        except asyncpg.ForeignKeyViolationError as exc:
            gone = NotFound(
                f"checkpoint {r.checkpoint_id} was deleted (or its trace replaced) while replay {r.replay_id} ran, "
                "so the replay could not be stored.",
                "Create the checkpoint again to replay it.",
            )
            gone.result = r  # type: ignore[attr-defined]
            raise gone from exc
        except AgentTraceError as exc:
            exc.result = r  # type: ignore[attr-defined]
            raise
        except Exception as exc:  # the server said no (read-only, no rights, a timeout), or the value would not go
            reason = (str(exc).splitlines()[0] if str(exc) else type(exc).__name__).rstrip(".")
            refused = DatabaseUnavailable(
                f"replay {r.replay_id} ran but could not be stored: {reason}.",
                "Fix the database (see the reason) and replay again.",
            )
            refused.result = r  # type: ignore[attr-defined]
            raise refused from exc

    async def get_replay(self, replay_id: str) -> ReplayResult:
        async with self.db.acquire() as conn:
            row = await conn.fetchrow(self.db.q.get_replay, replay_id)
            if row is None:
                full = await idlib.resolve(conn, self.db.q.replay_ids_matching, replay_id, "replay", REPLAY_HINT)
                row = await conn.fetchrow(self.db.q.get_replay, full)
        return ReplayResult(**dict(row))

    async def list_replays(self, trace_id: str) -> list[dict[str, Any]]:
        from agenttrace_replay import traces

        async with self.db.acquire() as conn:
            full = await traces.resolve_trace_id(self.db, trace_id, conn)
            rows = await conn.fetch(self.db.q.list_replays, full)
        return [dict(r) for r in rows]


def _as_stored(raw: dict[str, Any], name: str) -> dict[str, Any]:
    """The executor's result as the database will hold it, so the returned ReplayResult, its
    diff and a later `get_replay` agree: outputs as JSON (keys as strings, unknown objects as
    text), the note as text. NaN and infinities have no JSON form: the replay fails, stored.
    """
    result = dict(raw)
    for key in ("output", "original_output"):
        if key in result:
            try:
                text = json.dumps(result[key], allow_nan=False, default=_safe_str)
                result[key] = capped(json.loads(text), STORED_NESTING)  # deeper: kept as JSON text
            except (TypeError, ValueError, RecursionError) as exc:
                raise ExecutorError(f"executor '{name}' returned an {key} that cannot be stored as JSON: {_safe_str(exc)}.") from None
            if "\\u0000" in text and _JSON_NUL.search(text):
                raise ExecutorError(f"executor '{name}' returned an {key} with a NUL character (\\u0000), which PostgreSQL cannot store.")
    if result.get("note") is not None:
        result["note"] = _safe_str(result["note"])
    return result


# A \u0000 escape in JSON text: preceded by an even number of backslashes (a literal
# backslash followed by "u0000" is written with an odd number).
_JSON_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


def _safe_str(value: Any) -> str:
    """Text for the database: never raises (a broken __str__), and NUL, which PostgreSQL's
    text cannot hold, is written as \\x00."""
    try:
        text = str(value)
    except Exception:
        text = f"<{type(value).__name__} whose text cannot be read>"
    return text.replace("\x00", "\\x00")


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_safe_str(exc)}".strip().rstrip(":")


def _langgraph_node(span: dict[str, Any]) -> str | None:
    from agenttrace_replay.executors.langgraph import recorded_node

    return recorded_node(span)


def _langgraph_step(span: Any) -> Any:
    from agenttrace_replay.executors.langgraph import recorded_metadata
    from agenttrace_replay.state import span_info

    return recorded_metadata(span_info(span, [])).get("langgraph_step")


_MAX_TOKENS = 2**31 - 1  # the replays.tokens_used column is an integer


def _tokens(value: Any) -> int | None:
    """The executor's token count when it is one: a whole number that fits the column."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 <= number <= _MAX_TOKENS else None


def _cost(value: Any) -> float | None:
    """The executor's cost when it is one: a finite number (NaN would make --json invalid)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None
