"""Rate limits for anonymous search: DRF's throttle interface over the counters the shop's pages
share (visualshop.rate_limits: one budget per client address and kind, in the shared cache,
signed-in staff not limited, a cache that does not answer lets searches through and logs).

Rates come from settings.API_THROTTLE_RATES (environment: API_THROTTLE_IMAGE_SEARCH,
API_THROTTLE_TEXT_SEARCH), read on every request rather than frozen at import as DRF's own
throttles do. An over-the-limit request is DRF's Throttled: 429 with Retry-After.
"""

from __future__ import annotations

from rest_framework.throttling import BaseThrottle

from visualshop.rate_limits import IMAGE_SEARCH, TEXT_SEARCH, search_rate_limit_hit


class AnonymousSearchThrottle(BaseThrottle):
    scope: str = ""

    def allow_request(self, request, view) -> bool:
        self._wait = search_rate_limit_hit(request, self.scope)
        return self._wait is None

    def wait(self) -> int | None:
        return self._wait


class ImageSearchThrottle(AnonymousSearchThrottle):
    scope = IMAGE_SEARCH


class TextSearchThrottle(AnonymousSearchThrottle):
    scope = TEXT_SEARCH
