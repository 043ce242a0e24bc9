"""Benchmark: how to store the 1280-d image embeddings in pgvector.

The shop searches EfficientNet-Lite0 GAP features (1280 float32 values) by cosine
distance. Storing them as `vector(1280)` costs ~5 KB a row (TOASTed) and an HNSW
index of about one 8 KB page per image; half precision and a PCA projection shrink
both, possibly at a cost in retrieval quality. This script measures that trade-off
so the stored dimension and precision can be chosen from numbers, not guesses.

Data: the clothing-small ImageFolder. `train/` is the catalogue, `validation/` the
queries; a catalogue image is relevant to a query when both have the same class.
Every vector is L2-normalised (raw features -> `l2_normalize`) before anything else.

Options (each in its own table of a throw-away database `visualshop_bench_vectors`):

    vector_1280           the normalised features as vector(1280), float32
    halfvec_1280          the same as halfvec(1280), float16
    pca_256_vector        PCA fitted on the catalogue: subtract the catalogue mean,
                          project onto the top-256 principal components (no
                          whitening), re-normalise; vector(256)
    pca_256_halfvec       the same PCA as halfvec(256)
    centred_halfvec_1280  subtract the catalogue mean, re-normalise; halfvec(1280)

Per option:

    map_at_10_exact       mAP@10 of brute-force cosine search in numpy on the stored
                          precision (float16 values for halfvec options)
    map_at_10_hnsw        mAP@10 of `ORDER BY embedding <=> q LIMIT 10` through an
                          HNSW index (m=16, ef_construction=64, hnsw.ef_search=100)
    recall_at_10_vs_exact share of the exact top-10 (same option) found by HNSW
    load_s                COPY ... FORMAT BINARY of every catalogue row (no index yet)
    index_build_s         CREATE INDEX ... USING hnsw
    table_mb              pg_table_size: heap + TOAST (1280-d rows are TOASTed, so
                          pg_relation_size of the heap alone would undercount them)
    index_mb              pg_relation_size of the HNSW index (the only index: the
                          table has no primary key, so the sizes add up to
                          pg_total_relation_size)
    query_ms_p50/p95      latency of one top-10 query over one connection, after a
                          warm-up query; the query-side PCA/centring is not timed

`choice` is the option with the smallest table_mb + index_mb among those whose
map_at_10_hnsw is within 0.005 of the best one.

mAP@10: per query AP@10 = 1/min(10, R) * sum_{k<=10} precision@k * rel(k), R = the
number of catalogue images of the query's class; the mean over all queries.

Embeddings are cached in var/bench-cache/ (one .npz per model file and dataset,
entries keyed by relative path, size and mtime), so only the first run pays the
~20 s of inference. `--quick` (for CI) uses 30 catalogue images and 5 queries per
class and still exercises every option. One JSON object goes to stdout, progress
to stderr.
"""

import argparse
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from visualshop.throwaway import sigterm_as_ctrl_c, throwaway_database  # noqa: E402

DEFAULT_DATASET = BASE_DIR.parent / "shared" / "datasets" / "clothing-small"
BENCH_DATABASE = "visualshop_bench_vectors"
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp"}

TOP_K = 10
PCA_DIMS = 256
HNSW_M = 16
HNSW_EF_CONSTRUCTION = 64
HNSW_EF_SEARCH = 100
MAP_TOLERANCE = 0.005
QUICK_CATALOGUE_PER_CLASS = 30
QUICK_QUERIES_PER_CLASS = 5
EMBED_BATCH = 64
DRAFT_SIZE = 256  # the preprocessing resizes the shorter side to 256


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- data


@dataclass
class Split:
    """Image files of one ImageFolder split and their class indices."""

    paths: list[Path]
    labels: np.ndarray


def list_split(folder: Path, classes: list[str], per_class: int | None) -> Split:
    """The images of `folder/<class>/`, sorted; the first `per_class` of each class if given."""
    paths, labels = [], []
    for label, name in enumerate(classes):
        images = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        images = images[:per_class] if per_class is not None else images
        paths += images
        labels += [label] * len(images)
    return Split(paths, np.asarray(labels, dtype=np.int64))


