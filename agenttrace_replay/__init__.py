"""agenttrace-replay: a time-travel debugger for AI agents.

The public library API is imported lazily, so ``import agenttrace_replay`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # type checkers see the real names; at run time they are loaded on first use
    from agenttrace_replay.checkpoint import Checkpoint, CheckpointManager
    from agenttrace_replay.db import Database, create_pool
    from agenttrace_replay.differ import compute_diff
    from agenttrace_replay.executor import ReplayConfig, ReplayExecutor, ReplayResult
    from agenttrace_replay.executors import register_executor

_LAZY = {
    "CheckpointManager": "agenttrace_replay.checkpoint",
    "Checkpoint": "agenttrace_replay.checkpoint",
    "ReplayExecutor": "agenttrace_replay.executor",
    "ReplayConfig": "agenttrace_replay.executor",
    "ReplayResult": "agenttrace_replay.executor",
    "compute_diff": "agenttrace_replay.differ",
    "register_executor": "agenttrace_replay.executors",
    "Database": "agenttrace_replay.db",
    "create_pool": "agenttrace_replay.db",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'agenttrace_replay' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
