"""Unknown paths under /api/v1/ answer with the API's JSON 404, not the shop's HTML page."""

from __future__ import annotations

from django.urls import Resolver404, resolve
from rest_framework.exceptions import NotFound
from rest_framework.views import APIView


class NoEndpointView(APIView):
    schema = None  # not an operation
    authentication_classes = []  # nothing to protect, so no CSRF check before the 404

    def _not_found(self, request, *args, **kwargs):
        message = f"No API endpoint at {request.path}."
        if not request.path.endswith("/") and _is_endpoint(request.path + "/"):
            message += f" Did you mean {request.path}/ ?"
        raise NotFound(message)

    get = post = put = patch = delete = options = _not_found


def _is_endpoint(path: str) -> bool:
    try:
        return getattr(resolve(path).func, "cls", None) is not NoEndpointView
    except Resolver404:
        return False
