"""Settings: where the database is and how executors are configured.

Precedence for the database: ``--db URL`` > ``AGENTTRACE_DATABASE_URL`` > the YAML config
file > an embedded PostgreSQL kept in the user's data folder. The config file is the first
of ``--config FILE``, ``$AGENTTRACE_CONFIG``, ``./agenttrace.yaml`` and
``<user config dir>/agenttrace-replay/config.yaml`` that exists (see docs/configuration.md).
"""

from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from agenttrace_replay.errors import InvalidInput

APP_NAME = "agenttrace-replay"
DEFAULT_SCHEMA = "agenttrace"
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CONFIG_KEYS = {"database_url", "schema", "data_dir", "executor", "executors"}
# keys of the `executor:` table that must be text when set (see docs/configuration.md)
EXECUTOR_STRINGS = ("default", "graph", "base_url", "api_key_env", "node", "as_node", "messages_key")


@dataclass
class Settings:
    """Resolved settings for one command."""

    database_url: str | None = None  # None means: use the embedded server
    schema: str = DEFAULT_SCHEMA
    data_dir: Path = field(default_factory=lambda: default_data_dir())
    config_file: Path | None = None
    executor: dict[str, Any] = field(default_factory=dict)  # the config file's `executor:` table
    source: str = "embedded"  # which rule chose the database: flag, env, config, embedded

    @property
    def embedded(self) -> bool:
        return self.database_url is None


def default_data_dir() -> Path:
    env = os.environ.get("AGENTTRACE_DATA_DIR")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    if xdg:
        return Path(xdg) / APP_NAME
    if sys.platform in ("win32", "darwin"):  # pragma: no cover - other OSes
        import platformdirs

        return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return Path.home() / ".local" / "share" / APP_NAME


def config_candidates(explicit: str | Path | None = None) -> list[Path]:
    if explicit:
        return [Path(explicit).expanduser()]
    paths = []
    env = os.environ.get("AGENTTRACE_CONFIG")
    if env:
        return [Path(env).expanduser()]
    paths.append(Path.cwd() / "agenttrace.yaml")
    xdg = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    paths.append(Path(xdg) / APP_NAME / "config.yaml")
    return paths


