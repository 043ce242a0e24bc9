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


def django_on_throwaway(tmp: Path, database_url: str, **extra_env: str) -> None:
    """Point this process's Django at the throw-away database, media and static folders (no
    broker, no metrics folder), set it up and migrate: the shop as a benchmark serves it."""
    os.environ.update({
        "DATABASE_URL": database_url,
        "DJANGO_MEDIA_ROOT": str(tmp / "media"),
        "DJANGO_STATIC_ROOT": str(tmp / "static"),
        "DJANGO_SETTINGS_MODULE": "visualshop.settings",
        "CELERY_BROKER_URL": MEMORY_BROKER,
        "CELERY_RESULT_BACKEND": "cache+memory://",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        **extra_env,
    })
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    import django

    django.setup()
    from django.core.management import call_command

    print("migrating the throw-away database", file=sys.stderr, flush=True)
    call_command("migrate", verbosity=0)
