"""Search refresh (search.product_refresh) on a real worker: on_commit -> Redis -> the worker -> the database."""

from decimal import Decimal

import pytest

from catalog import services as catalog_services
from catalog.models import ProductImage
from catalog.services import ProductData, product_image_add, product_upsert
from fixtures.waiting import wait_for

Status = ProductImage.Status
SETTLED = (Status.READY, Status.FLAGGED, Status.REJECTED)


def settled(*image_ids):
    images = list(ProductImage.objects.filter(pk__in=image_ids, status__in=SETTLED))
    return images if len(images) == len(image_ids) else None


def tinted_scene(seed: int, dark: tuple, light: tuple) -> bytes:
    """A scene recoloured from dark to light: vision.colours names it by that one colour."""
    import io

    from PIL import ImageOps

    from fixtures.images import scene

    buffer = io.BytesIO()
    ImageOps.colorize(scene(seed).convert("L"), black=dark, white=light).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def refreshed_after_settling(image_id: int, sha256: str):
    """The product once this version of the image is settled and the product's refresh that
    followed it has run (settling marks the product dirty in the same transaction)."""
    from catalog.models import Product

    image = ProductImage.objects.filter(pk=image_id, sha256=sha256, status__in=SETTLED).first()
    if image is None:
        return None
    return Product.objects.filter(pk=image.product_id, search_dirty=False).first()


@pytest.mark.worker
def test_the_worker_refreshes_a_product_once_its_image_is_processed_and_again_when_it_is_replaced(
    celery_worker_process,
):
    product, _ = product_upsert(ProductData(sku="REFRESH-1", title="Item 1", price=Decimal("20.00")))
    image, _ = product_image_add(product=product, content=tinted_scene(5, (90, 0, 0), (255, 60, 60)))
    product = wait_for(lambda: refreshed_after_settling(image.pk, image.sha256), timeout=60)
    image.refresh_from_db()
    # (a tinted scene has little contrast in luma: it may be flagged blurred, and stays searchable)
    assert (image.status in (Status.READY, Status.FLAGGED), image.colours) == (True, {"red": 1.0})
    assert product.colours == ["red"]
    assert [hit.product_id for hit in search_text_hits("red")] == [product.pk]

    catalog_services.product_image_replace_file(image, content=tinted_scene(7, (0, 0, 90), (60, 60, 255)))
    product = wait_for(lambda: refreshed_after_settling(image.pk, image.sha256), timeout=60)
    assert product.colours == ["blue"]
    assert [hit.product_id for hit in search_text_hits("blue")] == [product.pk]
    assert search_text_hits("red") == []


def search_text_hits(query: str):
    from search.text import search_text

    return search_text(query, facets=False).hits


@pytest.mark.worker
def test_the_sweep_on_the_worker_refreshes_a_dirty_product_whose_message_was_lost(celery_worker_process):
    from catalog.models import Product
    from search.tasks import sweep_search_dirty

    product, _ = product_upsert(ProductData(sku="LOST-1", title="Item 2", price=Decimal("20.00")))
    wait_for(lambda: Product.objects.filter(pk=product.pk, search_dirty=False).exists(), timeout=60)
    # An image settled and its product marked dirty, but the refresh message never arrived
    # (written without the services: nothing is queued).
    ProductImage.objects.create(
        product=product, file="products/lost.jpg", status=Status.READY, colours={"green": 0.7, "white": 0.3}
    )
    Product.objects.filter(pk=product.pk).update(search_dirty=True)
    sweep_search_dirty.delay()
    wait_for(lambda: Product.objects.filter(pk=product.pk, search_dirty=False).exists(), timeout=60)
    product.refresh_from_db()
    assert product.colours == ["green", "white"]
    assert [hit.product_id for hit in search_text_hits("green")] == [product.pk]
