"""Celery tasks of ranking; thin: the work is in ranking.engagement, ranking.profiles and
ranking.retraining."""

from celery import shared_task

from ranking import engagement, profiles, retraining


@shared_task(acks_late=True)
def refresh_engagement_and_profiles() -> tuple[int, int]:
    """Beat, every RANKING_REFRESH_SECONDS: products' engagement and visitors' profiles rebuilt
    from the events. Both are rebuilt whole, so a retry or a second run is harmless."""
    return engagement.engagement_refresh(), profiles.profiles_refresh()


@shared_task(acks_late=True)
def retrain_ranker() -> str:
    """Beat, nightly: train, judge, and promote when better (ranking.retraining). A run twice
    in a night trains twice on the same data; the second is promoted only if it beats the
    first by the margin, which the same data cannot give."""
    outcome = retraining.ranker_retrain(trigger="nightly")
    return f"ranker {outcome.version.pk} {outcome.version.status}: {outcome.reason}"


@shared_task(acks_late=True)
def refresh_visitor_profiles(visitor_ids: list[str]) -> int:
    """Soon after these visitors engaged (ranking.profiles.profiles_refresh_soon): their
    profiles rebuilt from every event so far. A rebuild, so a retry is harmless."""
    return profiles.profiles_refresh(visitor_ids=visitor_ids)
