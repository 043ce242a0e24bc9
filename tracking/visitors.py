"""Who a request comes from, pseudonymously, and whether it may be tracked at all.

A visitor is a random UUID in a signed first-party cookie, nothing more: no IP address, no
fingerprint. A browser that sends Do-Not-Track (`DNT: 1`) or Global Privacy Control
(`Sec-GPC: 1`), or, when the shop asks for consent (TRACKING_CONSENT_REQUIRED), has not given
it, gets no visitor id: no cookie is set (one set earlier is deleted) and nothing about its
requests is recorded or forwarded.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing

VISITOR_COOKIE = "vs_visitor"
# Set by the shop's consent choice: "yes" or "no" (only read when TRACKING_CONSENT_REQUIRED).
CONSENT_COOKIE = "vs_tracking_consent"
_SALT = "tracking.visitor"


def tracking_allowed(request) -> bool:
    """May this request be tracked: no Do-Not-Track, no Global Privacy Control, and consent
    when the shop requires it."""
    if request.headers.get("DNT", "").strip() == "1" or request.headers.get("Sec-GPC", "").strip() == "1":
        return False
    if settings.TRACKING_CONSENT_REQUIRED:
        return request.COOKIES.get(CONSENT_COOKIE) == "yes"
    return True


def cookie_visitor_id(request) -> uuid.UUID | None:
    """The visitor id in the request's cookie, if it is there, signed by us and well formed."""
    try:
        value = request.get_signed_cookie(
            VISITOR_COOKIE, salt=_SALT, max_age=settings.TRACKING_VISITOR_COOKIE_DAYS * 86400
        )
        return uuid.UUID(value)
    except (KeyError, signing.BadSignature, ValueError):
        return None


@dataclass(frozen=True)
class Identity:
    """Who an event is about: the pseudonymous visitor, and the account when signed in."""

    visitor_id: uuid.UUID
    user_id: int | None = None


def request_identity(request) -> Identity | None:
    """The request's Identity; None when it may not be tracked (VisitorMiddleware): then
    nothing about it is recorded."""
    visitor_id = getattr(request, "visitor_id", None)
    if visitor_id is None:
        return None
    user = getattr(request, "user", None)
    return Identity(visitor_id, user.pk if user is not None and user.is_authenticated else None)


class VisitorMiddleware:
    """Sets request.visitor_id: the visitor's UUID, or None when the request may not be tracked.
    A new visitor gets its cookie on the response; a browser that may not be tracked loses one
    it had."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        allowed = tracking_allowed(request)
        known = cookie_visitor_id(request) if allowed else None
        request.visitor_id = known or (uuid.uuid4() if allowed else None)
        response = self.get_response(request)
        if allowed and known is None:
            response.set_signed_cookie(
                VISITOR_COOKIE,
                str(request.visitor_id),
                salt=_SALT,
                max_age=settings.TRACKING_VISITOR_COOKIE_DAYS * 86400,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        elif not allowed and VISITOR_COOKIE in request.COOKIES:
            response.delete_cookie(VISITOR_COOKIE, samesite="Lax")
        return response
