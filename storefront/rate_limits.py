"""The search pages' rate limits: the API's budgets (visualshop.rate_limits), counted per
request that searches. Over the limit: the friendly 429 page (templates/429.html) or, for the
photo widget (Accept: application/json), {"errors": [message]} it shows inline; both with
Retry-After."""

from __future__ import annotations

from functools import wraps

from django.http import JsonResponse
from django.shortcuts import render

from visualshop.rate_limits import IMAGE_SEARCH, TEXT_SEARCH, search_rate_limit_hit


def rate_limited_message(scope: str, retry_after: int) -> str:
    what = "photo searches" if scope == IMAGE_SEARCH else "searches"
    when = "in 1 second" if retry_after == 1 else f"in {retry_after} seconds"
    return f"You have made a lot of {what} in a short time. Please try again {when}."


def results_scope(request) -> str | None:
    """What a GET /search/ costs: a photo (alone or with words) is a photo search, words alone a
    word search; the bare search page searches nothing and is free."""
    if request.GET.get("photo"):
        return IMAGE_SEARCH
    if request.GET.get("q"):
        return TEXT_SEARCH
    return None


def upload_scope(request) -> str | None:
    return IMAGE_SEARCH if request.method == "POST" else None


def search_rate_limit(scope_of):
    """Decorate a page view; scope_of(request) names the budget the request counts against
    (None: not counted). Checked before the view reads the body."""

    def decorator(view):
        @wraps(view)
        def limited(request, *args, **kwargs):
            scope = scope_of(request)
            retry_after = search_rate_limit_hit(request, scope) if scope else None
            if retry_after is None:
                return view(request, *args, **kwargs)
            return too_many_searches(request, scope, retry_after)

        return limited

    return decorator


def too_many_searches(request, scope: str, retry_after: int):
    message = rate_limited_message(scope, retry_after)
    if "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse({"errors": [message]}, status=429)
    else:
        response = render(request, "429.html", {"message": message, "retry_after": retry_after}, status=429)
    response["Retry-After"] = str(retry_after)
    return response
