"""Reads of the ranking app: the live ranker, a visitor's profile, the candidates' facts."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import lightgbm
import numpy as np
from django.db import connection
from django.utils import timezone

from ranking.features import ProductFacts, Profile, Rates
from ranking.models import EngagementTotals, ProductEngagement, RankerVersion, VisitorProfile
from vision import knn, vector_index

# The catalogue's rates before any engagement: what a product is assumed to earn until the
# shop knows better (a click on one impression in ten, an add to cart on one click in ten).
DEFAULT_RATES = Rates(ctr=0.1, cart_rate=0.1)


@dataclass(frozen=True)
class LiveRanker:
    version_id: int
    feature_set: str
    feature_names: tuple[str, ...]
    booster: object  # lightgbm.Booster


_boosters: dict[int, object] = {}
_boosters_lock = threading.Lock()


def live_ranker() -> LiveRanker | None:
    """The ranker serving now, None when none is promoted. One query; the model itself is
    parsed once per process and version (LightGBM's text format, about 5 ms for 200 trees)."""
    row = (
        RankerVersion.objects.filter(status=RankerVersion.Status.LIVE)
        .values_list("pk", "feature_set", "feature_names")
        .first()
    )
    if row is None:
        return None
    version_id, feature_set, names = row
    return LiveRanker(version_id, feature_set, tuple(names), booster_of(version_id))


def booster_of(version_id: int):
    """The LightGBM booster of a version, parsed once per process. Loaded lazily, so a process
    forked after start-up (gunicorn, Celery prefork) never inherits OpenMP state
    (library-facts: LightGBM hangs in a child forked after OpenMP ran)."""
    with _boosters_lock:
        booster = _boosters.get(version_id)
        if booster is None:
            text = RankerVersion.objects.values_list("model_text", flat=True).get(pk=version_id)
            booster = _boosters[version_id] = lightgbm.Booster(model_str=text)
        return booster


def visitor_profile(visitor_id: uuid.UUID | None) -> tuple[Profile, np.ndarray | None, int | None] | None:
    """A visitor's profile as features read it, its taste vector and that vector's model;
    None for a visitor without one (a newcomer)."""
    if visitor_id is None:
        return None
    row = VisitorProfile.objects.filter(pk=visitor_id).first()
    if row is None or row.weight <= 0:
        return None
    profile = Profile(
        weight=row.weight,
        categories={int(k): v for k, v in row.categories.items()},
        brands={int(k): v for k, v in row.brands.items()},
        colours=dict(row.colours),
        log_price_mean=row.log_price_mean,
        log_price_spread=row.log_price_spread,
    )
    taste = np.frombuffer(bytes(row.taste), dtype=np.float32) if row.taste else None
    return profile, taste, row.vector_model_id


def product_facts(
    product_ids: Sequence[int], *, taste: np.ndarray | None = None, model=None
) -> tuple[dict[int, ProductFacts], Rates]:
    """The candidates' facts (price, colours, brand, category, stock, age, engagement and, with
    a taste vector, their best image's cosine to it) and the catalogue's rates. One query."""
    if not product_ids:
        return {}, DEFAULT_RATES
    engagement = ProductEngagement._meta.db_table
    totals = EngagementTotals._meta.db_table
    taste_join, taste_column, params = "", "NULL", []
    if taste is not None and model is not None and len(taste) == model.dimension:
        # Exact distances to the few images of the candidates (no index: ~150 vectors), in one
        # pass grouped by product rather than one subquery per candidate.
        expression = vector_index.vector_expression(model.dimension)
        taste_join = f"""LEFT JOIN (
                SELECT i.product_id, MAX(1 - ({expression} <=> %s::halfvec)) AS similarity
                FROM catalog_productimage i JOIN search_imageembedding ON image_id = i.id AND model_id = %s
                WHERE i.product_id = ANY(%s) AND {knn.SEARCHABLE_IMAGE}
                GROUP BY i.product_id
            ) taste ON taste.product_id = p.id"""
        taste_column = "taste.similarity"
        params = [vector_index.halfvec_literal(taste), model.pk, list(product_ids)]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT p.id, p.price, p.colours, p.brand_id, COALESCE(p.category_id, p.predicted_category_id),
                   p.stock > 0, EXTRACT(EPOCH FROM (%s - p.created_at)) / 86400.0,
                   COALESCE(e.impressions, 0), COALESCE(e.clicks, 0), COALESCE(e.carts, 0), COALESCE(e.purchases, 0),
                   {taste_column},
                   (SELECT ARRAY[impressions, clicks, carts] FROM {totals} WHERE id = 1)
            FROM catalog_product p LEFT JOIN {engagement} e ON e.product_id = p.id
            {taste_join}
            WHERE p.id = ANY(%s)
            """,
            [timezone.now(), *params, list(product_ids)],
        )
        rows = cursor.fetchall()
    facts = {
        pid: ProductFacts(
            price=float(price),
            colours=tuple(colours or ()),
            brand_id=brand,
            category_id=category,
            in_stock=in_stock,
            age_days=float(age),
            impressions=impressions,
            clicks=clicks,
            carts=carts,
            purchases=purchases,
            taste_similarity=None if similarity is None else float(similarity),
        )
        for pid, price, colours, brand, category, in_stock, age, impressions, clicks, carts, purchases, similarity, _ in rows
    }
    sums = rows[0][-1] if rows else None
    return facts, _rates(sums)


def _rates(sums) -> Rates:
    if not sums:
        return DEFAULT_RATES
    impressions, clicks, carts = sums
    return Rates(
        ctr=clicks / impressions if impressions > 1 else DEFAULT_RATES.ctr,
        cart_rate=carts / clicks if clicks > 1 else DEFAULT_RATES.cart_rate,
    )


def ranker_versions():
    return RankerVersion.objects.defer("model_text")
