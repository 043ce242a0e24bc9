"""Search hits and similar-product rows joined to the products shoppers may see, for the
shop's pages and the API, in a fixed number of queries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from catalog import selectors as catalog_selectors
from catalog.models import Product
from search import selectors

if TYPE_CHECKING:  # search.product_search returns hits; this module is read by its callers
    from search.product_search import SearchHit


def products_by_id(ids: Iterable[int]) -> dict[int, Product]:
    """Active products by id, with brand, category and visible images: two queries
    however many (none for no ids). Inactive and unknown ids are left out."""
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    return {product.pk: product for product in catalog_selectors.product_list().filter(pk__in=ids).order_by()}


@dataclass(frozen=True)
class HydratedHit:
    hit: SearchHit
    product: Product
    image_id: int | None  # the picture to show: the one that matched, else the product's first


def hydrate(hits: list[SearchHit]) -> list[HydratedHit]:
    """Hits with their products, in the hits' order; a product that went inactive meanwhile is dropped."""
    products = products_by_id(hit.product_id for hit in hits)
    return [
        HydratedHit(
            hit=hit, product=products[hit.product_id], image_id=_shown_image_id(products[hit.product_id], hit.image_id)
        )
        for hit in hits
        if hit.product_id in products
    ]


@dataclass(frozen=True)
class SimilarCard:
    product: Product
    rank: int
    score: float
    image_id: int | None


def similar_product_cards(product_id: int, *, limit: int, known_active: bool = False) -> list[SimilarCard]:
    """The cached visually similar products of a product shoppers may see (similar_products),
    each with brand, category and images. Product.DoesNotExist for an inactive or unknown
    product or one without a picture,
    unless the caller has just read it active (known_active: no query to check again)."""
    if not known_active and not catalog_selectors.shop_products().filter(pk=product_id).exists():
        raise Product.DoesNotExist(f"No product with id {product_id}.")
    rows = selectors.similar_products(product_id, limit)
    products = products_by_id(row.similar_id for row in rows)
    return [
        SimilarCard(
            product=products[row.similar_id],
            rank=row.rank,
            score=row.score,
            image_id=_shown_image_id(products[row.similar_id], row.image_id),
        )
        for row in rows
        if row.similar_id in products
    ]


def _shown_image_id(product: Product, preferred: int | None) -> int | None:
    visible = [image.pk for image in product.visible_images]
    if preferred in visible:
        return preferred
    return visible[0] if visible else None
