"""The generic executor: an honest placeholder for frameworks nobody taught us to run.

It re-executes nothing. It hands back the recorded output and says so, so the replay and
its diff stay meaningful (no change) instead of pretending a re-run happened.
"""

from __future__ import annotations

import copy
from typing import Any

NOTE = (
    "nothing was re-executed: the generic executor returns the recorded output. "
    "Choose an executor for the agent's framework with --executor to really replay."
)


async def generic_executor(
    input: Any,
    state: dict[str, Any],
    config: dict[str, Any],
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "output": copy.deepcopy((config or {}).get("original_output")),
        "tokens": 0,
        "cost_usd": 0.0,
        "executed": False,
        "note": NOTE,
    }
