"""Products' popularity from shoppers' events: impressions, clicks, adds to cart and purchases,
each weighted by 0.5 ** (age / RANKING_POPULARITY_HALF_LIFE_DAYS), rebuilt whole in one
transaction (a periodic task; the bench and the simulator call it with their own clock).

Events older than 8 half-lives weigh under 0.4% and are not read."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from ranking import fact_cache
from ranking.models import EngagementTotals, ProductEngagement

HALF_LIVES_READ = 8
KINDS = {"impression": "impressions", "click": "clicks", "add_to_cart": "carts", "purchase": "purchases"}


def engagement_refresh(*, as_of: datetime | None = None) -> int:
    """Rebuild ProductEngagement and EngagementTotals from the events up to `as_of` (default
    now); returns how many products have engagement."""
    as_of = as_of or timezone.now()
    half_life = settings.RANKING_POPULARITY_HALF_LIFE_DAYS
    since = as_of - timedelta(days=half_life * HALF_LIVES_READ)
    sums = ", ".join(f"COALESCE(SUM(w) FILTER (WHERE kind = '{kind}'), 0)" for kind in KINDS)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {ProductEngagement._meta.db_table}")
        cursor.execute(
            f"""
            INSERT INTO {ProductEngagement._meta.db_table} (product_id, {", ".join(KINDS.values())}, as_of)
            SELECT product_id, {sums}, %(as_of)s
            FROM (
                SELECT product_id, kind,
                       power(0.5, EXTRACT(EPOCH FROM (%(as_of)s - occurred_at)) / 86400.0 / %(half_life)s) AS w
                FROM tracking_event
                WHERE product_id IS NOT NULL AND kind = ANY(%(kinds)s)
                  AND occurred_at > %(since)s AND occurred_at <= %(as_of)s
            ) weighted
            GROUP BY product_id
            """,
            {"as_of": as_of, "half_life": half_life, "since": since, "kinds": list(KINDS)},
        )
        products = cursor.rowcount
        cursor.execute(
            f"SELECT {', '.join(f'COALESCE(SUM({c}), 0)' for c in KINDS.values())} FROM {ProductEngagement._meta.db_table}"
        )
        impressions, clicks, carts, purchases = cursor.fetchone()
        EngagementTotals.objects.update_or_create(
            pk=1,
            defaults={
                "impressions": impressions,
                "clicks": clicks,
                "carts": carts,
                "purchases": purchases,
                "as_of": as_of,
            },
        )
        transaction.on_commit(fact_cache.clear)
    return products
