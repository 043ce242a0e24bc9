from django.conf import settings

from tracking.visitors import CONSENT_COOKIE


def tracking_consent(request) -> dict:
    """Whether the page asks for tracking consent (base.html's banner): only when the shop
    requires it (TRACKING_CONSENT_REQUIRED) and this browser has not answered yet."""
    return {"ask_tracking_consent": settings.TRACKING_CONSENT_REQUIRED and CONSENT_COOKIE not in request.COOKIES}
