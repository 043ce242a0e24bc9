"""Writes of tracking: events stored once each, visitors, forgetting and purging. Views,
commands and tasks call these."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from tracking.models import Event, Visitor

logger = logging.getLogger(__name__)

# The properties each kind of event may carry besides its columns (visitor, search id,
# product, position), and nothing else: what is stored is decided here, once, for the server's
# events and the browser's beacons alike (no e-mail, address or picture can slip in).
EVENT_PROPERTIES: dict[str, frozenset[str]] = {
    Event.Kind.SEARCH: frozenset(
        {"search_kind", "words", "filters", "result_count", "zero_results", "latency_ms", "ranker", "variants"}
    ),
    Event.Kind.IMPRESSION: frozenset({"page"}),
    Event.Kind.CLICK: frozenset({"page"}),
    Event.Kind.ADD_TO_CART: frozenset({"quantity", "size"}),
    Event.Kind.REMOVE_FROM_CART: frozenset({"quantity", "size"}),
    Event.Kind.CHECKOUT_STARTED: frozenset({"items", "value", "currency"}),
    Event.Kind.PURCHASE: frozenset({"order", "value", "currency", "items"}),
    Event.Kind.PHOTO_UPLOAD: frozenset({"accepted", "rejection_code"}),
    Event.Kind.EXPERIMENT_EXPOSURE: frozenset({"experiment", "variant"}),
}


class EventRejected(ValueError):
    """An event that cannot be stored as given; the message says which field and why."""


@dataclass(frozen=True)
class EventData:
    kind: str
    visitor_id: uuid.UUID
    occurred_at: datetime
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    user_id: int | None = None
    search_id: uuid.UUID | None = None
    product_id: int | None = None
    position: int | None = None
    properties: dict = field(default_factory=dict, hash=False)

    def checked(self) -> EventData:
        """The event if it may be stored; EventRejected naming the field otherwise."""
        if self.kind not in EVENT_PROPERTIES:
            raise EventRejected(f"unknown event kind {self.kind!r}")
        unknown = sorted(set(self.properties) - EVENT_PROPERTIES[self.kind])
        if unknown:
            raise EventRejected(f"{self.kind} events have no property {unknown[0]!r}")
        if self.position is not None and not 1 <= self.position <= 32767:
            raise EventRejected(f"position {self.position} is out of range (1-32767)")
        return self


_INSERT_SQL = """
    INSERT INTO tracking_event
        (event_id, kind, occurred_at, received_at, visitor_id, user_id, search_id, product_id, position, properties)
    SELECT e.event_id, e.kind, e.occurred_at, now(), e.visitor_id, e.user_id, e.search_id, e.product_id, e.position,
           e.properties
    FROM unnest(%s::uuid[], %s::varchar[], %s::timestamptz[], %s::uuid[], %s::int[], %s::uuid[], %s::int[],
                %s::smallint[], %s::jsonb[])
         AS e(event_id, kind, occurred_at, visitor_id, user_id, search_id, product_id, position, properties)
    ON CONFLICT (event_id) DO NOTHING
"""


def events_record(events: Iterable[EventData]) -> int:
    """Store events, each once: one already stored (the same event_id: a batch sent again, a
    retried task) is skipped, also when two writers race. One statement however many events
    (columns as arrays, unnested). Returns how many were new."""
    checked = [event.checked() for event in events]
    if not checked:
        return 0
    columns = [
        [e.event_id for e in checked],
        [e.kind for e in checked],
        [e.occurred_at for e in checked],
        [e.visitor_id for e in checked],
        [e.user_id for e in checked],
        [e.search_id for e in checked],
        [e.product_id for e in checked],
        [e.position for e in checked],
        [Jsonb(e.properties) for e in checked],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SQL, columns)
        return cursor.rowcount


def events_record_on_commit(events: Iterable[EventData]) -> None:
    """Record these events once the request's transaction commits (nothing for a rollback),
    and never fail the request for it: a database that refuses them is logged, not raised."""
    pending = list(events)

    def write() -> None:
        try:
            events_record(pending)
        except Exception:  # tracking must not break shopping: the shopper's request has succeeded
            logger.exception("tracking: %d event(s) not recorded", len(pending))

    transaction.on_commit(write)


def visitor_forget(visitor_id: uuid.UUID) -> tuple[int, bool]:
    """Delete a visitor's events and profile (the right to be forgotten). Returns (events
    deleted, whether a profile existed)."""
    with transaction.atomic():
        events, _ = Event.objects.filter(visitor_id=visitor_id).delete()
        profiles, _ = Visitor.objects.filter(pk=visitor_id).delete()
    return events, bool(profiles)


def events_purge_expired(*, now: datetime | None = None) -> int:
    """Delete events older than TRACKING_RETENTION_DAYS; returns how many. In batches, so a
    first purge of a large table holds no long lock."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.TRACKING_RETENTION_DAYS)
    deleted = 0
    while True:
        batch = list(
            Event.objects.filter(occurred_at__lt=cutoff).values_list("pk", flat=True)[: settings.TRACKING_PURGE_BATCH]
        )
        if not batch:
            return deleted
        deleted += Event.objects.filter(pk__in=batch).delete()[0]
