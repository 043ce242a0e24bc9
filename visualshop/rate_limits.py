"""Search rate limits shared by every interface: the API (api.throttling) and the shop's pages
(storefront.rate_limits) count against ONE budget per client address and kind of search, so
the pages are no way round the API's limits and the other way round.

Kinds (scopes) and rates: settings.API_THROTTLE_RATES, "search_image" (photo searches:
uploads, photo and hybrid results; embedding a photo is the expensive part) and
"search_text" (word searches), "<count>/<second|minute|hour|day>", None for no limit. Read on
every request, so a changed setting applies at once.

Counters live in Django's default cache (visualshop/settings/cache.py: the Redis every web
process shares), under DRF's key format `throttle_<scope>_<address>` and as DRF's sliding
window (a list of request times, newest first), so counts kept by an older release carry on;
each update holds a short lock (`<key>:lock`), so concurrent requests from one address in
several web processes are each counted.
A cache that does not answer lets searches through and logs it: search stays up unlimited
rather than failing every request. Signed-in staff are never limited.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

IMAGE_SEARCH = "search_image"
TEXT_SEARCH = "search_text"

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """ "30/min" -> (30, 60): the count and the window in seconds (DRF's format)."""
    count, period = rate.split("/")
    return int(count), _PERIODS[period.strip()[0]]


def client_address(request) -> str:
    """The address a budget belongs to. Behind settings.API_NUM_PROXIES proxies that append to
    X-Forwarded-For, the entry the nearest trusted proxy wrote; with none (the default) only
    REMOTE_ADDR, so a client cannot pick its own bucket by sending the header (as DRF's get_ident)."""
    remote_addr = request.META.get("REMOTE_ADDR") or ""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR")
    proxies = settings.API_NUM_PROXIES
    if not proxies or not forwarded:
        return remote_addr
    addresses = forwarded.split(",")
    return addresses[-min(proxies, len(addresses))].strip()


def is_exempt(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


def search_rate_limit_hit(request, scope: str) -> int | None:
    """Count this request against its address's budget for `scope`. None: allowed (and counted);
    otherwise the whole seconds until the address may search again (the request is not counted)."""
    rate = settings.API_THROTTLE_RATES.get(scope)
    if not rate or is_exempt(request):
        return None
    limit, window = parse_rate(rate)
    key = f"throttle_{scope}_{client_address(request)}"
    try:
        if not _lock(key):
            # So many of this address's searches at once that one lock wait ran out: busy.
            return 1
        try:
            return _counted(key, limit, window)
        finally:
            cache.delete(f"{key}:lock")
    except (RedisError, OSError) as exc:
        logger.warning("rate limit not applied: cache unavailable scope=%s error=%s", scope, exc)
    return None


# The history is read, trimmed and written back: without a lock, concurrent searches from one
# address (several web processes) would each write their own copy and all but one would go
# uncounted. cache.add is atomic (SET NX in Redis); the lock expires by itself if its holder dies.
LOCK_SECONDS = 1
LOCK_ATTEMPTS = 100
LOCK_PAUSE_SECONDS = 0.005  # at most 0.5 s of waiting in all, then "busy": try again in 1 s


def _lock(key: str) -> bool:
    for _ in range(LOCK_ATTEMPTS):
        if cache.add(f"{key}:lock", 1, LOCK_SECONDS):
            return True
        time.sleep(LOCK_PAUSE_SECONDS)
    return False


def _counted(key: str, limit: int, window: int) -> int | None:
    now = time.time()
    history = [moment for moment in cache.get(key, []) if moment > now - window]
    if len(history) >= limit:
        oldest = history[-1] if history else now  # "0/min": always refused, a whole window away
        return max(1, math.ceil(window - (now - oldest)))
    history.insert(0, now)
    cache.set(key, history, window)
    return None
