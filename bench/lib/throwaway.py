"""A throw-away database and folder for a benchmark run, on the embedded PostgreSQL server."""

from __future__ import annotations

import os
import signal
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
