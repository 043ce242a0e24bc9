"""The browser's events (impressions and clicks) as they arrive in a beacon batch: checked
strictly, field by field, before anything is stored (tracking.views.beacon).

A batch is a JSON object {"events": [...]}, each event:

    {"event_id": "<uuid the browser made>", "kind": "impression" | "click",
     "search_id": "<the results page's data-search-id>", "product_id": 12, "position": 3,
     "page": 1, "occurred_at": 1796611098123}

occurred_at is the browser's clock in milliseconds since the epoch; an event older than
TRACKING_BEACON_MAX_AGE_SECONDS is refused, one from the future is taken as arriving now.
Only impressions and clicks come from browsers: searches, cart changes and purchases are
recorded by the server, so a script cannot forge them. The first fault refuses the whole
batch, with a message naming the event and the field.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.cache import cache

from tracking.models import Event
from tracking.services import EventData
from tracking.visitors import Identity

BROWSER_KINDS = (Event.Kind.IMPRESSION, Event.Kind.CLICK)
EVENT_FIELDS = frozenset({"event_id", "kind", "search_id", "product_id", "position", "page", "occurred_at"})
REQUIRED_FIELDS = ("event_id", "kind", "search_id", "product_id", "position", "occurred_at")


class BatchRefused(ValueError):
    """A batch that cannot be stored; the message is the 400's reason."""


def batch_events(body: bytes, identity: Identity, *, now: datetime) -> list[EventData]:
    """The batch's events for `identity`, or BatchRefused naming the first fault."""
    try:
        batch = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BatchRefused(f"the body is not JSON ({exc})") from None
    if not isinstance(batch, dict) or set(batch) != {"events"}:
        raise BatchRefused('the body must be an object with one key, "events"')
    events = batch["events"]
    if not isinstance(events, list) or not events:
        raise BatchRefused('"events" must be a non-empty list')
    limit = settings.TRACKING_BEACON_MAX_EVENTS
    if len(events) > limit:
        raise BatchRefused(f"{len(events)} events in one batch, over the limit of {limit}")
    return [_event(item, index, identity, now) for index, item in enumerate(events)]


def _event(item, index: int, identity: Identity, now: datetime) -> EventData:
    where = f"events[{index}]"
    if not isinstance(item, dict):
        raise BatchRefused(f"{where} is not an object")
    unknown = sorted(set(item) - EVENT_FIELDS)
    if unknown:
        raise BatchRefused(f"{where} has an unknown field {unknown[0]!r}")
    missing = [name for name in REQUIRED_FIELDS if name not in item]
    if missing:
        raise BatchRefused(f"{where} lacks the field {missing[0]!r}")
    if item["kind"] not in BROWSER_KINDS:
        raise BatchRefused(f"{where}.kind {item['kind']!r} is not one a browser sends (impression, click)")
    page = item.get("page")
    if page is not None and not _whole(page, 1, 10_000):
        raise BatchRefused(f"{where}.page must be a whole number from 1 to 10000")
    return EventData(
        kind=item["kind"],
        visitor_id=identity.visitor_id,
        user_id=identity.user_id,
        occurred_at=_occurred_at(item["occurred_at"], where, now),
        event_id=_uuid(item["event_id"], f"{where}.event_id"),
        search_id=_uuid(item["search_id"], f"{where}.search_id"),
        product_id=_number(item["product_id"], f"{where}.product_id", 1, 2**31 - 1),
        position=_number(item["position"], f"{where}.position", 1, 32767),
        properties={"page": page} if page is not None else {},
    )


def _whole(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _number(value, where: str, low: int, high: int) -> int:
    if not _whole(value, low, high):
        raise BatchRefused(f"{where} must be a whole number from {low} to {high}")
    return value


def _uuid(value, where: str) -> uuid.UUID:
    try:
        if isinstance(value, str):
            return uuid.UUID(value)
    except ValueError:
        pass
    raise BatchRefused(f"{where} is not a UUID")


def _occurred_at(value, where: str, now: datetime) -> datetime:
    if not _whole(value, 0, 2**53):
        raise BatchRefused(f"{where}.occurred_at must be milliseconds since 1970 (a whole number)")
    moment = datetime.fromtimestamp(value / 1000, tz=UTC)
    oldest = now - timedelta(seconds=settings.TRACKING_BEACON_MAX_AGE_SECONDS)
    if moment < oldest:
        raise BatchRefused(f"{where}.occurred_at is more than {settings.TRACKING_BEACON_MAX_AGE_SECONDS} seconds old")
    return min(moment, now)


def batches_over_rate(visitor_id: uuid.UUID, *, now: datetime) -> int | None:
    """Count a batch against its visitor's TRACKING_BEACON_BATCHES_PER_MINUTE. None: allowed;
    otherwise the seconds until the next minute, when it may send again. A fixed window per
    minute, one atomic increment in the shared cache; a cache that does not answer lets the
    batch through (tracking is never worth refusing events for)."""
    minute = int(now.timestamp()) // 60
    key = f"tracking:beacon:{visitor_id}:{minute}"
    try:
        cache.add(key, 0, 120)
        count = cache.incr(key)
    except Exception:  # the cache's own errors (Redis down): no limit rather than no events
        return None
    if count > settings.TRACKING_BEACON_BATCHES_PER_MINUTE:
        return 60 - int(now.timestamp()) % 60
    return None
