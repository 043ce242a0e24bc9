"""Writes of tracking: events stored once each, visitors, forgetting and purging. Views,
commands and tasks call these."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from psycopg.types.json import Jsonb

from tracking import notifications
from tracking.models import Event, Visitor
from tracking.visitors import Identity

logger = logging.getLogger(__name__)

BATCH_SIZE_DEFAULT = 5000  # events per statement inside recording_in_batches

# The properties each kind of event may carry besides its columns (visitor, search id,
# product, position), and nothing else: what is stored is decided here, once, for the server's
# events and the browser's beacons alike (no e-mail, address or picture can slip in).
EVENT_PROPERTIES: dict[str, frozenset[str]] = {
    Event.Kind.SEARCH: frozenset(
        {"search_kind", "words", "filters", "page", "result_count", "zero_results", "latency_ms", "ranker", "variants"}
    ),
    Event.Kind.IMPRESSION: frozenset({"page"}),
    Event.Kind.CLICK: frozenset({"page"}),
    Event.Kind.ADD_TO_CART: frozenset({"quantity", "size"}),
    Event.Kind.REMOVE_FROM_CART: frozenset({"quantity", "size"}),
    Event.Kind.CHECKOUT_STARTED: frozenset({"items", "value", "currency"}),
    # One event per line of the order: the product, its quantity and value, and the search
    # that led to it (search_id, attributed_searches); order_value is the whole order's.
    Event.Kind.PURCHASE: frozenset({"order", "value", "currency", "quantity", "order_value"}),
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


# The INSERT does not wait for its WAL record to reach the disk (asynchronous commit, for this
# statement's own implicit transaction only: the rest of the shop's writes stay synchronous).
# It costs the request 0.39 ms instead of 0.61-0.68 (one event, this host, 2026-12-07). The
# price: if the database server itself crashes, the events committed in its last moments, at
# most 3 x wal_writer_delay (0.6 s by default), can be lost; a web process, worker or Redis
# dying loses none. Inside a transaction (a test, or a caller's atomic block) it applies to
# that transaction's commit.
_ASYNC_COMMIT_SQL = "SET LOCAL synchronous_commit TO off; "
# What a visitor did with a product that says what they like (notifications.engagement_recorded).
ENGAGEMENT_KINDS = frozenset({Event.Kind.CLICK, Event.Kind.ADD_TO_CART, Event.Kind.PURCHASE})


def events_record(events: Iterable[EventData], *, notify: bool = True) -> int:
    """Store events, each once: one already stored (the same event_id: a batch sent again, a
    retried task) is skipped, also when two writers race. One statement however many events
    (columns as arrays, unnested). Returns how many were new. notify: tell
    notifications.engagement_recorded of the visitors whose clicks, adds to cart or purchases
    these were (the simulator's batches do not: its profiles are rebuilt per step)."""
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
        cursor.execute(_ASYNC_COMMIT_SQL + _INSERT_SQL, columns)
        cursor.nextset()  # past the SET, to the INSERT's row count
        stored = cursor.rowcount
    engaged = {e.visitor_id for e in checked if e.kind in ENGAGEMENT_KINDS}
    if notify and engaged:
        for receiver, answer in notifications.engagement_recorded.send_robust(sender=Event, visitor_ids=engaged):
            if isinstance(answer, Exception):
                logger.error("tracking: %s failed on engagement of %s visitor(s): %r", receiver, len(engaged), answer)
    return stored


# -- the clock and the batch of the shopper simulator (simulation.shoppers) ---------------------
#
# Simulated shoppers go through the same functions as real ones; two things differ: their
# events happen on simulated days (event_time), and they are written in batches of thousands
# rather than one statement per event (recording_in_batches).
_event_clock: ContextVar[Callable[[], datetime] | None] = ContextVar("tracking_event_clock", default=None)
_event_batch: ContextVar[list[EventData] | None] = ContextVar("tracking_event_batch", default=None)
# A request's events, kept until its response has been sent (tracking.middleware): each entry
# makes its events when called (an attribution read runs then too).
_after_response: ContextVar[list[Callable[[], list[EventData]]] | None] = ContextVar(
    "tracking_after_response", default=None
)


def after_response_begin() -> list[Callable[[], list[EventData]]]:
    """From now on in this request, events are kept for after_response_write instead of
    written on commit; returns the list they are kept in."""
    pending: list[Callable[[], list[EventData]]] = []
    _after_response.set(pending)
    return pending


def after_response_end() -> None:
    """Events recorded from now on (a test's captured on-commit callbacks) are written at once again."""
    _after_response.set(None)


def after_response_write(pending: list[Callable[[], list[EventData]]]) -> None:
    """Write a request's kept events, all in one statement, once its response has gone out;
    never raises (the shopper has their page)."""
    if not pending:
        return
    try:
        events_record([event for make in pending for event in make()])
    except Exception:  # tracking must not break shopping
        logger.exception("tracking: events of a request not recorded")
    finally:
        pending.clear()


def after_response(write: Callable[[], None], *, what: str) -> None:
    """Run `write` once this request's response has gone out (tracking.middleware), just before
    the request's events are written; at once outside a request (a task, the simulator, a
    test). Never raises: a failed write is logged as `what` (the shopper has their page)."""

    def run() -> list[EventData]:
        try:
            write()
        except Exception:
            logger.exception("%s not written", what)
        return []

    kept = _after_response.get()
    if kept is not None:
        kept.append(run)
    else:
        run()


def event_time() -> datetime:
    """When an event recorded now happens: the clock of simulated_clock, else now."""
    clock = _event_clock.get()
    return clock() if clock is not None else timezone.now()


@contextmanager
def simulated_clock(clock: Callable[[], datetime]) -> Iterator[None]:
    """Events recorded inside happen at clock()'s time (the shopper simulator's days)."""
    token = _event_clock.set(clock)
    try:
        yield
    finally:
        _event_clock.reset(token)


@contextmanager
def recording_in_batches() -> Iterator[None]:
    """Events recorded inside are kept and written BATCH_SIZE_DEFAULT at a time (and what is
    left at the end), not one statement each. Attribution reads (add to cart, purchase) write what is kept
    first, so they see the clicks before them. For bulk producers (the simulator) only: a
    request's events go on commit."""
    batch: list[EventData] = []
    token = _event_batch.set(batch)
    try:
        yield
        events_record(batch, notify=False)
    finally:
        _event_batch.reset(token)
        batch.clear()


def _batch_flush() -> None:
    batch = _event_batch.get()
    if batch:
        events_record(batch, notify=False)
        batch.clear()


def events_record_on_commit(events: Iterable[EventData]) -> None:
    """Record these events once the request's transaction commits (nothing for a rollback),
    and never fail the request for it: a database that refuses them is logged, not raised."""
    pending = list(events)
    batch = _event_batch.get()
    if batch is not None:
        batch.extend(event.checked() for event in pending)
        if len(batch) >= BATCH_SIZE_DEFAULT:
            _batch_flush()
        return
    _write_on_commit(lambda: pending, count=len(pending))


def _write_on_commit(make_events: Callable[[], list[EventData]], *, count: int | None = None) -> None:
    """Once the transaction commits: keep the events for after the response inside a request
    (tracking.middleware), else write them; a database that refuses them is logged, not raised."""

    def write() -> None:
        kept = _after_response.get()
        if kept is not None:
            kept.append(make_events)
            return
        try:
            events_record(make_events())
        except Exception:  # tracking must not break shopping: the shopper's request has succeeded
            logger.exception("tracking: %s event(s) not recorded", "some" if count is None else count)

    transaction.on_commit(write)


# --- what the shop's pages and the API record --------------------------------------------------
#
# Each takes the request's Identity (tracking.visitors.request_identity): None, for a browser
# that may not be tracked, records nothing. Each writes once the request's transaction has
# committed and never fails the request (events_record_on_commit).


def search_recorded(
    identity: Identity | None,
    *,
    search_kind: str,
    words: str,
    filters: dict[str, list[str]],
    page: int,
    result_count: int,
    latency_ms: float,
    ranker: str = "default",
    variants: dict[str, str] | None = None,
) -> uuid.UUID | None:
    """Record a search and return its search id, which its results' impressions, clicks, adds
    to cart and purchases carry; None (nothing recorded) for a visitor who may not be tracked."""
    if identity is None:
        return None
    search_id = uuid.uuid4()
    properties = {
        "search_kind": search_kind,
        "words": words,
        "filters": filters,
        "page": page,
        "result_count": result_count,
        "zero_results": result_count == 0,
        "latency_ms": round(latency_ms, 2),
        "ranker": ranker,
        "variants": variants or {},
    }
    events_record_on_commit([_event(identity, Event.Kind.SEARCH, search_id=search_id, properties=properties)])
    return search_id


def photo_upload_recorded(identity: Identity | None, *, rejection_code: str = "") -> None:
    """A shopper's photo arrived: accepted (no code) or refused with the code the checks gave
    (vision.decoding.ImageRejected). The picture itself is never recorded."""
    if identity is None:
        return
    properties = {"accepted": not rejection_code, "rejection_code": rejection_code}
    events_record_on_commit([_event(identity, Event.Kind.PHOTO_UPLOAD, properties=properties)])


def click_recorded(
    identity: Identity | None,
    *,
    product_id: int,
    search_id: uuid.UUID,
    position: int | None,
    page: int | None = None,
    event_id: uuid.UUID | None = None,
) -> None:
    """A result clicked, as the product page learns it from the link (the search id rides on
    it, so clicks are attributed without JavaScript). event_id: the one the browser gave the
    same click in its beacon, so the click is stored once whichever arrives first."""
    if identity is None:
        return
    event = _event(
        identity,
        Event.Kind.CLICK,
        event_id=event_id or uuid.uuid4(),
        search_id=search_id,
        product_id=product_id,
        position=position,
        properties={"page": page} if page is not None else {},
    )
    events_record_on_commit([event])


def experiment_exposure_recorded(identity: Identity | None, *, experiment: str, variant: str) -> None:
    """A visitor was shown a variant of an experiment (the experiments app calls this where it
    decides which settings a visitor gets; searches carry the variants in force too)."""
    if identity is None:
        return
    properties = {"experiment": experiment, "variant": variant}
    events_record_on_commit([_event(identity, Event.Kind.EXPERIMENT_EXPOSURE, properties=properties)])


def cart_change_recorded(
    identity: Identity | None, *, added: bool, product_id: int, quantity: int, size: str = ""
) -> None:
    """A product put in the cart (added) or taken out of it; an addition carries the search
    that led to the product (attributed_searches) when there is one."""
    if identity is None or quantity <= 0:
        return
    kind = Event.Kind.ADD_TO_CART if added else Event.Kind.REMOVE_FROM_CART
    properties = {"quantity": quantity, **({"size": size} if size else {})}
    occurred_at = event_time()

    def events() -> list[EventData]:
        search_id = (
            attributed_searches(identity.visitor_id, [product_id], at=occurred_at).get(product_id) if added else None
        )
        return [
            _event(
                identity,
                kind,
                occurred_at=occurred_at,
                search_id=search_id,
                product_id=product_id,
                properties=properties,
            )
        ]

    _record_on_commit(events)


@dataclass(frozen=True)
class LineData:
    """A product of a cart or order, as checkout and purchase events count it."""

    product_id: int
    quantity: int
    value: float  # the line's total


def checkout_started_recorded(identity: Identity | None, *, lines: list[LineData], currency: str) -> None:
    """The checkout page was shown with this cart."""
    if identity is None or not lines:
        return
    properties = {
        "items": sum(line.quantity for line in lines),
        "value": round(sum(line.value for line in lines), 2),
        "currency": currency,
    }
    events_record_on_commit([_event(identity, Event.Kind.CHECKOUT_STARTED, properties=properties)])


def purchase_recorded(
    identity: Identity | None, *, order: str, lines: Callable[[], list[LineData]], currency: str
) -> None:
    """An order placed: one purchase event per line, each with the search that led to its
    product (attributed_searches) when there is one. lines: called after commit, so reading
    the order's lines costs the shopper's request nothing."""
    if identity is None:
        return
    occurred_at = event_time()

    def events() -> list[EventData]:
        bought = lines()
        order_value = round(sum(line.value for line in bought), 2)
        searches = attributed_searches(identity.visitor_id, [line.product_id for line in bought], at=occurred_at)
        return [
            _event(
                identity,
                Event.Kind.PURCHASE,
                occurred_at=occurred_at,
                search_id=searches.get(line.product_id),
                product_id=line.product_id,
                properties={
                    "order": order,
                    "value": round(line.value, 2),
                    "currency": currency,
                    "quantity": line.quantity,
                    "order_value": order_value,
                },
            )
            for line in bought
        ]

    _record_on_commit(events)


def attributed_searches(visitor_id: uuid.UUID, product_ids: list[int], *, at: datetime) -> dict[int, uuid.UUID]:
    """The search each product was last clicked from by this visitor within
    TRACKING_ATTRIBUTION_HOURS before `at` (last-click attribution); products never clicked from
    a search in that window are left out. One query (the visitor's events by time: index
    event_visitor_time)."""
    since = at - timedelta(hours=settings.TRACKING_ATTRIBUTION_HOURS)
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT DISTINCT ON (product_id) product_id, search_id
            FROM tracking_event
            WHERE visitor_id = %s AND kind = %s AND search_id IS NOT NULL AND product_id = ANY(%s)
              AND occurred_at >= %s AND occurred_at <= %s
            ORDER BY product_id, occurred_at DESC, id DESC
            """,
            [visitor_id, Event.Kind.CLICK, list(product_ids), since, at],
        )
        return dict(cursor.fetchall())


def _event(identity: Identity, kind: str, *, occurred_at: datetime | None = None, **fields) -> EventData:
    return EventData(
        kind=kind,
        visitor_id=identity.visitor_id,
        user_id=identity.user_id,
        occurred_at=occurred_at or event_time(),
        **fields,
    )


def _record_on_commit(make_events) -> None:
    """events_record_on_commit for events that read the table first (attribution): the read
    happens after commit too, and fails as quietly as the write."""

    if _event_batch.get() is not None:
        _batch_flush()  # the attribution read must see the clicks kept so far
        events_record_on_commit(make_events())
        return
    _write_on_commit(make_events)


def visitor_signed_in(visitor_id: uuid.UUID, user_id: int) -> int:
    """A visitor signed in: its profile names the account, and its events so far (made before
    signing in) take the account's id, so the account's history spans the browsers it used.
    Returns how many events were merged. Idempotent."""
    now = timezone.now()
    with transaction.atomic():
        Visitor.objects.update_or_create(pk=visitor_id, defaults={"user_id": user_id, "last_seen_at": now})
        merged = Event.objects.filter(visitor_id=visitor_id, user_id__isnull=True).update(user_id=user_id)
    notifications.visitor_merged.send(sender=Visitor, visitor_id=visitor_id, user_id=user_id)
    return merged


def visitor_forget(visitor_id: uuid.UUID) -> tuple[int, bool]:
    """Delete a visitor's events and profile, and (through notifications.visitor_forgotten)
    what other apps keep of it (the right to be forgotten). Returns (events deleted, whether a
    profile existed)."""
    with transaction.atomic():
        events, _ = Event.objects.filter(visitor_id=visitor_id).delete()
        profiles, _ = Visitor.objects.filter(pk=visitor_id).delete()
        # What other apps keep of the visitor (ranking's profile) goes in the same transaction.
        answers = notifications.visitor_forgotten.send(sender=Visitor, visitor_id=visitor_id)
    return events, bool(profiles) or any(bool(answer) for _, answer in answers)


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
