"""``checkpoint auto | create | list | show | delete``."""

from __future__ import annotations

import typer

app = typer.Typer(help="Create, list, show and delete checkpoints.", no_args_is_help=True)
