from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from catalog import services
from catalog.image_files import InvalidImage
from catalog.models import Brand, Category, Product, ProductImage
from catalog.services import ProductData
from catalog.tests.images import image_bytes

pytestmark = pytest.mark.django_db


def make_product(sku="SKU-1", **overrides) -> Product:
    data = {"sku": sku, "title": "Linen shirt", "price": Decimal("49.00"), **overrides}
    return services.product_upsert(ProductData(**data))[0]


def test_category_path_builds_a_tree_once():
    leaf = services.category_get_or_create_path(["Apparel", "Dresses"])
    again = services.category_get_or_create_path(["apparel", " Dresses "])
    assert leaf == again
    assert (leaf.name, leaf.slug, leaf.parent.name, leaf.parent.slug) == ("Dresses", "dresses", "Apparel", "apparel")
    assert Category.objects.count() == 2


def test_same_leaf_name_under_two_parents_gets_distinct_slugs():
    women = services.category_get_or_create_path(["Women", "Shoes"])
    men = services.category_get_or_create_path(["Men", "Shoes"])
    assert women != men
    assert (women.slug, men.slug) == ("shoes", "men-shoes")


def test_empty_category_path_is_none():
    assert services.category_get_or_create_path(["", "  "]) is None


def test_brand_is_case_insensitive_and_blank_is_none():
    assert services.brand_get_or_create("Acme") == services.brand_get_or_create("ACME ")
    assert services.brand_get_or_create("") is None
    assert Brand.objects.count() == 1


def test_product_upsert_updates_by_sku():
    product, created = services.product_upsert(ProductData(sku="A1", title="Red dress", price=Decimal("20.00")))
    same, created_again = services.product_upsert(
        ProductData(sku="A1", title="Crimson dress", price=Decimal("25.50"), stock=3, attributes={"colour": "red"})
    )
    assert (created, created_again) == (True, False)
    same.refresh_from_db()
    assert (same.pk, same.title, same.slug, same.price, same.stock, same.attributes) == (
        product.pk, "Crimson dress", "crimson-dress", Decimal("25.50"), 3, {"colour": "red"})
    assert Product.objects.count() == 1


def test_image_add_records_metadata_and_dedupes(django_capture_on_commit_callbacks):
    product = make_product()
    content = image_bytes((320, 240), format="JPEG")
    with django_capture_on_commit_callbacks() as callbacks:
        image, created = services.product_image_add(product=product, content=content, source="feed.csv", position=0)
        again, created_again = services.product_image_add(product=product, content=content, source="x", position=2)
    assert (created, created_again) == (True, False)
    assert again.pk == image.pk
    again.refresh_from_db()
    assert (again.width, again.height, again.format, again.status, again.position, again.source) == (
        320, 240, "JPEG", ProductImage.Status.PENDING, 2, "x")
    assert len(again.sha256) == 64
    assert again.file.name.endswith(".jpg")
    assert len(callbacks) == 1  # queued once, for the one new image


def test_image_add_rejects_non_images():
    product = make_product()
    with pytest.raises(InvalidImage, match="^not an image"):
        services.product_image_add(product=product, content=b"<html>nope</html>")
    with pytest.raises(InvalidImage, match="^empty file$"):
        services.product_image_add(product=product, content=b"")
    assert ProductImage.objects.count() == 0


def test_process_marks_ready_and_is_safe_to_run_twice():
    product = make_product()
    image, _ = services.product_image_add(product=product, content=image_bytes((400, 500)))
    first = services.product_image_process(image.pk)
    first_processed_at = first.processed_at
    second = services.product_image_process(image.pk)
    assert (second.status, second.reason, second.width, second.height) == (ProductImage.Status.READY, "", 400, 500)
    assert second.processed_at >= first_processed_at
    assert ProductImage.objects.count() == 1


def test_process_rejects_missing_and_broken_files():
    product = make_product()
    broken = ProductImage(product=product)
    truncated = image_bytes((300, 300), format="PNG")[:200]
    broken.file.save("broken.png", ContentFile(truncated), save=True)
    result = services.product_image_process(broken.pk)
    assert result.status == ProductImage.Status.REJECTED
    assert ProductImage.objects.get(pk=broken.pk).reason.startswith("unreadable image (")

    missing, _ = services.product_image_add(product=product, content=image_bytes())
    missing.file.storage.delete(missing.file.name)
    result = services.product_image_process(missing.pk)
    assert (result.status, result.reason) == (ProductImage.Status.REJECTED, "file is missing from storage")


