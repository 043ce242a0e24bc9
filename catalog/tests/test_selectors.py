from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import selectors, services
from catalog.models import Category, Product, ProductImage
from catalog.services import ProductData
from catalog.tests.images import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    """Clothing > Dresses, Clothing > Tops > Shirts, Home."""
    return {
        "dresses": services.category_get_or_create_path(["Clothing", "Dresses"]),
        "shirts": services.category_get_or_create_path(["Clothing", "Tops", "Shirts"]),
        "home": services.category_get_or_create_path(["Home"]),
    }


def make(sku, title, category=None, *, price="10.00", stock=5, active=True, images=0):
    product, _ = services.product_upsert(ProductData(
        sku=sku, title=title, price=Decimal(price), category=category, stock=stock, is_active=active,
    ))
    for n in range(images):
        services.product_image_add(product=product, content=image_bytes(colour=(n * 40, len(sku) * 7, 90)),
                                   position=n)
    return product


def titles(products):
    return [p.title for p in products]


def test_category_listing_includes_descendants(tree):
    make("D1", "Red dress", tree["dresses"])
    make("S1", "Blue shirt", tree["shirts"])
    make("H1", "Mug", tree["home"])
    make("N1", "Uncategorised thing")
    clothing = Category.objects.get(name="Clothing")
    tops = Category.objects.get(name="Tops")
    assert titles(selectors.product_list(category=clothing)) == ["Blue shirt", "Red dress"]
    assert titles(selectors.product_list(category=tops)) == ["Blue shirt"]
    assert titles(selectors.product_list(category=tree["home"])) == ["Mug"]
    assert titles(selectors.product_list()) == ["Blue shirt", "Mug", "Red dress", "Uncategorised thing"]
    assert sorted(selectors.category_descendant_ids(clothing)) == sorted(
        [clothing.pk, tops.pk, tree["dresses"].pk, tree["shirts"].pk])


def test_category_listing_counts_and_pages_in_one_query_each(tree, django_assert_num_queries):
    for n in range(5):
        make(f"S{n}", f"Shirt {n}", tree["shirts"], images=2)
    clothing = Category.objects.get(name="Clothing")
    products = selectors.product_list(category=clothing)
    with django_assert_num_queries(1):
        assert products.count() == 5
    with django_assert_num_queries(2):  # products with category and brand, then their images
        page = list(products[:3])
        assert [len(p.visible_images) for p in page] == [2, 2, 2]


def test_inactive_products_are_hidden_everywhere(tree):
    hidden = make("D1", "Hidden dress", tree["dresses"], active=False, images=1)
    make("D2", "Shown dress", tree["dresses"], images=1)
    assert titles(selectors.product_list(category=tree["dresses"])) == ["Shown dress"]
    assert titles(selectors.product_featured()) == ["Shown dress"]
    with pytest.raises(Product.DoesNotExist):
        selectors.product_get(hidden.pk)


def test_featured_are_in_stock_newest_first(tree):
    now = timezone.now()
    for n, (title, stock) in enumerate([("Old", 3), ("Middle", 1), ("Sold out", 0), ("New", 9)]):
        product = make(f"F{n}", title, tree["dresses"], stock=stock)
        Product.objects.filter(pk=product.pk).update(created_at=now - timedelta(days=10 - n))
    assert titles(selectors.product_featured()) == ["New", "Middle", "Old"]
    assert titles(selectors.product_featured(limit=2)) == ["New", "Middle"]


def test_visible_images_in_position_order_without_rejected(tree):
    product = make("D1", "Dress", tree["dresses"], images=3)
    first, second, third = product.images.order_by("position")
    ProductImage.objects.filter(pk=first.pk).update(position=5)
    ProductImage.objects.filter(pk=second.pk).update(status=ProductImage.Status.REJECTED)
    assert [i.pk for i in selectors.product_get(product.pk).visible_images] == [third.pk, first.pk]


def test_ancestors_root_first_in_at_most_one_query(tree, django_assert_num_queries):
    shirts = Category.objects.get(pk=tree["shirts"].pk)
    with django_assert_num_queries(1):
        assert [c.name for c in selectors.category_ancestors(shirts)] == ["Clothing", "Tops", "Shirts"]
    with django_assert_num_queries(0):
        assert [c.name for c in selectors.category_ancestors(tree["home"])] == ["Home"]
    loaded = Category.objects.select_related("parent__parent").get(pk=shirts.pk)
    with django_assert_num_queries(0):
        assert [c.name for c in selectors.category_ancestors(loaded)] == ["Clothing", "Tops", "Shirts"]


def test_category_tree_in_one_query(tree, django_assert_num_queries):
    not_home = sorted(Category.objects.exclude(name="Home").values_list("pk", flat=True))
    with django_assert_num_queries(1):
        categories = selectors.category_tree()
    with django_assert_num_queries(0):
        assert [c.name for c in categories.roots] == ["Clothing", "Home"]
        clothing = categories.roots[0]
        assert [c.name for c in clothing.subcategories] == ["Dresses", "Tops"]
        assert categories.get("shirts").name == "Shirts"
        assert categories.get("nope") is None
        assert [c.name for c in categories.ancestors(tree["shirts"])] == ["Clothing", "Tops", "Shirts"]
        assert categories.get("shirts").parent.parent.name == "Clothing"  # linked, no query
        assert sorted(categories.descendant_ids(clothing)) == not_home


def test_category_covers_come_from_own_or_first_subcategory_products(tree, django_assert_num_queries):
    make("S1", "Shirt", tree["shirts"], images=2)
    make("S0", "Hidden shirt", tree["shirts"], active=False, images=1)
    shirt_image = Product.objects.get(sku="S1").images.get(position=0)
    categories = selectors.category_tree()
    with django_assert_num_queries(1):
        selectors.category_covers(categories)
    clothing, home = categories.roots
    assert clothing.cover.pk == shirt_image.pk  # borrowed from Tops > Shirts
    assert categories.get("shirts").cover.pk == shirt_image.pk
    assert categories.get("dresses").cover is None
    assert home.cover is None
