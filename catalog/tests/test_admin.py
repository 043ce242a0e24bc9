import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from catalog import services
from catalog.models import Product, ProductImage
from catalog.services import ProductData
from fixtures.images import image_bytes

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


def inline_management(prefix="images", total=1, initial=0, *, sizes=0):
    """The management forms of the product page's inlines: images, and (empty unless given)
    sizes."""
    data = {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    if prefix == "images":
        data.update({"variants-TOTAL_FORMS": str(sizes), "variants-INITIAL_FORMS": str(sizes)})
        data.update({"variants-MIN_NUM_FORMS": "0", "variants-MAX_NUM_FORMS": "1000"})
    return data


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


def test_products_without_a_shown_photo_are_marked_and_filtered_as_needing_one(admin_client, products):
    """Shoppers see a product only with a ready or flagged picture; staff find the rest here."""
    ProductImage.objects.filter(product=products[0]).update(status=ProductImage.Status.READY)
    ProductImage.objects.filter(product=products[1]).update(status=ProductImage.Status.FLAGGED)
    ProductImage.objects.filter(product=products[2]).update(status=ProductImage.Status.REJECTED)
    products[3].images.all().delete()  # no picture at all
    pending, _ = services.product_upsert(ProductData(sku="SKU-new", title="New shirt", price=Decimal("10.00")))
    services.product_image_add(product=pending, content=image_bytes(colour=(9, 9, 9)))
    changelist = reverse("admin:catalog_product_changelist")
    needed = admin_client.get(changelist, {"photo": "needed"})
    assert [p.sku for p in needed.context["cl"].result_list] == ["SKU-new", "SKU-2", "SKU-3"]
    assert needed.content.decode().count("needs a photo (not shown in the shop)") == 3
    shown = admin_client.get(changelist, {"photo": "shown"})
    assert [p.sku for p in shown.context["cl"].result_list] == ["SKU-0", "SKU-1"]
    assert "needs a photo (not shown in the shop)" not in shown.content.decode()


def test_image_changelist_filters_by_status_and_shows_reason(admin_client, products):
    image = products[1].images.first()
    ProductImage.objects.filter(pk=image.pk).update(status=ProductImage.Status.FLAGGED, reason="too dark")
    response = admin_client.get(reverse("admin:catalog_productimage_changelist"), {"status__exact": "flagged"})
    assert [i.pk for i in response.context["cl"].result_list] == [image.pk]
    assert "too dark" in response.content.decode()


def test_reprocess_action_on_products_marks_their_images_pending(admin_client, products):
    ProductImage.objects.update(status=ProductImage.Status.READY)
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
        {"action": "reprocess", "_selected_action": [image.pk]},
        follow=True,
    )
    assert "1 image(s) queued for processing." in response.content.decode()
    image.refresh_from_db()
    assert (image.status, image.reason) == (ProductImage.Status.PENDING, "")


def product_form(**overrides):
    return {
        "sku": "NEW-1",
        "title": "Wool hat",
        "description": "",
        "price": "19.90",
        "currency": "EUR",
        "stock": "5",
        "is_active": "on",
        "attributes": "{}",
        **overrides,
    }


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
    # One queues the image's processing, one the new product's search refresh.
    assert sorted(callback.__qualname__.split(".")[0] for callback in callbacks) == [
        "product_images_enqueue_processing",
        "products_enqueue_search_refresh",
    ]


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
    data = {
        **product_form(sku=product.sku, title=product.title, price="10.00"),
        **inline_management(total=3, initial=2),
        "images-0-id": existing[0].pk,
        "images-0-product": product.pk,
        "images-0-position": "0",
        "images-1-id": existing[1].pk,
        "images-1-product": product.pk,
        "images-1-position": "1",
        "images-2-file": duplicate,
        "images-2-position": "2",
    }
    response = admin_client.post(reverse("admin:catalog_product_change", args=[product.pk]), data, follow=True)
    assert response.status_code == 200
    assert (
        f"Image again.png is the same picture as image {existing[0].pk} of this product; it was not added again."
    ) in [str(m) for m in response.context["messages"]]
    assert product.images.count() == 2


# --- pipeline verdicts: reasons, duplicates, derivatives -----------------------------------