# --------------------------------------------------------------------- embeddings


def open_rgb(path: Path):
    """An RGB image, EXIF-oriented; large JPEGs are decoded at a reduced DCT scale."""
    from PIL import Image, ImageOps

    with Image.open(path) as image:
        if image.format == "JPEG" and min(image.size) >= 2 * DRAFT_SIZE:
            image.draft("RGB", (DRAFT_SIZE, DRAFT_SIZE))
        return ImageOps.exif_transpose(image).convert("RGB")


def embed_paths(embedder, paths: list[Path]) -> np.ndarray:
    """Raw [N, 1280] float32 features, embedded in batches to bound memory."""
    chunks = [np.zeros((0, 1280), np.float32)]
    for start in range(0, len(paths), EMBED_BATCH):
        batch = paths[start : start + EMBED_BATCH]
        chunks.append(embedder.embed([open_rgb(path) for path in batch]))
        log(f"  embedded {start + len(batch)}/{len(paths)}")
    return np.concatenate(chunks)


def cache_file(model_path: Path, dataset: Path) -> Path:
    from visualshop.paths import VAR_DIR

    digest = hashlib.sha1(str(dataset.resolve()).encode()).hexdigest()[:12]
    return VAR_DIR / "bench-cache" / f"vector-storage--{model_path.name}--{digest}.npz"


def cache_key(path: Path, dataset: Path) -> str:
    """Relative path, size and mtime: a changed file is embedded again."""
    stat = path.stat()
    return f"{path.relative_to(dataset)}|{stat.st_size}|{stat.st_mtime_ns}"


def cached_embeddings(embedder, dataset: Path, paths: list[Path]) -> tuple[np.ndarray, int]:
    """Raw features of `paths` (cache first, then the model) and how many were embedded now."""
    path = cache_file(embedder.model_path, dataset)
    cached: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as data:
            cached = dict(zip(data["keys"].tolist(), data["vectors"]))
    keys = [cache_key(p, dataset) for p in paths]
    missing = {key: p for p, key in zip(paths, keys) if key not in cached}
    if missing:
        log(f"embedding {len(missing)} images ({len(paths) - len(missing)} cached)")
        cached.update(zip(missing, embed_paths(embedder, list(missing.values()))))
        save_cache(path, cached)
    return np.stack([cached[key] for key in keys]).astype(np.float32), len(missing)


