"""Celery tasks: thin wrappers around catalog.services. Each is safe to run twice.

Processing of images lives in search.tasks (the pipeline needs the model).
"""

from celery import shared_task

from catalog import services


@shared_task(acks_late=True)
def sweep_stale_images() -> int:
    return services.images_sweep_stale()


@shared_task(acks_late=True, ignore_result=False)
def ping(value: str) -> str:
    """Round-trip check of the broker and the workers (used by tests and health checks)."""
    return f"pong:{value}"
