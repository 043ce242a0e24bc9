"""A throw-away database, folder and environment on the shop's PostgreSQL server: what every
benchmark (bench/*.py) and `manage.py evaluate_search` fill instead of the shop's own.

    with throwaway_database("visualshop_bench", prefix="visualshop-bench-") as (tmp, url):
        django_on_throwaway(tmp, url)          # this process's Django on it, migrated
        # or: subprocess.Popen(..., env=throwaway_environment(tmp, url))

Apps may import this module (it is the project package); it imports no app.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import django
from django.apps import apps
from django.core.management import call_command
from django.db import connections

from visualshop import embedded
from visualshop.paths import VAR_DIR

MEMORY_BROKER = "memory://localhost/"  # on-commit messages go nowhere: the caller processes here
# Search budgets no single-client benchmark reaches: the limiter runs on every search but never
# refuses (a benchmark that uses them says so in its JSON).
BENCH_RATE_LIMITS = {"API_THROTTLE_IMAGE_SEARCH": "1000000/hour", "API_THROTTLE_TEXT_SEARCH": "1000000/hour"}


def database_url(settings_dict: dict, name: str) -> str:
    """postgres:// URL of database `name` on the server a Django database entry points at."""
    quote = lambda value: urllib.parse.quote(str(value or ""), safe="")  # noqa: E731
    credentials = quote(settings_dict.get("USER"))
    if settings_dict.get("PASSWORD"):
        credentials += ":" + quote(settings_dict["PASSWORD"])
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    options = {key: value for key, value in (settings_dict.get("OPTIONS") or {}).items() if isinstance(value, str)}
    query = "?" + urllib.parse.urlencode(options) if options else ""  # e.g. sslmode
    return f"postgres://{credentials}@{quote(settings_dict.get('HOST'))}{port}/{name}{query}"


def sibling_database_url(url: str, name: str) -> str:
    """The URL of database `name` on the same server, as the same user, with the same options."""
    return urllib.parse.urlsplit(url)._replace(path=f"/{name}").geturl()


def embedded_admin_url() -> str:
    """The maintenance database of the embedded server under var/ (started if it is not running)."""
    return embedded.postgres_database_url(VAR_DIR, database="postgres")


@contextmanager
def throwaway_database(
    name: str, *, prefix: str, admin_url: str | None = None, keep: bool = False
) -> Iterator[tuple[Path, str]]:
    """(a new temporary folder, the URL of an empty database `name`), made through `admin_url`
    (default: the embedded server's, embedded_admin_url). On leaving, this process's Django
    connections to `name` are closed, then the database and the folder are gone, unless keep."""
    admin_url = admin_url or embedded_admin_url()
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        embedded.recreate_database(admin_url, name)
        yield tmp, sibling_database_url(admin_url, name)
    finally:
        if not keep:
            _django_connections_close(name)
            embedded.drop_database(admin_url, name)
            shutil.rmtree(tmp, ignore_errors=True)


def _django_connections_close(name: str) -> None:
    """Close this process's connections to database `name` (a benchmark's Django is set up on
    it); a caller connected elsewhere (evaluate_search's, to the shop) keeps its connections."""
    if not apps.ready:  # Django never set up: no connection to close
        return
    for connection in connections.all(initialized_only=True):
        if connection.settings_dict.get("NAME") == name:
            connection.close()


def sigterm_as_ctrl_c() -> None:
    """SIGTERM leaves this process like Ctrl-C (its clean-up runs: the throw-away database is
    dropped); a process forked from this one that gets SIGTERM just dies."""
    main_pid = os.getpid()

    def interrupted(signum, frame):
        if os.getpid() != main_pid:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)


def throwaway_environment(
    tmp: Path, database_url: str, *, settings_module: str = "visualshop.settings", **extra_env: str
) -> dict[str, str]:
    """This process's environment pointed at the throw-away database and at media and static
    folders in `tmp`, with an in-memory broker (extra_env may name a real one), an MLflow store in
    `tmp` and no metrics folder or port: the shop's metrics would otherwise count the
    throw-away's work as its own."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_MEDIA_ROOT": str(tmp / "media"),
        "DJANGO_STATIC_ROOT": str(tmp / "static"),
        "DJANGO_SETTINGS_MODULE": settings_module,
        "CELERY_BROKER_URL": MEMORY_BROKER,
        "CELERY_RESULT_BACKEND": "cache+memory://",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        # Training runs of the throw-away's models go to its own MLflow store, not the shop's.
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp / 'mlflow' / 'mlflow.db'}",
        "MLFLOW_ARTIFACT_ROOT": (tmp / "mlflow" / "artifacts").as_uri(),
        **extra_env,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.pop("WORKER_METRICS_PORT", None)
    return env


def django_on_throwaway(tmp: Path, database_url: str, **extra_env: str) -> None:
    """Set this process's Django up on throwaway_environment and migrate."""
    os.environ.update(throwaway_environment(tmp, database_url, **extra_env))
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    os.environ.pop("WORKER_METRICS_PORT", None)
    django.setup()
    print("migrating the throw-away database", file=sys.stderr, flush=True)
    call_command("migrate", verbosity=0)
