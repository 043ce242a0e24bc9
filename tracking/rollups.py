"""Daily rollups of the events, which the analytics page reads instead of the events
(tracking.analytics): a page of any date range costs a few small queries however many events
there are. The beat task tracking.tasks.roll_up_events recomputes the days a late event can
still change: today and the TRACKING_ATTRIBUTION_HOURS before it (a purchase credited to a
search counts on the search's day). `manage.py roll_up_events --days N` backfills.

Each day is recomputed whole, in one transaction per day (delete, then insert from one
aggregate query per table), so a rerun or a retried task gives the same rows.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from tracking.models import (
    LATENCY_BUCKETS_MS,
    DailyPhotoUploadRollup,
    DailyPositionRollup,
    DailyQueryRollup,
    DailySearchRollup,
)

POSITIONS = 20  # CTR is shown for positions 1-20

_SEARCHES_SQL = """
    WITH searches AS (
        SELECT search_id, properties->>'search_kind' AS kind,
               coalesce((properties->>'zero_results')::boolean, false) AS zero,
               coalesce((properties->>'latency_ms')::float, 0) AS latency
        FROM tracking_event
        WHERE kind = 'search' AND occurred_at >= %(start)s AND occurred_at < %(end)s
    ), outcomes AS (
        SELECT e.search_id, bool_or(e.kind = 'click') AS clicked, bool_or(e.kind = 'add_to_cart') AS carted,
               bool_or(e.kind = 'purchase') AS purchased
        FROM tracking_event e JOIN searches s ON s.search_id = e.search_id
        WHERE e.kind IN ('click', 'add_to_cart', 'purchase') AND e.occurred_at >= %(start)s
        GROUP BY e.search_id
    )
    SELECT s.kind, count(*), count(*) FILTER (WHERE s.zero),
           count(*) FILTER (WHERE o.clicked), count(*) FILTER (WHERE o.carted),
           count(*) FILTER (WHERE o.purchased),
           array_agg(width_bucket(s.latency, %(edges)s::float[]))
    FROM searches s LEFT JOIN outcomes o ON o.search_id = s.search_id
    GROUP BY s.kind
"""

_QUERIES_SQL = """
    SELECT left(lower(trim(properties->>'words')), 200) AS words, count(*),
           count(*) FILTER (WHERE (properties->>'zero_results')::boolean)
    FROM tracking_event
    WHERE kind = 'search' AND occurred_at >= %(start)s AND occurred_at < %(end)s
      AND trim(coalesce(properties->>'words', '')) <> ''
    GROUP BY 1
"""

_POSITIONS_SQL = """
    SELECT position, count(*) FILTER (WHERE kind = 'impression'), count(*) FILTER (WHERE kind = 'click')
    FROM tracking_event
    WHERE kind IN ('impression', 'click') AND position BETWEEN 1 AND %(positions)s
      AND occurred_at >= %(start)s AND occurred_at < %(end)s
    GROUP BY position
"""

_UPLOADS_SQL = """
    SELECT count(*) FILTER (WHERE (properties->>'accepted')::boolean),
           count(*) FILTER (WHERE NOT (properties->>'accepted')::boolean)
    FROM tracking_event
    WHERE kind = 'photo_upload' AND occurred_at >= %(start)s AND occurred_at < %(end)s
"""


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The day's start and end in the shop's time zone (TIME_ZONE)."""
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def day_roll_up(day: date) -> None:
    """Recompute one day's rollups from its events."""
    start, end = day_bounds(day)
    params = {"start": start, "end": end, "edges": list(LATENCY_BUCKETS_MS), "positions": POSITIONS}
    with transaction.atomic(), connection.cursor() as cursor:
        for model in (DailySearchRollup, DailyQueryRollup, DailyPositionRollup, DailyPhotoUploadRollup):
            model.objects.filter(day=day).delete()
        cursor.execute(_SEARCHES_SQL, params)
        searches = []
        for kind, count, zero, clicked, carted, purchased, buckets in cursor.fetchall():
            histogram = [0] * (len(LATENCY_BUCKETS_MS) + 1)
            for bucket in buckets:  # width_bucket: 0 below the first edge, n past the last
                histogram[min(bucket, len(LATENCY_BUCKETS_MS))] += 1
            searches.append(
                DailySearchRollup(
                    day=day,
                    search_kind=kind or "unknown",
                    searches=count,
                    zero_results=zero,
                    clicked=clicked,
                    carted=carted,
                    purchased=purchased,
                    latency_histogram=histogram,
                )
            )
        DailySearchRollup.objects.bulk_create(searches)
        cursor.execute(_QUERIES_SQL, params)
        DailyQueryRollup.objects.bulk_create(
            DailyQueryRollup(day=day, words=words, searches=count, zero_results=zero)
            for words, count, zero in cursor.fetchall()
        )
        cursor.execute(_POSITIONS_SQL, params)
        DailyPositionRollup.objects.bulk_create(
            DailyPositionRollup(day=day, position=position, impressions=shown, clicks=clicks)
            for position, shown, clicks in cursor.fetchall()
        )
        cursor.execute(_UPLOADS_SQL, params)
        accepted, refused = cursor.fetchone()
        if accepted or refused:
            DailyPhotoUploadRollup.objects.create(day=day, accepted=accepted, refused=refused)


def days_roll_up(first: date, last: date) -> int:
    """Recompute every day from first to last (inclusive); returns how many."""
    day, done = first, 0
    while day <= last:
        day_roll_up(day)
        day += timedelta(days=1)
        done += 1
    return done


def recent_days_roll_up(*, today: date | None = None) -> int:
    """The days a new event can still change: today and the attribution window before it."""
    today = today or timezone.localdate()
    window = -(-settings.TRACKING_ATTRIBUTION_HOURS // 24)
    return days_roll_up(today - timedelta(days=window), today)