def save_cache(path: Path, entries: dict[str, np.ndarray]) -> None:
    """Write next to the target, then rename: a killed run never leaves a torn file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as out:
        np.savez(out, keys=np.asarray(list(entries)), vectors=np.stack(list(entries.values())))
    tmp.replace(path)


# ------------------------------------------------------------------------ options


@dataclass
class Option:
    """One storage layout: the catalogue and query vectors exactly as stored/sent."""

    name: str
    pg_type: str  # "vector" or "halfvec"
    catalogue: np.ndarray  # float32 or float16, [N, dims]
    queries: np.ndarray

    @property
    def dims(self) -> int:
        return self.catalogue.shape[1]


def pca_components(centred: np.ndarray, dims: int) -> np.ndarray:
    """The top-`dims` principal axes [dims, D] of already-centred rows (no whitening)."""
    _, _, vt = np.linalg.svd(centred.astype(np.float64), full_matrices=False)
    return vt[:dims].astype(np.float32)


def build_options(catalogue: np.ndarray, queries: np.ndarray, pca_dims: int) -> list[Option]:
    """The five layouts; mean and PCA are fitted on the (normalised) catalogue only."""
    from vision.onnx_model import l2_normalize

    mean = catalogue.mean(axis=0)
    components = pca_components(catalogue - mean, pca_dims)
    raw = (catalogue, queries)
    centred = (l2_normalize(catalogue - mean), l2_normalize(queries - mean))
    pca = (l2_normalize((catalogue - mean) @ components.T), l2_normalize((queries - mean) @ components.T))

    def option(name: str, pg_type: str, space: tuple[np.ndarray, np.ndarray]) -> Option:
        dtype = np.float16 if pg_type == "halfvec" else np.float32
        return Option(name, pg_type, space[0].astype(dtype), space[1].astype(dtype))

    return [
        option("vector_1280", "vector", raw),
        option("halfvec_1280", "halfvec", raw),
        option(f"pca_{PCA_DIMS}_vector", "vector", pca),
        option(f"pca_{PCA_DIMS}_halfvec", "halfvec", pca),
        option("centred_halfvec_1280", "halfvec", centred),
    ]


# ------------------------------------------------------------------------ metrics


def exact_top_k(catalogue: np.ndarray, queries: np.ndarray, k: int = TOP_K) -> np.ndarray:
    """Brute-force cosine top-k ids [Q, k] on the stored values (as pgvector computes it)."""
    from vision.onnx_model import l2_normalize

    similarity = l2_normalize(queries.astype(np.float32)) @ l2_normalize(catalogue.astype(np.float32)).T
    return np.argsort(-similarity, axis=1, kind="stable")[:, :k]


def mean_average_precision(
    top_ids: np.ndarray, catalogue_labels: np.ndarray, query_labels: np.ndarray, k: int = TOP_K
) -> float:
    """mAP@k; an id of -1 (fewer than k results) counts as a miss."""
    relevant_counts = np.bincount(catalogue_labels, minlength=query_labels.max() + 1)
    ranks = np.arange(1, k + 1)
    scores = []
    for ids, label in zip(top_ids[:, :k], query_labels):
        hits = ((ids >= 0) & (catalogue_labels[ids] == label)).astype(np.float64)
        precision_at = np.cumsum(hits) / ranks
        scores.append((precision_at * hits).sum() / min(k, relevant_counts[label]))
    return float(np.mean(scores))


def recall_vs(found: np.ndarray, reference: np.ndarray) -> float:
    """Mean share of each reference row's ids that `found` also returned."""
    return float(np.mean([len(set(f) & set(r)) / len(r) for f, r in zip(found, reference)]))


# ----------------------------------------------------------------------- postgres


def connect_bench(database_url: str):
    """An autocommit connection to the bench database, pgvector installed and registered."""
    import psycopg
    from pgvector.psycopg import register_vector

    conn = psycopg.connect(database_url.replace("postgres://", "postgresql://", 1), autocommit=True)
    conn.execute("CREATE EXTENSION vector")
    register_vector(conn)
    return conn


def server_info(conn) -> dict:
    def show(setting: str) -> str:
        return conn.execute(f"SHOW {setting}").fetchone()[0]

    return {
        "postgres": show("server_version"),
        "pgvector": conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'vector'").fetchone()[0],
        "maintenance_work_mem": show("maintenance_work_mem"),
        "max_parallel_maintenance_workers": show("max_parallel_maintenance_workers"),
        "shared_buffers": show("shared_buffers"),
    }


def as_parameter(vector: np.ndarray, pg_type: str):
    """What pgvector-python dumps as `pg_type`: ndarray for vector, HalfVector for halfvec."""
    from pgvector import HalfVector

    return HalfVector(vector) if pg_type == "halfvec" else vector


def load_table(conn, table: str, option: Option) -> float:
    """Create the table and COPY every catalogue row in; seconds for the COPY."""
    conn.execute(f"CREATE TABLE {table} (id integer NOT NULL, embedding {option.pg_type}({option.dims}) NOT NULL)")
    started = time.perf_counter()
    with conn.cursor() as cursor, cursor.copy(f"COPY {table} (id, embedding) FROM STDIN WITH (FORMAT BINARY)") as copy:
        copy.set_types(["int4", option.pg_type])
        for row_id, vector in enumerate(option.catalogue):
            copy.write_row((row_id, as_parameter(vector, option.pg_type)))
    seconds = time.perf_counter() - started
    conn.execute(f"VACUUM ANALYZE {table}")
    return seconds


