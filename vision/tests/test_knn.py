"""Nearest products to a vector: one result per product, filters applied during the scan."""

from decimal import Decimal

import pytest

from catalog import product_filters
from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from catalog.models import Product
from catalog.services import ProductData
from fixtures.factories import stored_image
from fixtures.images import scene_bytes
from vision import knn
from vision import selectors as vision_selectors
from vision.models import ImageEmbedding
from vision.pipeline import product_images_process

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(settings):
    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01  # flags do not matter here
    dresses = catalog_services.category_get_or_create_path(["Clothing", "Dresses"])
    shirts = catalog_services.category_get_or_create_path(["Clothing", "Shirts"])
    mugs = catalog_services.category_get_or_create_path(["Home", "Mugs"])
    north = catalog_services.brand_get_or_create("Northwind")
    rows = [  # sku, category, brand, price, stock, active, scene seeds of its images
        ("D1", dresses, north, "80.00", 3, True, [1, 2]),
        ("D2", dresses, None, "40.00", 0, True, [3]),
        ("S1", shirts, north, "30.00", 5, True, [4]),
        ("S2", shirts, None, "25.00", 5, False, [5]),
        ("M1", mugs, None, "12.00", 9, True, [6]),
    ]
    images = {}
    for sku, category, brand, price, stock, active, seeds in rows:
        product = catalog_services.product_upsert(
            ProductData(
                sku=sku,
                title=sku,
                price=Decimal(price),
                category=category,
                brand=brand,
                stock=stock,
                is_active=active,
            )
        )[0]
        for seed in seeds:
            images[seed] = stored_image(product, scene_bytes(seed), f"{sku}-{seed}.jpg")
    product_images_process([image.pk for image in images.values()])
    model = vision_selectors.embedding_model_active()
    vectors = {seed: ImageEmbedding.objects.get(image=image, model=model).embedding for seed, image in images.items()}
    return {
        "model": model,
        "images": images,
        "vectors": vectors,
        "clothing": dresses.parent,
        "north": north,
        "sku": dict(Product.objects.values_list("pk", "sku")),
    }


def skus(shop, matches):
    return [shop["sku"][match.product_id] for match in matches]


def test_one_result_per_product_best_image_first(shop):
    matches = knn.products_nearest(shop["model"], shop["vectors"][2], limit=10)
    assert sorted(skus(shop, matches)) == ["D1", "D2", "M1", "S1"]  # S2 is not active
    assert (skus(shop, matches)[0], matches[0].image_id) == ("D1", shop["images"][2].pk)
    assert matches[0].score == pytest.approx(1.0, abs=1e-3)
    assert [m.score for m in matches] == sorted((m.score for m in matches), reverse=True)


def test_filters_narrow_the_results(shop):
    def search(**filters):
        return sorted(
            skus(
                shop,
                knn.products_nearest(
                    shop["model"], shop["vectors"][6], limit=10, filters=product_filters.ProductFilters(**filters)
                ),
            )
        )

    clothing = catalog_selectors.category_descendant_ids(shop["clothing"])
    assert search(category_ids=clothing) == ["D1", "D2", "S1"]
    assert search(brand_id=shop["north"].pk) == ["D1", "S1"]
    assert search(price_min=Decimal("25"), price_max=Decimal("40")) == ["D2", "S1"]
    assert search(in_stock=True) == ["D1", "M1", "S1"]
    assert search(category_ids=clothing, in_stock=True, price_max=Decimal("50")) == ["S1"]
    assert search(category_ids=[]) == []


def test_limit_and_excluded_product(shop):
    d1 = next(pk for pk, sku in shop["sku"].items() if sku == "D1")
    matches = knn.products_nearest(shop["model"], shop["vectors"][1], limit=2, exclude_product_id=d1)
    assert len(matches) == 2 and "D1" not in skus(shop, matches)


def test_the_query_is_one_round_trip_besides_its_transaction(shop, django_assert_num_queries):
    with django_assert_num_queries(4):  # savepoint, search options, the search, release
        knn.products_nearest(shop["model"], shop["vectors"][1], limit=5)
