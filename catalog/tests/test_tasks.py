from decimal import Decimal

import pytest
from django.core.files.base import ContentFile

from catalog.models import ProductImage
from catalog.services import ProductData, product_image_add, product_upsert
from catalog.tasks import ping, process_product_image
from catalog.tests.images import image_bytes
from conftest import wait_for


@pytest.mark.worker
def test_task_round_trips_through_redis_and_a_worker_process(celery_worker_process):
    result = ping.delay("hello")
    assert result.get(timeout=30) == "pong:hello"


@pytest.mark.worker
def test_added_image_is_processed_by_the_worker_after_commit(celery_worker_process):
    product, _ = product_upsert(ProductData(sku="SKU-1", title="Red scarf", price=Decimal("9.90")))
    image, created = product_image_add(product=product, content=image_bytes())
    assert created
    final = wait_for(
        lambda: ProductImage.objects.filter(pk=image.pk).exclude(status=ProductImage.Status.PENDING)
        .exclude(status=ProductImage.Status.PROCESSING).first()
    )
    assert final.status == ProductImage.Status.READY
    assert (final.width, final.height, final.format) == (300, 240, "PNG")
    assert final.processed_at is not None


@pytest.mark.worker
def test_image_whose_file_is_not_an_image_ends_rejected_with_reason(celery_worker_process):
    product, _ = product_upsert(ProductData(sku="SKU-2", title="Blue scarf", price=Decimal("9.90")))
    image = ProductImage(product=product)
    image.file.save("broken.jpg", ContentFile(b"this is not a jpeg"), save=True)
    ping.delay("warm")  # unrelated task first: the worker must not lose the next one
    process_product_image.delay(image.pk)
    final = wait_for(
        lambda: ProductImage.objects.filter(pk=image.pk, status=ProductImage.Status.REJECTED).first()
    )
    assert final.reason == "not an image (content is not a recognised image format)"
