"""Who may see a shopper's query photo: the session that uploaded it, and staff.

A query photo is a shopper's private upload (search.query_photos stores it under a token);
a results link passed on still runs the search, but the picture itself is shown only to its
uploader. Media storage keeps it out of public reach (visualshop.media: staff only).
"""

from __future__ import annotations

from django.contrib import admin

SESSION_KEY = "query_photos"
# Tokens a session remembers, newest last: the photos of a shopper's recent searches.
REMEMBERED_PHOTOS = 20


def query_photo_remember(session, token: str) -> None:
    """The session uploaded this photo: it may see it (the oldest of too many is forgotten)."""
    tokens = [known for known in session.get(SESSION_KEY, []) if known != token]
    session[SESSION_KEY] = [*tokens[-(REMEMBERED_PHOTOS - 1) :], token]


def query_photo_viewable(request, token: str) -> bool:
    return admin.site.has_permission(request) or token in request.session.get(SESSION_KEY, [])
