"""agenttrace-replay: a time-travel debugger for AI agents.

The public library API is imported lazily, so ``import agenttrace_replay`` stays cheap.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

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
