"""Settings resolution: --db > AGENTTRACE_DATABASE_URL > YAML config file > embedded server."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenttrace_replay.config import (
    DEFAULT_SCHEMA,
    config_candidates,
    default_data_dir,
    load_settings,
    redact_url,
    validate_database_url,
)
from agenttrace_replay.errors import ExitCode, InvalidInput

FLAG_URL = "postgresql://flag@localhost/flagdb"
ENV_URL = "postgresql://env@localhost/envdb"
FILE_URL = "postgresql://file@localhost/filedb"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No AGENTTRACE_* variables, a private home, config dir and working directory."""
    for name in ("AGENTTRACE_DATABASE_URL", "AGENTTRACE_CONFIG", "AGENTTRACE_DATA_DIR", "AGENTTRACE_SCHEMA",
                 "XDG_CONFIG_HOME", "XDG_DATA_HOME"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    home = tmp_path / "home"
    (home / "work").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(home / "work")
    return home


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def user_config(home: Path) -> Path:
    return home / ".config" / "agenttrace-replay" / "config.yaml"


# --- precedence ---------------------------------------------------------------------------


def test_defaults_to_the_embedded_server_in_the_user_data_folder(clean_env: Path) -> None:
    settings = load_settings()
    assert settings.embedded and settings.database_url is None
    assert settings.source == "embedded"
    assert settings.schema == DEFAULT_SCHEMA == "agenttrace"
    assert settings.data_dir == clean_env / ".local" / "share" / "agenttrace-replay"
    assert settings.config_file is None


def test_flag_beats_environment_and_config_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(Path("agenttrace.yaml"), f"database_url: {FILE_URL}\n")
    monkeypatch.setenv("AGENTTRACE_DATABASE_URL", ENV_URL)
    settings = load_settings(db_url=FLAG_URL)
    assert (settings.database_url, settings.source) == (FLAG_URL, "flag")
    assert not settings.embedded


def test_environment_beats_config_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(Path("agenttrace.yaml"), f"database_url: {FILE_URL}\n")
    monkeypatch.setenv("AGENTTRACE_DATABASE_URL", ENV_URL)
    settings = load_settings()
    assert (settings.database_url, settings.source) == (ENV_URL, "env")


def test_config_file_beats_embedded(clean_env: Path) -> None:
    path = write(Path("agenttrace.yaml"), f"database_url: {FILE_URL}\nschema: tenant_a\n")
    settings = load_settings()
    assert (settings.database_url, settings.source) == (FILE_URL, "config")
    assert settings.config_file == path.resolve()
    assert settings.schema == "tenant_a"


def test_config_file_without_database_url_keeps_embedded(clean_env: Path) -> None:
    write(Path("agenttrace.yaml"), "data_dir: ~/agent-data\n")
    settings = load_settings()
    assert settings.embedded and settings.source == "embedded"
    assert settings.data_dir == clean_env / "agent-data"


def test_environment_data_dir_and_schema_beat_the_config_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(Path("agenttrace.yaml"), "data_dir: /from/file\nschema: from_file\n")
    monkeypatch.setenv("AGENTTRACE_DATA_DIR", str(clean_env / "from-env"))
    monkeypatch.setenv("AGENTTRACE_SCHEMA", "from_env")
    settings = load_settings()
    assert settings.data_dir == clean_env / "from-env"
    assert settings.schema == "from_env"
    assert default_data_dir() == clean_env / "from-env"


def test_xdg_data_home_moves_the_default_data_folder(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(clean_env / "xdg-data"))
    assert load_settings().data_dir == clean_env / "xdg-data" / "agenttrace-replay"


def test_executor_table_is_read(clean_env: Path) -> None:
    write(
        Path("agenttrace.yaml"),
        "executor:\n  graph: myapp.agent:graph\n  base_url: http://localhost:11434/v1\n  api_key_env: OPENAI_API_KEY\n",
    )
    assert load_settings().executor == {
        "graph": "myapp.agent:graph",
        "base_url": "http://localhost:11434/v1",
        "api_key_env": "OPENAI_API_KEY",
    }


# --- where the config file is looked for ----------------------------------------------------


def test_search_order_is_working_directory_then_user_config_folder(clean_env: Path) -> None:
    assert config_candidates() == [Path.cwd() / "agenttrace.yaml", user_config(clean_env)]


def test_user_config_folder_is_used_when_there_is_no_local_file(clean_env: Path) -> None:
    path = write(user_config(clean_env), f"database_url: {FILE_URL}\n")
    settings = load_settings()
    assert settings.config_file == path and settings.database_url == FILE_URL


def test_local_file_wins_over_user_config_folder(clean_env: Path) -> None:
    write(user_config(clean_env), "database_url: postgresql://user-config@localhost/x\n")
    local = write(Path("agenttrace.yaml"), f"database_url: {FILE_URL}\n")
    settings = load_settings()
    assert settings.config_file == local.resolve() and settings.database_url == FILE_URL


def test_xdg_config_home_moves_the_user_config_folder(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(clean_env / "xdg"))
    path = write(clean_env / "xdg" / "agenttrace-replay" / "config.yaml", f"database_url: {FILE_URL}\n")
    assert load_settings().config_file == path


def test_agenttrace_config_replaces_the_search(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(Path("agenttrace.yaml"), "database_url: postgresql://local@localhost/x\n")
    chosen = write(clean_env / "elsewhere.yaml", f"database_url: {FILE_URL}\n")
    monkeypatch.setenv("AGENTTRACE_CONFIG", str(chosen))
    settings = load_settings()
    assert settings.config_file == chosen and settings.database_url == FILE_URL


def test_config_option_beats_agenttrace_config(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTTRACE_CONFIG", str(write(clean_env / "env.yaml", "schema: from_env_file\n")))
    explicit = write(clean_env / "explicit.yaml", "schema: from_option\n")
    settings = load_settings(config_path=explicit)
    assert settings.config_file == explicit and settings.schema == "from_option"


@pytest.mark.parametrize("how", ["option", "env"])
def test_a_named_config_file_that_does_not_exist_is_an_error(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    missing = clean_env / "missing.yaml"
    if how == "env":
        monkeypatch.setenv("AGENTTRACE_CONFIG", str(missing))
    with pytest.raises(InvalidInput, match="does not exist") as info:
        load_settings(config_path=missing if how == "option" else None)
    assert info.value.exit_code == ExitCode.USAGE


# --- bad config files and values ---------------------------------------------------------


def test_bad_yaml_is_one_line_naming_the_file(clean_env: Path) -> None:
    path = write(Path("agenttrace.yaml"), "database_url: [unclosed\n")
    with pytest.raises(InvalidInput) as info:
        load_settings()
    message = str(info.value)
    assert "not valid YAML" in message and str(path.resolve()) in message
    assert "\n" not in message


def test_unknown_keys_are_named(clean_env: Path) -> None:
    write(Path("agenttrace.yaml"), "database_url: postgresql://x@y/z\ndatbase: typo\nfoo: 1\n")
    with pytest.raises(InvalidInput, match=r"unknown key\(s\): datbase, foo") as info:
        load_settings()
    assert "Known keys:" in str(info.value)


def test_a_config_file_must_be_a_mapping(clean_env: Path) -> None:
    write(Path("agenttrace.yaml"), "- just\n- a list\n")
    with pytest.raises(InvalidInput, match="must hold a mapping"):
        load_settings()


def test_an_empty_config_file_is_fine(clean_env: Path) -> None:
    write(Path("agenttrace.yaml"), "")
    assert load_settings().embedded


def test_executor_must_be_a_mapping(clean_env: Path) -> None:
    write(Path("agenttrace.yaml"), "executor: langgraph\n")
    with pytest.raises(InvalidInput, match="'executor' must be a mapping"):
        load_settings()


@pytest.mark.parametrize("schema", ["Agent", "1abc", "has-dash", "semi;colon", "x" * 64])
def test_bad_schema_names_are_refused(clean_env: Path, monkeypatch: pytest.MonkeyPatch, schema: str) -> None:
    monkeypatch.setenv("AGENTTRACE_SCHEMA", schema)
    with pytest.raises(InvalidInput, match="invalid schema name") as info:
        load_settings()
    assert info.value.exit_code == ExitCode.USAGE


def test_a_bad_schema_name_in_the_config_file_is_refused(clean_env: Path) -> None:
    write(Path("agenttrace.yaml"), "schema: public; drop table x\n")
    with pytest.raises(InvalidInput, match="invalid schema name"):
        load_settings()


@pytest.mark.parametrize(
    "url",
    [
        "mysql://bob:s3cret@localhost/db",
        "localhost:5432",
        "postgresql://bob:s3cret@localhost:99999/db",
    ],
)
def test_invalid_database_urls_are_refused_without_the_password(url: str) -> None:
    with pytest.raises(InvalidInput, match="invalid database URL") as info:
        load_settings(db_url=url)
    assert "s3cret" not in str(info.value)
    assert info.value.exit_code == ExitCode.USAGE


def test_an_invalid_url_from_the_config_file_is_refused(clean_env: Path) -> None:
    write(Path("agenttrace.yaml"), "database_url: sqlite:///x.db\n")
    with pytest.raises(InvalidInput, match="invalid database URL"):
        load_settings()


def test_valid_urls_pass() -> None:
    for url in ("postgresql://u:p@h:5432/d", "postgres://h/d", "postgresql://u@/d?host=/tmp/sock&port=5433"):
        assert validate_database_url(url) == url


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("postgresql://bob:s3cret@db.example.com:5432/app") == "postgresql://bob:***@db.example.com:5432/app"
    assert redact_url("postgresql://bob@db/app") == "postgresql://bob@db/app"
    assert redact_url("postgresql://bob:p%40ss@db/app") == "postgresql://bob:***@db/app"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe", "is not UTF-8 text"),
        (b"1: x\n", "key 1 is not text"),
        (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
        (b"database_url: 5\n", "'database_url' must be a non-empty string, not 5."),
        (b"data_dir: 5\n", "'data_dir' must be a non-empty string, not 5."),
        (b"data_dir: [a]\n", "'data_dir' must be a non-empty string, not ['a']."),
        (b"schema: ''\n", "'schema' must be a non-empty string, not ''."),
        (b"executor: {default: [1]}\n", "'executor.default' must be a non-empty string, not [1]."),
        (b"executor: {default: 5}\n", "'executor.default' must be a non-empty string, not 5."),
        (b"executors: {default: ' '}\n", "'executors.default' must be a non-empty string, not ' '."),
        (b"executor: {base_url: 5}\n", "'executor.base_url' must be a non-empty string, not 5."),
        (b"executor: {base_url: localhost:11434}\n", "'executor.base_url' must be an http:// or https:// URL"),
        (b"executor: {api_key_env: [1]}\n", "'executor.api_key_env' must be a non-empty string, not [1]."),
        (b"executor: {graph: bad}\n", "'executor.graph' must be module:attr, not 'bad'."),
        (b"executor: {1: x}\n", "key executor.1 is not text"),
        (b"executor: {configurable: [a]}\n", "'executor.configurable' must be a mapping of keys"),
        (b"executor: {headers: {X-Team: 1}}\n", "every value of 'executor.headers' must be a string"),
        (b"executor: {recursion_limit: '50'}\n", "'executor.recursion_limit' must be a positive whole number"),
        (b"executor: {}\nexecutors: {default: mock}\n", "has both 'executor' and 'executors'"),
    ],
)
def test_config_values_of_the_wrong_type_are_refused_naming_the_file_and_key(
    clean_env: Path, content: bytes, message: str
) -> None:
    path = clean_env / "bad.yaml"
    path.write_bytes(content)
    with pytest.raises(InvalidInput) as info:
        load_settings(config_path=path)
    assert info.value.exit_code == ExitCode.USAGE
    assert message in str(info.value) and f"config file {path}" in str(info.value)
    assert "\n" not in str(info.value)


def test_a_key_left_empty_counts_as_not_set(clean_env: Path) -> None:
    write(Path("agenttrace.yaml"), "database_url:\nschema:\nexecutor:\n  default:\n  graph: myapp.agent:graph\n")
    settings = load_settings()
    assert settings.embedded and settings.schema == DEFAULT_SCHEMA
    assert settings.executor == {"graph": "myapp.agent:graph"}


def test_executors_is_read_like_executor(clean_env: Path) -> None:
    write(Path("agenttrace.yaml"), "executors:\n  default: generic\n  recursion_limit: 20\n  headers: {X-Team: a}\n")
    assert load_settings().executor == {"default": "generic", "recursion_limit": 20, "headers": {"X-Team": "a"}}


@pytest.mark.parametrize("where", ["flag", "env"])
def test_an_empty_database_url_is_refused_not_the_embedded_database(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    if where == "env":
        monkeypatch.setenv("AGENTTRACE_DATABASE_URL", "")
    with pytest.raises(InvalidInput, match="the database URL is empty"):
        load_settings("" if where == "flag" else None)


@pytest.mark.parametrize("url, shown", [
    ("postgresql://me@127.0.0.1:5433/agents?password=hunter2", "postgresql://me@127.0.0.1:5433/agents?password=***"),
    ("postgresql://me:hunter2@h/db?sslmode=require&sslpassword=x2", "postgresql://me:***@h/db?sslmode=require&sslpassword=***"),
])
def test_passwords_in_the_query_are_masked_too(url: str, shown: str) -> None:
    from agenttrace_replay.config import redact_url

    assert redact_url(url) == shown


def test_a_malformed_ipv6_url_is_bad_input() -> None:
    with pytest.raises(InvalidInput, match="Invalid IPv6 URL") as caught:
        load_settings("postgresql://me:hunter2@[::1/agents")
    assert "hunter2" not in str(caught.value)


def test_bad_values_in_the_config_file_name_the_file_and_key(tmp_path: Path) -> None:
    config = tmp_path / "agenttrace.yaml"
    config.write_text("schema: Bad-Name\n")
    with pytest.raises(InvalidInput, match=f"config file {config}: schema: invalid schema name 'Bad-Name'"):
        load_settings(None, str(config))
    config.write_text("database_url: mysql://x\n")
    with pytest.raises(InvalidInput, match=f"config file {config}: database_url: invalid database URL"):
        load_settings(None, str(config))
    with pytest.raises(InvalidInput, match="is a folder, not a file"):
        load_settings(None, str(tmp_path))


@pytest.mark.parametrize("password", ["s3cr/et99", "Tr0ub4dor?3", "a#b", "p@ss:w/rd?#%"])
def test_passwords_that_end_a_url_parsers_host_part_are_masked(password: str) -> None:
    """An unencoded / ? # or @ in the password ends a URL parser's idea of the host part:
    the message must still not show any of the password."""
    url = f"postgresql://app:{password}@db.example.com:5432/agents"
    with pytest.raises(InvalidInput) as caught:
        load_settings(url)
    shown = str(caught.value) + (caught.value.hint or "")
    assert "app:***@" in shown
    for start in range(len(password) - 2):
        assert password[start:start + 3] not in shown.replace("db.example.com:5432/agents", "")


def test_several_hosts_and_libpq_timeouts_are_accepted() -> None:
    from agenttrace_replay.db import _connect_timeout

    assert load_settings("postgresql://u:p@h1:5432,h2:5433/db").database_url == "postgresql://u:p@h1:5432,h2:5433/db"
    assert _connect_timeout("postgresql://h/db?connect_timeout=2&sslmode=disable") == ("postgresql://h/db?sslmode=disable", 2.0)
    with pytest.raises(InvalidInput, match="connect_timeout"):
        _connect_timeout("postgresql://h/db?connect_timeout=soon")


@pytest.mark.parametrize("name", ["pg_foo", "pg_catalog", "pg_temp", "information_schema"])
def test_schema_names_postgresql_keeps_are_refused(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTTRACE_SCHEMA", name)
    with pytest.raises(InvalidInput, match="PostgreSQL keeps it"):
        load_settings("postgresql://h/db")


@pytest.mark.parametrize("url, shown", [
    ("postgresql://127.0.0.1:1/db?password=p@ssw0rd", "postgresql://127.0.0.1:1/db?password=***"),
    ("postgresql://app@db.internal:5432/agents?password=s3cret@word", "postgresql://app@db.internal:5432/agents?password=***"),
    ("postgresql://alice@db.example.com:5432/app?application_name=ci@runner",
     "postgresql://alice@db.example.com:5432/app?application_name=ci@runner"),
    ("postgresql://odd1:p@ss:w/rd?#%@h:1/d", "postgresql://odd1:***@h:1/d"),
    ("postgresql://u:pw@/db?host=/tmp", "postgresql://u:***@/db?host=/tmp"),
    ("postgresql:///appdb?host=/tmp", "postgresql:///appdb?host=/tmp"),
    ("postgresql://u:p@h1:5432,h2:5433/db", "postgresql://u:***@h1:5432,h2:5433/db"),
    ("postgresql://me:hunter2@[::1]:5432/agents", "postgresql://me:***@[::1]:5432/agents"),
    ("postgresql://me:hunter2@[::1/agents", "postgresql://me:***@[::1/agents"),
    ("postgresql://app:Xk@9/Qz7@127.0.0.1:1/db", "postgresql://app:***@127.0.0.1:1/db"),
    ("postgresql://user:p@ss/word@host/db", "postgresql://user:***@host/db"),
    ("postgresql://user:pa?x=1@host/db", "postgresql://user:***@host/db"),
    ("postgresql://127.0.0.1:1/db?application_name=ci@runner", "postgresql://127.0.0.1:1/db?application_name=ci@runner"),
    ("postgresql://h/db?password=ab#cd&x=1", "postgresql://h/db?password=***&x=1"),
])
def test_redaction_finds_the_user_part_whatever_else_holds_an_at(url: str, shown: str) -> None:
    """An `@` in the query (a password, an application name) is not the end of the user part."""
    from agenttrace_replay.config import redact_url

    assert redact_url(url) == shown