Status = ProductImage.Status
Reason = ProductImage.Reason


def change_url(image) -> str:
    return reverse("admin:catalog_productimage_change", args=[image.pk])


@pytest.fixture
def near_duplicate(products):
    """The second image of SKU-0 flagged as a near duplicate of the first."""
    original, copy = products[0].images.order_by("pk")
    ProductImage.objects.filter(pk=copy.pk).update(
        status=Status.FLAGGED,
        reason=f"looks like image {original.pk} (phash distance 3)",
        reason_codes=[Reason.NEAR_DUPLICATE],
        duplicate_of=original,
        attempts=1,
        blur=812.5,
        brightness=97.25,
        phash=123456789,
    )
    copy.refresh_from_db()
    return original, copy


def test_flagged_reason_and_duplicate_link_on_the_image_changelist(admin_client, near_duplicate):
    original, copy = near_duplicate
    response = admin_client.get(reverse("admin:catalog_productimage_changelist"))
    html = response.content.decode()
    assert (
        f'<td class="field-reasons"><span style="color:#b26a00">looks like image {original.pk} '
        f"(phash distance 3)</span></td>"
    ) in html
    assert (
        f'<td class="field-duplicate"><a href="/admin/catalog/productimage/{original.pk}/change/">'
        f"duplicate of image {original.pk}</a></td>"
    ) in html
    # Only the flagged one links anywhere.
    assert html.count("duplicate of image") == 1


def test_flagged_reason_and_duplicate_link_on_the_image_change_page(admin_client, near_duplicate):
    original, copy = near_duplicate
    response = admin_client.get(change_url(copy))
    assert response.status_code == 200
    html = response.content.decode()
    assert (
        f'<div class="readonly"><span style="color:#b26a00">looks like image {original.pk} '
        f"(phash distance 3)</span></div>"
    ) in html
    assert (
        f'<div class="readonly"><a href="/admin/catalog/productimage/{original.pk}/change/">'
        f"duplicate of image {original.pk}</a></div>"
    ) in html
    assert '<div class="readonly">near_duplicate</div>' in html
    for value in ["812.5", "97.25", "123456789"]:
        assert f'<div class="readonly">{value}</div>' in html
    # The pipeline's fields are not editable, nor the product once the image exists.
    form_fields = set(response.context["adminform"].form.fields)
    assert form_fields == {"file", "position"}


def test_rejected_and_failed_reasons_are_red_and_ready_is_plain(admin_client, products):
    rejected, failed = products[1].images.order_by("pk")
    ProductImage.objects.filter(pk=rejected.pk).update(
        status=Status.REJECTED, reason="120x90 is too small", reason_codes=[Reason.TOO_SMALL]
    )
    ProductImage.objects.filter(pk=failed.pk).update(
        status=Status.FAILED, reason="processing error: boom", reason_codes=[Reason.ERROR]
    )
    ready = products[2].images.first()
    ProductImage.objects.filter(pk=ready.pk).update(status=Status.READY, reason="note")
    html = admin_client.get(reverse("admin:catalog_productimage_changelist")).content.decode()
    assert '<td class="field-reasons"><span style="color:#b00">120x90 is too small</span></td>' in html
    assert '<td class="field-reasons"><span style="color:#b00">processing error: boom</span></td>' in html
    assert '<td class="field-reasons">note</td>' in html


def test_product_page_inline_shows_reasons_and_duplicate_link(admin_client, near_duplicate):
    original, copy = near_duplicate
    response = admin_client.get(reverse("admin:catalog_product_change", args=[copy.product_id]))
    html = response.content.decode()
    assert (f'<span style="color:#b26a00">looks like image {original.pk} (phash distance 3)</span>') in html
    assert f'<a href="/admin/catalog/productimage/{original.pk}/change/">duplicate of image {original.pk}</a>' in html


