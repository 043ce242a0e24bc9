"""Reads of the ranking app: the live ranker, a visitor's profile, the candidates' facts."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import lightgbm
import numpy as np
from django.conf import settings
from django.db import connection
from django.utils import timezone

from ranking import fact_cache
from ranking.features import ProductFacts, Profile, Rates
from ranking.models import EngagementTotals, ProductEngagement, RankerVersion, VisitorProfile
from vision import knn
from vision.models import EmbeddingModel

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


_live_checked: tuple[float, tuple | None] | None = None  # (when, the live version's row)


def live_ranker() -> LiveRanker | None:
    """The ranker serving now, None when none is promoted. Which version is live is read at
    most once per RANKING_LIVE_CHECK_SECONDS per process (one query; a promotion or rollback
    in this process is seen at once, in others within those seconds); the model itself is
    parsed once per process and version (LightGBM's text format, about 5 ms for 200 trees)."""
    global _live_checked
    seconds = settings.RANKING_LIVE_CHECK_SECONDS
    checked = _live_checked
    if seconds > 0 and checked is not None and time.monotonic() - checked[0] < seconds:
        row = checked[1]
    else:
        row = (
            RankerVersion.objects.filter(status=RankerVersion.Status.LIVE)
            .values_list("pk", "feature_set", "feature_names")
            .first()
        )
        _live_checked = (time.monotonic(), row)
    if row is None:
        return None
    version_id, feature_set, names = row
    return LiveRanker(version_id, feature_set, tuple(names), booster_of(version_id))


def live_ranker_forget() -> None:
    """Read which ranker is live again at the next search (one was promoted or rolled back)."""
    global _live_checked
    _live_checked = None


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
    None for a visitor without one (a newcomer). Held in this process for
    RANKING_FACTS_CACHE_SECONDS (ranking.fact_cache)."""
    if visitor_id is None:
        return None
    return fact_cache.profile_of(
        visitor_id,
        lambda: _profile_read(visitor_id),
        seconds=settings.RANKING_FACTS_CACHE_SECONDS,
        size=settings.RANKING_FACTS_CACHE_PRODUCTS,
        none_seconds=max(settings.RANKING_PROFILE_REFRESH_DELAY_SECONDS, 1.0),
    )


def _profile_read(visitor_id: uuid.UUID) -> tuple[Profile, np.ndarray | None, int | None] | None:
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
    product_ids: Sequence[int], *, taste: np.ndarray | None = None, taste_model_id: int | None = None
) -> tuple[dict[int, ProductFacts], Rates, dict[int, float]]:
    """The candidates' facts (price, colours, brand, category, stock, age, engagement), the
    catalogue's rates and, with a taste vector, each candidate's best image cosine to it. Read
    through this process's cache (ranking.fact_cache): no query when every candidate was read
    in the last RANKING_FACTS_CACHE_SECONDS; otherwise one for the facts of those that were
    not, one for the rates, and with a taste vector one for the vectors of those not held.

    The taste is compared with the images' vectors of the model it was built with
    (taste_model_id): a model retired since has no vectors left, so no cosine (the profile's
    next rebuild moves the taste to the active model)."""
    if not product_ids:
        return {}, DEFAULT_RATES, {}
    seconds, size = settings.RANKING_FACTS_CACHE_SECONDS, settings.RANKING_FACTS_CACHE_PRODUCTS
    facts = fact_cache.facts_of(product_ids, _facts_read, seconds=seconds, size=size)
    rates = fact_cache.rates_of(_rates_read, seconds=seconds)
    similarities: dict[int, float] = {}
    if taste is not None and taste_model_id is not None and facts:
        vectors = fact_cache.vectors_of(
            taste_model_id, list(facts), lambda ids: _vectors_read(taste_model_id, ids), seconds=seconds, size=size
        )
        similarities = _best_cosines({pid: v for pid, v in vectors.items() if v.shape[1] == len(taste)}, taste)
    return facts, rates, similarities


def _facts_read(product_ids: list[int]) -> dict[int, ProductFacts]:
    engagement = ProductEngagement._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT p.id, p.price, p.colours, p.brand_id, COALESCE(p.category_id, p.predicted_category_id),
                   p.stock > 0, EXTRACT(EPOCH FROM (%s - p.created_at)) / 86400.0,
                   COALESCE(e.impressions, 0), COALESCE(e.clicks, 0), COALESCE(e.carts, 0), COALESCE(e.purchases, 0)
            FROM catalog_product p LEFT JOIN {engagement} e ON e.product_id = p.id
            WHERE p.id = ANY(%s)
            """,
            [timezone.now(), list(product_ids)],
        )
        rows = cursor.fetchall()
    return {
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
        )
        for pid, price, colours, brand, category, in_stock, age, impressions, clicks, carts, purchases in rows
    }


def _rates_read() -> Rates:
    sums = EngagementTotals.objects.filter(pk=1).values_list("impressions", "clicks", "carts").first()
    return _rates(sums)


def _vectors_read(model_id: int, product_ids: list[int]) -> dict[int, np.ndarray]:
    """Each product's searchable images' vectors under a model, as unit float32 rows."""
    found = {}
    # knn reads the model's id only: no query for the model itself.
    for pid, images in knn.product_image_vectors(EmbeddingModel(pk=model_id), product_ids).items():
        matrix = np.stack([vector for _, vector in images]).astype(np.float32)
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        found[pid] = matrix / np.where(norms > 0, norms, 1.0)
    return found


def _best_cosines(vectors: dict[int, np.ndarray], taste: np.ndarray) -> dict[int, float]:
    """Each product's best image cosine to the taste vector, in one matrix product."""
    if not vectors:
        return {}
    ids = list(vectors)
    stacked = np.concatenate([vectors[pid] for pid in ids])
    unit = taste.astype(np.float32) / max(float(np.linalg.norm(taste)), 1e-12)
    cosines = stacked @ unit
    starts = np.cumsum([0] + [len(vectors[pid]) for pid in ids[:-1]])
    return dict(zip(ids, np.maximum.reduceat(cosines, starts).tolist(), strict=True))


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
