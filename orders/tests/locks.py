"""For concurrency tests: wait until other connections are blocked on a lock, and race
requests against a row lock the test holds."""

import threading
import time

import pytest
from django.db import connection, transaction


def wait_until_waiting_for_locks(count: int, *, timeout: float = 10.0) -> None:
    """Wait until `count` connections to the test database wait for a lock (a row lock, a
    unique index entry another transaction holds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            # pg_stat_activity is read as of the first look in a transaction unless cleared.
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0] >= count:
                return
        time.sleep(0.02)
    pytest.fail(f"{count} connections did not wait for a lock within {timeout} s")


def race_while_locked(product, *submits) -> None:
    """Run each callable in a thread of its own (its own connection, closed afterwards) while
    the test holds `product`'s row lock; let go once all of them wait for it, then wait for them."""
    from catalog.models import Product

    def run(submit):
        try:
            submit()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(submit,)) for submit in submits]
    with transaction.atomic():
        Product.objects.select_for_update().filter(pk=product.pk).get()
        for thread in threads:
            thread.start()
        wait_until_waiting_for_locks(len(threads))
    for thread in threads:
        thread.join(timeout=10)
