from decimal import Decimal

import pytest

from catalog import services
from catalog.models import Product, ProductVariant
from catalog.services import ProductData, VariantData
from fixtures.factories import mark_processed, stored_image
from fixtures.images import scene_bytes

pytestmark = pytest.mark.django_db

LIST_URL = "/api/v1/products/"
# Pinned costs, whatever the page size: count, page (with brand and category), the page's images.
LIST_QUERIES = 3
# ... plus the category tree (category filter) and the brand (brand filter).
FILTERED_LIST_QUERIES = 5
# The product with brand, category and the category's parent, then its images, then its sizes.
DETAIL_QUERIES = 3


def ids(response) -> list[int]:
    assert response.status_code == 200, response.json()
    return [product["id"] for product in response.json()["results"]]


def test_the_list_pages_through_active_products_in_title_order(client, shop):
    everything = client.get(LIST_URL).json()
    titles = ["Enamel mug", "Linen wrap dress", "Polka-dot midi dress", "Stoneware mug", "Striped linen shirt"]
    assert [product["title"] for product in everything["results"]] == titles
    assert (
        everything["count"],
        everything["limit"],
        everything["offset"],
        everything["next"],
        everything["previous"],
    ) == (5, 24, 0, None, None)

    first = client.get(LIST_URL, {"limit": 2}).json()
    assert [product["title"] for product in first["results"]] == titles[:2]
    assert (first["count"], first["next"], first["previous"]) == (
        5,
        "http://testserver/api/v1/products/?limit=2&offset=2",
        None,
    )
    second = client.get(first["next"]).json()
    assert [product["title"] for product in second["results"]] == titles[2:4]
    assert (second["next"], second["previous"]) == (
        "http://testserver/api/v1/products/?limit=2&offset=4",
        "http://testserver/api/v1/products/?limit=2",
    )
    last = client.get(second["next"]).json()
    assert ([product["title"] for product in last["results"]], last["next"], last["previous"]) == (
        titles[4:],
        None,
        "http://testserver/api/v1/products/?limit=2&offset=2",
    )
    beyond = client.get(LIST_URL, {"offset": 50}).json()
    assert (beyond["results"], beyond["next"], beyond["previous"]) == (
        [],
        None,
        "http://testserver/api/v1/products/?offset=26",
    )


def test_a_list_entry_is_the_product_summary(client, shop):
    product, image = shop.products["M1"], shop.images["M1"]
    entry = next(entry for entry in client.get(LIST_URL).json()["results"] if entry["id"] == product.pk)
    assert entry == {
        "id": product.pk,
        "title": "Stoneware mug",
        "url": f"http://testserver/p/{product.pk}/stoneware-mug/",
        "price": "12.00",
        "currency": "EUR",
        "in_stock": True,
        "brand": {"slug": "pebble-home", "name": "Pebble Home"},
        "category": {"slug": "mugs", "name": "Mugs"},
        "thumbnail_url": f"http://testserver{image.thumbnail.url}",  # the derivative, never the upload
    }


@pytest.mark.parametrize(
    ("params", "skus"),
    [
        ({"category": "clothing"}, ["D2", "D1", "S1"]),  # a category includes its subcategories
        ({"category": "dresses"}, ["D2", "D1"]),
        ({"brand": "northwind"}, ["D1", "S1"]),
        ({"price_min": "12", "price_max": "35"}, ["D1", "M1", "S1"]),
        ({"in_stock": "true"}, ["M2", "D1", "M1", "S1"]),
        ({"colour": ["red", "teal"]}, ["M2", "D2"]),
        ({"category": "home", "brand": "pebble-home", "price_max": "10"}, ["M2"]),
    ],
)
def test_the_list_filters_like_search(client, shop, params, skus):
    Product.objects.filter(pk=shop.id("M2")).update(colours=["teal"])
    Product.objects.filter(pk=shop.id("D2")).update(colours=["red", "white"])
    assert ids(client.get(LIST_URL, params)) == [shop.id(sku) for sku in skus]


def add_products(count: int) -> None:
    mugs = services.category_get_or_create_path(["Home", "Mugs"])
    for n in range(count):
        product, _ = services.product_upsert(
            ProductData(
                sku=f"X{n}",
                title=f"Extra mug {n}",
                price=Decimal("5"),
                category=mugs,
                brand=services.brand_get_or_create("Pebble Home"),
            )
        )
        mark_processed(stored_image(product, scene_bytes(10 + n), f"x{n}.jpg"))


