"""The /metrics endpoint: pipeline counters from every process, plus queue depth read now."""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.db.models import Count
from django.http import HttpResponse, HttpResponseForbidden
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

import vision.metrics  # noqa: F401  (defines the pipeline metrics in this process too)
from catalog.models import ProductImage
from visualshop.celery import app
from visualshop.rate_limits import client_address

logger = logging.getLogger(__name__)


class QueueDepthCollector:
    """Images per status (what is waiting) and messages waiting in the Celery queue."""

    def collect(self):
        by_status = GaugeMetricFamily("visualshop_images", "Product images by processing status", labels=["status"])
        counts = dict(ProductImage.objects.values_list("status").annotate(n=Count("pk")).order_by())
        for status in ProductImage.Status.values:
            by_status.add_metric([status], counts.get(status, 0))
        yield by_status
        queued = _celery_queue_length("celery")
        if queued is not None:
            queue = GaugeMetricFamily(
                "visualshop_celery_queue_length", "Messages waiting in a Celery queue", labels=["queue"]
            )
            queue.add_metric(["celery"], queued)
            yield queue


def _celery_queue_length(name: str) -> int | None:
    try:
        with app.connection_for_read() as connection:
            return connection.default_channel.client.llen(name)
    except Exception as exc:  # broker down or not Redis: report what we can
        logger.warning("celery queue length unavailable: %s", exc)
        return None


def _allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(network, strict=False) for network in settings.METRICS_ALLOWED_NETWORKS)


def metrics_view(request):
    # Both the peer and the client the trusted proxies name must be in the monitoring
    # networks: behind compose's nginx the peer is always a private address, so checking it
    # alone would serve /metrics to anyone on the internet through the proxy.
    if not (_allowed(request.META.get("REMOTE_ADDR", "")) and _allowed(client_address(request))):
        return HttpResponseForbidden("metrics are served to the monitoring network only\n")
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry.register(_ThisProcess())
    registry.register(QueueDepthCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


class _ThisProcess:
    def collect(self):
        return REGISTRY.collect()
