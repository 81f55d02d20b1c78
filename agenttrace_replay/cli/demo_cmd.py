"""``demo``: load the sample traces shipped with the package and say what to try next."""

from __future__ import annotations

import typer

from agenttrace_replay.cli.common import JsonFlag, print_json, print_line, run, stdout


def sample_files() -> list[tuple[str, str]]:
    from importlib import resources

    folder = resources.files("agenttrace_replay").joinpath("samples")
    return sorted((p.name, p.read_text(encoding="utf-8")) for p in folder.iterdir() if p.name.endswith(".json"))


def demo(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Load sample agent traces into the database and print commands to try next."""
    from agenttrace_replay import traces

    async def body(db):  # type: ignore[no-untyped-def]
        result = traces.ImportResult()
        for name, text in sample_files():
            result.add(await traces.import_bundles(db, traces.parse_text(text, name)))
        sample_ids = set(result.imported) | set(result.skipped)
        rows = [r for r in await traces.list_traces(db, limit=100_000) if r["trace_id"] in sample_ids]
        return result, rows

    result, rows = run(ctx, body)
    sample_ids = set(result.imported) | set(result.skipped)
    if json:
        print_json({**result.as_dict(), "sample_traces": sorted(sample_ids)})
        return
    from agenttrace_replay.cli.render import print_lines, trace_table

    out = stdout()
    out.print(f"loaded {len(result.imported)} sample trace(s) ({len(result.skipped)} were already there)\n")
    print_lines(out, trace_table(rows, out.width))
    first = rows[0]["trace_id"] if rows else "TRACE"
    out.print("\nTry next:")
    for line in (
        f"agenttrace-replay trace show {first}",
        f"agenttrace-replay checkpoint auto {first}",
        f"agenttrace-replay checkpoint list {first}",
        "agenttrace-replay replay run CHK --dry-run --input query='a different question'",
        "agenttrace-replay diff REPLAY",
    ):
        print_line(f"  {line}")  # one line each, so they copy and paste whole
