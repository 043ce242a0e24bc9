"""A throw-away database and folder for a benchmark run, on the embedded PostgreSQL server."""

from __future__ import annotations

import os
import signal
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def throwaway_database(name: str, *, prefix: str) -> Iterator[tuple[Path, str]]:
    """(a temporary folder, the URL of an empty database `name`): both gone on leaving, after
    Django's connections (if it was set up) are closed. SIGTERM leaves like Ctrl-C; a process
    forked from this one that gets SIGTERM just dies."""
    from visualshop import embedded
    from visualshop.paths import VAR_DIR

    main_pid = os.getpid()

    def interrupted(signum, frame):
        if os.getpid() != main_pid:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupted)
    admin_url = embedded.postgres_database_url(VAR_DIR, database="postgres")
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        embedded.recreate_database(admin_url, name)
        try:
            yield Path(tmp), admin_url.rsplit("/", 1)[0] + f"/{name}"
        finally:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # Django never set up
                pass
            embedded.drop_database(admin_url, name)


MEMORY_BROKER = "memory://localhost/"  # on-commit messages go nowhere: the benchmark processes here
# Search budgets no single-client benchmark reaches: the limiter runs on every search but never
# refuses (a benchmark that uses them says so in its JSON).
BENCH_RATE_LIMITS = {"API_THROTTLE_IMAGE_SEARCH": "1000000/hour", "API_THROTTLE_TEXT_SEARCH": "1000000/hour"}


def throwaway_environment(tmp: Path, database_url: str, **extra_env: str) -> dict[str, str]:
    """This process's environment pointed at the throw-away database, media and static folders,
    with no broker and no metrics folder: the shop as a benchmark serves it."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_MEDIA_ROOT": str(tmp / "media"),
        "DJANGO_STATIC_ROOT": str(tmp / "static"),
        "DJANGO_SETTINGS_MODULE": "visualshop.settings",
        "CELERY_BROKER_URL": MEMORY_BROKER,
        "CELERY_RESULT_BACKEND": "cache+memory://",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        **extra_env,
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    return env


def django_on_throwaway(tmp: Path, database_url: str, **extra_env: str) -> None:
    """Set this process's Django up on throwaway_environment and migrate."""
    os.environ.update(throwaway_environment(tmp, database_url, **extra_env))
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    import django

    django.setup()
    from django.core.management import call_command

    print("migrating the throw-away database", file=sys.stderr, flush=True)
    call_command("migrate", verbosity=0)
