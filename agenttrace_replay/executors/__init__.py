"""Executors: the pluggable part of a replay that re-runs an agent framework.

Only the registry is imported here; built-in executors (and their heavy dependencies such
as LangGraph or httpx) load when first asked for by name.
"""

from agenttrace_replay.executors.base import (
    ENTRY_POINT_GROUP,
    Executor,
    ExecutorConfig,
    ExecutorResult,
    ExecutorState,
    apply_query_convention,
    available_executors,
    get_executor,
    register_executor,
    resolve_executor_name,
    unregister_executor,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "Executor",
    "ExecutorConfig",
    "ExecutorResult",
    "ExecutorState",
    "apply_query_convention",
    "available_executors",
    "get_executor",
    "register_executor",
    "resolve_executor_name",
    "unregister_executor",
]
