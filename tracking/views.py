"""POST /t/events: the browser's impressions and clicks, in batches (static/js/tracking.js
sends them with navigator.sendBeacon). Every refusal is a 4xx with its reason in JSON."""

from __future__ import annotations

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tracking import beacon as beacons
from tracking import services
from tracking.visitors import request_identity

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
