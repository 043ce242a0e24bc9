"""The pipeline's wiring: on_commit -> Redis -> a real worker process -> the database."""

import os
import signal
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from catalog import services as catalog_services
from catalog.models import ProductImage
from catalog.services import ProductData, product_image_add, product_upsert
from catalog.tasks import ping
from fixtures.celery_worker import start_celery_worker
from fixtures.images import scene_bytes
from fixtures.waiting import wait_for
from vision.models import ImageEmbedding
from visualshop.broker import sending
from visualshop.celery import app

Status = ProductImage.Status
SETTLED = (Status.READY, Status.FLAGGED, Status.REJECTED)


def settled(*image_ids):
    images = list(ProductImage.objects.filter(pk__in=image_ids, status__in=SETTLED))
    return images if len(images) == len(image_ids) else None


@pytest.mark.worker
def test_added_image_is_processed_by_the_worker_after_commit(celery_worker_process):
    product, _ = product_upsert(ProductData(sku="SKU-1", title="Red scarf", price=Decimal("9.90")))
    image, created = product_image_add(product=product, content=scene_bytes(1))
    assert created
    [final] = wait_for(lambda: settled(image.pk), timeout=60)
    assert (final.status, final.reason_codes, final.width, final.height, final.format) == (
        Status.READY,
        [],
        320,
        400,
        "JPEG",
    )
    assert final.thumbnail.name.startswith("derived/") and final.processed_at is not None
    assert ImageEmbedding.objects.filter(image=final).count() == 1


@pytest.mark.worker
def test_a_message_queued_under_the_name_from_before_the_move_is_still_processed(celery_worker_process):
    """Messages name their task: one sent as search.tasks.process_product_images (the name
    before the pipeline moved to vision/) is run, not dropped as unregistered."""
    product, _ = product_upsert(ProductData(sku="SKU-OLD", title="Old scarf", price=Decimal("9.90")))
    image = ProductImage(product=product)
    image.file.save("old.jpg", ContentFile(scene_bytes(2)), save=True)  # written without the services: nothing queued
    app.send_task("search.tasks.process_product_images", args=[[image.pk]])
    [final] = wait_for(lambda: settled(image.pk), timeout=60)
    assert (final.status, ImageEmbedding.objects.filter(image=final).count()) == (Status.READY, 1)


@pytest.mark.worker
def test_image_whose_file_is_not_an_image_ends_rejected_with_reason(celery_worker_process):
    product, _ = product_upsert(ProductData(sku="SKU-2", title="Blue scarf", price=Decimal("9.90")))
    image = ProductImage(product=product)
    image.file.save("broken.jpg", ContentFile(b"this is not a jpeg"), save=True)
    ping.delay("warm")  # unrelated task first: the worker must not lose the next one
    catalog_services.product_images_reprocess([image.pk])
    [final] = wait_for(lambda: settled(image.pk), timeout=60)
    assert (final.status, final.reason_codes, final.reason) == (
        Status.REJECTED,
        ["undecodable"],
        "not an image (content is not a recognised image format)",
    )


@pytest.mark.worker
def test_a_worker_killed_mid_batch_leaves_nothing_half_written(redis_socket, transactional_db, settings):
    """SIGKILL the whole worker (main process and both children) while images are being
    processed, start a new one, let the sweep re-queue what was in flight: every image
    ends settled, and each searchable one has exactly one vector and its thumbnail."""
    settings.IMAGE_PROCESSING_BATCH = 6
    product, _ = product_upsert(ProductData(sku="KILL-1", title="Coat", price=Decimal("90.00")))
    # Large photos, so each takes long enough to be caught in the middle.
    images = [product_image_add(product=product, content=scene_bytes(n, size=(1600, 2000)))[0] for n in range(24)]
    ids = [image.pk for image in images]
    first = start_celery_worker(pool="prefork", concurrency=2)
    try:
        # Kill once some images are done and others are claimed: waiting for a settled image
        # alone could land between one batch's end and the next claim (nothing in flight).
        in_flight = wait_for(
            lambda: (
                ProductImage.objects.filter(pk__in=ids, status__in=SETTLED).exists()
                and list(ProductImage.objects.filter(pk__in=ids, status=Status.PROCESSING).values_list("pk", flat=True))
            ),
            timeout=90,
            interval=0.01,
        )
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    assert in_flight, "the worker was not killed in the middle of a batch"
    unfinished = ProductImage.objects.filter(pk__in=ids).exclude(status__in=SETTLED).count()
    assert unfinished > 0
    second = start_celery_worker(pool="prefork", concurrency=2)
    try:
        # The periodic sweep, run now as if IMAGE_STALE_AFTER_SECONDS had passed.
        assert catalog_services.images_sweep_stale(now=timezone.now() + timedelta(hours=1)) == unfinished
        final = wait_for(lambda: settled(*ids), timeout=120)
    finally:
        embedded_stop(second)
    assert {image.status for image in final} <= {Status.READY, Status.FLAGGED}
    for image in final:
        assert ImageEmbedding.objects.filter(image=image).count() == 1
        folder = os.path.join(settings.MEDIA_ROOT, "derived", image.sha256[:2])
        written = sorted(name for name in os.listdir(folder) if name.startswith(image.sha256))
        assert written == [f"{image.sha256}-display.jpg", f"{image.sha256}-thumbnail.jpg"]  # no stray copies
        assert (image.thumbnail.name, image.display.name) == tuple(
            f"derived/{image.sha256[:2]}/{name}" for name in reversed(written)
        )


def embedded_stop(process):
    from visualshop import embedded

    embedded.stop_process(process)


@pytest.mark.worker
def test_byte_identical_images_processed_together_keep_the_first_ready_and_flag_only_the_later(
    redis_socket,
    transactional_db,
    settings,
):
    """Two worker processes (prefork, concurrency 2): one pair of copies arrives as two messages
    taken at the same moment, another as one message of two ids. Either way the earlier upload
    (lower id) stays ready and only the later one is flagged as its copy."""
    settings.IMAGE_PROCESSING_BATCH = 2
    products = [product_upsert(ProductData(sku=f"COPY-{n}", title="Coat", price=Decimal("90.00")))[0] for n in range(4)]
    apart = scene_bytes(1)
    together = scene_bytes(4)
    # Two messages of one id each, queued first: the two worker processes take one each.
    apart_first = product_image_add(product=products[0], content=apart)[0]
    apart_later = product_image_add(product=products[1], content=apart)[0]
    with sending.messages_batched():  # one message with both ids
        together_first = product_image_add(product=products[2], content=together)[0]
        together_later = product_image_add(product=products[3], content=together)[0]
    ids = [apart_first.pk, apart_later.pk, together_first.pk, together_later.pk]
    worker = start_celery_worker(pool="prefork", concurrency=2)
    try:
        final = {image.pk: image for image in wait_for(lambda: settled(*ids), timeout=120)}
    finally:
        embedded_stop(worker)
    for first, later in ((apart_first, apart_later), (together_first, together_later)):
        original, copy = final[first.pk], final[later.pk]
        assert (original.status, original.reason, original.reason_codes, original.duplicate_of_id) == (
            Status.READY,
            "",
            [],
            None,
        )
        assert (copy.status, copy.reason, copy.reason_codes, copy.duplicate_of_id) == (
            Status.FLAGGED,
            f"exact duplicate of image {first.pk}",
            ["exact_duplicate"],
            first.pk,
        )
    assert ImageEmbedding.objects.filter(image_id__in=ids).count() == 4  # a flagged copy stays searchable
