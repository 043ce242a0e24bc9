"""Celery tasks of tracking; thin: the work is in tracking.services."""

from celery import shared_task

from tracking import mixpanel_forwarding, rollups, services


@shared_task(acks_late=True)
def purge_expired_events() -> int:
    """Beat, hourly: delete events older than TRACKING_RETENTION_DAYS. Safe to retry or run
    twice (what is gone stays gone)."""
    return services.events_purge_expired()


# Rounds per run: a backlog drains 20,000 events a minute, and a run never holds a worker long.
FORWARD_ROUNDS_PER_RUN = 20


@shared_task(
    acks_late=True,
    autoretry_for=(mixpanel_forwarding.MixpanelUnavailable,),
    retry_backoff=2,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=8,
)
def forward_events_to_mixpanel() -> int:
    """Beat, every MIXPANEL_FORWARD_SECONDS: the events Mixpanel has not had yet (nothing when
    MIXPANEL_TOKEN is unset). A failed request retries the task with back-off (2 s doubling to
    10 min); the next beat run would send the same events anyway, and Mixpanel de-duplicates
    them by $insert_id, so retrying and running twice are both safe. Returns events sent."""
    sent = 0
    for _ in range(FORWARD_ROUNDS_PER_RUN):
        forwarded = mixpanel_forwarding.events_forward_round()
        if forwarded is None:
            break
        sent += forwarded.sent
        if not forwarded.more:
            break
    return sent


@shared_task(acks_late=True)
def roll_up_events() -> int:
    """Beat, every 15 minutes: recompute the daily rollups a new event can still change
    (tracking.rollups.recent_days_roll_up). Each day is recomputed whole: safe to retry or
    run twice. Returns the days recomputed."""
    return rollups.recent_days_roll_up()
