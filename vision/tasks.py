"""Celery tasks of the image pipeline: thin wrappers around vision.pipeline, vision.rebuild
and vision.services. Every one is safe to run twice (acks_late re-delivers a task whose
worker died)."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from vision import pipeline, rebuild, services

logger = logging.getLogger(__name__)

# A database or storage that is briefly away: retried with exponential backoff, a bounded
# number of times. Per-image problems never get here; the pipeline records them per image.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)

PROCESS_OPTIONS = dict(
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
REBUILD_OPTIONS = dict(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=2, max_retries=5)


@shared_task(**PROCESS_OPTIONS)
def process_product_images(image_ids: list[int]) -> None:
    pipeline.product_images_process(image_ids)


@shared_task(**REBUILD_OPTIONS)
def rebuild_embeddings(model_id: int) -> None:
    rebuild.rebuild_step(model_id)


@shared_task(acks_late=True)
def sweep_embedding_models() -> str:
    outcome = services.embedding_models_sweep()
    logger.info("embedding model sweep: %s", outcome)
    return outcome


# The names these tasks had before the pipeline moved out of search/ (2026-12). A message
# names its task, so messages queued by the previous release (pending images, a rebuild chain
# in flight, which carries on under the new name after this step) would otherwise be dropped
# by the worker as unregistered. Safe to delete once no queue can hold a message from before the move.
@shared_task(name="search.tasks.process_product_images", **PROCESS_OPTIONS)
def process_product_images_queued_before_the_move(image_ids: list[int]) -> None:
    pipeline.product_images_process(image_ids)


@shared_task(name="search.tasks.rebuild_embeddings", **REBUILD_OPTIONS)
def rebuild_embeddings_queued_before_the_move(model_id: int) -> None:
    rebuild.rebuild_step(model_id)
