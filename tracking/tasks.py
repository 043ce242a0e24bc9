"""Celery tasks of tracking; thin: the work is in tracking.services."""

from celery import shared_task

from tracking import services


@shared_task(acks_late=True)
def purge_expired_events() -> int:
    """Beat, hourly: delete events older than TRACKING_RETENTION_DAYS. Safe to retry or run
    twice (what is gone stays gone)."""
    return services.events_purge_expired()
