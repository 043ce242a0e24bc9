"""Rate limits for anonymous search, one bucket per client address and scope.

Signed-in users (staff with a session) are not limited. Rates come from
settings.API_THROTTLE_RATES (environment: API_THROTTLE_IMAGE_SEARCH,
API_THROTTLE_TEXT_SEARCH), read on every request rather than frozen at import as DRF's
own throttles do, so a changed setting takes effect without a restart of the class.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle


class AnonymousSearchThrottle(SimpleRateThrottle):
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