def build_index(conn, table: str, option: Option) -> tuple[str, float]:
    index = f"{table}_hnsw"
    started = time.perf_counter()
    conn.execute(
        f"CREATE INDEX {index} ON {table} USING hnsw (embedding {option.pg_type}_cosine_ops) "
        f"WITH (m = {HNSW_M}, ef_construction = {HNSW_EF_CONSTRUCTION})"
    )
    return index, time.perf_counter() - started


def sizes_mb(conn, table: str, index: str) -> tuple[float, float]:
    table_bytes, index_bytes, total_bytes = conn.execute(
        "SELECT pg_table_size(%s::regclass), pg_relation_size(%s::regclass), pg_total_relation_size(%s::regclass)",
        [table, index, table],
    ).fetchone()
    assert table_bytes + index_bytes == total_bytes, "unexpected extra relation on the bench table"
    return table_bytes / 2**20, index_bytes / 2**20


def search_sql(table: str, option: Option) -> str:
    return f"SELECT id FROM {table} ORDER BY embedding <=> %b::{option.pg_type}({option.dims}) LIMIT {TOP_K}"


def check_uses_index(conn, table: str, index: str, option: Option) -> None:
    """Fail loudly if the planner would not use the HNSW index: the numbers would be exact search."""
    plan = conn.execute(
        "EXPLAIN " + search_sql(table, option), [as_parameter(option.queries[0], option.pg_type)]
    ).fetchall()
    text = "\n".join(row[0] for row in plan)
    if index not in text:
        raise RuntimeError(f"{option.name}: the top-{TOP_K} query does not use {index}:\n{text}")


def hnsw_search(conn, table: str, option: Option) -> tuple[np.ndarray, np.ndarray]:
    """Top-k ids [Q, k] through the index and per-query latency in ms (after one warm-up)."""
    sql = search_sql(table, option)
    parameters = [as_parameter(query, option.pg_type) for query in option.queries]
    with conn.cursor() as cursor:
        cursor.execute(sql, [parameters[0]], prepare=True).fetchall()  # warm-up
        results, latencies = [], []
        for parameter in parameters:
            started = time.perf_counter()
            rows = cursor.execute(sql, [parameter], prepare=True).fetchall()
            latencies.append((time.perf_counter() - started) * 1000)
            results.append([row[0] for row in rows])
    padded = [ids + [-1] * (TOP_K - len(ids)) for ids in results]  # -1: never relevant
    return np.asarray(padded, dtype=np.int64), np.asarray(latencies)


# ---------------------------------------------------------------------- benchmark


def measure_option(conn, option: Option, catalogue_labels: np.ndarray, query_labels: np.ndarray) -> dict:
    table = f"bench_{option.name}"
    exact = exact_top_k(option.catalogue, option.queries)
    load_s = load_table(conn, table, option)
    index, index_build_s = build_index(conn, table, option)
    table_mb, index_mb = sizes_mb(conn, table, index)
    check_uses_index(conn, table, index, option)
    found, latencies_ms = hnsw_search(conn, table, option)
    return {
        "pg_type": f"{option.pg_type}({option.dims})",
        "dims": option.dims,
        "map_at_10_exact": mean_average_precision(exact, catalogue_labels, query_labels),
        "map_at_10_hnsw": mean_average_precision(found, catalogue_labels, query_labels),
        "recall_at_10_vs_exact": recall_vs(found, exact),
        "load_s": load_s,
        "index_build_s": index_build_s,
        "table_mb": table_mb,
        "index_mb": index_mb,
        "query_ms_p50": float(np.percentile(latencies_ms, 50)),
        "query_ms_p95": float(np.percentile(latencies_ms, 95)),
    }


