"""Reads of search's own data: cached similar products and products waiting for a refresh."""

from __future__ import annotations

from catalog.models import Product
from search.models import SimilarProduct


def similar_products(product_id: int, limit: int) -> list[SimilarProduct]:
    """The cached visually similar products of a product, best first, with `similar` and the
    matching `image` loaded (one query). Products deactivated since the list was computed
    are left out until its refresh replaces them."""
    return list(
        SimilarProduct.objects.filter(product_id=product_id, similar__is_active=True)
        .select_related("similar", "image")
        .order_by("rank")[:limit]
    )


def products_search_dirty(limit: int) -> list[int]:
    """Ids of products whose search data waits for a refresh, oldest id first (partial index)."""
    return list(Product.objects.filter(search_dirty=True).order_by("pk").values_list("pk", flat=True)[:limit])