def test_list_queries_do_not_grow_with_the_page(client, shop, django_assert_num_queries):
    with django_assert_num_queries(LIST_QUERIES):
        assert len(ids(client.get(LIST_URL))) == 5
    add_products(6)
    with django_assert_num_queries(LIST_QUERIES):
        assert len(ids(client.get(LIST_URL))) == 11
    with django_assert_num_queries(FILTERED_LIST_QUERIES):
        assert len(ids(client.get(LIST_URL, {"category": "home", "brand": "pebble-home"}))) == 8


def test_the_detail_has_every_picture_with_sizes_and_alt_text(client, processed_shop, django_assert_num_queries):
    product = processed_shop.products["D1"]
    Product.objects.filter(pk=product.pk).update(
        colours=["navy", "white"], description="Dots.", attributes={"material": "viscose"}
    )
    first = processed_shop.images["D1"]
    stored_image(product, scene_bytes(7, size=(400, 300)), "d1-back.jpg")  # still pending: not listed
    with django_assert_num_queries(DETAIL_QUERIES):
        response = client.get(f"/api/v1/products/{product.pk}/")
    assert response.status_code == 200
    body = response.json()
    images = body.pop("images")
    assert body == {
        "id": product.pk,
        "title": "Polka-dot midi dress",
        "url": f"http://testserver/p/{product.pk}/polka-dot-midi-dress/",
        "price": "20.00",
        "currency": "EUR",
        "in_stock": True,
        "brand": {"slug": "northwind", "name": "Northwind"},
        "category": {"slug": "dresses", "name": "Dresses"},
        "thumbnail_url": f"http://testserver{first.thumbnail.url}",
        "sku": "D1",
        "description": "Dots.",
        "colours": ["navy", "white"],
        "attributes": {"material": "viscose"},
        "sizes": [],
    }
    assert images == [
        {
            "id": first.pk,
            "card_url": f"http://testserver{first.thumbnail.url}",
            "display_url": f"http://testserver{first.display.url}",
            "width": 320,
            "height": 400,
            "alt": "Polka-dot midi dress",
        },
    ]  # the second is still pending: not shown until processed (the upload is for staff only)
    assert first.thumbnail.url.startswith("/media/derived/")  # the 320 px derivative, not the upload


def test_the_detail_lists_the_sizes_smallest_first_with_their_availability(client, shop):
    product = shop.products["D1"]
    services.product_variants_upsert(
        product,
        [
            VariantData(sku="D1-M", size="M", stock=0, position=1),
            VariantData(sku="D1-S", size="S", stock=2, position=0),
        ],
    )
    body = client.get(f"/api/v1/products/{product.pk}/").json()
    small, medium = ProductVariant.objects.get(sku="D1-S"), ProductVariant.objects.get(sku="D1-M")
    assert (body["in_stock"], body["sizes"]) == (
        True,
        [
            {"id": small.pk, "sku": "D1-S", "size": "S", "in_stock": True},
            {"id": medium.pk, "sku": "D1-M", "size": "M", "in_stock": False},
        ],
    )


def test_a_single_picture_is_described_by_the_title_alone(client, shop):
    images = client.get(f"/api/v1/products/{shop.id('M1')}/").json()["images"]
    assert [image["alt"] for image in images] == ["Stoneware mug"]


def test_rejected_pictures_are_not_shown(client, shop):
    from catalog.models import ProductImage

    back = stored_image(shop.products["M1"], scene_bytes(9), "m1-back.jpg")
    mark_processed(back)
    ProductImage.objects.filter(pk=shop.images["M1"].pk).update(status=ProductImage.Status.REJECTED)
    body = client.get(f"/api/v1/products/{shop.id('M1')}/").json()
    assert ([image["id"] for image in body["images"]], body["thumbnail_url"]) == (
        [back.pk],
        f"http://testserver{back.thumbnail.url}",
    )


def test_a_product_whose_only_picture_is_rejected_is_not_found(client, shop):
    from catalog.models import ProductImage

    ProductImage.objects.filter(pk=shop.images["M1"].pk).update(status=ProductImage.Status.REJECTED)
    response = client.get(f"/api/v1/products/{shop.id('M1')}/")
    assert (response.status_code, response.json()) == (
        404,
        {"error": {"code": "not_found", "message": f"No product with id {shop.id('M1')}."}},
    )
    assert shop.id("M1") not in ids(client.get(LIST_URL))
