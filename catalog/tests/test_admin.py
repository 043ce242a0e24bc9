from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog import services
from catalog.models import Product, ProductImage
from catalog.services import ProductData
from catalog.tests.images import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def products():
    made = []
    for n in range(4):
        product, _ = services.product_upsert(ProductData(sku=f"SKU-{n}", title=f"Shirt {n}", price=Decimal("10.00")))
        for colour in [(n, 0, 0), (n, 50, 0)]:
            services.product_image_add(product=product, content=image_bytes(colour=colour))
        made.append(product)
    return made


def inline_management(prefix="images", total=1, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def test_product_changelist_shows_thumbnails_and_problem_counts(admin_client, products):
    image = products[0].images.first()
    ProductImage.objects.filter(pk=image.pk).update(status=ProductImage.Status.FLAGGED, reason="blurred")
    response = admin_client.get(reverse("admin:catalog_product_changelist"))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('style="width:64px;height:64px;') == 4
    assert "2 <strong" in html and "(1 need attention)" in html


def test_product_changelist_query_count_does_not_grow_with_products(admin_client, products, django_assert_num_queries):
    # session, user, filtered count, total count, products with category/brand and problem counts,
    # prefetched images, category and brand filter choices
    with django_assert_num_queries(8):
        admin_client.get(reverse("admin:catalog_product_changelist"))
    services.product_upsert(ProductData(sku="SKU-more", title="More", price=Decimal("1.00")))
    with django_assert_num_queries(8):
        admin_client.get(reverse("admin:catalog_product_changelist"))


def test_image_status_filter(admin_client, products):
    image = products[2].images.first()
    ProductImage.objects.filter(pk=image.pk).update(status=ProductImage.Status.REJECTED, reason="too small")
    response = admin_client.get(reverse("admin:catalog_product_changelist"), {"image_status": "rejected"})
    assert [p.sku for p in response.context["cl"].result_list] == ["SKU-2"]


def test_image_changelist_filters_by_status_and_shows_reason(admin_client, products):
    image = products[1].images.first()
    ProductImage.objects.filter(pk=image.pk).update(status=ProductImage.Status.FLAGGED, reason="too dark")
    response = admin_client.get(reverse("admin:catalog_productimage_changelist"), {"status__exact": "flagged"})
    assert [i.pk for i in response.context["cl"].result_list] == [image.pk]
    assert "too dark" in response.content.decode()


def test_reprocess_action_on_products_marks_their_images_pending(admin_client, products):
    for image in ProductImage.objects.all():
        services.product_image_process(image.pk)
    response = admin_client.post(
        reverse("admin:catalog_product_changelist"),
        {"action": "reprocess_images", "_selected_action": [products[0].pk, products[1].pk]},
        follow=True,
    )
    assert "4 image(s) queued for processing." in response.content.decode()
    statuses = dict(ProductImage.objects.values_list("product__sku", "status").order_by("product__sku"))
    assert statuses == {"SKU-0": "pending", "SKU-1": "pending", "SKU-2": "ready", "SKU-3": "ready"}


def test_reprocess_action_on_images(admin_client, products):
    image = products[3].images.first()
    ProductImage.objects.filter(pk=image.pk).update(status=ProductImage.Status.REJECTED, reason="x")
    response = admin_client.post(
        reverse("admin:catalog_productimage_changelist"),
        {"action": "reprocess", "_selected_action": [image.pk]}, follow=True,
    )
    assert "1 image(s) queued for processing." in response.content.decode()
    image.refresh_from_db()
    assert (image.status, image.reason) == (ProductImage.Status.PENDING, "")


def product_form(**overrides):
    return {"sku": "NEW-1", "title": "Wool hat", "description": "", "price": "19.90", "currency": "EUR",
            "stock": "5", "is_active": "on", "attributes": "{}", **overrides}


def test_staff_upload_in_admin_goes_through_the_service(admin_client, django_capture_on_commit_callbacks):
    upload = SimpleUploadedFile("hat.jpg", image_bytes((500, 400), format="JPEG"), content_type="image/jpeg")
    data = {**product_form(), **inline_management(), "images-0-file": upload, "images-0-position": "0"}
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(reverse("admin:catalog_product_add"), data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    image = Product.objects.get(sku="NEW-1").images.get()
    assert (image.width, image.height, image.format, image.status) == (500, 400, "JPEG", "pending")
    assert image.source == "admin upload: hat.jpg"
    assert len(image.sha256) == 64
    assert len(callbacks) == 1


def test_admin_upload_of_a_non_image_is_a_form_error(admin_client):
    upload = SimpleUploadedFile("hat.jpg", b"GIF89a not really", content_type="image/jpeg")
    data = {**product_form(), **inline_management(), "images-0-file": upload, "images-0-position": "0"}
    response = admin_client.post(reverse("admin:catalog_product_add"), data)
    assert response.status_code == 200
    assert "Upload a valid image." in response.content.decode()
    assert not Product.objects.filter(sku="NEW-1").exists()


def test_admin_upload_of_a_duplicate_picture_keeps_one_image(admin_client, products):
    product = products[0]
    existing = list(product.images.all())
    duplicate = SimpleUploadedFile("again.png", image_bytes(colour=(0, 0, 0)), content_type="image/png")
    data = {**product_form(sku=product.sku, title=product.title, price="10.00"),
            **inline_management(total=3, initial=2),
            "images-0-id": existing[0].pk, "images-0-product": product.pk, "images-0-position": "0",
            "images-1-id": existing[1].pk, "images-1-product": product.pk, "images-1-position": "1",
            "images-2-file": duplicate, "images-2-position": "2"}
    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data, follow=True)
    assert response.status_code == 200
    assert ((f"Image again.png is the same picture as image {existing[0].pk} of this product; "
             "it was not added again.")
            in [str(m) for m in response.context["messages"]])
    assert product.images.count() == 2
