"""Benchmark: import the clothing-small `train` ImageFolder as catalogue rows.

Prints one JSON object. Image processing is excluded (no Celery worker runs; the
processing messages are queued to a throw-away Redis, as in production, or with
`--no-broker` to no broker at all, to time the broker-down path). Uses its own
database `visualshop_bench` on the embedded server and a temporary media folder,
so the shop's data is never touched. `--quick` imports a small slice.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.lib.datasets import slice_of  # noqa: E402
from bench.lib.throwaway import throwaway_database  # noqa: E402
DEFAULT_DATASET = BASE_DIR.parent / "shared" / "datasets" / "clothing-small" / "train"
BENCH_DATABASE = "visualshop_bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="import 6 images per class only")
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument(
        "--no-broker", action="store_true",
        help="no Redis: every image's processing message fails to send (the periodic sweep would send it later)",
    )
    args = parser.parse_args()
    if not args.dataset.is_dir():
        parser.error(f"{args.dataset}: no such folder")

    from visualshop import embedded

    # Throw-away database and media; a real Redis for the queued processing messages.
    with throwaway_database(BENCH_DATABASE, prefix="visualshop-bench-") as (tmp, database_url):
        os.environ["DATABASE_URL"] = database_url
        os.environ["DJANGO_MEDIA_ROOT"] = str(tmp / "media")
        redis = None
        if args.no_broker:
            os.environ["CELERY_BROKER_URL"] = embedded.redis_socket_url(tmp / "no-redis" / "redis.sock")
        else:
            redis, socket_path = embedded.start_redis(tmp / "redis", persist=False)
            os.environ["CELERY_BROKER_URL"] = embedded.redis_socket_url(socket_path)
        os.environ["DJANGO_SETTINGS_MODULE"] = "visualshop.settings"
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        try:
            import django

            django.setup()
            from django.core.management import call_command

            from catalog.importing.service import import_catalog

            call_command("migrate", verbosity=0)
            dataset = slice_of(args.dataset, 6, tmp / "slice") if args.quick else args.dataset
            started = time.perf_counter()
            report = import_catalog(dataset)
            seconds = time.perf_counter() - started
        finally:
            if redis is not None:
                embedded.stop_process(redis)

    print(json.dumps({
        "benchmark": "import",
        "quick": args.quick,
        "broker": "none" if args.no_broker else "redis",
        "dataset": str(args.dataset),
        "products": report.created + report.updated,
        "images": report.images_added,
        "failed_rows": report.failed,
        "seconds": round(seconds, 3),
        "products_per_s": round((report.created + report.updated) / seconds, 1),
    }))
    return 0 if report.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
