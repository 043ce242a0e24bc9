"""Benchmark: search quality and speed, from the shopper's photo to the ranked products.

On ../shared/datasets/clothing-small (`train` = catalogue, `validation` = queries,
relevant = same class), in a throw-away database `visualshop_bench_search`:

  quality      the catalogue is imported and processed by the real pipeline, the projection
               fitted, and every query picture searched (search.evaluation, the code behind
               `manage.py evaluate_search`): map_at_10, p_at_1, p_at_10, and recall_at_10 of
               the served results against the same ranking over an exact scan
  methods,     after the quality run, untimed (search.evaluation.held_out): mAP@10
  held_out     of all queries under raw features, the category vote alone, the projection
               alone and both (`methods`); and for the sorted classes dealt into 3 groups,
               each group's queries with a projection fitted without its classes (`held_out`)
  photo        photo_p50_ms / p95 / p99: search_products on each query's uploaded bytes, in
               this process (decode, embed, HNSW candidates, re-ranking; no HTTP), measured
               during the quality run after one untimed warm-up search
  hybrid       after the load step, untimed (search.evaluation.hybrid, as `evaluate_search
               --hybrid`): every query picture with its own colour word and with each of 8
               colours, relevant = same class and that colour; mAP@10 / P@1 of photo only,
               text only, rrf k=60, score at the served weight and the served fusion, and a
               sample checked against search_products (`hybrid.served_check`)
  text         text_p50_ms / p99: search_products with words only (search.text), 3 queries
               per class cycled, after a warm-up
  floor        floor_p50_ms: decode + embed + exact numpy scan of the same catalogue's
               vectors, one thread, nothing else (bench/search_floor.py); ratio_to_floor =
               photo_p50_ms / floor_p50_ms
  load         gunicorn (2 workers) on loopback serving the real app against this database,
               wrk (2 threads, 4 connections) sending GET /api/v1/search?q= and POST
               /api/v1/search/image (multipart) for --load-seconds each: text only, photo
               only, then 1 photo in 4 mixed (load_qps, load_errors = socket errors and
               non-2xx answers of the mixed run). Rate limits are off: all load comes from
               one loopback address.
  scale        synthetic products with vectors (bench/lib/scale.py: same-class mixtures of
               real vectors plus noise) bring the catalogue to --scale vectors; the model's
               HNSW index is rebuilt once. scale_p50_ms / p95 / p99: the whole photo search
               (search_products on each query's uploaded bytes) at that size;
               scale_recall_at_10: its top 10 against the same search over an exact scan.
               scale_knn_*: the bare product kNN query (vision.knn.products_nearest,
               top 10) for every query picture's real vector, recall against an exact numpy
               scan of every stored vector

Targets (booleans in `targets`): photo p50 <= 25 ms, photo p99 <= 60 ms, text p50 <= 10 ms,
scale p50 <= 30 ms with recall >= 0.95, mAP@10 >= 0.78. The machine has 2 cores: latencies
taken while anything else runs are inflated; `loadavg_before` says how busy it was.

Query vectors for the scale step are cached in var/bench-cache (inputs, never a timed step).
`--quick` (CI): 20 catalogue pictures and 5 queries per class, 5,000 scale vectors, 3 s of
load per phase. One JSON object on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.parse
from pathlib import Path

import numpy as np

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench import search_floor  # noqa: E402
from bench.lib import load, scale  # noqa: E402
from bench.lib.embeddings import cached_vectors  # noqa: E402
from visualshop.throwaway import django_on_throwaway, sigterm_as_ctrl_c, throwaway_database  # noqa: E402

DEFAULT_DATASET = BASE_DIR.parent / "shared" / "datasets" / "clothing-small"
BENCH_DATABASE = "visualshop_bench_search"
QUICK = {"per_class": 20, "queries": 50, "scale": 5_000, "load_seconds": 3.0, "text_searches": 60}
FULL = {"per_class": None, "queries": None, "scale": 100_000, "load_seconds": 15.0, "text_searches": 300}
TARGETS = {
    "photo_p50_le_25_ms": lambda r: _le(r["photo_p50_ms"], 25),
    "photo_p99_le_60_ms": lambda r: _le(r["photo_p99_ms"], 60),
    "text_p50_le_10_ms": lambda r: _le(r["text_p50_ms"], 10),
    "scale_p50_le_30_ms_at_recall_ge_0_95": lambda r: _le(r["scale_p50_ms"], 30) and _ge(r["scale_recall_at_10"], 0.95),
    "map_at_10_ge_0_78": lambda r: _ge(r["map_at_10"], 0.78),
}
K = 10


def _le(value, bound) -> bool:
    return value is not None and value <= bound


def _ge(value, bound) -> bool:
    return value is not None and value >= bound


def say(message: str) -> None:
    print(f"[bench/search] {message}", file=sys.stderr, flush=True)


def percentiles(milliseconds: list[float], *names: int) -> list[float | None]:
    if not milliseconds:
        return [None] * len(names)
    return [round(float(v), 2) for v in np.percentile(milliseconds, names)]


# --------------------------------------------------------------------------- photo


def measure_embed(model, paths: list[Path]) -> float:
    """p50 of the part of a photo search before the database: decoding and embedding the
    upload (search.photo_search.embed_photo), to tell it from the candidates and re-ranking."""
    from search.photo_search import embed_photo

    contents = [path.read_bytes() for path in paths]
    times = []
    for content in contents:
        started = time.perf_counter()
        embed_photo(model, content)
        times.append((time.perf_counter() - started) * 1000)
    return percentiles(times, 50)[0]


# --------------------------------------------------------------------------- text


def text_queries(labels: list[str]) -> list[str]:
    """Words a shopper might type for each class: the name, a colour with it, a typo."""
    queries = []
    for label in labels:
        word = label.replace("_", " ").replace("-", " ").lower()
        queries += [word, f"black {word}", word[:-1] + ("x" if word[-1] != "x" else "y")]
    return queries


def measure_text(queries: list[str], searches: int) -> dict:
    from search.product_search import SearchRequest, search_products

    search_products(SearchRequest(text=queries[0], limit=20))  # warm-up
    times, found = [], 0
    for n in range(searches):
        started = time.perf_counter()
        results = search_products(SearchRequest(text=queries[n % len(queries)], limit=20))
        times.append((time.perf_counter() - started) * 1000)
        found += bool(results.hits)
    p50, p99 = percentiles(times, 50, 99)
    return {"text_p50_ms": p50, "text_p99_ms": p99, "text_searches": searches, "text_searches_with_hits": found}


# --------------------------------------------------------------------------- load


def _sequential_ms(send, count: int = 20) -> float:
    times = []
    for n in range(count):
        started = time.perf_counter()
        status, _ = send(n)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise RuntimeError(f"HTTP {status} during the sequential requests")
    return percentiles(times, 50)[0]


def measure_load(env: dict, workdir: Path, *, text_paths: list[str], photos: list[Path], seconds: float) -> dict:
    server, url = load.start_gunicorn(env, workdir, workers=2)
    try:
        load.wait_until_serving(server, url + "/api/v1/search?q=warm")
        probes = {
            "text": load.request_once(url + text_paths[0]),
            "photo": load.request_once(
                url + "/api/v1/search/image", body=load.multipart_body("image", "q.jpg", photos[0].read_bytes())
            ),
        }
        broken = {kind: status for kind, (status, _) in probes.items() if status != 200}
        if broken:
            raise RuntimeError(f"the endpoints under load answered {broken} before the load started")
        bodies = [load.multipart_body("image", path.name, path.read_bytes()) for path in photos]
        for n in range(4):  # every worker loads its model and projection before the clock runs
            load.request_once(url + "/api/v1/search/image", body=bodies[n % len(bodies)])
        sequential = {  # one request at a time: the API's own cost over search_products
            "http_text_p50_ms": _sequential_ms(lambda n: load.request_once(url + text_paths[n % len(text_paths)])),
            "http_photo_p50_ms": _sequential_ms(
                lambda n: load.request_once(url + "/api/v1/search/image", body=bodies[n % len(bodies)])
            ),
        }
        runs = {}
        for name, share in (("text", 0.0), ("photo", 1.0), ("mixed", 0.25)):
            say(f"load: {name} for {seconds:g} s")
            runs[name] = load.wrk_run(
                url,
                text_paths=text_paths,
                photo_files=photos,
                photo_path="/api/v1/search/image",
                photo_share=share,
                seconds=seconds,
                connections=4,
                threads=2,
                workdir=workdir,
            )
    finally:
        from visualshop import embedded

        embedded.stop_process(server)
    mixed = runs["mixed"]
    return {
        **sequential,
        "load_qps": mixed["qps"],
        "load_errors": mixed["errors"],
        "load_requests": mixed["requests"],
        "load_latency_p50_ms": mixed["latency_p50_ms"],
        "load_latency_p99_ms": mixed["latency_p99_ms"],
        "load_text_qps": runs["text"]["qps"],
        "load_text_errors": runs["text"]["errors"],
        "load_photo_qps": runs["photo"]["qps"],
        "load_photo_errors": runs["photo"]["errors"],
        "load_runs": runs,
    }


# --------------------------------------------------------------------------- scale


def catalogue_vectors(model) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(product ids, category ids, float32 vectors exactly as stored) of every searchable image."""
    from django.db import connection

    from catalog.models import ProductImage
    from vision.vector_index import halfvec_from_send

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT i.product_id, p.category_id, halfvec_send(e.embedding)
            FROM search_imageembedding e
            JOIN catalog_productimage i ON i.id = e.image_id
            JOIN catalog_product p ON p.id = i.product_id
            WHERE e.model_id = %s AND {ProductImage.searchable_sql("i.status")} AND p.is_active
            ORDER BY e.image_id
            """,
            [model.pk],
        )
        rows = cursor.fetchall()
    return (
        np.array([r[0] for r in rows]),
        np.array([r[1] for r in rows]),
        np.stack([halfvec_from_send(r[2]) for r in rows]),
    )


def grow_catalogue(
    model, total: int, products: np.ndarray, categories: np.ndarray, vectors: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Add synthetic products until `total` vectors; (all product ids, all vectors, timings)."""
    from django.db import connection

    from vision import services, vector_index

    count = max(0, total - len(vectors))
    say(f"scale: adding {count} synthetic products and vectors")
    vector_index.drop_index(model.pk)  # one build at the end instead of maintaining it per row
    started = time.perf_counter()
    all_products, all_vectors, number = [products], [vectors.astype(np.float16)], 1
    for labels, chunk in scale.synthetic_vectors(vectors, categories, count):
        for category in np.unique(labels):
            members = np.flatnonzero(labels == category)
            rows = scale.add_products(int(category), len(members), first_number=number)
            number += len(members)
            services.image_embeddings_bulk_insert(
                model.pk, [(image_id, chunk[m]) for (image_id, _), m in zip(rows, members)]
            )
            all_products.append(np.array([product_id for _, product_id in rows]))
            all_vectors.append(chunk[members])
    insert_s = time.perf_counter() - started
    say(f"scale: rows and vectors in {insert_s:.1f} s; building the HNSW index")
    with connection.cursor() as cursor:
        # The whole graph in memory: a build that spills is many times slower.
        cursor.execute("SET maintenance_work_mem = '2GB'")
        started = time.perf_counter()
        vector_index.create_index(model.pk, model.dimension)
        build_s = time.perf_counter() - started
        cursor.execute("RESET maintenance_work_mem")
        cursor.execute("ANALYZE search_imageembedding, catalog_productimage, catalog_product")
        cursor.execute("SELECT pg_relation_size(%s::regclass)", [vector_index.index_name(model.pk)])
        index_mb = cursor.fetchone()[0] / 2**20
    say(f"scale: index built in {build_s:.1f} s ({index_mb:.0f} MB)")
    return (
        np.concatenate(all_products),
        np.concatenate(all_vectors),
        {
            "scale_insert_s": round(insert_s, 1),
            "scale_index_build_s": round(build_s, 1),
            "scale_index_mb": round(index_mb, 1),
        },
    )


