"""Cached "visually similar products" (search.models.SimilarProduct), best first.

Similarity of two products = the best cosine between any image of one and any image of
the other (searchable images, active model). It is symmetric, which keeps the cache
consistent without recomputing the catalogue: when a product's images change, its own
list is recomputed (`similar_compute`, `similar_store`) and then every product whose
list could change because of it is brought up to date (`similar_sync_neighbours`):

- a product that the changed one now ranks among its own most similar gets the changed
  one merged into its list when it beats that list's last entry (or the list is short);
- a product whose list holds the changed one with a score that is still as good (or
  better) gets the new score and matching image in place;
- a product whose list holds the changed one with a lower score now, or holds it while
  it has no searchable image left or was deactivated, is marked search-dirty: something
  else may belong in that slot, which only its own full refresh can tell.

Merging never marks anything dirty, and a refresh of a product whose images did not
change finds every stored score equal, so one change never cascades through the catalogue.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import F

from catalog import services as catalog_services
from catalog.models import Product
from search.models import SimilarProduct
from vision import knn
from vision.models import EmbeddingModel

# Scores are cosines computed by PostgreSQL from the same stored halfvecs on every path,
# so equal means equal; the tolerance only absorbs float formatting.
SCORE_TOLERANCE = 1e-6


@dataclass(frozen=True)
class SimilarRow:
    similar_id: int
    score: float
    image_id: int | None  # the similar product's image nearest to this product's images


def _ranked(rows) -> list[SimilarRow]:
    return sorted(rows, key=lambda row: (-row.score, row.similar_id))[: settings.SIMILAR_PRODUCTS_COUNT]


def similar_compute(
    model: EmbeddingModel | None, product_id: int, images: list[tuple[int, np.ndarray]]
) -> list[SimilarRow]:
    """The SIMILAR_PRODUCTS_COUNT active products most similar to this one, best first, from
    its searchable images' vectors (`images`: [(image_id, vector)] under `model`). One kNN
    query per image; the union of each image's top products holds the overall top."""
    if model is None or not images:
        return []
    best: dict[int, SimilarRow] = {}
    for _, vector in images:
        for match in knn.products_nearest(
            model, vector, limit=settings.SIMILAR_PRODUCTS_COUNT, exclude_product_id=product_id
        ):
            current = best.get(match.product_id)
            if current is None or match.score > current.score:
                best[match.product_id] = SimilarRow(match.product_id, match.score, match.image_id)
    return _ranked(best.values())


def similar_store(product_id: int, rows: list[SimilarRow]) -> None:
    """Replace the product's cached rows with `rows` (in order) in one transaction."""
    with transaction.atomic():
        SimilarProduct.objects.filter(product_id=product_id).delete()
        SimilarProduct.objects.bulk_create(
            [
                SimilarProduct(
                    product_id=product_id, similar_id=row.similar_id, rank=rank, score=row.score, image_id=row.image_id
                )
                for rank, row in enumerate(rows, start=1)
            ]
        )


DIRTY = "dirty"


def _merged(current: list[SimilarRow], product_id: int, new: knn.PairScore | None):
    """What another product's list becomes now that `product_id` scores `new` against it:
    None (unchanged), DIRTY (needs its own refresh) or the new rows."""
    old = next((row for row in current if row.similar_id == product_id), None)
    if new is None:
        return DIRTY if old is not None else None
    if old is not None:
        if new.score < old.score - SCORE_TOLERANCE:
            return DIRTY
        if new.score <= old.score + SCORE_TOLERANCE and new.image_id == old.image_id:
            return None
    elif len(current) >= settings.SIMILAR_PRODUCTS_COUNT and new.score <= current[-1].score:
        return None
    others = [row for row in current if row.similar_id != product_id]
    return _ranked([*others, SimilarRow(product_id, new.score, new.image_id)])


def _lists(product_ids: list[int]) -> dict[int, list[SimilarRow]]:
    lists: dict[int, list[SimilarRow]] = defaultdict(list)
    rows = (
        SimilarProduct.objects.filter(product_id__in=product_ids)
        .order_by("product_id", "rank")
        .values_list("product_id", "similar_id", "score", "image_id")
    )
    for product_id, similar_id, score, image_id in rows:
        lists[product_id].append(SimilarRow(similar_id, score, image_id))
    return lists


@dataclass(frozen=True)
class SyncOutcome:
    merged: list[int]  # products whose list was updated in place
    dirty: list[int]  # products marked search-dirty (their refresh is queued on commit)


def similar_sync_neighbours(
    model: EmbeddingModel, product_id: int, *, is_active: bool, rows: list[SimilarRow]
) -> SyncOutcome:
    """Bring other products' cached lists up to date with this product's current images (see
    the module docstring). `rows` is this product's freshly computed list."""
    listing = set(SimilarProduct.objects.filter(similar_id=product_id).values_list("product_id", flat=True))
    affected = sorted(listing | {row.similar_id for row in rows})
    if not affected:
        return SyncOutcome([], [])
    scores = knn.product_pair_scores(model, product_id, affected) if is_active else {}
    # Decide without locks first: usually (a text edit, a duplicate message) nothing changes.
    current = _lists(affected)
    candidates = [other for other in affected if _merged(current[other], product_id, scores.get(other)) is not None]
    if not candidates:
        return SyncOutcome([], [])
    with transaction.atomic():
        # Lock the lists' owners in id order (no deadlock with another sync or a refresh of
        # them), then decide again on what is stored now.
        locked = list(
            Product.objects.filter(pk__in=candidates)
            .order_by("pk")
            .select_for_update(no_key=True)
            .values_list("pk", flat=True)
        )
        current = _lists(locked)
        replaced: dict[int, list[SimilarRow]] = {}
        dirty: list[int] = []
        for other in locked:
            outcome = _merged(current[other], product_id, scores.get(other))
            if outcome == DIRTY:
                dirty.append(other)
            elif outcome is not None:
                replaced[other] = outcome
        if replaced:
            SimilarProduct.objects.filter(product_id__in=list(replaced)).delete()
            SimilarProduct.objects.bulk_create(
                [
                    SimilarProduct(
                        product_id=other, similar_id=row.similar_id, rank=rank, score=row.score, image_id=row.image_id
                    )
                    for other, new_rows in replaced.items()
                    for rank, row in enumerate(new_rows, start=1)
                ]
            )
            # A new row version (xmin) without marking dirty: a refresh of one of these that
            # computed its list before this merge must not overwrite it (search.product_refresh).
            Product.objects.filter(pk__in=list(replaced)).update(search_dirty=F("search_dirty"))
        catalog_services.products_mark_search_dirty(dirty)
    return SyncOutcome(sorted(replaced), dirty)
