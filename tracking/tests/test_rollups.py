import uuid
from datetime import date, datetime, timedelta

import pytest
from django.utils import timezone

from tracking import analytics, rollups
from tracking.models import DailySearchRollup
from tracking.services import EventData, events_record

pytestmark = pytest.mark.django_db

DAY = date(2026, 11, 30)


def at(hour: int, day: date = DAY) -> datetime:
    return timezone.make_aware(datetime(day.year, day.month, day.day, hour))


def search(kind: str, words: str, results: int, latency: float, hour: int = 10, day: date = DAY) -> uuid.UUID:
    search_id = uuid.uuid4()
    events_record(
        [
            EventData(
                kind="search",
                visitor_id=uuid.uuid4(),
                occurred_at=at(hour, day),
                search_id=search_id,
                properties={
                    "search_kind": kind,
                    "words": words,
                    "result_count": results,
                    "zero_results": results == 0,
                    "latency_ms": latency,
                },
            )
        ]
    )
    return search_id


def follow(search_id: uuid.UUID, kind: str, position: int | None = None, day: date = DAY, hour: int = 11) -> None:
    events_record(
        [
            EventData(
                kind=kind,
                visitor_id=uuid.uuid4(),
                occurred_at=at(hour, day),
                search_id=search_id,
                product_id=1,
                position=position,
            )
        ]
    )


def test_a_day_rolls_up_into_counts_outcomes_latencies_queries_and_positions(django_assert_max_num_queries):
    red = search("text", "Red dress", 14, 4.0)
    search("text", "red dress ", 14, 8.0)
    search("text", "lamp", 0, 2.5)
    photo = search("photo", "", 24, 31.0)
    search("text", "other day", 3, 4.0, day=DAY + timedelta(days=1))
    follow(red, "impression", 1)
    follow(red, "impression", 2)
    follow(red, "click", 2)
    follow(red, "add_to_cart")
    follow(photo, "click", 1)
    follow(photo, "purchase", day=DAY + timedelta(days=1))  # the next day: credited to the search's day
    events_record(
        [EventData(kind="photo_upload", visitor_id=uuid.uuid4(), occurred_at=at(9), properties={"accepted": True})]
    )
    rollups.days_roll_up(DAY, DAY)
    rollups.days_roll_up(DAY, DAY)  # again: the same rows, not twice as many
    text, photo_row = (
        DailySearchRollup.objects.filter(day=DAY).order_by("search_kind")[1],
        DailySearchRollup.objects.get(day=DAY, search_kind="photo"),
    )
    assert (text.search_kind, text.searches, text.zero_results, text.clicked, text.carted, text.purchased) == (
        "text",
        3,
        1,
        1,
        1,
        0,
    )
    assert (photo_row.searches, photo_row.clicked, photo_row.purchased) == (1, 1, 1)
    # 2.5 ms and 4 ms fall in the buckets up to 3 and 5 ms, 8 ms in the one up to 10 ms.
    assert text.latency_histogram == [0, 1, 1, 0, 1] + [0] * 14
    with django_assert_max_num_queries(5):
        data = analytics.search_analytics(DAY, DAY)
    assert (data.searches, data.zero_results, data.zero_result_rate) == (4, 1, 0.25)
    assert data.top_queries == [("red dress", 2), ("lamp", 1)]
    assert data.top_zero_result_queries == [("lamp", 1)]
    assert data.ctr_by_position[:3] == [(1, 1, 1, 1.0), (2, 1, 1, 1.0), (3, 0, 0, None)]
    assert data.funnel == [
        ("Photos uploaded", 1),
        ("Photo result pages", 1),
        ("Clicked a result", 1),
        ("Added to cart", 0),
        ("Bought", 1),
    ]
    text_summary = next(k for k in data.kinds if k.kind == "text")
    assert (text_summary.latency_p50_ms, text_summary.latency_p95_ms, text_summary.click_through) == (5.0, 10.0, 1 / 3)
