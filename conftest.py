"""Set-up every app's tests share: the fixtures package's plugins, fresh rate limits, and the
`slow` marker implied by `worker` and `browser`."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from visualshop.broker import sending

# Fixtures more than one app's tests use (fixtures/): requested by name anywhere.
pytest_plugins = ["fixtures.shop", "fixtures.celery_worker", "fixtures.image_server", "fixtures.ranking"]

# Markers whose tests are slow by nature (a Celery worker or Chromium to start), so
# `make test-fast` (-m "not slow") leaves them out without each module saying so twice.
SLOW_BY_NATURE = ("worker", "browser")


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items):
    for item in items:
        if any(item.get_closest_marker(name) for name in SLOW_BY_NATURE):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Search rate-limit counts (visualshop.rate_limits) live in the default cache, which
    outlives a test: each test (API, pages, the live server's) starts with a full budget."""
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
