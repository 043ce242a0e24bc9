"""Visitors' profiles from their events (ranking.models.VisitorProfile): what a returning
shopper likes, for the ranker's personal features and the "Recommended for you" row.

A click weighs 1, an add to cart 3, a purchase 5, each decayed by its age
(RANKING_PROFILE_HALF_LIFE_DAYS). A signed-in visitor's profile is built from every event of
the account (tracking.services.visitor_signed_in gives the visitor's earlier events the
account's id), so the anonymous history and the account's merge at sign-in.
A visitor with no engagement has no profile: a newcomer is ranked as today.
"""

from __future__ import annotations

import math
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Product
from ranking import fact_cache
from ranking.models import VisitorProfile
from vision import knn
from vision.selectors import embedding_model_active
from visualshop.broker import sending

ENGAGEMENT_WEIGHTS = {"click": 1.0, "add_to_cart": 3.0, "purchase": 5.0}
HALF_LIVES_READ = 6


@dataclass
class _Tally:
    weight: float = 0.0
    products: dict[int, float] = field(default_factory=dict)

    def add(self, product_id: int, weight: float) -> None:
        self.weight += weight
        self.products[product_id] = self.products.get(product_id, 0.0) + weight


def profiles_refresh(*, visitor_ids: Iterable[uuid.UUID] | None = None, as_of: datetime | None = None) -> int:
    """Rebuild the profiles of these visitors (default: every visitor with engagement in the
    window) from their events up to `as_of`; returns how many profiles were written. A visitor
    whose engagement has all aged out loses its profile."""
    as_of = as_of or timezone.now()
    wanted = None if visitor_ids is None else {uuid.UUID(str(v)) for v in visitor_ids}
    by_visitor, by_user, users = _tallies(as_of, wanted)
    subjects = {
        visitor: by_user[users[visitor]] if users.get(visitor) else tally for visitor, tally in by_visitor.items()
    }
    products = _product_facts({pid for tally in subjects.values() for pid in tally.products})
    model = embedding_model_active()
    vectors = _first_vectors(model, list(products)) if model is not None else {}
    rows = [
        _profile(visitor, users.get(visitor), tally, products, vectors, model, as_of)
        for visitor, tally in subjects.items()
    ]
    with transaction.atomic():
        stale = VisitorProfile.objects.all() if wanted is None else VisitorProfile.objects.filter(pk__in=wanted)
        stale.exclude(pk__in=[row.visitor_id for row in rows]).delete()
        VisitorProfile.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["visitor_id"],
            update_fields=[f.name for f in VisitorProfile._meta.fields if f.name != "visitor_id"],
        )
        transaction.on_commit(lambda: fact_cache.profiles_forget(None if wanted is None else list(wanted)))
    return len(rows)


def profile_merge_at_sign_in(visitor_id: uuid.UUID, user_id: int, *, as_of: datetime | None = None) -> int:
    """A visitor signed in (after tracking.services.visitor_signed_in gave its events the
    account): its profile becomes the account's, built from the anonymous history and the
    account's other visitors' alike. Returns the profiles written (0 or 1)."""
    return profiles_refresh(visitor_ids=[visitor_id], as_of=as_of)


# The Celery task refresh_visitor_profiles, by name (ranking.tasks imports this module).
REFRESH_TASK = "ranking.tasks.refresh_visitor_profiles"


def profiles_refresh_soon(visitor_ids: Iterable[uuid.UUID]) -> list[str]:
    """These visitors just engaged (tracking.notifications.engagement_recorded): rebuild their
    profiles in RANKING_PROFILE_REFRESH_DELAY_SECONDS, so a shopper who looked at a few red
    dresses sees the "Recommended for you" row and personal ranking on their next pages, not
    at the next periodic rebuild (RANKING_REFRESH_SECONDS, 15 minutes). One task per visitor
    per delay however many clicks (the first one in a delay sends it; it reads every event up
    to when it runs). Returns the visitor ids sent. Never raises: a broker that cannot be
    reached leaves them to the periodic rebuild."""
    delay = settings.RANKING_PROFILE_REFRESH_DELAY_SECONDS
    if delay < 0:
        return []
    due = [str(v) for v in visitor_ids if cache.add(f"ranking:profile-soon:{v}", 1, timeout=max(delay, 1))]
    if not due:
        return []
    unsent = sending.send_ids(
        REFRESH_TASK,
        due,
        per_message=100,
        countdown=delay,
        consequence="profiles rebuilt at the next periodic refresh instead",
    )
    cache.delete_many([f"ranking:profile-soon:{v}" for v in unsent])
    return [v for v in due if v not in set(unsent)]


