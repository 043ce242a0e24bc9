"""Reads for search and the image pipeline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
from django.db import connection, transaction
from django.db.models import QuerySet

from catalog import selectors as catalog_selectors
from catalog.models import Brand, Product
from search import vector_index
from search.reranking import Candidate, halfvec_from_send
from search.models import EmbeddingModel

if TYPE_CHECKING:  # search.product_search reads this module
    from search.product_search import SearchHit


def embedding_model_active() -> EmbeddingModel | None:
    """The one version search reads (None before the first image was processed)."""
    return EmbeddingModel.objects.filter(status=EmbeddingModel.Status.ACTIVE).first()


def embedding_models_live() -> list[EmbeddingModel]:
    """Versions new images must be embedded with: the active one and one being rebuilt."""
    return list(
        EmbeddingModel.objects.filter(
            status__in=[EmbeddingModel.Status.ACTIVE, EmbeddingModel.Status.BUILDING]
        ).order_by("status")  # "active" before "building"
    )


@dataclass(frozen=True)
class Neighbour:
    image_id: int
    product_id: int
    category_id: int | None
    phash: int | None
    cosine: float


def image_neighbours(
    model: EmbeddingModel, vector: np.ndarray, *, limit: int, exclude_image_id: int | None = None
) -> list[Neighbour]:
    """The catalogue images (ready or flagged) nearest to `vector` under `model`, best first."""
    expression = vector_index.vector_expression(model.dimension)
    literal = vector_index.halfvec_literal(vector)
    with transaction.atomic(), connection.cursor() as cursor:
        vector_index.set_search_options(cursor)
        # The nearest vectors first (the model's HNSW index), then their images: ordering
        # after the joins would let the planner sort every vector instead.
        cursor.execute(
            f"""
            WITH nearest AS MATERIALIZED (
                SELECT e.image_id, {expression} <=> %s::halfvec AS distance
                FROM search_imageembedding e
                WHERE e.model_id = %s AND e.image_id <> %s
                ORDER BY {expression} <=> %s::halfvec
                LIMIT %s
            )
            SELECT n.image_id, i.product_id, p.category_id, i.phash, 1 - n.distance AS cosine
            FROM nearest n
            JOIN catalog_productimage i ON i.id = n.image_id
            JOIN catalog_product p ON p.id = i.product_id
            WHERE i.status IN ('ready', 'flagged')
            ORDER BY n.distance
            """,
            [literal, model.pk, exclude_image_id or 0, literal, limit],
        )
        return [Neighbour(*row) for row in cursor.fetchall()]



@dataclass(frozen=True)
class ProductFilters:
    """What a shopper narrowed the results to; every field optional."""

    category_ids: list[int] | None = None  # a category and its descendants (catalog.selectors)
    brand_id: int | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool = False
    colours: tuple[str, ...] = ()  # any of these dominant colour names (search.colours)

    def sql(self) -> tuple[str, list]:
        # Only products shoppers may see: active, with a picture (catalog.selectors.shop_products).
        clauses, params = ["p.is_active", catalog_selectors.PRODUCT_HAS_PICTURE_SQL], []
        if self.category_ids is not None:
            clauses.append("p.category_id = ANY(%s)")
            params.append(list(self.category_ids))
        if self.brand_id is not None:
            clauses.append("p.brand_id = %s")
            params.append(self.brand_id)
        if self.price_min is not None:
            clauses.append("p.price >= %s")
            params.append(self.price_min)
        if self.price_max is not None:
            clauses.append("p.price <= %s")
            params.append(self.price_max)
        if self.in_stock:
            clauses.append("p.stock > 0")
        if self.colours:
            clauses.append("p.colours && %s::varchar[]")
            params.append(list(self.colours))
        return " AND ".join(clauses), params


@dataclass(frozen=True)
class ProductMatch:
    product_id: int
    image_id: int  # the product's image nearest to the query
    score: float  # cosine similarity of that image, -1..1


# Images fetched per wanted product: a product with several photos near the query
# fills several candidate slots before they collapse into one result.
CANDIDATES_PER_RESULT = 4


def products_nearest(model: EmbeddingModel, vector: np.ndarray, *, limit: int,
                     filters: ProductFilters = ProductFilters(), exclude_product_id: int | None = None
                     ) -> list[ProductMatch]:
    """Active products whose images are nearest to `vector`, one result per product, best first.

    The filters are applied during the HNSW scan; pgvector's iterative scan keeps
    reading the index until enough rows pass them, so a narrow filter still fills `limit`.
    """
    expression = vector_index.vector_expression(model.dimension)
    literal = vector_index.halfvec_literal(vector)
    where, params = _product_conditions(filters, exclude_product_id)
    with transaction.atomic(), connection.cursor() as cursor:
        vector_index.set_search_options(cursor, ef_search=max(vector_index.HNSW_EF_SEARCH, limit * 4))
        cursor.execute(
            f"""
            WITH nearest AS MATERIALIZED (
                SELECT e.image_id, i.product_id, {expression} <=> %s::halfvec AS distance
                FROM search_imageembedding e
                JOIN catalog_productimage i ON i.id = e.image_id
                JOIN catalog_product p ON p.id = i.product_id
                WHERE e.model_id = %s AND i.status IN ('ready', 'flagged') AND {where}
                ORDER BY {expression} <=> %s::halfvec
                LIMIT %s
            ), best AS (
                SELECT DISTINCT ON (product_id) product_id, image_id, distance
                FROM nearest ORDER BY product_id, distance
            )
            SELECT product_id, image_id, 1 - distance FROM best ORDER BY distance, product_id LIMIT %s
            """,
            [literal, model.pk, *params, literal, limit * CANDIDATES_PER_RESULT, limit],
        )
        return [ProductMatch(*row) for row in cursor.fetchall()]


def _product_conditions(filters: ProductFilters, exclude_product_id: int | None) -> tuple[str, list]:
    """SQL conditions on `p` (catalog_product) for the filters, leaving one product out."""
    where, params = filters.sql()
    if exclude_product_id is not None:
        where += " AND p.id <> %s"
        params.append(exclude_product_id)
    return where, params


def image_vector(model: EmbeddingModel, image_id: int) -> np.ndarray | None:
    """The stored vector of one image under `model` (None if it has none)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT halfvec_send(embedding) FROM search_imageembedding WHERE model_id = %s AND image_id = %s",
            [model.pk, image_id],
        )
        row = cursor.fetchone()
    return halfvec_from_send(row[0]) if row else None


