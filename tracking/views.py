"""POST /t/events: the browser's impressions and clicks, in batches (static/js/tracking.js
sends them with navigator.sendBeacon). Every refusal is a 4xx with its reason in JSON.

GET /staff/analytics/search/: the search analytics page for staff, from the daily rollups."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.db import DatabaseError
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tracking import analytics, charts, services
from tracking import beacon as beacons
from tracking.visitors import CONSENT_COOKIE, request_identity

CONTENT_TYPES = ("application/json", "text/plain")  # sendBeacon sends a string as text/plain


def refused(status: int, reason: str, **headers) -> JsonResponse:
    response = JsonResponse({"error": reason}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


@csrf_exempt  # no cookie-authenticated change: the Origin check below keeps other sites out
@require_POST
def beacon(request):
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    limit = settings.TRACKING_BEACON_MAX_BYTES
    if length > limit:
        return refused(413, f"the batch is {length} bytes, over the limit of {limit}")
    if request.content_type not in CONTENT_TYPES:
        return refused(415, f"send the batch as application/json, not {request.content_type or 'no type'}")
    origin = request.headers.get("Origin")
    if origin is None:
        return refused(403, "a beacon must say its Origin")
    if origin not in {f"{request.scheme}://{request.get_host()}", *settings.TRACKING_BEACON_ORIGINS}:
        return refused(403, f"origin {origin} may not send events to this shop")
    identity = request_identity(request)
    if identity is None:  # Do-Not-Track, Global Privacy Control, no consent: nothing is kept
        return HttpResponse(status=204)
    now = timezone.now()
    wait = beacons.batches_over_rate(identity.visitor_id, now=now)
    if wait is not None:
        return refused(429, "too many batches from this visitor; send them later", Retry_After=str(wait))
    body = request.body
    if len(body) > limit:  # a body longer than its Content-Length said (chunked)
        return refused(413, f"the batch is over the limit of {limit} bytes")
    try:
        events = beacons.batch_events(body, identity, now=now)
    except beacons.BatchRefused as error:
        return refused(400, str(error))
    try:
        stored = services.events_record(events)
    except DatabaseError:
        return refused(503, "the events could not be stored now; send them again", Retry_After="5")
    return JsonResponse({"received": len(events), "stored": stored}, status=202)


# --- the search analytics page for staff -------------------------------------------------------


class DateRangeForm(forms.Form):
    since = forms.DateField(required=False, label="From")
    until = forms.DateField(required=False, label="To")

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        until = data.get("until") or today
        since = data.get("since") or until - timedelta(days=DEFAULT_DAYS - 1)
        if since > until:
            raise forms.ValidationError("The first day comes after the last.")
        if (until - since).days >= MAX_DAYS:
            raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        data["since"], data["until"] = since, until
        return data


DEFAULT_DAYS = 30
MAX_DAYS = 400


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


@staff_member_required
def search_analytics(request):
    """GET /staff/analytics/search/?since=YYYY-MM-DD&until=YYYY-MM-DD (default: the last 30 days)."""
    form = DateRangeForm(request.GET)  # both days optional: no range is the last 30 days
    if not form.is_valid():
        context = {
            "form": form,
            "title": "Search analytics",
            "since": request.GET.get("since", "")[:10],
            "until": request.GET.get("until", "")[:10],
        }
        return render(request, "tracking/search_analytics.html", context, status=400)
    since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    data = analytics.search_analytics(since, until)
    labels = [day.strftime("%d %b") for day in data.days]
    context = {
        "title": "Search analytics",
        "form": form,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "data": data,
        "zero_result_rate": _percent(data.zero_result_rate),
        "kinds": [
            {
                "summary": k,
                "ctr": _percent(k.click_through),
                "cart": _percent(k.add_to_cart),
                "conversion": _percent(k.conversion),
                "zero": _percent(k.zero_results / k.searches if k.searches else None),
            }
            for k in data.kinds
        ],
        "positions": [(p, shown, clicks, _percent(ctr)) for p, shown, clicks, ctr in data.ctr_by_position],
        "searches_chart": charts.stacked_bars("Searches per day by kind", labels, data.searches_per_day),
        "ctr_chart": charts.bars(
            "Click-through rate by position",
            [str(p) for p, *_ in data.ctr_by_position],
            [ctr for *_, ctr in data.ctr_by_position],
            _percent,
        ),
        "funnel_chart": charts.funnel("Photo search funnel", data.funnel),
    }
    return render(request, "tracking/search_analytics.html", context)


# --- the shopper's consent (TRACKING_CONSENT_REQUIRED) --------------------------------------------


@require_POST
def consent(request):
    """POST /t/consent (the banner's form, base.html): consent=yes|no, kept in a cookie for
    TRACKING_VISITOR_COOKIE_DAYS; then back to the page it was given on (`next`, this shop
    only). Anything else is a 400 with the reason."""
    answer = request.POST.get("consent")
    if answer not in ("yes", "no"):
        return HttpResponse('consent must be "yes" or "no"', status=400, content_type="text/plain")
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = "/"
    response = HttpResponseRedirect(target, status=303)
    response.set_cookie(
        CONSENT_COOKIE,
        answer,
        max_age=settings.TRACKING_VISITOR_COOKIE_DAYS * 86400,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response
