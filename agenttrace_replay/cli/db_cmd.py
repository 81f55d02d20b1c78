"""``db migrate``, ``db status`` and ``db stop``."""

from __future__ import annotations

import typer

from agenttrace_replay.cli.common import JsonFlag, guarded, load, print_json, print_line, run
from agenttrace_replay.errors import InvalidInput

app = typer.Typer(help="Create or inspect the database schema.", no_args_is_help=True)


@app.command("migrate")
def migrate(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Apply pending migrations (each in its own transaction)."""
    from agenttrace_replay.db import migrations

    async def body(db):  # type: ignore[no-untyped-def]
        return await migrations.migrate(db)

    applied = run(ctx, body, migrate=False)
    if json:
        print_json({"applied": [{"version": m.version, "name": m.name} for m in applied]})
    elif applied:
        for m in applied:
            print_line(f"applied {m.version:04d}_{m.name}")
    else:
        print_line("database is up to date")


@app.command("status")
def status(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Show which database is used, its schema version and row counts."""
    from agenttrace_replay.config import redact_url
    from agenttrace_replay.db import migrations

    settings = guarded(ctx, lambda: load(ctx))

    async def body(db):  # type: ignore[no-untyped-def]
        done = await migrations.applied_versions(db)
        todo = [m for m in migrations.available() if m.version not in done]
        counts = None
        if not todo:
            async with db.acquire() as conn:
                counts = dict(await conn.fetchrow(db.q.count_rows))
        return done, todo, counts

    done, todo, counts = run(ctx, body, migrate=False)
    info = {
        "database": "embedded" if settings.embedded else redact_url(settings.database_url or ""),
        "source": settings.source,
        "data_dir": str(settings.data_dir) if settings.embedded else None,
        "config_file": str(settings.config_file) if settings.config_file else None,
        "schema": settings.schema,
        "applied": done,
        "pending": [f"{m.version:04d}_{m.name}" for m in todo],
        "counts": counts,
    }
    if json:
        print_json(info)
        return
    where = f"embedded PostgreSQL in {settings.data_dir}" if settings.embedded else info["database"]
    print_line(f"database: {where} (from {settings.source})")
    print_line(f"config:   {settings.config_file or 'none found'}")
    print_line(f"schema:   {settings.schema}, migrations applied: {', '.join(map(str, done)) or 'none'}")
    if todo:
        print_line(f"pending:  {', '.join(info['pending'])} (run: agenttrace-replay db migrate)")
    if counts:
        print_line(f"rows:     {counts['traces']} traces, {counts['spans']} spans")


_SOURCE_NAMES = {"flag": "--db", "env": "AGENTTRACE_DATABASE_URL", "config": "the config file"}


@app.command("stop")
def stop(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Stop the embedded PostgreSQL server. The next command that needs it starts it again."""
    settings = guarded(ctx, lambda: load(ctx))

    def stop_embedded() -> bool:
        from agenttrace_replay.config import redact_url

        if not settings.embedded:
            raise InvalidInput(
                f"the database in use is {redact_url(settings.database_url or '')} (from {_SOURCE_NAMES.get(settings.source, settings.source)}), not the embedded server: there is nothing to stop.",
                "db stop stops only the embedded PostgreSQL; stop your own server your usual way.",
            )
        from agenttrace_replay.db.embedded import stop_server

        return stop_server(settings.data_dir)

    stopped = guarded(ctx, stop_embedded)
    if json:
        print_json({"stopped": stopped, "data_dir": str(settings.data_dir)})
    elif stopped:
        print_line(f"stopped the embedded PostgreSQL in {settings.data_dir}")
    else:
        print_line(f"the embedded PostgreSQL in {settings.data_dir} was not running")
