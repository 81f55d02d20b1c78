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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from agenttrace_replay.errors import InvalidInput

APP_NAME = "agenttrace-replay"
DEFAULT_SCHEMA = "agenttrace"
_SCHEMA_RE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
CONFIG_KEYS = {"database_url", "schema", "data_dir", "executor", "executors"}


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
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise InvalidInput(f"cannot read config file {path}: {exc.strerror}.", "Fix the path or its permissions.") from exc
    except yaml.YAMLError as exc:
        raise InvalidInput(f"config file {path} is not valid YAML: {exc}.".replace("\n", " "), "Fix the file.") from exc
    if not isinstance(data, dict):
        raise InvalidInput(f"config file {path} must hold a mapping of keys, not {type(data).__name__}.")
    unknown = sorted(set(data) - CONFIG_KEYS)
    if unknown:
        raise InvalidInput(
            f"config file {path} has unknown key(s): {', '.join(unknown)}.",
            f"Known keys: {', '.join(sorted(CONFIG_KEYS))}.",
        )
    return data


def validate_database_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise InvalidInput(
            f"invalid database URL '{redact_url(url)}': it must start with postgresql://.",
            "Example: postgresql://user:password@localhost:5432/dbname",
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise InvalidInput(f"invalid database URL '{redact_url(url)}': {exc}.") from exc
    return url


def redact_url(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


def validate_schema(name: str) -> str:
    if not _SCHEMA_RE.match(name):
        raise InvalidInput(
            f"invalid schema name '{name}'.",
            "Use lower-case letters, digits and underscores, starting with a letter.",
        )
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
            raise InvalidInput(f"config file {candidate} does not exist.", "Fix the --config path or AGENTTRACE_CONFIG.")

    settings = Settings(config_file=config_file)
    if db_url:
        settings.database_url, settings.source = db_url, "flag"
    elif os.environ.get("AGENTTRACE_DATABASE_URL"):
        settings.database_url, settings.source = os.environ["AGENTTRACE_DATABASE_URL"], "env"
    elif file_data.get("database_url"):
        settings.database_url, settings.source = str(file_data["database_url"]), "config"
    if settings.database_url:
        validate_database_url(settings.database_url)

    schema = os.environ.get("AGENTTRACE_SCHEMA") or file_data.get("schema") or DEFAULT_SCHEMA
    settings.schema = validate_schema(str(schema))
    if file_data.get("data_dir") and not os.environ.get("AGENTTRACE_DATA_DIR"):
        settings.data_dir = Path(str(file_data["data_dir"])).expanduser()
    executor = file_data.get("executor") or file_data.get("executors") or {}
    if not isinstance(executor, dict):
        raise InvalidInput(f"config file {config_file}: 'executor' must be a mapping.")
    settings.executor = executor
    return settings
