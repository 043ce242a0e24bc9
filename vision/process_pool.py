"""Processing many images from a command, on every core, without Celery.

A pool of forked processes (one per core by default) each runs the same pipeline
as the workers, on batches of image ids. Each process opens its own database
connection and its own ONNX session (EMBEDDING_THREADS, 1 by default: the
processes are the parallelism).
"""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable, Iterator

from django.db import connections

from catalog import services as catalog_services
from catalog.models import ProductImage
from vision import pipeline

Status = ProductImage.Status
SELECTIONS = {
    "pending": [Status.PENDING],
    "failed": [Status.FAILED],
    "all": None,
}


def image_ids_to_process(selection: str) -> list[int]:
    statuses = SELECTIONS[selection]
    images = ProductImage.objects.all() if statuses is None else ProductImage.objects.filter(status__in=statuses)
    return list(images.order_by("pk").values_list("pk", flat=True))


def _process_batch(image_ids: list[int]) -> dict[int, str | None]:
    return pipeline.product_images_process(image_ids)


def _child_started() -> None:
    connections.close_all()  # never share the parent's socket
    # The parent's ONNX sessions were dropped at the fork (vision.embedders): each child
    # creates its own on first use.


def images_process_in_pool(
    image_ids: list[int], *, workers: int, batch: int, on_progress: Callable[[int], None] | None = None
) -> Counter:
    """Mark the images pending (nothing is queued) and process them here; returns outcome counts."""
    catalog_services.product_images_reprocess(image_ids, enqueue=False)
    batches = [image_ids[i : i + batch] for i in range(0, len(image_ids), batch)]
    outcomes: Counter = Counter()
    for result in _results(batches, workers):
        outcomes.update("skipped" if status is None else status for status in result.values())
        if on_progress:
            on_progress(len(result))
    return outcomes


def _results(batches: list[list[int]], workers: int) -> Iterator[dict]:
    if workers <= 1:
        yield from map(_process_batch, batches)
        return
    connections.close_all()  # forked children must open their own connections
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_child_started) as pool:
        yield from pool.imap_unordered(_process_batch, batches)
