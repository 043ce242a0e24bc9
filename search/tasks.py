"""Celery tasks of search: thin wrappers around search.product_refresh, search.reranking and
search.query_photos. Every one is safe to run twice (acks_late re-delivers a task whose
worker died)."""

import logging

from celery import shared_task
from django.db import InterfaceError, OperationalError

from search import product_refresh, query_photos, reranking

logger = logging.getLogger(__name__)

# A database that is briefly away: retried with exponential backoff, a bounded number of times.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)


@shared_task(acks_late=True)
def refit_search_projection() -> str:
    outcome = reranking.projection_refit_if_stale()
    logger.info("search projection: %s", outcome)
    return outcome


@shared_task(acks_late=True, autoretry_for=TRANSIENT_ERRORS, retry_backoff=2, retry_backoff_max=60, max_retries=5)
def refresh_products(product_ids: list[int]) -> int:
    """Refresh search data of products marked dirty (queued on commit by catalog.services
    and the pipeline). Products already refreshed meanwhile are skipped, so a re-delivered
    or retried message is harmless. The refresh after the last picture of a new catalogue
    also fits photo search's projection (search.reranking.projection_refit_once_settled)."""
    refreshed = product_refresh.products_refresh(product_ids)
    outcome = reranking.projection_refit_once_settled()
    if outcome is not None and outcome.startswith("fitted"):
        logger.info("search projection: %s", outcome)
    return refreshed


@shared_task(acks_late=True)
def sweep_search_dirty() -> int:
    """Periodic (every 60 s): refresh dirty products whose message was lost."""
    refreshed = product_refresh.products_sweep_dirty()
    if refreshed:
        logger.info("search refresh sweep: %s product(s) refreshed", refreshed)
    return refreshed


@shared_task(acks_late=True)
def cleanup_query_photos() -> int:
    """Periodic (hourly): delete shoppers' query photos older than a day (their results links
    stop working then; search.query_photos)."""
    deleted = query_photos.query_photos_cleanup()
    if deleted:
        logger.info("query photos: %s older than a day deleted", deleted)
    return deleted
