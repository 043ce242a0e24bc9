"""Who may download what under MEDIA_URL.

Public: the derivatives the pipeline writes (derived/: thumbnails and display images,
re-encoded from the decoded pixels, vision.pipeline). Everything else in media storage is an
upload as it arrived: product originals (products/: a rejected file, a supplier's picture with
its metadata) and shoppers' query photos (query-photos/). Those are served to signed-in staff
only; anyone else gets the same 404 as for a file that does not exist.

With SERVE_MEDIA off a front web server serves derived/ itself (docs/deployment.md); Django
still answers the rest, because only it knows who is staff.
"""

from __future__ import annotations

import posixpath

from django.conf import settings
from django.contrib import admin
from django.http import Http404
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.static import serve

PUBLIC_MEDIA_PREFIXES = ("derived/",)


def media_path_is_public(path: str) -> bool:
    """True for a path (as in the URL, after MEDIA_URL) anyone may download. Judged on the
    normalised path the file is then read from, so `derived/../products/x.jpg` is not public."""
    return posixpath.normpath(path).lstrip("/").startswith(PUBLIC_MEDIA_PREFIXES)


def media_serve(request, path: str):
    normalised = posixpath.normpath(path).lstrip("/")
    if media_path_is_public(normalised):
        if not settings.SERVE_MEDIA:
            raise Http404("derived media are served by the front web server")
        return serve(request, normalised, document_root=settings.MEDIA_ROOT)
    if not admin.site.has_permission(request):  # active staff
        raise Http404("not found")
    response = serve(request, normalised, document_root=settings.MEDIA_ROOT)
    # A staff-only file must never be answered from a shared cache to someone else.
    patch_cache_control(response, private=True, no_store=True)
    patch_vary_headers(response, ["Cookie"])
    return response