def exact_top_products(products: np.ndarray, vectors: np.ndarray, queries: np.ndarray) -> list[list[int]]:
    """Top-K product ids per query by cosine over every stored vector (one image per product)."""
    norms = np.linalg.norm(vectors.astype(np.float32), axis=1)
    best: list[list[int]] = []
    for query in queries:
        similarity = np.empty(len(vectors), np.float32)
        for start in range(0, len(vectors), 20_000):
            block = vectors[start : start + 20_000].astype(np.float32)
            similarity[start : start + 20_000] = (block @ query) / norms[start : start + 20_000]
        top = np.argpartition(-similarity, K)[:K]
        best.append(products[top[np.argsort(-similarity[top], kind="stable")]].tolist())
    return best


def measure_scale(model, total: int, query_vectors: np.ndarray, query_paths: list[Path]) -> dict:
    """At `total` catalogue vectors: the whole photo search (search_products on each query's
    uploaded bytes: decode, embed, HNSW candidates, re-ranking) timed, and its top 10 against
    the same search over an exact scan (scale_p50_ms, scale_recall_at_10); and the bare product
    kNN query against an exact numpy scan (scale_knn_*)."""
    from search.evaluation.metrics import overlap_at_k
    from search.evaluation.photo import photo_search_ids
    from vision import knn

    products, categories, vectors = catalogue_vectors(model)
    all_products, all_vectors, timings = grow_catalogue(model, total, products, categories, vectors)
    contents = [path.read_bytes() for path in query_paths]
    for vector, content in zip(query_vectors[:5], contents):  # warm-up: the index's first pages come from disk
        knn.products_nearest(model, vector, limit=K)
        photo_search_ids(content, exact=False)
    times, found = [], []
    for vector in query_vectors:
        started = time.perf_counter()
        matches = knn.products_nearest(model, vector, limit=K)
        times.append((time.perf_counter() - started) * 1000)
        found.append([match.product_id for match in matches])
    photo_times, served = [], []
    for content in contents:
        started = time.perf_counter()
        served.append(photo_search_ids(content, exact=False))
        photo_times.append((time.perf_counter() - started) * 1000)
    say("scale: exact scans for recall")
    exact = exact_top_products(all_products, all_vectors, query_vectors)
    knn_recall = float(np.mean([overlap_at_k(f, e) for f, e in zip(found, exact)]))
    photo_recall = float(
        np.mean([overlap_at_k(ids, photo_search_ids(content, exact=True)) for ids, content in zip(served, contents)])
    )
    knn_p50, knn_p95, knn_p99 = percentiles(times, 50, 95, 99)
    p50, p95, p99 = percentiles(photo_times, 50, 95, 99)
    return {
        "scale_vectors": int(len(all_vectors)),
        "scale_p50_ms": p50,
        "scale_p95_ms": p95,
        "scale_p99_ms": p99,
        "scale_recall_at_10": round(photo_recall, 4),
        "scale_knn_p50_ms": knn_p50,
        "scale_knn_p95_ms": knn_p95,
        "scale_knn_p99_ms": knn_p99,
        "scale_knn_recall_at_10": round(knn_recall, 4),
        "scale_queries": len(query_vectors),
        **timings,
    }


