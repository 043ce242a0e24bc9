"""Reads for search and the image pipeline."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db import connection, transaction

from search import vector_index
from search.models import EmbeddingModel


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

