"""The shopper's own query photo, for the results page (its uploader and staff only)."""

from django.http import Http404, HttpResponse
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.views.decorators.http import require_GET

from search.query_photos import QueryPhotoNotFound, query_photo_content
from storefront.query_photo_access import query_photo_viewable


@require_GET
def query_photo(request, token: str):
    if not query_photo_viewable(request, token):
        raise Http404("No such photo.")
    try:
        content = query_photo_content(token)
    except QueryPhotoNotFound:
        raise Http404("No such photo.") from None
    response = HttpResponse(content, content_type="image/jpeg")
    # The token is the content's hash: the bytes never change, but only this browser may keep them.
    patch_cache_control(response, private=True, max_age=3600)
    patch_vary_headers(response, ["Cookie"])
    return response
