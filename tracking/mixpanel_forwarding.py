"""Our events, forwarded to Mixpanel with its official SDK (`mixpanel`), from a Celery task
(tracking.tasks.forward_events_to_mixpanel, run by beat every MIXPANEL_FORWARD_SECONDS).

Off unless MIXPANEL_TOKEN is set. The events table is the queue: a cursor row
(ForwardingCursor "mixpanel") says up to which event id everything was sent, so a worker
killed mid-round, a Redis restart or a Mixpanel outage loses nothing; the next round sends
from the cursor again. An event sent twice (a round that failed after Mixpanel took part of
it) is one event in Mixpanel: each carries its own UUID as `$insert_id`, which Mixpanel
de-duplicates on. distinct_id is the pseudonymous visitor id; the account id is not sent.

Mixpanel's /track drops events older than 5 days without saying so: such events (a backlog
after a long outage) are skipped, counted and logged rather than reported as sent.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from mixpanel import BufferedConsumer, Mixpanel, MixpanelException

from tracking.models import Event, ForwardingCursor

logger = logging.getLogger(__name__)

DESTINATION = "mixpanel"
SDK_BATCH = 50  # events per request: BufferedConsumer's most
TRACK_MAX_AGE = timedelta(days=5)  # /track silently drops older events


class MixpanelUnavailable(RuntimeError):
    """Mixpanel refused or could not be reached; the cursor stays before the unsent events."""


@dataclass(frozen=True)
class ForwardRound:
    sent: int
    skipped_too_old: int
    last_event_id: int
    more: bool  # a full round: more events may be waiting


def mixpanel_enabled() -> bool:
    return bool(settings.MIXPANEL_TOKEN)


def mixpanel_client() -> tuple[Mixpanel, BufferedConsumer]:
    consumer = BufferedConsumer(
        max_size=SDK_BATCH,
        events_url=settings.MIXPANEL_EVENTS_URL or None,
        api_host=settings.MIXPANEL_API_HOST,
        request_timeout=settings.MIXPANEL_REQUEST_TIMEOUT_SECONDS,
    )
    return Mixpanel(settings.MIXPANEL_TOKEN, consumer=consumer), consumer


def mixpanel_properties(event: Event) -> dict:
    """What Mixpanel gets of an event besides its name (the kind) and distinct_id."""
    properties = {
        "$insert_id": event.event_id.hex,
        "time": event.occurred_at.timestamp(),
        **event.properties,
    }
    if event.search_id is not None:
        properties["search_id"] = str(event.search_id)
    if event.product_id is not None:
        properties["product_id"] = event.product_id
    if event.position is not None:
        properties["position"] = event.position
    return properties


def events_forward_round(*, now: datetime | None = None) -> ForwardRound | None:
    """Send the next MIXPANEL_FORWARD_BATCH events after the cursor (those at least
    MIXPANEL_SETTLE_SECONDS old), SDK_BATCH per request, moving the cursor after each request
    Mixpanel accepted. None when forwarding is off or another worker holds the cursor.
    MixpanelUnavailable when a request failed (the cursor kept what was sent before it)."""
    if not mixpanel_enabled():
        return None
    now = now or timezone.now()
    ForwardingCursor.objects.get_or_create(destination=DESTINATION)
    failure: MixpanelException | None = None
    with transaction.atomic():
        cursor = ForwardingCursor.objects.select_for_update(skip_locked=True).filter(destination=DESTINATION).first()
        if cursor is None:
            return None  # another round is running
        events = list(
            Event.objects.filter(pk__gt=cursor.last_event_id, received_at__lte=now - _settle()).order_by("pk")[
                : settings.MIXPANEL_FORWARD_BATCH
            ]
        )
        client, consumer = mixpanel_client()
        sent = skipped = 0
        for start in range(0, len(events), SDK_BATCH):
            chunk = events[start : start + SDK_BATCH]
            fresh = [event for event in chunk if event.occurred_at >= now - TRACK_MAX_AGE]
            try:
                for event in fresh:
                    client.track(str(event.visitor_id), event.kind, mixpanel_properties(event))
                consumer.flush()
            except MixpanelException as exc:
                failure = exc
                break
            sent += len(fresh)
            skipped += len(chunk) - len(fresh)
            cursor.last_event_id = chunk[-1].pk
        cursor.forwarded += sent
        cursor.save(update_fields=["last_event_id", "forwarded", "updated_at"])
    if skipped:
        logger.warning("mixpanel: %d event(s) older than 5 days skipped (/track would drop them)", skipped)
    if failure is not None:
        raise MixpanelUnavailable(f"Mixpanel did not take events after id {cursor.last_event_id}: {failure}")
    return ForwardRound(sent, skipped, cursor.last_event_id, more=len(events) == settings.MIXPANEL_FORWARD_BATCH)


def _settle() -> timedelta:
    return timedelta(seconds=settings.MIXPANEL_SETTLE_SECONDS)