# hnsw.ef_search per candidate wanted: the graph search keeps this many times the candidates
# on its list, so the ones it returns are the true nearest more often. bench/search.py, factor
# 1 -> 2: recall@10 of served photo results against an exact scan on clothing-small 0.995 ->
# 0.999; at 100,000 vectors 0.974 with 2 (photo search p50 19.7 ms there, 16.3 ms at 3,068).
CANDIDATE_EF_SEARCH_FACTOR = 2


def image_candidates(model: EmbeddingModel, vector: np.ndarray, *, limit: int,
                     filters: ProductFilters = ProductFilters(), exclude_product_id: int | None = None,
                     exact: bool = False) -> list[Candidate]:
    """The `limit` searchable images nearest to `vector` among products passing `filters`, with
    their vectors and their product's category (its own, else the predicted one), best first:
    the candidates search.reranking re-scores.

    exact=True scans every vector instead of the HNSW index (the reference recall is measured
    against; slow on a large catalogue).
    """
    expression = vector_index.vector_expression(model.dimension)
    literal = vector_index.halfvec_literal(vector)
    where, params = _product_conditions(filters, exclude_product_id)
    with transaction.atomic(), connection.cursor() as cursor:
        if exact:
            cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")
        else:
            vector_index.set_search_options(cursor, ef_search=CANDIDATE_EF_SEARCH_FACTOR * limit)
        cursor.execute(
            f"""
            SELECT e.image_id, i.product_id, COALESCE(p.category_id, p.predicted_category_id),
                   1 - ({expression} <=> %s::halfvec), halfvec_send(e.embedding)
            FROM search_imageembedding e
            JOIN catalog_productimage i ON i.id = e.image_id
            JOIN catalog_product p ON p.id = i.product_id
            WHERE e.model_id = %s AND i.status IN ('ready', 'flagged') AND {where}
            ORDER BY {expression} <=> %s::halfvec
            LIMIT %s
            """,
            [literal, model.pk, *params, literal, limit],
        )
        return [Candidate(image_id, product_id, category_id, float(cosine), halfvec_from_send(data))
                for image_id, product_id, category_id, cosine, data in cursor.fetchall()]


