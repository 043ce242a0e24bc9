"""Set-up every app's tests share: the fixtures package's plugins and fresh rate limits."""

from __future__ import annotations

import pytest
from django.core.cache import cache

# Fixtures more than one app's tests use (fixtures/): requested by name anywhere.
pytest_plugins = ["fixtures.shop", "fixtures.celery_worker"]

@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Search rate-limit counts (visualshop.rate_limits) live in the default cache, which
    outlives a test: each test (API, pages, the live server's) starts with a full budget."""
    cache.clear()
    yield
    cache.clear()
