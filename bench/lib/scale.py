"""A large catalogue for benchmarks: synthetic products, images and vectors, loaded fast.

The vectors are mixtures of two real catalogue vectors of one class plus gaussian noise,
re-normalised: they spread over the same region of the embedding space as real
pictures (clusters per class, dense in between) instead of sitting in a corner of it as
uniform random vectors would, which would make the index's job unrealistically easy or
hard. Rows are copied from a real product and image in SQL (so columns added to those
models later need no change here); vectors go in through vision.services' COPY path
with the model's HNSW index dropped, and the index is built once afterwards, as a rebuild does.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from django.db import connection, transaction

NOISE_NORM = 0.25  # expected length of the noise added to a unit-length mixture
CHUNK = 10_000


def synthetic_vectors(
    base: np.ndarray, labels: np.ndarray, count: int, *, seed: int = 0
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(labels, float16 unit vectors) in chunks, `count` rows in all, deterministic for a seed."""
    rng = np.random.default_rng(seed)
    by_label = {label: np.flatnonzero(labels == label) for label in np.unique(labels)}
    classes = np.array(sorted(by_label))
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        chosen = classes[rng.integers(0, len(classes), size)]
        first = np.array([rng.choice(by_label[label]) for label in chosen])
        second = np.array([rng.choice(by_label[label]) for label in chosen])
        weight = rng.uniform(0.2, 0.8, (size, 1)).astype(np.float32)
        mixed = weight * base[first] + (1 - weight) * base[second]
        mixed /= np.linalg.norm(mixed, axis=1, keepdims=True)
        noisy = mixed + rng.normal(0, NOISE_NORM / np.sqrt(base.shape[1]), mixed.shape).astype(np.float32)
        yield chosen, (noisy / np.linalg.norm(noisy, axis=1, keepdims=True)).astype(np.float16)


def _columns(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
            " AND table_name = %s AND column_name <> 'id'"
            " AND is_generated = 'NEVER' ORDER BY ordinal_position",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def _copy_rows(
    table: str, template_id: int, overrides: dict[str, str], source: str, params: list, returning: str = "id"
) -> list[tuple]:
    """INSERT copies of row `template_id` of `table`, one per row of `source` (a FROM item the
    overrides may use), with `overrides` (column -> SQL expression) applied. `params` fill the
    overrides' placeholders, then the source's."""
    columns = _columns(table)
    names = ", ".join(f'"{column}"' for column in columns)
    select = ", ".join(overrides.get(column, f't."{column}"') for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {select} FROM {table} t, {source} WHERE t.id = %s "
            f"RETURNING {returning}",
            [*params, template_id],
        )
        return cursor.fetchall()


def add_products(category_id: int | None, count: int, *, first_number: int) -> list[tuple[int, int]]:
    """`count` active products of one category, numbered from `first_number`, each with one
    ready image (copies of the first ready image and its product); returns (image id, product id)."""
    from catalog.models import ProductImage

    template = ProductImage.objects.filter(status=ProductImage.Status.READY).order_by("pk").first()
    numbers = "generate_series(%s::bigint, %s::bigint) AS g"
    with transaction.atomic():
        products = _copy_rows(
            "catalog_product",
            template.product_id,
            {
                "sku": "'bench-scale-' || g",
                "slug": "'bench-scale-' || g",
                "title": "'Synthetic product ' || g",
                "category_id": "%s::bigint",
                "is_active": "true",
            },
            numbers,
            [category_id, first_number, first_number + count - 1],
        )
        return _copy_rows(
            "catalog_productimage",
            template.pk,
            {
                "product_id": "p.id",
                "source": "'bench-scale'",
                "status": "'ready'",
                "position": "0",
                "sha256": "md5(p.n::text)",
            },
            "unnest(%s::bigint[]) WITH ORDINALITY AS p(id, n)",
            [[row[0] for row in products]],
            returning="id, product_id",
        )
