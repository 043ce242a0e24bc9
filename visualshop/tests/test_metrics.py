import socket
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from catalog import services as catalog_services
from catalog.models import ProductImage
from fixtures.celery_worker import start_celery_worker
from fixtures.factories import stored_images
from fixtures.images import scene_bytes
from fixtures.waiting import wait_for
from vision.pipeline import product_images_process
from visualshop import embedded


def samples(client) -> dict:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def add_images(*contents: bytes) -> list[ProductImage]:
    return stored_images("M-1", *contents)


@pytest.mark.django_db
def test_metrics_count_outcomes_reasons_stages_and_queue_depth(client, redis_socket):
    before = samples(client)
    ready, broken, waiting = add_images(scene_bytes(1), b"garbage", scene_bytes(2))
    product_images_process([ready.pk, broken.pk])
    after = samples(client)

    def delta(name, **labels):
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0) - before.get(key, 0)

    assert delta("visualshop_images_processed_total", outcome="ready") == 1
    assert delta("visualshop_images_processed_total", outcome="rejected") == 1
    assert delta("visualshop_images_rejected_total", reason="undecodable") == 1
    stages = ("read", "decode", "quality", "derivatives", "embed", "checks", "store")
    # The broken file is read and fails to decode; only the good one goes further.
    assert [delta("visualshop_image_stage_seconds_count", stage=stage) for stage in stages] == [2, 2, 1, 1, 1, 1, 1]
    statuses = {status: after[("visualshop_images", (("status", status),))] for status in ProductImage.Status.values}
    assert statuses == {"pending": 1, "processing": 0, "ready": 1, "flagged": 0, "rejected": 1, "failed": 0}
    assert ("visualshop_celery_queue_length", (("queue", "celery"),)) in after


def test_metrics_refuse_clients_outside_the_monitoring_networks(client, settings):
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8"]
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert response.content == b"metrics are served to the monitoring network only\n"


def test_metrics_through_the_front_proxy_are_judged_by_the_client_the_proxy_names(client, settings, db):
    """Behind compose's nginx every request comes from the proxy's private address: the
    client it appends to X-Forwarded-For must be in the monitoring networks too."""
    settings.METRICS_ALLOWED_NETWORKS = ["10.0.0.0/8", "172.16.0.0/12"]
    settings.API_NUM_PROXIES = 1
    from_internet = client.get("/metrics", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert from_internet.status_code == 403
    assert from_internet.content == b"metrics are served to the monitoring network only\n"
    # A client cannot talk its way in by sending a private address first: nginx appends the real one.
    spoofed = client.get("/metrics", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="10.0.0.7, 203.0.113.9")
    assert spoofed.status_code == 403
    from_monitoring = client.get("/metrics", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="10.0.0.7")
    assert from_monitoring.status_code == 200
    scraped_directly = client.get("/metrics", REMOTE_ADDR="172.18.0.9")
    assert scraped_directly.status_code == 200


@pytest.mark.worker
def test_metrics_add_up_what_the_worker_processes_recorded(client, settings, redis_socket, transactional_db, tmp_path):
    """In one folder (make run) the web's /metrics adds up the worker's pool processes; where
    the worker runs in its own container, it serves the same numbers on WORKER_METRICS_PORT."""
    settings.PROMETHEUS_MULTIPROC_DIR = str(tmp_path)
    port = free_port()
    worker = start_celery_worker(
        pool="prefork",
        concurrency=2,
        env={
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
            "WORKER_METRICS_PORT": str(port),
        },
    )
    try:
        images = add_images(scene_bytes(3), scene_bytes(4), b"")
        catalog_services.product_images_reprocess([image.pk for image in images])
        wait_for(
            lambda: (
                not ProductImage.objects.filter(
                    status__in=[ProductImage.Status.PENDING, ProductImage.Status.PROCESSING]
                ).exists()
            ),
            timeout=60,
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            served = response.read().decode()
    finally:
        embedded.stop_process(worker)
    found = samples(client)
    assert found[("visualshop_images_processed_total", (("outcome", "ready"),))] == 2
    assert found[("visualshop_images_rejected_total", (("reason", "empty"),))] == 1
    assert found[("visualshop_image_stage_seconds_count", (("stage", "embed"),))] == 2
    assert 'visualshop_images_processed_total{outcome="ready"} 2.0' in served.splitlines()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