def test_process_of_deleted_image_is_a_no_op():
    assert services.product_image_process(123456) is None


def test_process_rejects_a_second_copy_of_the_same_picture_on_a_product():
    product = make_product()
    original, _ = services.product_image_add(product=product, content=image_bytes())
    copy = ProductImage(product=product)
    copy.file.save("copy.png", ContentFile(image_bytes()), save=True)
    result = services.product_image_process(copy.pk)
    assert (result.status, result.reason) == (
        ProductImage.Status.REJECTED, f"exact duplicate of image {original.pk} of this product")


def test_replace_file_resets_status_and_refuses_a_duplicate():
    product = make_product()
    first, _ = services.product_image_add(product=product, content=image_bytes(colour=(1, 2, 3)))
    second, _ = services.product_image_add(product=product, content=image_bytes(colour=(9, 9, 9)))
    services.product_image_process(first.pk)
    replaced = services.product_image_replace_file(first, content=image_bytes((640, 480), colour=(50, 60, 70)))
    replaced.refresh_from_db()
    assert (replaced.status, replaced.width, replaced.height, replaced.processed_at) == (
        ProductImage.Status.PENDING, 640, 480, None)
    with pytest.raises(InvalidImage, match=f"already image {second.pk} of this product"):
        services.product_image_replace_file(first, content=image_bytes(colour=(9, 9, 9)))


def test_reprocess_marks_pending_and_queues(django_capture_on_commit_callbacks):
    product = make_product()
    image, _ = services.product_image_add(product=product, content=image_bytes())
    services.product_image_process(image.pk)
    with django_capture_on_commit_callbacks() as callbacks:
        assert services.product_images_reprocess([image.pk]) == 1
    image.refresh_from_db()
    assert (image.status, image.processed_at) == (ProductImage.Status.PENDING, None)
    assert len(callbacks) == 1


def test_sweep_requeues_only_stale_unfinished_images(django_capture_on_commit_callbacks, settings):
    settings.IMAGE_STALE_AFTER_SECONDS = 60
    product = make_product()
    stale, _ = services.product_image_add(product=product, content=image_bytes(colour=(1, 1, 1)))
    fresh, _ = services.product_image_add(product=product, content=image_bytes(colour=(2, 2, 2)))
    done, _ = services.product_image_add(product=product, content=image_bytes(colour=(3, 3, 3)))
    services.product_image_process(done.pk)
    long_ago = timezone.now() - timedelta(minutes=5)
    ProductImage.objects.filter(pk__in=[stale.pk, done.pk]).update(updated_at=long_ago)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert services.images_sweep_stale() == 1
    assert len(callbacks) == 1
    stale.refresh_from_db()
    assert stale.updated_at > long_ago  # not picked again by the next sweep


def test_unreachable_broker_leaves_images_pending_and_stops_trying_for_a_while(monkeypatch, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    from catalog.tasks import process_product_image

    attempts = []

    def broker_down(image_id):
        attempts.append(image_id)
        raise OperationalError("Error 2 connecting to /nowhere.sock")

    monkeypatch.setattr(process_product_image, "delay", broker_down)
    monkeypatch.setattr(services, "_broker_unavailable_until", 0.0)
    product = make_product()
    with django_capture_on_commit_callbacks(execute=True):
        first, _ = services.product_image_add(product=product, content=image_bytes(colour=(1, 1, 1)))
        second, _ = services.product_image_add(product=product, content=image_bytes(colour=(2, 2, 2)))
    assert attempts == [first.pk]  # the second send was not even tried
    assert set(ProductImage.objects.values_list("status", flat=True)) == {ProductImage.Status.PENDING}
    monkeypatch.setattr(services, "_broker_unavailable_until", 0.0)  # time has passed
    with django_capture_on_commit_callbacks(execute=True):
        services.product_images_reprocess([second.pk])
    assert attempts == [first.pk, second.pk]
