"""Rate limits for anonymous search, one bucket per client address and scope.

Signed-in users (staff with a session) are not limited. Rates come from
settings.API_THROTTLE_RATES (environment: API_THROTTLE_IMAGE_SEARCH,
API_THROTTLE_TEXT_SEARCH), read on every request rather than frozen at import as DRF's
own throttles do, so a changed setting takes effect without a restart of the class.
"""

from __future__ import annotations

import logging

from django.conf import settings
from redis.exceptions import RedisError
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


class AnonymousSearchThrottle(SimpleRateThrottle):
    def allow_request(self, request, view) -> bool:
        # The counters live in the shared cache (visualshop/settings/cache.py). If it is down,
        # search stays up without limits rather than failing every request.
        try:
            return super().allow_request(request, view)
        except (RedisError, OSError) as exc:
            logger.warning("rate limit not applied: cache unavailable scope=%s error=%s", self.scope, exc)
            return True

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str | None:
        if request.user and request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class ImageSearchThrottle(AnonymousSearchThrottle):
    scope = "search_image"


class TextSearchThrottle(AnonymousSearchThrottle):
    scope = "search_text"