def test_reason_filter_returns_exactly_the_images_with_that_code(admin_client, products):
    blurred, both = products[0].images.order_by("pk")
    dark = products[1].images.order_by("pk").first()
    ProductImage.objects.filter(pk=blurred.pk).update(status=Status.FLAGGED, reason_codes=[Reason.BLURRED])
    ProductImage.objects.filter(pk=both.pk).update(
        status=Status.FLAGGED, reason_codes=[Reason.TOO_DARK, Reason.BLURRED]
    )
    ProductImage.objects.filter(pk=dark.pk).update(status=Status.FLAGGED, reason_codes=[Reason.TOO_DARK])
    url = reverse("admin:catalog_productimage_changelist")

    def filtered(code):
        response = admin_client.get(url, {"reason_code": code})
        assert response.status_code == 200
        return sorted(i.pk for i in response.context["cl"].result_list)

    assert filtered("blurred") == sorted([blurred.pk, both.pk])
    assert filtered("too_dark") == sorted([dark.pk, both.pk])
    assert filtered("near_duplicate") == []
    html = admin_client.get(url).content.decode()
    assert "?reason_code=near_duplicate" in html and "Near duplicate" in html


@pytest.fixture
def image_rows():
    """ProductImage rows made with the ORM (no files, no pipeline); add(n) makes n more."""
    product, _ = services.product_upsert(ProductData(sku="ROWS", title="Rows", price=Decimal("1.00")))
    made = []

    def add(n):
        for _ in range(n):
            k = len(made)
            made.append(
                ProductImage.objects.create(
                    product=product,
                    file=f"products/rows-{k}.png",
                    sha256=f"{k:064x}",
                    position=k,
                    status=Status.FLAGGED,
                    reason=f"reason {k}",
                    reason_codes=[Reason.NEAR_DUPLICATE],
                    duplicate_of=made[0] if made else None,
                    thumbnail=f"derived/rows-{k}-thumb.jpg",
                    format="PNG",
                    width=300,
                    height=240,
                )
            )
        return made

    return add


def test_image_changelist_query_count_does_not_grow_with_images(admin_client, image_rows, django_assert_num_queries):
    url = reverse("admin:catalog_productimage_changelist")
    image_rows(2)
    # session, user, filtered count, total count, images joined with their product, format filter choices
    with django_assert_num_queries(6):
        response = admin_client.get(url)
    assert len(response.context["cl"].result_list) == 2
    image_rows(4)
    with django_assert_num_queries(6):
        response = admin_client.get(url)
    assert len(response.context["cl"].result_list) == 6
    assert response.content.decode().count("duplicate of image") == 5


def test_thumbnail_derivative_is_used_when_present(admin_client, products):
    with_derivative, without = products[0].images.order_by("pk")
    ProductImage.objects.filter(pk=with_derivative.pk).update(
        thumbnail="derived/abc-thumb.jpg", display="derived/abc-display.jpg"
    )
    html = admin_client.get(reverse("admin:catalog_productimage_changelist")).content.decode()
    assert '<img src="/media/derived/abc-thumb.jpg"' in html
    assert f'<img src="{with_derivative.file.url}"' not in html
    assert f'<img src="{without.file.url}"' in html  # not processed yet: the original
    # The product list previews the first image the same way.
    html = admin_client.get(reverse("admin:catalog_product_changelist")).content.decode()
    assert '<img src="/media/derived/abc-thumb.jpg"' in html
    # The change page shows both derivatives.
    html = admin_client.get(change_url(with_derivative)).content.decode()
    assert '<img src="/media/derived/abc-thumb.jpg" alt="" style="max-width:320px;max-height:320px">' in html
    assert '<a href="/media/derived/abc-display.jpg"><img src="/media/derived/abc-display.jpg"' in html


def test_product_summary_counts_failed_images_as_needing_attention(admin_client, products):
    flagged, failed = products[3].images.order_by("pk")
    ProductImage.objects.filter(pk=flagged.pk).update(status=Status.FLAGGED, reason="blurred")
    ProductImage.objects.filter(pk=failed.pk).update(status=Status.FAILED, reason="error")
    html = admin_client.get(reverse("admin:catalog_product_changelist")).content.decode()
    assert "2 <strong" in html and "(2 need attention)" in html