def choose(results: dict[str, dict]) -> str:
    """Smallest table + index among the options within MAP_TOLERANCE of the best HNSW mAP@10."""
    best = max(result["map_at_10_hnsw"] for result in results.values())
    good_enough = [name for name, result in results.items() if result["map_at_10_hnsw"] >= best - MAP_TOLERANCE]
    return min(good_enough, key=lambda name: results[name]["table_mb"] + results[name]["index_mb"])


def rounded(result: dict) -> dict:
    digits = {"map_at_10_exact": 4, "map_at_10_hnsw": 4, "recall_at_10_vs_exact": 4}
    return {
        key: round(value, digits.get(key, 3)) if isinstance(value, float) else value for key, value in result.items()
    }


def run_options(options: list[Option], catalogue_labels: np.ndarray, query_labels: np.ndarray) -> tuple[dict, dict]:
    """Measure every option in a fresh throw-away database (dropped again afterwards)."""
    with (
        throwaway_database(BENCH_DATABASE, prefix="visualshop-bench-vectors-") as (_, database_url),
        connect_bench(database_url) as conn,
    ):
        conn.execute(f"SET hnsw.ef_search = {HNSW_EF_SEARCH}")
        conn.execute("SET enable_seqscan = off")  # tiny tables: keep the planner on the index
        info = server_info(conn)
        results = {}
        for option in options:
            log(f"measuring {option.name}")
            results[option.name] = measure_option(conn, option, catalogue_labels, query_labels)
    return info, results


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_CATALOGUE_PER_CLASS} catalogue images and {QUICK_QUERIES_PER_CLASS} queries per class (for CI)",
    )
    parser.add_argument(
        "--dataset",
        type=Path,
        default=DEFAULT_DATASET,
        help="an ImageFolder with train/<class>/ and validation/<class>/",
    )
    args = parser.parse_args()
    args.dataset = args.dataset.resolve()
    if not (args.dataset / "train").is_dir() or not (args.dataset / "validation").is_dir():
        parser.error(f"{args.dataset}: needs train/ and validation/ folders")
    return args


def main() -> int:
    args = arguments()
    dataset = args.dataset
    sigterm_as_ctrl_c()
    from vision.onnx_model import l2_normalize, load_embedder

    classes = sorted(p.name for p in (dataset / "train").iterdir() if p.is_dir())
    catalogue = list_split(dataset / "train", classes, QUICK_CATALOGUE_PER_CLASS if args.quick else None)
    queries = list_split(dataset / "validation", classes, QUICK_QUERIES_PER_CLASS if args.quick else None)

    log("loading the model")
    embedder = load_embedder("fp32", intra_op_num_threads=2)
    started = time.perf_counter()
    features, embedded_now = cached_embeddings(embedder, dataset, catalogue.paths + queries.paths)
    embed_s = time.perf_counter() - started
    vectors = l2_normalize(features)
    pca_dims = min(PCA_DIMS, len(catalogue.paths) - 1)
    options = build_options(vectors[: len(catalogue.paths)], vectors[len(catalogue.paths) :], pca_dims)

    log("starting PostgreSQL")
    server, results = run_options(options, catalogue.labels, queries.labels)

    print(
        json.dumps(
            {
                "benchmark": "vector_storage",
                "quick": args.quick,
                "dataset": str(dataset),
                "model": embedder.model_path.name,
                "catalogue_images": len(catalogue.paths),
                "query_images": len(queries.paths),
                "embed_s": round(embed_s, 3),
                "embedded_images": embedded_now,
                "pca_dims": pca_dims,
                "hnsw": {"m": HNSW_M, "ef_construction": HNSW_EF_CONSTRUCTION, "ef_search": HNSW_EF_SEARCH},
                "server": server,
                "options": {name: rounded(result) for name, result in results.items()},
                "smallest_at_best_quality": choose(results),
                "smallest_at_best_quality_rule": f"smallest table_mb + index_mb with map_at_10_hnsw >= best - {MAP_TOLERANCE}",
            },
            indent=2,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
