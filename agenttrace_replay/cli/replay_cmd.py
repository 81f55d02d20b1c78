"""``replay run | show | list``, ``diff`` and ``executors list``."""

from __future__ import annotations

import typer

app = typer.Typer(help="Re-execute an agent from a checkpoint and inspect replays.", no_args_is_help=True)
executors_app = typer.Typer(help="List the executors replays can use.", no_args_is_help=True)


def diff(ctx: typer.Context, replay: str) -> None:
    """Show how a replay's output differs from the original."""
    raise NotImplementedError
