"""Celery tasks: thin wrappers around catalog.services. Each is safe to run twice."""

from celery import shared_task
from django.db import InterfaceError, OperationalError

from catalog import services

# Transient failures (database restarting, storage hiccup) are retried with
# exponential backoff, a bounded number of times; anything else is a bug to see.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, OSError, ConnectionError)


@shared_task(
    acks_late=True,
    autoretry_for=TRANSIENT_ERRORS,
    retry_backoff=2,
    retry_backoff_max=120,
    retry_jitter=True,
    max_retries=5,
)
def process_product_image(image_id: int) -> str | None:
    image = services.product_image_process(image_id)
    return image.status if image else None


@shared_task(acks_late=True)
def sweep_stale_images() -> int:
    return services.images_sweep_stale()


@shared_task(acks_late=True, ignore_result=False)
def ping(value: str) -> str:
    """Round-trip check of the broker and the workers (used by tests and health checks)."""
    return f"pong:{value}"
