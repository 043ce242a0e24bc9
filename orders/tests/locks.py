"""For concurrency tests: wait until other connections are blocked on a lock."""

import time

import pytest
from django.db import connection


def wait_until_waiting_for_locks(count: int, *, timeout: float = 10.0) -> None:
    """Wait until `count` connections to the test database wait for a lock (a row lock, a
    unique index entry another transaction holds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # pg_stat_activity is read as of the first look in a transaction unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND wait_event_type = 'Lock'")
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.02)
    pytest.fail(f"{count} connections did not wait for a lock within {timeout} s")