def product_image_vectors(model: EmbeddingModel, product_ids: list[int]) -> dict[int, list[tuple[int, np.ndarray]]]:
    """The searchable (ready or flagged) images of these products with their vectors under
    `model`: {product_id: [(image_id, vector), ...]} in image order; products without any
    are left out. One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.product_id, i.id, halfvec_send(e.embedding)
            FROM catalog_productimage i
            JOIN search_imageembedding e ON e.image_id = i.id AND e.model_id = %s
            WHERE i.product_id = ANY(%s) AND i.status IN ('ready', 'flagged')
            ORDER BY i.product_id, i.position, i.id
            """,
            [model.pk, list(product_ids)],
        )
        found: dict[int, list[tuple[int, np.ndarray]]] = {}
        for product_id, image_id, data in cursor.fetchall():
            found.setdefault(product_id, []).append((image_id, halfvec_from_send(data)))
    return found


@dataclass(frozen=True)
class PairScore:
    score: float  # the best cosine between an image of the product and an image of the other, -1..1
    image_id: int  # the product's image in that best pair


def product_pair_scores(model: EmbeddingModel, product_id: int, other_ids: list[int]) -> dict[int, PairScore]:
    """Exact visual similarity of one product to each of `other_ids`: the best cosine over
    all pairs of their searchable images (the score search.similar ranks by; symmetric).
    Others without searchable images are left out. One query, no index: a handful of images
    against a few dozen products."""
    if not other_ids:
        return {}
    expression = vector_index.vector_expression(model.dimension)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH mine AS MATERIALIZED (
                SELECT e.image_id, {expression} AS v
                FROM search_imageembedding e JOIN catalog_productimage i ON i.id = e.image_id
                WHERE e.model_id = %s AND i.product_id = %s AND i.status IN ('ready', 'flagged')
            ), theirs AS MATERIALIZED (
                SELECT i.product_id, {expression} AS v
                FROM search_imageembedding e JOIN catalog_productimage i ON i.id = e.image_id
                WHERE e.model_id = %s AND i.product_id = ANY(%s) AND i.status IN ('ready', 'flagged')
            )
            SELECT DISTINCT ON (t.product_id) t.product_id, m.image_id, 1 - (m.v <=> t.v)
            FROM mine m CROSS JOIN theirs t
            ORDER BY t.product_id, m.v <=> t.v, m.image_id
            """,
            [model.pk, product_id, model.pk, list(other_ids)],
        )
        return {other: PairScore(float(score), image_id) for other, image_id, score in cursor.fetchall()}


def similar_products(product_id: int, limit: int) -> list["SimilarProduct"]:
    """The cached visually similar products of a product, best first, with `similar` and the
    matching `image` loaded (one query). Products deactivated since the list was computed
    are left out until its refresh replaces them."""
    from search.models import SimilarProduct

    return list(
        SimilarProduct.objects.filter(product_id=product_id, similar__is_active=True)
        .select_related("similar", "image")
        .order_by("rank")[:limit]
    )


def products_search_dirty(limit: int) -> list[int]:
    """Ids of products whose search data waits for a refresh, oldest id first (partial index)."""
    from catalog.models import Product

    return list(Product.objects.filter(search_dirty=True).order_by("pk").values_list("pk", flat=True)[:limit])


# ---------------------------------------------------------------------------
# Products for the shop's pages and the API: filters from slugs, filtered lists, search
# hits and similar products joined to their products in a fixed number of queries
# ---------------------------------------------------------------------------


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


@dataclass(frozen=True)
class HydratedHit:
    hit: SearchHit
    product: Product
    image_id: int | None  # the picture to show: the one that matched, else the product's first


def hydrate(hits: list[SearchHit]) -> list[HydratedHit]:
    """Hits with their products, in the hits' order; a product that went inactive meanwhile is dropped."""
    products = products_by_id(hit.product_id for hit in hits)
    return [
        HydratedHit(hit=hit, product=products[hit.product_id], image_id=_shown_image_id(products[hit.product_id],
                                                                                       hit.image_id))
        for hit in hits if hit.product_id in products
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
    rows = similar_products(product_id, limit)
    products = products_by_id(row.similar_id for row in rows)
    return [
        SimilarCard(product=products[row.similar_id], rank=row.rank, score=row.score,
                   image_id=_shown_image_id(products[row.similar_id], row.image_id))
        for row in rows if row.similar_id in products
    ]


def _shown_image_id(product: Product, preferred: int | None) -> int | None:
    visible = [image.pk for image in product.visible_images]
    if preferred in visible:
        return preferred
    return visible[0] if visible else None
