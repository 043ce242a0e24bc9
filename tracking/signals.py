"""Receivers of Django's signals; thin: the work is in tracking.services."""

from tracking.services import visitor_signed_in
from tracking.visitors import request_identity


def merge_visitor_at_sign_in(sender, request, user, **kwargs) -> None:
    """user_logged_in: the visitor's events take the account (visitor_signed_in); nothing for
    a request that may not be tracked."""
    identity = request_identity(request) if request is not None else None
    if identity is not None:
        visitor_signed_in(identity.visitor_id, user.pk)
