"""The "Recommended for you" row (home and product pages): the products nearest to the
visitor's taste vector (ranking.profiles: the decayed mean of the image vectors of what they
engaged with), found through the image index (pgvector HNSW, vision.knn) like a photo search
whose photo is their taste. Nothing for a newcomer, for a visitor whose taste vector is of an
older image model, or with RANKING_PERSONALISATION off."""

from __future__ import annotations

import uuid
from collections.abc import Collection

from django.conf import settings

from catalog.product_filters import ProductFilters
from ranking import selectors
from vision import knn
from vision.selectors import embedding_model_active

# Images read per product wanted: a product has a few pictures, and some are left out.
IMAGES_PER_PRODUCT = 4


def recommended_product_ids(
    visitor_id: uuid.UUID | None, *, limit: int, exclude: Collection[int] = (), personalise: bool | None = None
) -> list[int]:
    """Up to `limit` in-stock products for this visitor, nearest to their taste first, without
    those in `exclude` (the product on the page). Two queries for a visitor with a taste
    (profile, nearest images), one for anyone else."""
    personalise = settings.RANKING_PERSONALISATION if personalise is None else personalise
    if not personalise or visitor_id is None or limit <= 0:
        return []
    found = selectors.visitor_profile(visitor_id)
    if found is None:
        return []
    _profile, taste, taste_model_id = found
    model = embedding_model_active() if taste is not None else None
    if model is None or model.pk != taste_model_id:
        return []
    candidates = knn.image_candidates(
        model, taste, limit=(limit + len(exclude)) * IMAGES_PER_PRODUCT, filters=ProductFilters(in_stock=True)
    )
    chosen: list[int] = []
    for candidate in candidates:
        if candidate.product_id not in exclude and candidate.product_id not in chosen:
            chosen.append(candidate.product_id)
            if len(chosen) == limit:
                break
    return chosen
