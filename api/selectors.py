"""Reads behind the API. The product reads it shares with the shop's pages live in
catalog.product_filters (filters from slugs, filtered lists) and search.hydration (search hits
and similar products joined to their products); these add what only the API needs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from catalog import selectors as catalog_selectors
from catalog.models import Product
from catalog.product_filters import ProductFilters
from ranking.serving import RankedSearch, ranked_search
from search import hydration
from search.hydration import HydratedHit
from search.photo_search import CropBox
from search.product_search import SearchRequest, SearchResults


def product_get(pk: int) -> Product:
    """An active product with brand, category and visible images; Product.DoesNotExist otherwise."""
    return catalog_selectors.product_get(pk)


@dataclass(frozen=True)
class SearchPage:
    results: SearchResults
    hits: list[HydratedHit]
    limit: int
    offset: int
    ranked: RankedSearch  # what ordered the page, and its features to log with the search


def search(
    *,
    text: str = "",
    image: bytes | None = None,
    image_url: str = "",
    image_id: int | None = None,
    crop: CropBox | None = None,
    filters: ProductFilters = ProductFilters(),
    limit: int = 20,
    offset: int = 0,
    visitor_id: uuid.UUID | None = None,
) -> SearchPage:
    """ranking.serving.ranked_search (search.product_search.search_products re-ordered by the
    live ranker for this visitor), its hits joined to their products (two queries).

    Raises what the search does: InvalidSearch, ImageRejected, ImageFetchError,
    PhotoSearchUnavailable (api.errors turns each into its JSON error).
    """
    request = SearchRequest(
        text=text,
        image=image,
        image_url=image_url,
        image_id=image_id,
        crop=crop,
        filters=filters,
        limit=limit,
        offset=offset,
    )
    ranked = ranked_search(request, visitor_id=visitor_id)
    results = ranked.results
    return SearchPage(results=results, hits=hydration.hydrate(results.hits), limit=limit, offset=offset, ranked=ranked)


def similar_products(product_id: int, *, limit: int) -> list[hydration.SimilarCard]:
    return hydration.similar_product_cards(product_id, limit=limit)