def read_config_file(path: Path) -> dict[str, Any]:
    """The file's settings, every key type-checked; a key left empty (null) counts as not set."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise InvalidInput(f"cannot read config file {path}: {exc.strerror}.", "Fix the path or its permissions.") from exc
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"config file {path} is not UTF-8 text (byte {exc.start}).", "Save it as UTF-8.") from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"config file {path} is not valid YAML: {exc}.".replace("\n", " "), "Fix the file.") from exc
    except RecursionError:
        raise InvalidInput(f"config file {path} is nested too deeply to read.", "Fix the file.") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"config file {path} must hold a mapping of keys, not {type(data).__name__}.")
    _check_keys(path, data, "")
    unknown = sorted(set(data) - CONFIG_KEYS)
    if unknown:
        raise InvalidInput(
            f"config file {path} has unknown key(s): {', '.join(unknown)}.",
            f"Known keys: {', '.join(sorted(CONFIG_KEYS))}.",
        )
    if data.get("executor") is not None and data.get("executors") is not None:
        raise InvalidInput(f"config file {path} has both 'executor' and 'executors'.", "Keep one of them.")
    data = {key: value for key, value in data.items() if value is not None}
    for key in ("database_url", "schema", "data_dir"):
        _check(path, key, data.get(key), str)
    name = "executors" if "executors" in data else "executor"
    data["executor"] = _executor_table(path, name, data.pop(name, {}))
    return data


def _executor_table(path: Path, name: str, table: Any) -> dict[str, Any]:
    """The `executor:` table with the keys the built-in executors read type-checked; other
    keys are left to the executors (plugins) that read them."""
    _check(path, name, table, dict)
    _check_keys(path, table, f"{name}.")
    table = {key: value for key, value in table.items() if value is not None}
    for key in EXECUTOR_STRINGS:
        _check(path, f"{name}.{key}", table.get(key), str)
    for key in ("configurable", "headers"):
        _check(path, f"{name}.{key}", table.get(key), dict)
    _check_keys(path, table.get("headers"), f"{name}.headers.")
    if "graph" in table and not is_graph_path(table["graph"]):
        raise InvalidInput(
            f"config file {path}: '{name}.graph' must be module:attr, not {table['graph']!r:.60}.", "Example: myapp.agent:graph"
        )
    if "base_url" in table and not is_http_url(table["base_url"]):
        raise InvalidInput(f"config file {path}: '{name}.base_url' must be an http:// or https:// URL, not {table['base_url']!r:.60}.")
    if not all(isinstance(v, str) for v in table.get("headers", {}).values()):
        raise InvalidInput(f"config file {path}: every value of '{name}.headers' must be a string.", "Quote them.")
    limit = table.get("recursion_limit", 1)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InvalidInput(f"config file {path}: '{name}.recursion_limit' must be a positive whole number, not {limit!r:.60}.")
    return table


def _check(path: Path, key: str, value: Any, kind: type) -> None:
    """A set value must be of `kind`, and a string must not be blank."""
    if value is None or (isinstance(value, kind) and not (isinstance(value, str) and not value.strip())):
        return
    expected = "a non-empty string" if kind is str else "a mapping of keys"
    raise InvalidInput(f"config file {path}: '{key}' must be {expected}, not {value!r:.60}.", "Fix the file.")


def _check_keys(path: Path, data: Any, prefix: str) -> None:
    if isinstance(data, dict):
        for key in data:
            if not isinstance(key, str):
                raise InvalidInput(f"config file {path}: key {prefix}{key!r:.60} is not text.", "Keys are names such as database_url.")


def is_graph_path(path: str) -> bool:
    """``module:attr`` or ``path/to/file.py:attr``: text on both sides of the last colon."""
    module, sep, attr = path.rpartition(":")
    return bool(sep and module.strip() and attr.strip())


def is_http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


@contextmanager
def _from_file(path: Path | None, key: str, applies: bool) -> Iterator[None]:
    """Name the config file and key in an error about a value read from it."""
    try:
        yield
    except InvalidInput as exc:
        if path is None or not applies:
            raise
        raise InvalidInput(f"config file {path}: {key}: {exc.message}", exc.hint) from exc


def validate_database_url(url: str) -> str:
    if not url.strip():
        raise InvalidInput(
            "the database URL is empty.",
            "Give a postgresql:// URL, or leave --db and AGENTTRACE_DATABASE_URL out to use the embedded database.",
        )
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unclosed [ of an IPv6 address
        raise InvalidInput(f"invalid database URL '{redact_url(url)}': {_url_fault(url, exc)}.", _ENCODE_HINT) from exc
    if parts.scheme not in ("postgresql", "postgres"):
        raise InvalidInput(
            f"invalid database URL '{redact_url(url)}': it must start with postgresql://.",
            "Example: postgresql://user:password@localhost:5432/dbname",
        )
    if "," not in parts.netloc:  # several hosts (`h1:5432,h2:5433`) are asyncpg's to check
        try:
            parts.port  # noqa: B018 - raises ValueError on a bad port
        except ValueError as exc:
            raise InvalidInput(f"invalid database URL '{redact_url(url)}': {_url_fault(url, exc)}.", _ENCODE_HINT) from exc
    return url


_ENCODE_HINT = "Percent-encode / ? # @ and : in the user name and password (/ is %2F, @ is %40)."


def _url_fault(url: str, exc: Exception) -> str:
    """The parser's complaint, unless it quotes part of a URL that holds a password (the
    port check quotes what follows the first `:`, which may be the password's start)."""
    return "it cannot be read" if "@" in url and "'" in str(exc) else str(exc)


