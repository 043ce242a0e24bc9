"""Refresh what search derives from products: colours, predicted category, the text
document (search.text.index_products) and the cached similar products.

Products are marked search-dirty by every write that changes what search derives from
them (catalog.services: text edits, image deleted or replaced; vision.pipeline: an image
settled or failed), in the same transaction, and their refresh is queued on commit
(search.tasks.refresh_products). A periodic sweep refreshes whatever is still dirty (a
lost message, a broker that was down, a worker killed mid-refresh).

Clearing the flag safely: the refresh reads each product's row version (PostgreSQL's
`xmin`, which every UPDATE of the row changes) before computing, and writes its results
and clears the flag only if the row is still that version, checked under the row lock.
A change that lands while it computes (an image settled, a title edited, a neighbour's
merge into its similar list) updated the row, so the stale results are dropped and the
product stays dirty; it is queued again.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction

from catalog import services as catalog_services
from catalog.models import Product
from search import attributes, selectors, similar
from search.text import index_products
from vision import knn
from vision import selectors as vision_selectors

logger = logging.getLogger(__name__)

TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def _versions(product_ids: list[int], *, only_dirty: bool) -> dict[int, tuple[str, bool]]:
    """{product_id: (row version, is_active)} in id order."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT id, xmin::text, is_active FROM catalog_product
            WHERE id = ANY(%s) {"AND search_dirty" if only_dirty else ""}
            ORDER BY id
            """,
            [product_ids],
        )
        return {product_id: (version, is_active) for product_id, version, is_active in cursor.fetchall()}


def _write(
    product_id: int, version: str, colours: list[str], category_id: int | None, rows: list[similar.SimilarRow]
) -> bool:
    """Store the results and clear the flag, unless the row changed since `version` was read.
    The text document is written by the caller, once for the batch, in the same transaction."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT 1 FROM catalog_product WHERE id = %s AND xmin::text = %s FOR NO KEY UPDATE",
                [product_id, version],
            )
            if cursor.fetchone() is None:
                return False
        Product.objects.filter(pk=product_id).update(
            colours=colours, predicted_category_id=category_id, search_dirty=False
        )
        similar.similar_store(product_id, rows)
    return True


def products_refresh(product_ids: list[int], *, only_dirty: bool = True) -> int:
    """Recompute and store the search data of these products (by default only those still
    dirty: a duplicate message or a sweep that got there first costs one query). Returns how
    many were refreshed. Safe to run twice and concurrently with itself."""
    ids = sorted(set(product_ids))
    versions = _versions(ids, only_dirty=only_dirty) if ids else {}
    if not versions:
        return 0
    model = vision_selectors.embedding_model_active()
    vectors = knn.product_image_vectors(model, list(versions)) if model else {}
    colours = attributes.products_colours(list(versions))
    computed = []
    for product_id, (version, is_active) in versions.items():
        images = vectors.get(product_id, [])
        try:
            category_id = attributes.predict_category(model, product_id, images)
            rows = similar.similar_compute(model, product_id, images)
        except TRANSIENT_ERRORS:
            raise  # the task retries the batch; nothing is written yet, every product is still dirty
        except Exception:  # one bad product must not stop the batch; it stays dirty for the sweep
            logger.exception("search refresh failed product_id=%s", product_id)
            continue
        computed.append((product_id, version, is_active, category_id, rows))
    changed_meanwhile, written = [], []
    # One transaction for the batch: each product's results (its own savepoint, so one that
    # fails is left dirty and the others go on), then the text documents of all that were
    # written in one index call (one statement on PostgreSQL, one bulk request on
    # Elasticsearch, instead of one per product). A flag is never cleared without its
    # document: if indexing fails, the whole batch stays dirty. The row locks are taken in
    # id order and held only for the writes, not while computing.
    try:
        with transaction.atomic():
            for product_id, version, is_active, category_id, rows in computed:
                try:
                    if not _write(product_id, version, colours[product_id], category_id, rows):
                        changed_meanwhile.append(product_id)
                        continue
                except TRANSIENT_ERRORS:
                    raise
                except Exception:
                    logger.exception("search refresh failed product_id=%s", product_id)
                    continue
                written.append((product_id, is_active, rows))
            # Reads the colours and predicted categories just written (a later change marks
            # the product dirty again and its refresh writes the document again).
            index_products([product_id for product_id, _, _ in written])
    except TRANSIENT_ERRORS:
        raise
    except Exception:
        logger.exception(
            "search documents not written; products stay dirty ids=%s", [product_id for product_id, _, _ in written]
        )
        return 0
    refreshed = len(written)
    # Other products' lists are brought up to date once the whole batch is written: a merge
    # moves the row version on, so syncing inline would make every later product of the batch
    # that the merge reached drop its results and be queued again (one product per message
    # for a batch of alike products). Synced after, the batch's own lists already hold each
    # other with the current scores and nothing in the batch changes.
    for product_id, is_active, rows in written if model is not None else []:
        try:
            similar.similar_sync_neighbours(model, product_id, is_active=is_active, rows=rows)
        except TRANSIENT_ERRORS:
            raise
        except Exception:
            logger.exception("similar products sync failed product_id=%s", product_id)
    if changed_meanwhile:
        # The change that moved the row on usually queued its own refresh; a merge into the
        # product's similar list did not, so queue what is still dirty (a second message
        # finds the product clean and costs one query).
        still_dirty = list(
            Product.objects.filter(pk__in=changed_meanwhile, search_dirty=True).values_list("pk", flat=True)
        )
        catalog_services.products_enqueue_search_refresh(still_dirty)
    return refreshed


def products_sweep_dirty(limit: int | None = None) -> int:
    """Periodic: refresh up to `limit` (SEARCH_REFRESH_SWEEP_LIMIT) dirty products here.
    Returns how many were refreshed."""
    ids = selectors.products_search_dirty(limit or settings.SEARCH_REFRESH_SWEEP_LIMIT)
    return products_refresh(ids)
