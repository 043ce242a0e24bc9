import pytest

from visualshop.settings.cache import _cache_url_from_broker


@pytest.mark.parametrize(
    "broker, cache",
    [
        ("redis://redis:6379/0", "redis://redis:6379/2"),
        ("rediss://:secret@cache.example:6380/0", "rediss://:secret@cache.example:6380/2"),
        ("redis+socket:///srv/var/redis/redis.sock", "unix:///srv/var/redis/redis.sock?db=2"),
        ("amqp://guest@rabbit//", ""),  # not Redis: each process keeps its own in-memory cache
    ],
)
def test_the_cache_shares_the_brokers_redis_in_a_database_of_its_own(broker, cache):
    assert _cache_url_from_broker(broker) == cache
