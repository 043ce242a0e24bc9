import uuid
from datetime import UTC, datetime, timedelta

import pytest

from ranking.engagement import engagement_refresh
from ranking.models import EngagementTotals, ProductEngagement
from tracking.models import Event

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def event(kind: str, product_id: int, days_ago: float) -> Event:
    return Event.objects.create(
        event_id=uuid.uuid4(),
        kind=kind,
        occurred_at=NOW - timedelta(days=days_ago),
        visitor_id=uuid.uuid4(),
        product_id=product_id,
    )


def test_engagement_is_decayed_by_age_and_rebuilt_whole(settings):
    settings.RANKING_POPULARITY_HALF_LIFE_DAYS = 10.0
    event("impression", 1, 0)
    event("impression", 1, 10)  # one half-life old: counts half
    event("click", 1, 20)  # two: a quarter
    event("add_to_cart", 2, 0)
    event("purchase", 2, 0)
    event("search", 3, 0)  # not engagement with a product
    event("click", 1, -1)  # after as_of: not yet
    event("click", 1, 81)  # older than 8 half-lives: not read
    ProductEngagement.objects.create(product_id=77, clicks=9, as_of=NOW)  # from an earlier build

    assert engagement_refresh(as_of=NOW) == 2

    rows = {row.product_id: row for row in ProductEngagement.objects.all()}
    assert set(rows) == {1, 2}
    assert (rows[1].impressions, rows[1].clicks, rows[1].carts, rows[1].purchases) == pytest.approx((1.5, 0.25, 0, 0))
    assert (rows[2].impressions, rows[2].clicks, rows[2].carts, rows[2].purchases) == pytest.approx((0, 0, 1, 1))
    totals = EngagementTotals.objects.get()
    assert (totals.impressions, totals.clicks, totals.carts, totals.purchases) == pytest.approx((1.5, 0.25, 1, 1))
    assert totals.as_of == NOW