def test_replacing_a_file_on_the_image_page_resets_it_and_queues_processing(
    admin_client, products, django_capture_on_commit_callbacks
):
    image = products[0].images.order_by("pk").first()
    ProductImage.objects.filter(pk=image.pk).update(status=ProductImage.Status.READY, reason_codes=[])
    upload = SimpleUploadedFile("new.png", image_bytes((640, 480), colour=(7, 7, 7)), content_type="image/png")
    url = reverse("admin:catalog_productimage_change", args=[image.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(url, {"file": upload, "position": "3"})
    assert response.status_code == 302
    image.refresh_from_db()
    assert (image.status, image.width, image.height, image.position, image.product_id) == (
        ProductImage.Status.PENDING,
        640,
        480,
        3,
        products[0].pk,
    )
    assert len(callbacks) == 3  # delete the old file, queue processing, refresh the product's search data


@pytest.mark.parametrize(
    ("content", "error"),
    [
        (b"not a picture", "Upload a valid image. The file you uploaded was either not an image or a corrupted image."),
        ("sibling", "the same picture is already image {sibling} of this product"),
    ],
)
def test_a_bad_file_on_the_image_page_is_a_form_error_and_changes_nothing(admin_client, products, content, error):
    image, sibling = products[0].images.order_by("pk")
    if content == "sibling":
        with sibling.file.open("rb") as handle:
            content = handle.read()
    before = (image.file.name, image.sha256)
    upload = SimpleUploadedFile("x.png", content, content_type="image/png")
    response = admin_client.post(
        reverse("admin:catalog_productimage_change", args=[image.pk]), {"file": upload, "position": "0"}
    )
    assert response.status_code == 200
    assert error.format(sibling=sibling.pk) in response.content.decode()
    image.refresh_from_db()
    assert (image.file.name, image.sha256) == before


def test_adding_an_image_on_the_image_page_goes_through_the_service(admin_client, products):
    upload = SimpleUploadedFile("extra.jpg", image_bytes((400, 500), format="JPEG"), content_type="image/jpeg")
    response = admin_client.post(
        reverse("admin:catalog_productimage_add"), {"product": products[1].pk, "file": upload, "position": "5"}
    )
    assert response.status_code == 302
    image = products[1].images.get(position=5)
    assert (image.source, image.status, image.width, len(image.sha256)) == (
        "admin upload: extra.jpg",
        "pending",
        400,
        64,
    )


def test_colours_and_predicted_category_are_shown_but_not_editable(admin_client, products):
    shoes = services.category_get_or_create_path(["Shoes"])
    Product.objects.filter(pk=products[0].pk).update(colours=["red", "white"], predicted_category=shoes)
    url = reverse("admin:catalog_product_change", args=[products[0].pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "colours" not in form.fields and "predicted_category" not in form.fields
    html = response.content.decode()
    assert '<div class="readonly">red, white</div>' in html
    assert f'<div class="readonly"><a href="/admin/catalog/category/{shoes.pk}/change/">Shoes</a></div>' in html
    # A post naming them does not change them: the next search refresh owns them.
    data = {
        "sku": "SKU-0",
        "title": "Shirt 0",
        "description": "",
        "price": "10.00",
        "currency": "EUR",
        "stock": "0",
        "is_active": "on",
        "attributes": "{}",
        "colours": "blue",
        **inline_management(total=2, initial=2),
    }
    for n, image in enumerate(products[0].images.order_by("position", "id")):
        data |= {
            f"images-{n}-id": str(image.pk),
            f"images-{n}-product": str(products[0].pk),
            f"images-{n}-position": str(image.position),
        }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.context["errors"] if response.context else response
    products[0].refresh_from_db()
    assert (products[0].colours, products[0].predicted_category_id) == (["red", "white"], shoes.pk)


# Brand and category names are in the search documents and facets of their products ------------


@pytest.fixture
def labelled():
    """Products under Apparel > Dresses, Apparel > Shoes and Garden, two of them by Acme."""
    acme = services.brand_get_or_create("Acme")
    other = services.brand_get_or_create("Other")

    def product(sku, path, brand):
        return services.product_upsert(
            ProductData(
                sku=sku,
                title=sku,
                price=Decimal("10.00"),
                brand=brand,
                category=services.category_get_or_create_path(path),
            )
        )[0]

    made = {
        "DRESS": product("DRESS", ["Apparel", "Dresses"], acme),
        "SHOE": product("SHOE", ["Apparel", "Shoes"], other),
        "SPADE": product("SPADE", ["Garden"], acme),
        "PHOTO": product("PHOTO", [], None),
    }
    # A photo-only product whose predicted category is in the Apparel subtree.
    Product.objects.filter(sku="PHOTO").update(predicted_category=made["DRESS"].category)
    Product.objects.update(search_dirty=False)
    return made


def dirty() -> list[str]:
    return sorted(Product.objects.filter(search_dirty=True).values_list("sku", flat=True))


def test_renaming_a_brand_in_admin_marks_exactly_its_products_dirty(
    admin_client, labelled, django_capture_on_commit_callbacks
):
    brand = labelled["DRESS"].brand
    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("admin:catalog_brand_change", args=[brand.pk]), {"name": "Acme Studio", "slug": brand.slug}
        )
    assert response.status_code == 302
    assert dirty() == ["DRESS", "SPADE"]
    assert len(callbacks) == 1  # one refresh queued for both
    # Saving it unchanged marks nothing.
    Product.objects.update(search_dirty=False)
    admin_client.post(
        reverse("admin:catalog_brand_change", args=[brand.pk]), {"name": "Acme Studio", "slug": brand.slug}
    )
    assert dirty() == []


def test_deleting_a_brand_in_admin_marks_its_former_products_dirty(admin_client, labelled):
    brand = labelled["DRESS"].brand
    response = admin_client.post(reverse("admin:catalog_brand_delete", args=[brand.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert dirty() == ["DRESS", "SPADE"]
    assert Product.objects.get(sku="DRESS").brand_id is None


def test_renaming_a_parent_category_marks_the_products_of_its_subtree_dirty(admin_client, labelled):
    apparel = labelled["DRESS"].category.parent
    response = admin_client.post(
        reverse("admin:catalog_category_change", args=[apparel.pk]),
        {"name": "Clothing", "slug": apparel.slug, "parent": "", "description": ""},
    )
    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert dirty() == ["DRESS", "PHOTO", "SHOE"]  # PHOTO: predicted under Apparel


def test_moving_a_category_marks_its_products_dirty(admin_client, labelled):
    dresses, garden = labelled["DRESS"].category, labelled["SPADE"].category
    response = admin_client.post(
        reverse("admin:catalog_category_change", args=[dresses.pk]),
        {"name": dresses.name, "slug": dresses.slug, "parent": garden.pk, "description": ""},
    )
    assert response.status_code == 302, response.context["errors"] if response.context else response
    assert dirty() == ["DRESS", "PHOTO"]


@pytest.mark.parametrize(
    "size, reason",
    [
        # over twice Pillow's own limit (Django's image field used to call it "not an image"), then under it
        ((20000, 10000), "too many pixels: 200000000 pixels is over the 60000000-pixel limit"),
        ((10000, 8000), "too many pixels: 10000x8000 is over the 60000000-pixel limit"),
    ],
)
def test_a_pixel_bomb_uploaded_on_the_image_page_says_too_many_pixels(admin_client, products, size, reason):
    from fixtures.images import blank_png

    image = products[0].images.order_by("pk").first()
    before = (image.file.name, image.sha256)
    upload = SimpleUploadedFile("bomb.png", blank_png(*size, colour_type=0, bit_depth=1), content_type="image/png")
    response = admin_client.post(
        reverse("admin:catalog_productimage_change", args=[image.pk]), {"file": upload, "position": "0"}
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["file"] == [reason]
    image.refresh_from_db()
    assert (image.file.name, image.sha256) == before


def test_price_and_stock_are_edited_in_the_product_list_and_marked_for_search(
    admin_client, products, django_capture_on_commit_callbacks
):
    Product.objects.update(search_dirty=False)
    changelist = reverse("admin:catalog_product_changelist")
    rows = admin_client.get(changelist).context["cl"].result_list
    data = {"form-TOTAL_FORMS": "4", "form-INITIAL_FORMS": "4", "_save": "Save"}
    for n, product in enumerate(rows):
        changed = product.pk == products[1].pk
        data[f"form-{n}-id"] = str(product.pk)
        data[f"form-{n}-price"] = "12.50" if changed else str(product.price)
        data[f"form-{n}-stock"] = "7" if changed else str(product.stock)
    with django_capture_on_commit_callbacks(execute=False):
        response = admin_client.post(changelist, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    saved = {p.sku: (p.price, p.stock, p.search_dirty) for p in Product.objects.all()}
    assert saved == {
        "SKU-0": (Decimal("10.00"), 0, False),
        "SKU-1": (Decimal("12.50"), 7, True),
        "SKU-2": (Decimal("10.00"), 0, False),
        "SKU-3": (Decimal("10.00"), 0, False),
    }


def test_a_negative_stock_in_the_product_list_is_a_form_error_and_saves_nothing(admin_client, products):
    changelist = reverse("admin:catalog_product_changelist")
    rows = admin_client.get(changelist).context["cl"].result_list
    data = {"form-TOTAL_FORMS": "4", "form-INITIAL_FORMS": "4", "_save": "Save"}
    for n, product in enumerate(rows):
        data[f"form-{n}-id"] = str(product.pk)
        data[f"form-{n}-price"] = str(product.price)
        data[f"form-{n}-stock"] = "-3" if n == 0 else "5"
    response = admin_client.post(changelist, data)
    assert response.status_code == 200
    assert response.context["cl"].formset.errors[0] == {"stock": ["Ensure this value is greater than or equal to 0."]}
    assert set(Product.objects.values_list("stock", flat=True)) == {0}


def test_the_admin_home_counts_what_needs_attention_with_links(admin_client, products, django_assert_num_queries):
    ProductImage.objects.filter(product=products[0]).update(status=ProductImage.Status.FLAGGED)
    ProductImage.objects.filter(product=products[1]).update(status=ProductImage.Status.REJECTED)
    ProductImage.objects.filter(pk=products[2].images.first().pk).update(status=ProductImage.Status.FAILED)
    ProductImage.objects.filter(product=products[3]).update(status=ProductImage.Status.READY)
    # session, user, Django's "recent actions"; the panel: picture counts by status, products
    # without a usable picture
    with django_assert_num_queries(5):
        html = admin_client.get(reverse("admin:index")).content.decode()
    panel = html[html.index('id="needs-attention"') : html.index("</table>", html.index('id="needs-attention"'))]
    links = [
        (href, " ".join(text.split()))
        for href, text in re.findall(r'<a href="([^"]+)">([^<]+)</a>', panel.replace("&amp;", "&"))
    ]
    assert links == [
        ("/admin/catalog/productimage/?status__exact=flagged", "2 pictures flagged (shown, worth a look)"),
        ("/admin/catalog/productimage/?status__exact=rejected", "2 pictures rejected (not shown)"),
        ("/admin/catalog/productimage/?status__exact=failed", "1 picture that failed processing"),
        ("/admin/catalog/product/?photo=needed", "2 products not in the shop for want of a usable picture"),
    ]
    assert "Site administration" in html or "Catalog" in html  # Django's own app list is still there


def test_staff_dismiss_or_accept_flags_from_the_image_list_and_the_review_is_recorded(admin_client, products):
    flagged_ids = [image.pk for image in products[0].images.all()]
    ProductImage.objects.filter(pk__in=flagged_ids).update(
        status=ProductImage.Status.FLAGGED, reason="blurred (sharpness 3 < 100)", reason_codes=["blurred"]
    )
    changelist = reverse("admin:catalog_productimage_changelist")
    dismissed = admin_client.post(
        changelist, {"action": "dismiss_flags", "_selected_action": [flagged_ids[0]]}, follow=True
    )
    assert [str(m) for m in dismissed.context["messages"]] == [
        "1 flagged picture(s) dismissed: shown as ready, not flagged again for the same reasons."
    ]
    accepted = admin_client.post(
        changelist, {"action": "accept_flags", "_selected_action": flagged_ids}, follow=True
    )  # the first is no longer flagged: only the second is accepted
    assert [str(m) for m in accepted.context["messages"]] == [
        "1 flagged picture(s) accepted: taken out of the shop (rejected when reprocessed)."
    ]
    reviews = {
        pk: (status, review, codes, by)
        for pk, status, review, codes, by in ProductImage.objects.filter(pk__in=flagged_ids).values_list(
            "pk", "status", "flag_review", "flag_reviewed_codes", "flag_reviewed_by__username"
        )
    }
    assert reviews == {
        flagged_ids[0]: ("ready", "dismissed", ["blurred"], "admin"),
        flagged_ids[1]: ("pending", "accepted", ["blurred"], "admin"),
    }
    nothing = admin_client.post(changelist, {"action": "dismiss_flags", "_selected_action": flagged_ids}, follow=True)
    assert [str(m) for m in nothing.context["messages"]] == [
        "None of the selected pictures is flagged: nothing changed."
    ]
    page = admin_client.get(reverse("admin:catalog_productimage_change", args=[flagged_ids[0]])).content.decode()
    assert "Staff review of the flags" in page and "Dismissed: the picture is fine" in page


# -- sizes ------------------------------------------------------------------------------------


def test_sizes_are_edited_on_the_product_page_and_the_product_stock_becomes_their_sum(admin_client):
    url = reverse("admin:catalog_product_add")
    data = {
        **product_form(stock="40"),
        **inline_management(total=0),
        "variants-TOTAL_FORMS": "2",
        "variants-0-size": "S",
        "variants-0-sku": "NEW-1-S",
        "variants-0-stock": "3",
        "variants-0-position": "0",
        "variants-1-size": "M",
        "variants-1-sku": "NEW-1-M",
        "variants-1-stock": "4",
        "variants-1-position": "1",
    }
    response = admin_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    product = Product.objects.get(sku="NEW-1")
    assert product.stock == 7  # not the 40 typed above: sold by size
    assert list(product.variants.values_list("size", "sku", "stock")) == [("S", "NEW-1-S", 3), ("M", "NEW-1-M", 4)]
    # From now on the page shows the stock without a field for it.
    page = admin_client.get(reverse("admin:catalog_product_change", args=[product.pk]))
    assert "stock" in page.context["adminform"].readonly_fields
    assert "id_stock" not in page.content.decode()


def test_a_size_twice_or_a_size_sku_of_another_product_is_a_form_error(admin_client):
    services.product_variants_upsert(
        services.product_upsert(ProductData(sku="OTHER", title="Other", price=Decimal("1.00")))[0],
        [services.VariantData(sku="OTHER-S", size="S", stock=1)],
    )
    data = {
        **product_form(),
        **inline_management(total=0),
        "variants-TOTAL_FORMS": "2",
        "variants-0-size": "S",
        "variants-0-sku": "OTHER-S",
        "variants-0-stock": "3",
        "variants-0-position": "0",
        "variants-1-size": "S",
        "variants-1-sku": "NEW-1-S",
        "variants-1-stock": "4",
        "variants-1-position": "1",
    }
    response = admin_client.post(reverse("admin:catalog_product_add"), data)
    assert response.status_code == 200
    sizes = response.context["inline_admin_formsets"][0].formset
    assert sizes.errors == [{"sku": ["Size with this SKU already exists."]}, {}]
    # With that fixed, the same size twice.
    response = admin_client.post(reverse("admin:catalog_product_add"), {**data, "variants-0-sku": "NEW-1-S2"})
    assert response.status_code == 200
    sizes = response.context["inline_admin_formsets"][0].formset
    assert sizes.non_form_errors() == ["Please correct the duplicate data for size."]
    assert not Product.objects.filter(sku="NEW-1").exists()


def test_a_product_sold_by_size_refuses_a_stock_typed_in_the_list(admin_client, products):
    services.product_variants_upsert(products[0], [services.VariantData(sku="SKU-0-S", size="S", stock=2)])
    changelist = reverse("admin:catalog_product_changelist")
    rows = admin_client.get(changelist).context["cl"].result_list
    data = {"form-TOTAL_FORMS": "4", "form-INITIAL_FORMS": "4", "_save": "Save"}
    for n, product in enumerate(rows):
        data[f"form-{n}-id"] = str(product.pk)
        data[f"form-{n}-price"] = str(product.price)
        data[f"form-{n}-stock"] = "9"
    response = admin_client.post(changelist, data)
    assert response.status_code == 200
    errors = response.context["cl"].formset.errors
    assert [error for error in errors if error] == [
        {"stock": ["Sold by size: change the sizes' stock on the product's page."]}
    ]
    assert dict(Product.objects.values_list("sku", "stock")) == {"SKU-0": 2, "SKU-1": 0, "SKU-2": 0, "SKU-3": 0}
