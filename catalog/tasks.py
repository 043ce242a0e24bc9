"""Celery tasks: thin wrappers around catalog.services. Each is safe to run twice.

Processing of images lives in search.tasks (the pipeline needs the model).
"""

from celery import shared_task

from catalog import services
from catalog.importing import runs


@shared_task(acks_late=True)
def sweep_stale_images() -> int:
    """Periodic (IMAGE_SWEEP_SECONDS): re-queue image processing the broker lost, then failed
    images with attempts left. A broker that cannot be read falls back to the time-based
    rule (IMAGE_STALE_AFTER_SECONDS) for pending and processing images too."""
    lost = services.images_requeue_lost()
    return (lost or 0) + services.images_sweep_stale(unfinished=lost is None)


@shared_task(acks_late=True, ignore_result=False)
def ping(value: str) -> str:
    """Round-trip check of the broker and the workers (used by tests and health checks)."""
    return f"pong:{value}"


@shared_task(acks_late=True)
def run_catalogue_import(run_ids: list[int]) -> list[str | None]:
    """Catalogue files staff uploaded in the admin (catalog.importing.runs), one per message; a
    second delivery finds the run claimed or done and does nothing."""
    return [runs.catalogue_import_run(run_id) for run_id in run_ids]


@shared_task(acks_late=True)
def sweep_catalogue_imports() -> int:
    """Periodic (60 s): send again admin imports whose message was lost or whose worker died."""
    return runs.catalogue_imports_sweep()
