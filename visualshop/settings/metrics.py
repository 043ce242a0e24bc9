"""Prometheus metrics at /metrics.

With several processes (gunicorn workers, Celery workers) each one writes its
samples to files in PROMETHEUS_MULTIPROC_DIR and /metrics adds them up; `make run`
sets it to var/prometheus, compose to a shared volume. Unset, /metrics shows this
process only.
"""

from visualshop.env import env_list, env_str

PROMETHEUS_MULTIPROC_DIR = env_str("PROMETHEUS_MULTIPROC_DIR")
# Who may scrape: loopback and private networks by default (Prometheus runs beside the shop).
METRICS_ALLOWED_NETWORKS = env_list(
    "METRICS_ALLOWED_NETWORKS", ["127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
)
