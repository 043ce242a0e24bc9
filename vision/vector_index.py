"""How vectors are stored and indexed in pgvector.

Precision and dimension, measured by bench/vector_storage.py (clothing-small:
3,068 catalogue images, 341 queries, same class = relevant; HNSW m=16,
ef_construction=64, ef_search=100):

    option            mAP@10 (HNSW)  table+index MB  query p50 ms
    vector(1280)          0.654          41.5            0.62
    halfvec(1280)         0.654          20.4            0.60
    PCA-256 halfvec       0.665           4.2            0.31

float16 costs no quality at all, so vectors are halfvec. The dimension stays
1280 for now: a PCA projection gains 0.011 mAP and is 5x smaller, but it is
fitted on a snapshot of the catalogue, so every refit is a new model version
and a full re-embed, and a fresh shop has no catalogue to fit on. At 3k images
the index is 12 MB either way; a shop past ~100k images (halfvec(1280) index
~400 MB) should register a projected version (the column takes any dimension,
see below).

Each model version gets its own partial HNSW index on
`embedding::halfvec(<dimension>)` for `model_id = <id>`: the column has no fixed
dimension, so a version with another dimension needs no schema change, and a
version being rebuilt in the background has no index to maintain until its bulk
load is done (then the index is built once, which is far cheaper than
maintaining it row by row).
"""

from __future__ import annotations

import numpy as np
from django.db import connection

HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
# Candidates examined per query; higher = better recall, slower. pgvector's default is 40.
HNSW_EF_SEARCH = 100


def index_name(model_id: int) -> str:
    return f"imageembedding_hnsw_model_{int(model_id)}"


def vector_expression(dimension: int) -> str:
    """The expression every kNN query orders by, so the planner can use the model's index."""
    return f"(embedding::halfvec({int(dimension)}))"


def index_exists(model_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [index_name(model_id)])
        return cursor.fetchone()[0]


def create_index(model_id: int, dimension: int) -> None:
    """Build the model's HNSW cosine index if it is missing (idempotent)."""
    with connection.cursor() as cursor:
        # Inside a caller's transaction, deferred foreign-key checks would block CREATE INDEX.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            f"CREATE INDEX IF NOT EXISTS {index_name(model_id)} ON search_imageembedding "
            f"USING hnsw ({vector_expression(dimension)} halfvec_cosine_ops) "
            f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION}) "
            f"WHERE model_id = {int(model_id)}"
        )


def drop_index(model_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX IF EXISTS {index_name(model_id)}")


# pgvector refuses a larger hnsw.ef_search; deeper pages come from the iterative scan, which
# goes on reading the graph past ef_search until the query's LIMIT is filled.
HNSW_EF_SEARCH_MAX = 1000


def set_search_options(cursor, *, ef_search: int = HNSW_EF_SEARCH, force_index: bool = True) -> None:
    """For the current transaction, in one round trip: enough candidates, iterative scans
    so filters do not starve results, and (force_index) the HNSW index even where the planner
    has no statistics yet (a table filled minutes ago would otherwise be sorted in full).
    Without force_index the planner may sort a few rows instead; if it walks the index, the
    iterative scan still fills the LIMIT."""
    cursor.execute(
        "SELECT set_config('hnsw.ef_search', %s, true), set_config('hnsw.iterative_scan', 'relaxed_order', true),"
        " set_config('enable_sort', %s, true)",
        [str(min(int(ef_search), HNSW_EF_SEARCH_MAX)), "off" if force_index else "on"],
    )


def halfvec_literal(vector: np.ndarray) -> str:
    """Text form pgvector parses as halfvec ('[0.1,0.2,...]'); 6 significant digits exceed float16's."""
    # Python floats (tolist) format in 60% of the time numpy scalars take: 0.25 ms for 1280.
    return "[" + ",".join(map("{:.6g}".format, np.asarray(vector, dtype=np.float32).tolist())) + "]"


def halfvec_from_send(data: bytes | memoryview) -> np.ndarray:
    """pgvector's halfvec binary format: int16 dimension, int16 unused, big-endian float16s."""
    return np.frombuffer(data, dtype=">f2", offset=4).astype(np.float32)


def halfvecs_from_send(rows: list[bytes | memoryview]) -> np.ndarray:
    """Many vectors of one dimension in that format, as float32 rows [len(rows), dimension]:
    one conversion for all (200 vectors of 1280: 0.44 ms, against 0.91 one by one)."""
    if not rows:
        return np.zeros((0, 0), np.float32)
    joined = b"".join(memoryview(data)[4:] for data in rows)
    return np.frombuffer(joined, dtype=">f2").reshape(len(rows), -1).astype(np.float32)
