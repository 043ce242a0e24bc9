import io
from collections import Counter
from decimal import Decimal

import pytest
from django.core.management import call_command
from PIL import Image

from catalog import demo, services
from catalog.models import Brand, Category, Product, ProductImage
from catalog.services import ProductData

# -- the pure generator (no database) ---------------------------------------------


@pytest.mark.slow
def test_generation_is_deterministic():
    first, second = demo.demo_products(), demo.demo_products()
    assert first == second
    assert [p.attributes for p in first] == [p.attributes for p in second]
    for product in first[:24]:
        for index in range(product.image_count):
            assert demo.render_demo_image(product, index) == demo.render_demo_image(product, index)


def test_a_limit_is_a_prefix_of_the_whole_catalogue():
    assert demo.demo_products(30) == demo.demo_products()[:30]
    assert demo.demo_products(0) == []


def test_the_catalogue_is_big_and_varied():
    products = demo.demo_products()
    assert len(products) >= 150
    assert [p.sku for p in products[:3]] == ["DEMO-0001", "DEMO-0002", "DEMO-0003"]
    assert len({p.sku for p in products}) == len(products)
    assert len({p.title for p in products}) == len(products)
    assert len({p.category_path for p in products}) >= 6
    assert all(len(p.category_path) >= 1 for p in products)
    assert len({p.brand for p in products}) >= 5
    assert len({p.attributes["colour"] for p in products}) >= 12
    assert {p.attributes["pattern"] for p in products} == {"solid", "striped", "polka dot", "checked", "gradient"}
    assert len({(p.kind, p.variant) for p in products}) >= 20
    assert all({"colour", "pattern", "material"} <= p.attributes.keys() for p in products)
    assert all(isinstance(v, str) and v for p in products for v in p.attributes.values())
    assert all(isinstance(p.price, Decimal) and p.price > 0 and p.price.as_tuple().exponent == -2
               for p in products)
    stocks = [p.stock for p in products]
    assert 5 <= stocks.count(0) <= 40 and max(stocks) > 20
    assert Counter(p.image_count for p in products).keys() == {1, 2, 3}
    assert all(p.description.count(".") >= 3 for p in products)


def test_titles_read_like_a_shop():
    titles = {p.title for p in demo.demo_products()}
    assert any(t.startswith("Striped ") for t in titles)
    assert all(" in " in t and t[0].isupper() for t in titles)


@pytest.mark.parametrize("kind", [kind.key for kind in demo.KINDS])
def test_photos_are_jpegs_of_product_size_and_shots_differ(kind):
    product = next(p for p in demo.demo_products() if p.kind == kind and p.image_count >= 2)
    shots = [demo.render_demo_image(product, index) for index in range(3)]
    assert len(set(shots)) == 3
    for content in shots:
        with Image.open(io.BytesIO(content)) as image:
            assert (image.format, image.size) == ("JPEG", demo.CANVAS)
            assert min(image.size) >= 200
            # The item is drawn in its own colour, not just a blank background.
            colours = image.convert("RGB").resize((48, 60)).getcolors(48 * 60)
            assert len(colours) > 20


# -- loading into the database -----------------------------------------------------

db = pytest.mark.django_db


@pytest.mark.slow
@db
def test_loading_a_slice_writes_the_generated_records():
    result = demo.load_demo_catalog(limit=24)
    expected = demo.demo_products(24)
    assert result.products == 24
    assert result.images == sum(p.image_count for p in expected)
    assert result.categories == Category.objects.count() == 16  # 4 roots and 12 leaves
    assert result.brands == Brand.objects.count()
    for item in expected:
        product = Product.objects.select_related("category__parent", "brand").get(sku=item.sku)
        assert (product.title, product.price, product.currency, product.stock, product.attributes,
                product.description, product.brand.name, product.is_active) == (
            item.title, item.price, "EUR", item.stock, item.attributes, item.description, item.brand, True)
        path = (product.category.parent.name, product.category.name)
        assert path == item.category_path
        images = list(product.images.order_by("position"))
        assert [i.position for i in images] == list(range(item.image_count))
        for index, image in enumerate(images):
            with image.file.open("rb") as handle:
                assert handle.read() == demo.render_demo_image(item, index)
            assert (image.format, image.width, image.height) == ("JPEG", 480, 600)


@pytest.mark.slow
@db
def test_loading_twice_creates_nothing_new():
    first = demo.load_demo_catalog(limit=12)
    counts = (Product.objects.count(), ProductImage.objects.count(), Category.objects.count(), Brand.objects.count())
    files = sorted(ProductImage.objects.values_list("file", flat=True))
    second = demo.load_demo_catalog(limit=12)
    assert first.products == 12 and first.images > 12
    assert second == demo.DemoLoadResult(products=0, categories=0, brands=0, images=0)
    assert counts == (Product.objects.count(), ProductImage.objects.count(), Category.objects.count(),
                      Brand.objects.count())
    assert files == sorted(ProductImage.objects.values_list("file", flat=True))


@pytest.mark.slow
@db
def test_loading_the_whole_catalogue():
    result = demo.load_demo_catalog()
    assert result.products == Product.objects.count() >= 150
    leaves_with_products = Category.objects.filter(children__isnull=True, products__isnull=False).distinct()
    assert leaves_with_products.count() >= 6
    assert Product.objects.filter(stock=0).exists()
    sizes = ProductImage.objects.values_list("width", "height")
    assert result.images == len(sizes)
    assert all(min(size) >= 200 for size in sizes)
    per_product = Counter(ProductImage.objects.values_list("product_id", flat=True))
    assert set(per_product.values()) == {1, 2, 3} and len(per_product) == result.products


@pytest.mark.slow
@db
def test_command_loads_and_reports_what_it_created():
    out = io.StringIO()
    call_command("load_demo_catalog", "--if-empty", "--limit", "12", stdout=out)
    images = ProductImage.objects.count()
    assert out.getvalue().startswith(
        f"Demo catalogue loaded: 12 products, 16 categories, {Brand.objects.count()} brands and {images} images created in "
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
