"""Reads behind the API: filters from the shopper's slugs, filtered product pages, and
search results hydrated with their products in a fixed number of queries.

The catalogue and the search engine have their own selectors (catalog.selectors,
search.selectors, search.product_search); these only combine them for the API.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Iterable

from django.db.models import QuerySet

from catalog import selectors as catalog_selectors
from catalog.models import Brand, Product
from search import product_search
from search import selectors as search_selectors
from search.photo_search import CropBox
from search.product_search import SearchHit, SearchRequest, SearchResults
from search.selectors import ProductFilters


class UnknownFilterValue(ValueError):
    """A filter names a category or brand the shop does not have."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def product_filters(*, category: str = "", brand: str = "", price_min: Decimal | None = None,
                    price_max: Decimal | None = None, in_stock: bool = False,
                    colours: Iterable[str] = ()) -> ProductFilters:
    """Filters from slugs: a category means it and all its descendants. One query per slug given."""
    category_ids = None
    if category:
        tree = catalog_selectors.category_tree()
        node = tree.get(category)
        if node is None:
            raise UnknownFilterValue("category", f"No category with the slug '{category}'.")
        category_ids = tree.descendant_ids(node)
    brand_id = None
    if brand:
        brand_id = Brand.objects.filter(slug=brand).values_list("pk", flat=True).first()
        if brand_id is None:
            raise UnknownFilterValue("brand", f"No brand with the slug '{brand}'.")
    return ProductFilters(category_ids=category_ids, brand_id=brand_id, price_min=price_min,
                          price_max=price_max, in_stock=in_stock, colours=tuple(dict.fromkeys(colours)))


def product_list(filters: ProductFilters = ProductFilters()) -> QuerySet[Product]:
    """Active products matching the filters, title order, with brand, category and visible
    images (catalog.selectors.product_list): counting and each page cost one query, the
    page's images one more."""
    queryset = catalog_selectors.product_list()
    if filters.category_ids is not None:
        queryset = queryset.filter(category_id__in=filters.category_ids)
    if filters.brand_id is not None:
        queryset = queryset.filter(brand_id=filters.brand_id)
    if filters.price_min is not None:
        queryset = queryset.filter(price__gte=filters.price_min)
    if filters.price_max is not None:
        queryset = queryset.filter(price__lte=filters.price_max)
    if filters.in_stock:
        queryset = queryset.filter(stock__gt=0)
    if filters.colours:
        queryset = queryset.filter(colours__overlap=list(filters.colours))
    return queryset


def products_by_id(ids: Iterable[int]) -> dict[int, Product]:
    """Active products by id, with brand, category and visible images: two queries
    however many (none for no ids). Inactive and unknown ids are left out."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    return {product.pk: product for product in catalog_selectors.product_list().filter(pk__in=ids).order_by()}


def product_get(pk: int) -> Product:
    """An active product with brand, category and visible images; Product.DoesNotExist otherwise."""
    return catalog_selectors.product_get(pk)


@dataclass(frozen=True)
class HydratedHit:
    hit: SearchHit
    product: Product
    image_id: int | None  # the picture to show: the one that matched, else the product's first


@dataclass(frozen=True)
class SearchPage:
    results: SearchResults
    hits: list[HydratedHit]
    limit: int
    offset: int


def search(*, text: str = "", image: bytes | None = None, image_url: str = "", image_id: int | None = None,
           crop: CropBox | None = None, filters: ProductFilters = ProductFilters(), limit: int = 20,
           offset: int = 0) -> SearchPage:
    """search.product_search.search_products, its hits joined to their products (two queries).

    Raises what the search does: InvalidSearch, ImageRejected, ImageFetchError,
    PhotoSearchUnavailable (api.errors turns each into its JSON error).
    """
    request = SearchRequest(text=text, image=image, image_url=image_url, image_id=image_id, crop=crop,
                            filters=filters, limit=limit, offset=offset)
    results = product_search.search_products(request)
    return SearchPage(results=results, hits=hydrate(results.hits), limit=limit, offset=offset)


def hydrate(hits: list[SearchHit]) -> list[HydratedHit]:
    """Hits with their products, in the hits' order; a product that went inactive meanwhile is dropped."""
    products = products_by_id(hit.product_id for hit in hits)
    return [
        HydratedHit(hit=hit, product=products[hit.product_id], image_id=_shown_image_id(products[hit.product_id],
                                                                                       hit.image_id))
        for hit in hits if hit.product_id in products
    ]


@dataclass(frozen=True)
class SimilarRow:
    product: Product
    rank: int
    score: float
    image_id: int | None


def similar_products(product_id: int, *, limit: int) -> list[SimilarRow]:
    """The cached visually similar products of an active product (search.selectors), each
    with brand, category and images. Product.DoesNotExist for an inactive or unknown product."""
    if not Product.objects.filter(pk=product_id, is_active=True).exists():
        raise Product.DoesNotExist(f"No product with id {product_id}.")
    rows = search_selectors.similar_products(product_id, limit)
    products = products_by_id(row.similar_id for row in rows)
    return [
        SimilarRow(product=products[row.similar_id], rank=row.rank, score=row.score,
                   image_id=_shown_image_id(products[row.similar_id], row.image_id))
        for row in rows if row.similar_id in products
    ]


def _shown_image_id(product: Product, preferred: int | None) -> int | None:
    visible = [image.pk for image in product.visible_images]
    if preferred in visible:
        return preferred
    return visible[0] if visible else None