# --------------------------------------------------------------------------- main


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small slice for CI (under ~2 minutes)")
    parser.add_argument(
        "--dataset",
        type=Path,
        default=DEFAULT_DATASET,
        help="an ImageFolder with train/<class>/ and validation/<class>/",
    )
    parser.add_argument("--scale", type=int, help="catalogue vectors for the scale step (default 100,000; quick 5,000)")
    parser.add_argument("--load-seconds", type=float, help="seconds per load phase (default 15; quick 3)")
    return parser.parse_args()


def main() -> int:
    args = arguments()
    plan = dict(QUICK if args.quick else FULL)
    plan["scale"] = args.scale or plan["scale"]
    plan["load_seconds"] = args.load_seconds or plan["load_seconds"]
    sigterm_as_ctrl_c()
    wall_started = time.perf_counter()
    loadavg_before = [round(v, 2) for v in os.getloadavg()]
    with throwaway_database(BENCH_DATABASE, prefix="visualshop-bench-search-") as (tmp, database_url):
        django_on_throwaway(tmp, database_url)
        result = search_measured(plan, args.dataset, tmp)
    print(json.dumps(summary(args, result, loadavg_before=loadavg_before, wall_s=time.perf_counter() - wall_started)))
    return 0


def search_measured(plan: dict, dataset_root: Path, tmp: Path) -> dict:
    """Every step in the set-up Django's (throw-away) database: quality, then the timed steps,
    the untimed hybrid report, and the scale step last (it adds synthetic products)."""
    # Imported once Django is set up on the throw-away database (models need settings).
    from search.evaluation.dataset import read_dataset
    from search.evaluation.held_out import held_out_groups
    from search.evaluation.hybrid import hybrid_report
    from search.evaluation.photo import searchable_labels
    from search.evaluation.report import evaluate
    from vision import embedders
    from vision import selectors as vision_selectors
    from visualshop.paths import VAR_DIR

    dataset = read_dataset(dataset_root, per_class=plan["per_class"], queries=plan["queries"])
    result = evaluate(
        dataset,
        tmp,
        workers=os.cpu_count() or 1,
        held_out=held_out_groups(dataset.classes),
        log=lambda message: say(message),
    )
    model = vision_selectors.embedding_model_active()
    query_paths = [image.path for image in dataset.queries]

    result["photo_embed_p50_ms"] = measure_embed(model, query_paths)
    say("floor: decode + embed + exact numpy scan")
    _, _, vectors = catalogue_vectors(model)
    floor = search_floor.floor_latencies([p.read_bytes() for p in query_paths], vectors, embedders.model_path(model))
    result.update(search_floor.summary(floor))

    say("text search")
    words = text_queries(dataset.classes)
    result.update(measure_text(words, plan["text_searches"]))

    server_env = {
        **os.environ,
        "API_THROTTLE_IMAGE_SEARCH": "",
        "API_THROTTLE_TEXT_SEARCH": "",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp / "prometheus"),
    }
    (tmp / "prometheus").mkdir()
    result.update(
        measure_load(
            server_env,
            tmp,
            seconds=plan["load_seconds"],
            photos=query_paths[:20],
            text_paths=[f"/api/v1/search?q={urllib.parse.quote(q)}" for q in words],
        )
    )

    # After every timed step but the scale one (which adds synthetic products): the
    # extra searches neither warm nor load anything the timed numbers measure.
    say("hybrid: photo + a colour word (untimed)")
    result["hybrid"] = hybrid_report(
        dataset.queries, searchable_labels(), log=lambda message: say(f"hybrid: {message}")
    )

    query_vectors = cached_vectors(embedders.embedder_for(model), query_paths, dataset_root, VAR_DIR / "bench-cache")
    result.update(measure_scale(model, plan["scale"], query_vectors, query_paths))
    return result


def summary(args: argparse.Namespace, result: dict, *, loadavg_before: list[float], wall_s: float) -> dict:
    """The JSON object the benchmark prints: the measurements, the latencies renamed photo_*,
    and the targets."""
    result["photo_p50_ms"], result["photo_p95_ms"], result["photo_p99_ms"] = (
        result.pop("p50_ms"),
        result.pop("p95_ms"),
        result.pop("p99_ms"),
    )
    result["ratio_to_floor"] = (
        round(result["photo_p50_ms"] / result["floor_p50_ms"], 2)
        if result["photo_p50_ms"] and result["floor_p50_ms"]
        else None
    )
    targets = {name: check(result) for name, check in TARGETS.items()}
    return {
        "benchmark": "search",
        "quick": args.quick,
        **result,
        "targets": targets,
        "targets_met": all(targets.values()),
        "cpus": os.cpu_count(),
        "loadavg_before": loadavg_before,
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        "wall_s": round(wall_s, 1),
    }


if __name__ == "__main__":
    sys.exit(main())
