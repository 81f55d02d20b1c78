"""The executor protocol, the registry of executors, and the rule that picks one.

An executor is the one part of a replay that knows how to run an agent framework. The
registry is deliberately lazy: built-in executors are named by import path and imported
when first asked for, and third-party executors published through the entry-point group
`agenttrace_replay.executors` are listed from package metadata without importing them. So
importing this module (which every CLI command does) never pulls in LangGraph or httpx.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib
import inspect
from importlib import metadata
from typing import Any, Protocol, TypedDict

from agenttrace_replay.errors import ExecutorError

ENTRY_POINT_GROUP = "agenttrace_replay.executors"

# name -> "module:attribute"; imported on first use only.
BUILTIN_EXECUTORS: dict[str, str] = {
    "mock": "agenttrace_replay.executors.mock:mock_executor",
    "generic": "agenttrace_replay.executors.generic:generic_executor",
    "openai": "agenttrace_replay.executors.openai:openai_executor",
    "langgraph": "agenttrace_replay.executors.langgraph:langgraph_executor",
}


class SpanState(TypedDict, total=False):
    span_id: str
    name: str
    kind: str | None
    model: str | None
    agent_id: str | None
    start_time: str | None  # ISO 8601
    parent_chain: list[str]
    attributes: dict[str, Any]


class ExecutorState(TypedDict, total=False):
    """What a checkpoint restores; see docs/executors.md."""

    checkpoint_id: str
    trace_id: str
    step: int
    span: SpanState
    agent: dict[str, Any] | None
    messages: list[dict[str, Any]]
    input: Any
    completed: list[dict[str, Any]]


class ExecutorConfig(TypedDict, total=False):
    timeout_seconds: float
    graph: str | None
    base_url: str | None
    api_key_env: str
    original_output: Any
    run_output: Any
    stop_at_span: str | None
    stop_at: dict[str, Any] | None  # where a replay that runs on past its span stops (see docs/executors.md)
    settings: dict[str, Any]


class ExecutorResult(TypedDict, total=False):
    output: Any  # required
    tokens: int
    cost_usd: float
    executed: bool
    note: str
    original_output: Any


class Executor(Protocol):
    """`async def executor(input, state, config, overrides=None) -> dict` with `output`."""

    async def __call__(
        self,
        input: Any,
        state: ExecutorState,
        config: ExecutorConfig,
        overrides: dict[str, Any] | None = None,
    ) -> ExecutorResult: ...


AgentExecutor = Executor  # the name SPEC.md gives the protocol

_registered: dict[str, Executor] = {}
_loaded: dict[str, Executor] = {}


def register_executor(name: str, fn: Any) -> None:
    """Make `fn` available under `name`; it takes precedence over a built-in of that name."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("executor name must be a non-empty string")
    if not callable(fn):
        raise TypeError(f"executor {name!r} must be callable, got {type(fn).__name__}")
    name = name.strip()
    _registered[name] = _as_async(fn)
    _loaded.pop(name, None)


def unregister_executor(name: str) -> None:
    """Forget an executor registered with `register_executor` (tests, plugins reloading)."""
    _registered.pop(name, None)
    _loaded.pop(name, None)


def _entry_points() -> dict[str, metadata.EntryPoint]:
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(ep.name, ep)
    return found


def available_executors() -> list[dict[str, str]]:
    """Every executor name with where it comes from; imports nothing."""
    rows: dict[str, dict[str, str]] = {}
    for name, ep in _entry_points().items():
        rows[name] = {"name": name, "source": "entry point", "target": ep.value}
    for name, target in BUILTIN_EXECUTORS.items():
        rows[name] = {"name": name, "source": "builtin", "target": target}
    for name, fn in _registered.items():
        rows[name] = {"name": name, "source": "registered", "target": _describe(fn)}
    return [rows[name] for name in sorted(rows)]


def executor_names() -> list[str]:
    return [row["name"] for row in available_executors()]


def _is_known_without_scan(name: str) -> bool:
    return name in _registered or name in BUILTIN_EXECUTORS


