"""Named SQL queries, read once from ``queries.sql`` and bound to a schema name.

Each query in the file starts with a ``-- name: NAME`` line; ``{schema}`` in the text is
replaced by the (validated, quoted) schema name.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_NAME_RE = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.M)


@lru_cache(maxsize=1)
def _raw_queries() -> dict[str, str]:
    text = resources.files("agenttrace_replay.db").joinpath("queries.sql").read_text(encoding="utf-8")
    parts = _NAME_RE.split(text)
    return {parts[i]: parts[i + 1].strip() for i in range(1, len(parts), 2)}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Queries:
    """Attribute access to the named queries for one schema: ``q.insert_trace``."""

    def __init__(self, schema: str) -> None:
        self._schema = quote_ident(schema)
        self._cache: dict[str, str] = {}

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._cache[name]
        except KeyError:
            try:
                raw = _raw_queries()[name]
            except KeyError:
                raise AttributeError(f"no query named {name!r} in queries.sql") from None
            sql = self._cache[name] = raw.replace("{schema}", self._schema)
            return sql

    def names(self) -> list[str]:
        return list(_raw_queries())


@lru_cache(maxsize=8)
def queries_for(schema: str) -> Queries:
    return Queries(schema)
