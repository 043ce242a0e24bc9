"""Benchmark: the floor under photo search latency, what no server can go below here.

Per query picture, one at a time: decode it as photo search does (vision.decoding.
decode_image, the same reduced-scale JPEG decode), embed it with the same ONNX model file
and preprocessing on one thread (as EMBEDDING_THREADS=1 serves), and find the top 10 by an
exact cosine scan in numpy over the catalogue's vectors. Nothing else: no Django, no
database, no HTTP, no re-ranking. bench/search.py divides photo search's p50 by this one.

    floor_p50_ms, floor_p95_ms   the three steps together, per query
    decode_ms_p50, embed_ms_p50, scan_ms_p50   each step alone (their p50s need not add up)

Standalone, on ../shared/datasets/clothing-small: the `train` pictures are the catalogue
(their vectors cached in var/bench-cache: the catalogue is an input here, not timed),
the `validation` pictures the queries. `--quick` (for CI): 20 catalogue pictures and 5
queries per class. One JSON object on stdout, progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.lib.embeddings import cached_vectors, decode_like_search  # noqa: E402

DEFAULT_DATASET = BASE_DIR.parent / "shared" / "datasets" / "clothing-small"
QUICK_CATALOGUE_PER_CLASS = 20
QUICK_QUERIES_PER_CLASS = 5
K = 10
WARM_UP = 3


def floor_latencies(contents: Sequence[bytes], catalogue: np.ndarray, model_path: Path) -> dict[str, list[float]]:
    """Milliseconds per query of decode, embed, scan and all three, after a few untimed
    queries (the first run of a session is slow; a server warms it at start)."""
    from vision.onnx_model import ImageEmbedder, l2_normalize

    embedder = ImageEmbedder(model_path, intra_op_num_threads=1)
    embedder.warm_up()
    vectors = np.ascontiguousarray(catalogue, dtype=np.float32)
    times: dict[str, list[float]] = {"decode": [], "embed": [], "scan": [], "total": []}
    for n, content in enumerate([*contents[:WARM_UP], *contents]):
        started = time.perf_counter()
        picture = decode_like_search(content)
        decoded = time.perf_counter()
        query = l2_normalize(embedder.embed([picture]))[0]
        embedded = time.perf_counter()
        similarity = vectors @ query
        top = np.argpartition(-similarity, min(K, len(similarity) - 1))[:K]
        top = top[np.argsort(-similarity[top], kind="stable")]  # ranked, as a search returns them
        scanned = time.perf_counter()
        if n >= min(WARM_UP, len(contents)):
            for name, seconds in (
                ("decode", decoded - started),
                ("embed", embedded - decoded),
                ("scan", scanned - embedded),
                ("total", scanned - started),
            ):
                times[name].append(seconds * 1000)
    return times


def floor_p50_ms(contents: Sequence[bytes], catalogue: np.ndarray, model_path: Path) -> float:
    """Median milliseconds of decode + embed + exact scan per query picture."""
    return statistics.median(floor_latencies(contents, catalogue, model_path)["total"])


def summary(times: dict[str, list[float]]) -> dict:
    total = np.asarray(times["total"])
    return {
        "floor_p50_ms": round(float(np.percentile(total, 50)), 2),
        "floor_p95_ms": round(float(np.percentile(total, 95)), 2),
        **{f"{name}_ms_p50": round(statistics.median(times[name]), 2) for name in ("decode", "embed", "scan")},
    }


def _pictures(folder: Path, per_class: int | None) -> list[Path]:
    return [
        path
        for label in sorted(p for p in folder.iterdir() if p.is_dir())
        for path in sorted(f for f in label.iterdir() if f.is_file() and not f.name.startswith("."))[:per_class]
    ]


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK_CATALOGUE_PER_CLASS} catalogue pictures and {QUICK_QUERIES_PER_CLASS} queries per class (for CI)",
    )
    parser.add_argument(
        "--dataset",
        type=Path,
        default=DEFAULT_DATASET,
        help="an ImageFolder with train/<class>/ and validation/<class>/",
    )
    args = parser.parse_args()
    if not (args.dataset / "train").is_dir() or not (args.dataset / "validation").is_dir():
        parser.error(f"{args.dataset}: needs train/ and validation/ folders")
    return args


def main() -> int:
    args = arguments()
    dataset = args.dataset
    from vision.onnx_model import load_embedder
    from visualshop.paths import VAR_DIR

    catalogue_paths = _pictures(dataset / "train", QUICK_CATALOGUE_PER_CLASS if args.quick else None)
    query_paths = _pictures(dataset / "validation", QUICK_QUERIES_PER_CLASS if args.quick else None)
    embedder = load_embedder("fp32", intra_op_num_threads=1)  # builds the model file on first use
    catalogue = cached_vectors(embedder, catalogue_paths, dataset, VAR_DIR / "bench-cache")
    print(f"timing {len(query_paths)} queries against {len(catalogue)} vectors", file=sys.stderr, flush=True)
    times = floor_latencies([path.read_bytes() for path in query_paths], catalogue, embedder.model_path)
    print(
        json.dumps(
            {
                "benchmark": "search_floor",
                "quick": args.quick,
                "dataset": str(dataset),
                "model": embedder.model_path.name,
                "threads": 1,
                "catalogue_vectors": len(catalogue),
                "queries": len(query_paths),
                **summary(times),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