def get_executor(name: str) -> Executor:
    """The executor called `name`: registered, else built-in, else an entry point."""
    if name in _registered:
        return _registered[name]
    if name in _loaded:
        return _loaded[name]
    if name in BUILTIN_EXECUTORS:
        fn = _load_target(name, BUILTIN_EXECUTORS[name], "built-in executor")
    else:
        ep = _entry_points().get(name)
        if ep is None:
            raise ExecutorError(
                f"unknown executor '{name}'.",
                f"Available executors: {', '.join(executor_names())}.",
            )
        try:
            fn = ep.load()
        except Exception as exc:  # a broken plugin must not crash the CLI
            raise ExecutorError(
                f"cannot load executor '{name}' from entry point '{ep.value}': "
                f"{one_line(exc)}.",
                "Check that the package providing it is installed and importable.",
            ) from exc
        if not callable(fn):
            raise ExecutorError(
                f"entry point '{ep.value}' for executor '{name}' is not callable.",
                "Point the entry point at an async function.",
            )
    _loaded[name] = _as_async(fn)
    return _loaded[name]


def _load_target(name: str, target: str, what: str) -> Any:
    module_name, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except Exception as exc:
        raise ExecutorError(f"cannot load {what} '{name}' ({target}): {one_line(exc)}.") from exc


def resolve_executor_name(explicit: str | None, dry_run: bool, framework: str | None) -> str:
    """Choose the executor: explicit name > dry run (mock) > the agent's framework.

    There is no silent fallback: when nothing applies, the error lists what is available.
    """
    if explicit and _is_known_without_scan(explicit):
        return explicit
    if not explicit and dry_run:
        return "mock"
    if not explicit and framework and _is_known_without_scan(framework.strip().lower()):
        return framework.strip().lower()
    available = executor_names()  # scans installed entry points: only when needed
    if explicit:
        if explicit not in available:
            raise ExecutorError(
                f"unknown executor '{explicit}'.",
                f"Available executors: {', '.join(available)}.",
            )
        return explicit
    if dry_run:
        return "mock"
    if framework:
        candidate = framework.strip().lower()
        if candidate in available:
            return candidate
        raise ExecutorError(
            f"no executor for the agent's framework '{framework}'.",
            f"Pass --executor NAME (available: {', '.join(available)}) or --dry-run.",
        )
    raise ExecutorError(
        "no executor chosen and the agent's framework is unknown.",
        f"Pass --executor NAME (available: {', '.join(available)}) or --dry-run.",
    )


def apply_query_convention(input: Any, kind: str | None) -> Any:
    """Fold a top-level `query` (or `question`) string into the chat messages.

    `--input query="..."` is the natural way to ask an llm_call something else, but an
    llm_call's input is a message list. The string replaces the content of the last user
    message (or is appended as a new one) and the key is removed. Returns a new value.
    """
    if not isinstance(input, dict):
        return input
    key = next((k for k in ("query", "question") if isinstance(input.get(k), str)), None)
    messages = input.get("messages")
    if key is None or not (kind == "llm_call" or isinstance(messages, list)):
        return input
    result = copy.deepcopy(input)
    text = result.pop(key)
    if key == "query" and isinstance(result.get("question"), str):
        result.pop("question")
    history: list[Any] = result["messages"] if isinstance(result.get("messages"), list) else []
    for message in reversed(history):
        if isinstance(message, dict) and message.get("role") == "user":
            message["content"] = text
            break
    else:
        history.append({"role": "user", "content": text})
    result["messages"] = history
    return result


def span_kind(state: dict[str, Any] | None) -> str | None:
    span = (state or {}).get("span") or {}
    return span.get("kind")


def _as_async(fn: Any) -> Executor:
    """Accept plain functions too: they run in a worker thread so they cannot block the loop."""
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
        getattr(fn, "__call__", None)
    ):
        return fn

    @functools.wraps(fn)
    async def run(input: Any, state: Any, config: Any, overrides: Any = None) -> Any:
        result = await asyncio.to_thread(fn, input, state, config, overrides)
        if inspect.isawaitable(result):
            result = await result
        return result

    return run  # type: ignore[return-value]


def _describe(fn: Any) -> str:
    target = getattr(fn, "__wrapped__", fn)
    module = getattr(target, "__module__", None) or "?"
    qualname = getattr(target, "__qualname__", None) or type(target).__name__
    return f"{module}:{qualname}"


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