def redact_url(url: str) -> str:
    """The URL without its password, for messages.

    Worked out on the text, not with a URL parser: a password holding an unencoded `/`, `?`,
    `#` or `@` ends a parser's idea of the host part early, and the password would show. So
    `...password=` query values are masked, then everything between `user:` and the `@`
    that is followed by the host.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "<unreadable URL>"
    rest = _QUERY_PASSWORD.sub(r"\1***", rest)  # libpq's ?password=... (and sslpassword=...)
    # The `@` that ends the user part: the last one followed by a host part (host, port,
    # several of them, or nothing for a socket) and then the path, query or end, and not
    # inside the query (after `?name=`). Failing that (a URL too broken to tell), the last
    # `@` before the first `/`, masking more rather than less.
    candidates = [
        m.start() for m in re.finditer("@", rest)
        if _HOST_PART.match(rest, m.start() + 1) and not _QUERY_START.search(rest, 0, m.start())
    ]  # fmt: skip
    at = candidates[-1] if candidates else rest.partition("/")[0].rfind("@")
    if at >= 0:
        user, colon, _ = rest[:at].partition(":")
        rest = f"{user}:***{rest[at:]}" if colon else rest
    return f"{scheme}://{rest}"


_QUERY_PASSWORD = re.compile(r"(?i)([?&][a-z_]*password=)[^&]*")
_QUERY_START = re.compile(r"\?[A-Za-z_][A-Za-z0-9_]*=")
_HOST = r"(?:\[[^\]]*\]|[^/?#@:,\[\]]*)(?::[0-9]*)?"
_HOST_PART = re.compile(rf"{_HOST}(?:,{_HOST})*(?=[/?#]|$)")


def validate_schema(name: str) -> str:
    if not _SCHEMA_RE.match(name):
        raise InvalidInput(
            f"invalid schema name '{name}'.",
            "Use up to 63 lower-case letters, digits and underscores, starting with a letter or underscore.",
        )
    if name.startswith("pg_") or name == "information_schema":  # PostgreSQL's own
        raise InvalidInput(f"invalid schema name '{name}': PostgreSQL keeps it for itself.", "Choose another name.")
    return name


def load_settings(db_url: str | None = None, config_path: str | Path | None = None) -> Settings:
    """Resolve settings from the flag, the environment, the config file and defaults."""
    file_data: dict[str, Any] = {}
    config_file = None
    for candidate in config_candidates(config_path):
        if candidate.is_file():
            config_file = candidate
            file_data = read_config_file(candidate)
            break
        if config_path or os.environ.get("AGENTTRACE_CONFIG"):
            what = "is a folder, not a file" if candidate.is_dir() else "does not exist"
            raise InvalidInput(f"config file {candidate} {what}.", "Fix the --config path or AGENTTRACE_CONFIG.")

    settings = Settings(config_file=config_file)
    # Given but empty (`--db "$UNSET"`, a missing CI secret) is refused, never the embedded database.
    if db_url is not None:
        settings.database_url, settings.source = db_url, "flag"
    elif os.environ.get("AGENTTRACE_DATABASE_URL") is not None:
        settings.database_url, settings.source = os.environ["AGENTTRACE_DATABASE_URL"], "env"
    elif file_data.get("database_url"):
        settings.database_url, settings.source = file_data["database_url"], "config"
    if settings.database_url is not None:
        with _from_file(config_file, "database_url", settings.source == "config"):
            validate_database_url(settings.database_url)

    schema = os.environ.get("AGENTTRACE_SCHEMA") or file_data.get("schema") or DEFAULT_SCHEMA
    with _from_file(config_file, "schema", not os.environ.get("AGENTTRACE_SCHEMA")):
        settings.schema = validate_schema(str(schema))
    if file_data.get("data_dir") and not os.environ.get("AGENTTRACE_DATA_DIR"):
        settings.data_dir = Path(file_data["data_dir"]).expanduser()
    settings.executor = file_data.get("executor", {})
    return settings
