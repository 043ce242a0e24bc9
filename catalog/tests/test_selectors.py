from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog import selectors, services
from catalog.listing_facets import FacetCount, ListingFacets, listing_facets
from catalog.models import Category, Product, ProductImage
from catalog.product_filters import ProductFilters
from catalog.services import ProductData
from fixtures.factories import mark_processed
from fixtures.images import image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    """Clothing > Dresses, Clothing > Tops > Shirts, Home."""
    return {
        "dresses": services.category_get_or_create_path(["Clothing", "Dresses"]),
        "shirts": services.category_get_or_create_path(["Clothing", "Tops", "Shirts"]),
        "home": services.category_get_or_create_path(["Home"]),
    }


def make(sku, title, category=None, *, price="10.00", stock=5, active=True, images=1):
    """A product with `images` processed pictures (shoppers see products with one only)."""
    product, _ = services.product_upsert(
        ProductData(
            sku=sku,
            title=title,
            price=Decimal(price),
            category=category,
            stock=stock,
            is_active=active,
        )
    )
    for n in range(images):
        image, _ = services.product_image_add(
            product=product, content=image_bytes(colour=(n * 40, len(sku) * 7, 90)), position=n
        )
        mark_processed(image)
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
        [clothing.pk, tops.pk, tree["dresses"].pk, tree["shirts"].pk]
    )


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


# -- listings: sort orders and facets ---------------------------------------------------------

EDGES = (Decimal(25), Decimal(50), Decimal(100), Decimal(200))


@pytest.fixture
def listed(tree):
    """Products under Clothing with brands, colours, prices and stock; one inactive, one elsewhere."""
    rows = [  # sku, title, category, brand, colours, price, stock
        ("A", "Apple dress", "dresses", "Northwind", ["red", "white"], "24.99", 3),
        ("B", "Birch dress", "dresses", "Northwind", ["blue"], "25.00", 0),
        ("C", "Cedar shirt", "shirts", "Lumen", ["red"], "49.99", 2),
        ("D", "Dune shirt", "shirts", "Lumen", ["white"], "120.00", 1),
        ("E", "Elm shirt", "shirts", None, [], "250.00", 0),
    ]
    products = {}
    for sku, title, category, brand, colours, price, stock in rows:
        product, _ = services.product_upsert(
            ProductData(
                sku=sku,
                title=title,
                price=Decimal(price),
                category=tree[category],
                stock=stock,
                brand=services.brand_get_or_create(brand) if brand else None,
            )
        )
        Product.objects.filter(pk=product.pk).update(colours=colours)
        image, _ = services.product_image_add(product=product, content=image_bytes(colour=(len(title) * 9, 40, 90)))
        mark_processed(image)
        products[sku] = product
    make("X", "Hidden red dress", tree["dresses"], active=False)
    make("Y", "Red mug", tree["home"])
    Product.objects.filter(sku__in=["X", "Y"]).update(colours=["red"])
    return products


def clothing_ids(tree):
    return selectors.category_descendant_ids(Category.objects.get(name="Clothing"))


def test_listing_facets_count_every_value_over_the_category_and_its_descendants(
    tree, listed, django_assert_num_queries
):
    ids = clothing_ids(tree)
    with django_assert_num_queries(1):
        facets = listing_facets(ProductFilters(category_ids=ids), price_edges=EDGES)
    F = FacetCount
    assert facets == ListingFacets(
        total=5,
        brand=(F("lumen", "Lumen", 2), F("northwind", "Northwind", 2)),
        colour=(F("red", "red", 2), F("white", "white", 2), F("blue", "blue", 1)),
        price=(1, 2, 0, 1, 1),  # 24.99 | 25.00, 49.99 | - | 120 | 250
        in_stock=3,
    )


def test_each_facet_counts_with_the_other_filters_but_not_its_own(tree, listed, django_assert_num_queries):
    F = FacetCount
    ids = clothing_ids(tree)
    with django_assert_num_queries(1):
        facets = listing_facets(
            ProductFilters(category_ids=ids, brand_id=listed["C"].brand_id, colours=("red",), in_stock=True),
            price_edges=EDGES,
        )
    assert facets == ListingFacets(
        total=1,  # Cedar shirt: Lumen, red, in stock
        brand=(F("lumen", "Lumen", 1), F("northwind", "Northwind", 1)),  # red and in stock, any brand
        colour=(F("red", "red", 1), F("white", "white", 1)),  # Lumen and in stock, any colour
        price=(0, 1, 0, 0, 0),
        in_stock=1,  # Lumen and red, in stock or not
    )
    priced = listing_facets(
        ProductFilters(category_ids=clothing_ids(tree), price_min=Decimal(25), price_max=Decimal("49.99")),
        price_edges=EDGES,
    )
    assert (priced.total, priced.price, priced.in_stock) == (2, (1, 2, 0, 1, 1), 1)
    assert priced.brand == (F("lumen", "Lumen", 1), F("northwind", "Northwind", 1))


