from django.conf import settings

from vision.tasks import process_product_images, process_product_images_queued_before_the_move
from visualshop.celery import app


def test_every_periodic_task_is_registered():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "catalog.tasks.sweep_stale_images",
        "catalog.tasks.sweep_catalogue_imports",
        "vision.tasks.sweep_embedding_models",
        "search.tasks.refit_search_projection",
        "search.tasks.sweep_search_dirty",
        "search.tasks.cleanup_query_photos",
        "tracking.tasks.purge_expired_events",
        "tracking.tasks.forward_events_to_mixpanel",
        "tracking.tasks.roll_up_events",
        "ranking.tasks.refresh_engagement_and_profiles",
        "ranking.tasks.retrain_ranker",
    }
    assert scheduled <= set(app.tasks)


def test_tasks_acknowledge_late_and_retry_a_bounded_number_of_times():
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1
    assert (process_product_images.max_retries, process_product_images.retry_backoff) == (5, 2)
    old_name = process_product_images_queued_before_the_move
    assert (old_name.name, old_name.max_retries, old_name.retry_backoff) == (
        "search.tasks.process_product_images",
        5,
        2,
    )
    assert app.conf.beat_schedule["sweep-stale-images"]["task"] == "catalog.tasks.sweep_stale_images"
