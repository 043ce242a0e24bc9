"""visualshop/gunicorn_conf.py: threaded workers share one process's module-level state (the
ONNX session, the projection cache, database connections per thread, the metric files).
One worker process with eight threads gets concurrent photo searches before it has loaded
the model (no warm-up), so the threads race to create the session; every answer must be the
one a single request gets."""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest

from catalog import services
from catalog.services import ProductData
from fixtures.factories import stored_image
from fixtures.gunicorn_server import request, start_gunicorn
from fixtures.images import scene_bytes
from vision.pipeline import product_images_process
from visualshop import embedded

BOUNDARY = "visualshopgunicornconftest"
CONCURRENT_SEARCHES = 12


@pytest.fixture
def processed_catalogue(transactional_db, settings):
    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01  # the generated scenes are not duplicates
    settings.IMAGE_BLUR_THRESHOLD = 0
    images = []
    for n, path in enumerate((["Clothing", "Dresses"], ["Clothing", "Shirts"], ["Home", "Mugs"]) * 2, start=1):
        product, _ = services.product_upsert(
            ProductData(
                sku=f"T{n}",
                title=f"Test product {n}",
                price=Decimal("10.00"),
                stock=1,
                is_active=True,
                category=services.category_get_or_create_path(path),
                brand=services.brand_get_or_create("Brand"),
            )
        )
        images.append(stored_image(product, scene_bytes(n), f"t{n}.jpg"))
    product_images_process([image.pk for image in images])
    for image in images:
        image.refresh_from_db()
    assert {image.status for image in images} <= {"ready", "flagged"}, [(i.status, i.reason) for i in images]


def photo_search(port: int, photo: bytes) -> tuple[int, bytes]:
    body = (
        (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="image"; filename="q.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + photo
        + (f'\r\n--{BOUNDARY}\r\nContent-Disposition: form-data; name="limit"\r\n\r\n5\r\n--{BOUNDARY}--\r\n').encode()
    )
    return request(
        "127.0.0.1",
        port,
        "POST",
        "/api/v1/search/image",
        body,
        {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


@pytest.mark.slow
def test_threads_of_one_worker_answer_concurrent_photo_searches_as_a_single_request_does(processed_catalogue, tmp_path):
    server, port = start_gunicorn(tmp_path, WEB_CONCURRENCY="1", WEB_THREADS="8")
    try:
        photo = scene_bytes(4)
        answers: list = [None] * CONCURRENT_SEARCHES  # (status, body) or the exception
        start = threading.Barrier(CONCURRENT_SEARCHES)

        def search(n: int) -> None:
            start.wait()
            try:
                answers[n] = photo_search(port, photo)
            except BaseException as exc:  # reported below, with the others
                answers[n] = exc

        threads = [threading.Thread(target=search, args=(n,)) for n in range(CONCURRENT_SEARCHES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        single = photo_search(port, photo)
        metrics = [request("127.0.0.1", port, "GET", "/metrics") for _ in range(3)]
    finally:
        embedded.stop_process(server)

    assert single[0] == 200, single
    expected = [hit["product"]["id"] for hit in json.loads(single[1])["results"]]
    assert len(expected) == 5
    assert [answer[0] if isinstance(answer, tuple) else answer for answer in answers] == [200] * CONCURRENT_SEARCHES
    assert [[hit["product"]["id"] for hit in json.loads(body)["results"]] for _, body in answers] == [
        expected
    ] * CONCURRENT_SEARCHES
    assert [status for status, _ in metrics] == [200, 200, 200]
    assert all(b"visualshop_" in body for _, body in metrics)