def profile_delete(visitor_id: uuid.UUID) -> bool:
    """Forget a visitor's profile (forget_visitor). True if there was one."""
    deleted, _ = VisitorProfile.objects.filter(pk=visitor_id).delete()
    transaction.on_commit(lambda: fact_cache.profiles_forget([visitor_id]))
    return bool(deleted)


def _tallies(as_of: datetime, wanted: set[uuid.UUID] | None):
    """Decayed engagement per visitor and per account, and each visitor's account."""
    half_life = settings.RANKING_PROFILE_HALF_LIFE_DAYS
    since = as_of - timedelta(days=half_life * HALF_LIVES_READ)
    weight_sql = " ".join(f"WHEN '{kind}' THEN {weight}" for kind, weight in ENGAGEMENT_WEIGHTS.items())
    # The visitors asked for, and every visitor of their accounts (a signed-in profile spans them).
    scope = ""
    params: dict = {"as_of": as_of, "since": since, "half_life": half_life, "kinds": list(ENGAGEMENT_WEIGHTS)}
    if wanted is not None:
        scope = """AND (visitor_id = ANY(%(visitors)s) OR user_id IN (
                       SELECT user_id FROM tracking_event WHERE visitor_id = ANY(%(visitors)s) AND user_id IS NOT NULL))"""
        params["visitors"] = list(wanted)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT visitor_id, user_id, product_id,
                   SUM((CASE kind {weight_sql} END)
                       * power(0.5, EXTRACT(EPOCH FROM (%(as_of)s - occurred_at)) / 86400.0 / %(half_life)s))
            FROM tracking_event
            WHERE product_id IS NOT NULL AND kind = ANY(%(kinds)s)
              AND occurred_at > %(since)s AND occurred_at <= %(as_of)s {scope}
            GROUP BY visitor_id, user_id, product_id
            """,
            params,
        )
        rows = cursor.fetchall()
    by_visitor: dict[uuid.UUID, _Tally] = defaultdict(_Tally)
    by_user: dict[int, _Tally] = defaultdict(_Tally)
    users: dict[uuid.UUID, int] = {}
    for visitor, user, product, weight in rows:
        weight = float(weight)
        if wanted is None or visitor in wanted:
            by_visitor[visitor].add(product, weight)
        if user is not None:
            by_user[user].add(product, weight)
            if wanted is None or visitor in wanted:
                users[visitor] = user
    return by_visitor, by_user, users


@dataclass(frozen=True)
class _Facts:
    category_id: int | None
    brand_id: int | None
    colours: tuple[str, ...]
    price: float


def _product_facts(product_ids: set[int]) -> dict[int, _Facts]:
    rows = Product.objects.filter(pk__in=product_ids).values_list(
        "pk", "category_id", "predicted_category_id", "brand_id", "colours", "price"
    )
    return {
        pk: _Facts(category or predicted, brand, tuple(colours or ()), float(price))
        for pk, category, predicted, brand, colours, price in rows
    }


def _first_vectors(model, product_ids: list[int]) -> dict[int, np.ndarray]:
    if not product_ids:
        return {}
    return {pid: images[0][1] for pid, images in knn.product_image_vectors(model, product_ids).items()}


def _profile(visitor, user, tally: _Tally, products, vectors, model, as_of) -> VisitorProfile:
    categories: dict[str, float] = defaultdict(float)
    brands: dict[str, float] = defaultdict(float)
    colours: dict[str, float] = defaultdict(float)
    log_prices, price_weights = [], []
    taste = None
    for product_id, weight in tally.products.items():
        facts = products.get(product_id)
        if facts is None:  # deleted since
            continue
        if facts.category_id is not None:
            categories[str(facts.category_id)] += weight
        if facts.brand_id is not None:
            brands[str(facts.brand_id)] += weight
        for colour in facts.colours:
            colours[colour] += weight
        if facts.price > 0:
            log_prices.append(math.log(facts.price))
            price_weights.append(weight)
        vector = vectors.get(product_id)
        if vector is not None:
            taste = weight * vector if taste is None else taste + weight * vector
    mean = spread = None
    if price_weights:
        mean = float(np.average(log_prices, weights=price_weights))
        spread = float(np.sqrt(np.average((np.array(log_prices) - mean) ** 2, weights=price_weights)))
    if taste is not None:
        norm = float(np.linalg.norm(taste))
        taste = (taste / norm).astype(np.float32) if norm > 0 else None
    return VisitorProfile(
        visitor_id=visitor,
        user_id=user,
        weight=tally.weight,
        categories=dict(categories),
        brands=dict(brands),
        colours=dict(colours),
        log_price_mean=mean,
        log_price_spread=spread,
        taste=taste.tobytes() if taste is not None else None,
        vector_model_id=model.pk if taste is not None and model is not None else None,
        updated_at=as_of,
    )
