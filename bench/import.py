"""Benchmark: import the clothing-small `train` ImageFolder as catalogue rows.

Prints one JSON object. Image processing is excluded (no Celery worker runs; the
processing messages are queued to a throw-away Redis, as in production, or with
`--no-broker` to no broker at all, to time the broker-down path). Uses its own
database `visualshop_bench` on the embedded server and a temporary media folder,
so the shop's data is never touched. `--quick` imports a small slice.
"""

import argparse
import json
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.lib.broker import broker_environment, redis_broker  # noqa: E402
from bench.lib.datasets import slice_of  # noqa: E402
from visualshop.throwaway import django_on_throwaway, sigterm_as_ctrl_c, throwaway_database  # noqa: E402

DEFAULT_DATASET = BASE_DIR.parent / "shared" / "datasets" / "clothing-small" / "train"
BENCH_DATABASE = "visualshop_bench"
QUICK_PER_CLASS = 6


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=f"import {QUICK_PER_CLASS} images per class only")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument(
        "--no-broker",
        action="store_true",
        help="no Redis: every image's processing message fails to send (the periodic sweep would send it later)",
    )
    args = parser.parse_args()
    if not args.dataset.is_dir():
        parser.error(f"{args.dataset}: no such folder")
    return args


def timed_import(dataset: Path):
    """import_catalog of the folder into the set-up Django's database: (its report, seconds)."""
    # Imported once Django is set up on the throw-away database (models need settings).
    from catalog.importing.service import import_catalog

    started = time.perf_counter()
    report = import_catalog(dataset)
    return report, time.perf_counter() - started


def main() -> int:
    args = arguments()
    sigterm_as_ctrl_c()
    # Throw-away database and media; a real Redis for the queued processing messages.
    with (
        throwaway_database(BENCH_DATABASE, prefix="visualshop-bench-") as (tmp, database_url),
        redis_broker(tmp, reachable=not args.no_broker) as broker,
    ):
        django_on_throwaway(tmp, database_url, **broker_environment(broker))
        dataset = slice_of(args.dataset, QUICK_PER_CLASS, tmp / "slice") if args.quick else args.dataset
        report, seconds = timed_import(dataset)

    print(
        json.dumps(
            {
                "benchmark": "import",
                "quick": args.quick,
                "broker": "none" if args.no_broker else "redis",
                "dataset": str(args.dataset),
                "products": report.created + report.updated,
                "images": report.images_added,
                "failed_rows": report.failed,
                "seconds": round(seconds, 3),
                "products_per_s": round((report.created + report.updated) / seconds, 1),
            }
        )
    )
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
