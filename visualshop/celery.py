"""The Celery app. Configuration comes from Django settings (CELERY_* names)."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "visualshop.settings")

app = Celery("visualshop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def serve_worker_metrics(**kwargs):
    """Where workers run in their own container (compose), /metrics of the web container
    cannot read their samples: with WORKER_METRICS_PORT set, the worker serves them itself."""
    port = os.environ.get("WORKER_METRICS_PORT")
    if not port:
        return
    # Not at the top: prometheus_client picks its multiprocess mode when first imported (from
    # PROMETHEUS_MULTIPROC_DIR), and this module is imported by visualshop/__init__ before settings.
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # reads PROMETHEUS_MULTIPROC_DIR, which the child processes write
    start_http_server(int(port), registry=registry)


@task_prerun.connect
@task_postrun.connect
def drop_stale_database_connections(**kwargs):
    """What Django does around each request: with CELERY_DB_REUSE_MAX a worker keeps its
    connection between tasks, but not past CONN_MAX_AGE or after an error."""
    from django.db import close_old_connections  # this module loads with visualshop/__init__, before settings

    close_old_connections()
