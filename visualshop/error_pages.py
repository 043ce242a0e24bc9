"""The project's handler400 (visualshop/urls.py), for whatever Django refuses before or while a
view reads the request (visualshop.bad_requests says why): the API's JSON error shape under
/api/ (api.errors), {"errors": [...]} for the photo widget (Accept: application/json, as
storefront's other answers to it), else templates/400.html."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render

from api.errors import error_body
from visualshop.bad_requests import bad_request_reason


def bad_request(request, exception=None):
    """handler400 (visualshop/urls.py)."""
    reason = bad_request_reason(exception) if exception is not None else "The request was refused as malformed."
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("bad_request", reason), status=400)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"errors": [reason]}, status=400)
    return render(request, "400.html", {"reason": reason}, status=400)