def test_listing_facets_of_an_empty_category(tree):
    facets = listing_facets(
        ProductFilters(category_ids=selectors.category_descendant_ids(tree["home"])), price_edges=EDGES
    )
    assert facets == ListingFacets(total=0, brand=(), colour=(), price=(0, 0, 0, 0, 0), in_stock=0)


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("featured", ["Apple dress", "Cedar shirt", "Dune shirt", "Birch dress", "Elm shirt"]),  # in stock first
        ("price-asc", ["Apple dress", "Birch dress", "Cedar shirt", "Dune shirt", "Elm shirt"]),
        ("price-desc", ["Elm shirt", "Dune shirt", "Cedar shirt", "Birch dress", "Apple dress"]),
        ("newest", ["Elm shirt", "Dune shirt", "Cedar shirt", "Birch dress", "Apple dress"]),
        ("nonsense", ["Apple dress", "Cedar shirt", "Dune shirt", "Birch dress", "Elm shirt"]),
    ],
)
def test_products_sorted(tree, listed, sort, expected):
    Product.objects.filter(sku="C").update(created_at=timezone.now() - timedelta(days=1))
    Product.objects.filter(sku="B").update(created_at=timezone.now() - timedelta(days=2))
    Product.objects.filter(sku="A").update(created_at=timezone.now() - timedelta(days=3))
    Product.objects.filter(sku__in=["D", "E"]).update(created_at=timezone.now())  # a tie: the id decides
    queryset = selectors.product_list(category=Category.objects.get(name="Clothing"))
    assert titles(selectors.products_sorted(queryset, sort)) == expected


def test_image_srcset_lists_the_derivatives_by_width():
    image = ProductImage(
        width=960,
        height=1200,
        file="products/a.jpg",
        thumbnail="derived/a-thumbnail.jpg",
        display="derived/a-display.jpg",
    )
    assert selectors.image_srcset(image) == "/media/derived/a-thumbnail.jpg 256w, /media/derived/a-display.jpg 960w"
    large = ProductImage(
        width=3000,
        height=2000,
        file="products/b.jpg",
        thumbnail="derived/b-thumbnail.jpg",
        display="derived/b-display.jpg",
    )
    assert selectors.image_srcset(large) == "/media/derived/b-thumbnail.jpg 320w, /media/derived/b-display.jpg 1200w"
    # The upload never stands in for a missing display file: originals are for staff only.
    own = ProductImage(width=480, height=600, file="products/c.jpg", thumbnail="derived/c-thumbnail.jpg")
    assert selectors.image_srcset(own) == "/media/derived/c-thumbnail.jpg 256w"
    tiny = ProductImage(
        width=200,
        height=250,
        file="products/d.jpg",
        thumbnail="derived/d-thumbnail.jpg",
        display="derived/d-display.jpg",
    )
    assert selectors.image_srcset(tiny) == "/media/derived/d-thumbnail.jpg 200w"  # one width, the first file
    assert selectors.image_srcset(ProductImage(width=480, height=600, file="products/e.jpg")) == ""
    assert selectors.image_srcset(ProductImage(file="products/f.jpg", thumbnail="derived/f-thumbnail.jpg")) == ""


def test_products_without_a_shown_picture_are_not_in_the_shop(tree):
    """Shoppers see a product only with a ready or flagged picture: not one without pictures,
    with only rejected or failed ones, or with one still waiting to be processed."""
    shown = make("P1", "Shown dress", tree["dresses"])
    flagged = make("P2", "Flagged dress", tree["dresses"])
    flagged.images.update(status=ProductImage.Status.FLAGGED)
    hidden = [make("P3", "Bare dress", tree["dresses"], images=0)]
    for status in (
        ProductImage.Status.REJECTED,
        ProductImage.Status.FAILED,
        ProductImage.Status.PENDING,
        ProductImage.Status.PROCESSING,
    ):
        product = make(f"P-{status}", f"{status} dress", tree["dresses"])
        product.images.update(status=status)
        hidden.append(product)
    assert titles(selectors.product_list(category=tree["dresses"])) == ["Flagged dress", "Shown dress"]
    assert titles(selectors.product_featured()) == ["Flagged dress", "Shown dress"]
    assert selectors.product_get(shown.pk).pk == shown.pk
    for product in hidden:
        with pytest.raises(Product.DoesNotExist):
            selectors.product_get(product.pk)
    facets = listing_facets(ProductFilters(category_ids=[tree["dresses"].pk]), price_edges=EDGES)
    assert (facets.total, facets.in_stock) == (2, 2)
    assert [product.title for product in selectors.products_needing_a_photo()] == [
        "Bare dress",
        "failed dress",
        "pending dress",
        "processing dress",
        "rejected dress",
    ]
