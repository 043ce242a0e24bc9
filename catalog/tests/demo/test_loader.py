"""Loading the demo catalogue into the database, and `manage.py load_demo_catalog`."""

import io
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command

from catalog import services
from catalog.demo.loader import DemoLoadResult, load_demo_catalog
from catalog.demo.products import demo_photo, demo_products
from catalog.models import Brand, Category, Product, ProductImage, ProductVariant
from catalog.services import ProductData

db = pytest.mark.django_db


@pytest.mark.slow
@db
def test_loading_a_slice_writes_the_generated_records():
    result = load_demo_catalog(limit=24)
    expected = demo_products(24)
    assert result.products == 24
    assert result.images == sum(p.image_count for p in expected)
    # 3 roots (Clothing, Shoes, Accessories), Clothing's 6 children, Tops' 3, Accessories' 1
    assert result.categories == Category.objects.count() == 13
    assert result.brands == Brand.objects.count()
    for item in expected:
        product = Product.objects.select_related("category__parent__parent", "brand").get(sku=item.sku)
        assert (
            product.title,
            product.price,
            product.currency,
            product.stock,
            product.attributes,
            product.description,
            product.brand.name,
            product.is_active,
        ) == (item.title, item.price, "EUR", item.stock, item.attributes, item.description, item.brand, True)
        path, category = [], product.category
        while category is not None:
            path.insert(0, category.name)
            category = category.parent
        assert tuple(path) == item.category_path
        assert [(v.sku, v.size, v.stock, v.position) for v in product.variants.all()] == [
            (f"{item.sku}-{size}", size, stock, position) for position, (size, stock) in enumerate(item.sizes)
        ]
        images = list(product.images.order_by("position"))
        assert [i.position for i in images] == list(range(item.image_count))
        for index, image in enumerate(images):
            with image.file.open("rb") as handle:
                assert handle.read() == demo_photo(item, index)
            assert image.format == "JPEG" and min(image.width, image.height) >= 200


@pytest.mark.slow
@db
def test_loading_twice_creates_nothing_new():
    first = load_demo_catalog(limit=12)
    counts = (Product.objects.count(), ProductImage.objects.count(), Category.objects.count(), Brand.objects.count())
    files = sorted(ProductImage.objects.values_list("file", flat=True))
    second = load_demo_catalog(limit=12)
    assert first.products == 12 and first.images == 12
    assert second == DemoLoadResult(products=0, categories=0, brands=0, images=0)
    assert counts == (
        Product.objects.count(),
        ProductImage.objects.count(),
        Category.objects.count(),
        Brand.objects.count(),
    )
    assert files == sorted(ProductImage.objects.values_list("file", flat=True))
    assert ProductVariant.objects.count() == sum(len(item.sizes) for item in demo_products(12))


@pytest.mark.slow
@db
def test_loading_the_whole_catalogue():
    result = load_demo_catalog()
    assert result.products == Product.objects.count() == 600
    leaves_with_products = Category.objects.filter(children__isnull=True, products__isnull=False).distinct()
    assert leaves_with_products.count() == 10
    assert Product.objects.filter(stock=0).exists()
    sizes = ProductImage.objects.values_list("width", "height")
    assert result.images == len(sizes)
    assert all(min(size) >= 200 for size in sizes)
    per_product = Counter(ProductImage.objects.values_list("product_id", flat=True))
    assert set(per_product.values()) == {1} and len(per_product) == result.products


@pytest.mark.slow
@db
def test_command_loads_and_reports_what_it_created():
    out = io.StringIO()
    call_command("load_demo_catalog", "--if-empty", "--limit", "12", stdout=out)
    images = ProductImage.objects.count()
    assert out.getvalue().startswith(
        f"Demo catalogue loaded: 12 products, 13 categories, {Brand.objects.count()} brands and {images} images created in "
    )
    out = io.StringIO()
    call_command("load_demo_catalog", "--limit", "12", stdout=out)
    assert out.getvalue().startswith("Demo catalogue loaded: 0 products, 0 categories, 0 brands and 0 images created")


@db
def test_command_if_empty_leaves_a_stocked_catalogue_alone():
    services.product_upsert(ProductData(sku="OWN-1", title="Our own shirt", price=Decimal("20.00")))
    out = io.StringIO()
    call_command("load_demo_catalog", "--if-empty", stdout=out)
    assert out.getvalue() == "Catalogue not empty: demo catalogue not loaded.\n"
    assert list(Product.objects.values_list("sku", flat=True)) == ["OWN-1"]
