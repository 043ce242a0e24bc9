"""Nearest-neighbour reads over the stored vectors (pgvector HNSW, one partial index per
model version: vision.vector_index): the catalogue images nearest to a vector for the
pipeline's duplicate and category checks, the products nearest to a shopper's photo, the
candidates search re-ranks, and exact scores between products for similar products.

Only images shoppers may find (catalog.models.ProductImage.SEARCHABLE_STATUSES) are read, and with
filters only the products that pass them (catalog.product_filters)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from catalog.models import ProductImage
from catalog.product_filters import ProductFilters
from vision import vector_index
from vision.models import EmbeddingModel
from vision.vector_index import halfvec_from_send, halfvecs_from_send

# Rows of catalog_productimage `i` that search may return.
SEARCHABLE_IMAGE = ProductImage.searchable_sql("i.status")


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
            WHERE {SEARCHABLE_IMAGE}
            ORDER BY n.distance
            """,
            [literal, model.pk, exclude_image_id or 0, literal, limit],
        )
        return [Neighbour(*row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class Candidate:
    image_id: int
    product_id: int
    category_id: int | None
    cosine: float  # raw cosine to the query
    vector: np.ndarray


@dataclass(frozen=True)
class ProductMatch:
    product_id: int
    image_id: int  # the product's image nearest to the query
    score: float  # cosine similarity of that image, -1..1


# Images fetched per wanted product: a product with several photos near the query
# fills several candidate slots before they collapse into one result.
CANDIDATES_PER_RESULT = 4


def products_nearest(
    model: EmbeddingModel,
    vector: np.ndarray,
    *,
    limit: int,
    filters: ProductFilters = ProductFilters(),
    exclude_product_id: int | None = None,
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
                WHERE e.model_id = %s AND {SEARCHABLE_IMAGE} AND {where}
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
    """SQL conditions on `p` (catalog_product) for the filters, leaving one product out. Every
    query here reaches `p` through a searchable image `i` (SEARCHABLE_IMAGE), so the product's
    having a picture is already checked."""
    where, params = filters.sql(picture_checked=True)
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
# Products a restricted search (only_product_ids) compares one by one rather than walking the
# HNSW index: a few hundred distances cost well under a millisecond, and an index walk that
# must skip most of what it meets (iterative scan) costs more.
EXACT_FOR_PRODUCTS = 1000


def image_candidates(
    model: EmbeddingModel,
    vector: np.ndarray,
    *,
    limit: int,
    filters: ProductFilters = ProductFilters(),
    exclude_product_id: int | None = None,
    exact: bool = False,
    only_product_ids: Sequence[int] | None = None,
) -> list[Candidate]:
    """The `limit` searchable images nearest to `vector` among products passing `filters`, with
    their vectors and their product's category (its own, else the predicted one), best first:
    the candidates search.reranking re-scores.

    exact=True scans every vector instead of the HNSW index (the reference recall is measured
    against; slow on a large catalogue). only_product_ids: among these products only (the
    words' matches of a photo + words search); up to EXACT_FOR_PRODUCTS of them are compared
    exactly (_listed_products_candidates), more walk the index with the iterative scan on, so
    the walk cannot stop short of the LIMIT.
    """
    where, params = _product_conditions(filters, exclude_product_id)
    if only_product_ids is not None and len(only_product_ids) <= EXACT_FOR_PRODUCTS:
        return _listed_products_candidates(model, vector, limit, where, params, only_product_ids)
    expression = vector_index.vector_expression(model.dimension)
    literal = vector_index.halfvec_literal(vector)
    if only_product_ids is not None:
        where += " AND p.id = ANY(%s)"
        params.append(list(only_product_ids))
    with transaction.atomic(), connection.cursor() as cursor:
        if exact:
            cursor.execute("SELECT set_config('enable_indexscan', 'off', true)")
        else:
            vector_index.set_search_options(cursor, ef_search=CANDIDATE_EF_SEARCH_FACTOR * limit)
        # ORDER BY the output column: the vector is sent and parsed once (1280 numbers as text),
        # and the planner still matches the distance to the HNSW index.
        cursor.execute(
            f"""
            SELECT e.image_id, i.product_id, COALESCE(p.category_id, p.predicted_category_id),
                   {expression} <=> %s::halfvec AS distance, halfvec_send(e.embedding)
            FROM search_imageembedding e
            JOIN catalog_productimage i ON i.id = e.image_id
            JOIN catalog_product p ON p.id = i.product_id
            WHERE e.model_id = %s AND {SEARCHABLE_IMAGE} AND {where}
            ORDER BY distance
            LIMIT %s
            """,
            [literal, model.pk, *params, limit],
        )
        return _candidates(cursor.fetchall())


def _listed_products_candidates(
    model: EmbeddingModel, vector: np.ndarray, limit: int, where: str, params: list, product_ids: Sequence[int]
) -> list[Candidate]:
    """image_candidates among a few listed products: their images found through the product
    keys first (a materialised CTE), then every one compared. Written so, the plan does not
    depend on the tables' statistics: before autovacuum had analysed a freshly loaded catalogue
    the planner joined every vector to every image (20.6 ms for the 132 products "shirt" finds
    in the 600-product demo; 6.2 ms this way, 5.1 once analysed, 2026-12-07)."""
    expression = vector_index.vector_expression(model.dimension)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH listed AS MATERIALIZED (
                SELECT e.image_id, i.product_id, COALESCE(p.category_id, p.predicted_category_id) AS category_id,
                       e.embedding
                FROM catalog_product p
                JOIN catalog_productimage i ON i.product_id = p.id
                JOIN search_imageembedding e ON e.image_id = i.id AND e.model_id = %s
                WHERE p.id = ANY(%s) AND {SEARCHABLE_IMAGE} AND {where}
            )
            SELECT image_id, product_id, category_id, {expression} <=> %s::halfvec AS distance,
                   halfvec_send(embedding)
            FROM listed
            ORDER BY distance, image_id
            LIMIT %s
            """,
            [model.pk, list(product_ids), *params, vector_index.halfvec_literal(vector), limit],
        )
        return _candidates(cursor.fetchall())


def _candidates(rows) -> list[Candidate]:
    vectors = halfvecs_from_send([row[4] for row in rows])
    return [
        Candidate(image_id, product_id, category_id, 1.0 - float(distance), vector)
        for (image_id, product_id, category_id, distance, _), vector in zip(rows, vectors, strict=True)
    ]


def product_image_vectors(model: EmbeddingModel, product_ids: list[int]) -> dict[int, list[tuple[int, np.ndarray]]]:
    """The searchable (ready or flagged) images of these products with their vectors under
    `model`: {product_id: [(image_id, vector), ...]} in image order; products without any
    are left out. One query."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT i.product_id, i.id, halfvec_send(e.embedding)
            FROM catalog_productimage i
            JOIN search_imageembedding e ON e.image_id = i.id AND e.model_id = %s
            WHERE i.product_id = ANY(%s) AND {SEARCHABLE_IMAGE}
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
                WHERE e.model_id = %s AND i.product_id = %s AND {SEARCHABLE_IMAGE}
            ), theirs AS MATERIALIZED (
                SELECT i.product_id, {expression} AS v
                FROM search_imageembedding e JOIN catalog_productimage i ON i.id = e.image_id
                WHERE e.model_id = %s AND i.product_id = ANY(%s) AND {SEARCHABLE_IMAGE}
            )
            SELECT DISTINCT ON (t.product_id) t.product_id, m.image_id, 1 - (m.v <=> t.v)
            FROM mine m CROSS JOIN theirs t
            ORDER BY t.product_id, m.v <=> t.v, m.image_id
            """,
            [model.pk, product_id, model.pk, list(other_ids)],
        )
        return {other: PairScore(float(score), image_id) for other, image_id, score in cursor.fetchall()}
