"""What shoppers did, as events, and the pseudonymous visitors who did it.

An event names no person: a visitor is a random id kept in a signed first-party cookie (and
the account's id once signed in); no IP address, e-mail or uploaded picture is ever stored.
Products and orders are referred to by id, not by foreign key: events are history and
outlive what they point at, and an append-only table of millions of rows is cheaper to
write without the checks.
"""

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models


class Visitor(models.Model):
    """A browser the shop knows only by the random id in its cookie (tracking.services)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The account, once the visitor signs in; several visitors (browsers) may share one.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(auto_now_add=True, db_index=True)

    def __str__(self) -> str:
        return f"visitor {self.id}"


class Event(models.Model):
    class Kind(models.TextChoices):
        SEARCH = "search", "Search"
        IMPRESSION = "impression", "Impression"
        CLICK = "click", "Click"
        ADD_TO_CART = "add_to_cart", "Add to cart"
        REMOVE_FROM_CART = "remove_from_cart", "Remove from cart"
        CHECKOUT_STARTED = "checkout_started", "Checkout started"
        PURCHASE = "purchase", "Purchase"
        PHOTO_UPLOAD = "photo_upload", "Photo upload"
        EXPERIMENT_EXPOSURE = "experiment_exposure", "Experiment exposure"

    id = models.BigAutoField(primary_key=True)
    # Made by whoever saw the event happen (the browser for impressions and clicks, the server
    # for the rest) and unique: a batch sent twice, or a task retried, stores each event once.
    event_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # When it happened (the sender's clock, bounded on arrival) and when it was stored.
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)
    visitor_id = models.UUIDField()
    user_id = models.IntegerField(null=True, blank=True)
    # The search this event belongs to: a search's own id, or the search an impression,
    # click, add to cart or purchase came from.
    search_id = models.UUIDField(null=True, blank=True)
    product_id = models.IntegerField(null=True, blank=True)
    position = models.PositiveSmallIntegerField(null=True, blank=True)
    # What the kind says besides (tracking.services.EVENT_PROPERTIES lists them per kind).
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["occurred_at"], name="event_occurred_at"),
            models.Index(fields=["visitor_id", "occurred_at"], name="event_visitor_time"),
            models.Index(fields=["search_id"], condition=models.Q(search_id__isnull=False), name="event_search"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class ForwardingCursor(models.Model):
    """How far events have been forwarded to an outside service ("mixpanel"): every event with
    an id up to last_event_id has been sent. Held under a row lock while a round forwards, so
    two workers never send the same events at once."""

    destination = models.CharField(max_length=32, primary_key=True)
    last_event_id = models.BigIntegerField(default=0)
    forwarded = models.BigIntegerField(default=0)  # events sent in all, for staff and /metrics
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.destination} up to event {self.last_event_id}"


# --- daily rollups (tracking.rollups): what the analytics page reads, never the raw events ---

# Upper edges (ms) of the search-latency histogram's buckets; the last bucket is "more".
LATENCY_BUCKETS_MS = (2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100, 150, 200, 300, 500, 1000, 2000, 5000)


class DailySearchRollup(models.Model):
    """One day's searches of one kind (text, photo, hybrid) and what came of them."""

    day = models.DateField()
    search_kind = models.CharField(max_length=16)
    searches = models.PositiveIntegerField(default=0)
    zero_results = models.PositiveIntegerField(default=0)
    # Searches with at least one click, add to cart, purchase carrying their search id.
    clicked = models.PositiveIntegerField(default=0)
    carted = models.PositiveIntegerField(default=0)
    purchased = models.PositiveIntegerField(default=0)
    # Searches per LATENCY_BUCKETS_MS bucket (one more entry: slower than the last edge).
    latency_histogram = ArrayField(models.PositiveIntegerField(), default=list)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "search_kind"], name="daily_search_once")]

    def __str__(self) -> str:
        return f"{self.day} {self.search_kind}: {self.searches} searches"


class DailyQueryRollup(models.Model):
    """One day's searches with the same words (lower-cased), photo or not."""

    day = models.DateField()
    words = models.CharField(max_length=200)
    searches = models.PositiveIntegerField(default=0)
    zero_results = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "words"], name="daily_query_once")]
        indexes = [models.Index(fields=["day"], name="daily_query_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.words!r}: {self.searches}"


class DailyPositionRollup(models.Model):
    """One day's impressions and clicks at one result position (1-20)."""

    day = models.DateField()
    position = models.PositiveSmallIntegerField()
    impressions = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "position"], name="daily_position_once")]

    def __str__(self) -> str:
        return f"{self.day} position {self.position}: {self.clicks}/{self.impressions}"


class DailyPhotoUploadRollup(models.Model):
    """One day's shopper photo uploads: accepted and refused."""

    day = models.DateField(unique=True)
    accepted = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.accepted} photos accepted, {self.refused} refused"
