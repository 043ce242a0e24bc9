import re
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.urls import reverse

from catalog import services
from catalog.models import Category, Product
from catalog.services import ProductData
from fixtures.factories import mark_processed
from fixtures.images import image_bytes
from storefront.context_processors import navigation
from storefront.templatetags.shop import attribute_rows, money

pytestmark = pytest.mark.django_db

# Pinned page costs. Each is independent of how many products and images are shown.
# category tree (header + tiles), tile covers, featured products, their images; the visitor's
# profile ("Recommended for you": nothing more for a newcomer)
HOME_QUERIES = 5
# category tree (header, category, breadcrumb, subcategories), facets with the total, page, images;
# a brand filter adds its slug's lookup
CATEGORY_QUERIES = 4
# product with brand and category, its images, its sizes (the size picker), category tree
# (header, breadcrumb), the cached similar rows, the visitor's profile; with rows, their products
# and their images
PRODUCT_QUERIES = 6
PRODUCT_WITH_SIMILAR_QUERIES = PRODUCT_QUERIES + 2


def make(
    sku,
    title,
    category,
    *,
    price="24.90",
    stock=7,
    brand="Northwind",
    images=2,
    active=True,
    attributes=None,
    description="",
):
    product, _ = services.product_upsert(
        ProductData(
            sku=sku,
            title=title,
            price=Decimal(price),
            category=category,
            stock=stock,
            is_active=active,
            brand=services.brand_get_or_create(brand),
            attributes=attributes or {},
            description=description,
        )
    )
    for n in range(images):
        image, _ = services.product_image_add(
            product=product,
            content=image_bytes((300, 375), colour=(n * 60, sum(map(ord, sku)) % 256, 120)),
            position=n,
        )
        mark_processed(image)  # shoppers see products with a processed picture only
    return product


@pytest.fixture
def shop():
    dresses = services.category_get_or_create_path(["Clothing", "Dresses"])
    shirts = services.category_get_or_create_path(["Clothing", "Shirts"])
    mugs = services.category_get_or_create_path(["Home", "Mugs"])
    return {
        "dresses": dresses,
        "shirts": shirts,
        "mugs": mugs,
        "clothing": Category.objects.get(name="Clothing"),
        "home": Category.objects.get(name="Home"),
        "dress": make(
            "D1",
            "Polka-dot midi dress in navy",
            dresses,
            price="89.00",
            stock=3,
            images=3,
            attributes={"colour": "navy", "pattern": "polka dot", "material": "viscose", "sizes": "XS, S, M"},
            description="A midi dress in navy with white dots.\n\nFully lined.",
        ),
        "shirt": make("S1", "Striped linen shirt in navy", shirts, price="49.50", brand="Lumen & Loom"),
        "sold_out": make("S2", "Oxford shirt in white", shirts, price="39.00", stock=0),
        "mug": make("M1", "Stoneware mug in teal", mugs, price="14.00", stock=40, brand="Pebble Home"),
        "hidden": make("S3", "Hidden shirt", shirts, active=False),
    }


def html(response):
    assert response.status_code == 200
    return response.content.decode()


def cards(page_html):
    return page_html.count('class="product-card"')


def titles(page_html):
    return re.findall(r'class="product-card__link" href="[^"]+">([^<]+)</a>', page_html)


def section(page_html, start, end="</section>"):
    begin = page_html.index(start)
    return page_html[begin : page_html.index(end, begin)]


# -- home ---------------------------------------------------------------------------


def test_home_shows_pitch_categories_and_featured_products(client, shop):
    page = html(client.get("/"))
    assert "<title>VisualShop · Shop by what you see</title>" in page
    assert "Shop by what you see." in page
    assert cards(page) == 3  # in stock and active only
    for title, price in [
        ("Polka-dot midi dress in navy", "€89.00"),
        ("Striped linen shirt in navy", "€49.50"),
        ("Stoneware mug in teal", "€14.00"),
    ]:
        assert f">{title}</a>" in page and f">{price}<" in page
    assert "Oxford shirt in white" not in page and "Hidden shirt" not in page
    for category in ["clothing", "dresses", "shirts", "home", "mugs"]:
        assert f'href="{shop[category].get_absolute_url()}"' in page
    assert '<a class="button button--primary" href="/c/clothing/">Shop clothing</a>' in page
    assert '<nav class="site-nav" aria-label="Categories">' in page
    assert '<a class="skip-link" href="#main">' in page


def test_home_on_an_empty_shop(client):
    page = html(client.get("/"))
    assert "No products yet." in page and cards(page) == 0


def test_product_cards_have_sized_lazy_images_with_alt_text(client, shop):
    page = html(client.get(reverse("storefront:category", kwargs={"slug": "shirts"})))
    first = shop["shirt"].images.get(position=0)
    second = shop["sold_out"].images.get(position=0)
    sizes = 'sizes="(min-width: 1240px) 220px, (min-width: 900px) 21vw, (min-width: 700px) 31vw, 46vw"'
    # The first card is above the fold: fetched at once. The rest wait until scrolled near.
    assert (
        f'<img class="product-card__image" src="{first.thumbnail.url}" srcset="{first.thumbnail.url} 256w, '
        f'{first.display.url} 300w" {sizes} width="300" height="375" fetchpriority="high" '
        f'decoding="async" alt="Striped linen shirt in navy">'
    ) in page
    assert (
        f'<img class="product-card__image" src="{second.thumbnail.url}" srcset="{second.thumbnail.url} 256w, '
        f'{second.display.url} 300w" {sizes} width="300" height="375" loading="lazy" '
        f'decoding="async" alt="Oxford shirt in white">'
    ) in page
    assert '<p class="product-card__brand">Lumen &amp; Loom</p>' in page


def test_home_query_count_does_not_grow_with_products(client, shop, django_assert_num_queries):
    with django_assert_num_queries(HOME_QUERIES):
        assert cards(html(client.get("/"))) == 3
    for n in range(6):
        make(f"X{n}", f"Extra {n}", shop["mugs"], images=3)
    services.category_get_or_create_path(["Accessories", "Hats"])
    with django_assert_num_queries(HOME_QUERIES):
        assert cards(html(client.get("/"))) == 9


# -- category --------------------------------------------------------------------------


def test_category_page_lists_descendants_with_breadcrumb_and_subcategories(client, shop):
    page = html(client.get("/c/clothing/"))
    assert "<title>Clothing · VisualShop</title>" in page
    assert '<h1 class="page-header__title">Clothing</h1>' in page
    assert "3 products" in page
    assert cards(page) == 3
    # Featured order: in stock first, then by title.
    assert titles(page) == ["Polka-dot midi dress in navy", "Striped linen shirt in navy", "Oxford shirt in white"]
    assert page.count("Out of stock") == 1
    assert "Hidden shirt" not in page
    assert '<a class="chip" href="/c/dresses/">Dresses</a>' in page
    assert '<a class="chip" href="/c/shirts/">Shirts</a>' in page
    assert '<a class="site-nav__link" href="/c/clothing/" aria-current="true">Clothing</a>' in page


def test_leaf_category_breadcrumb_shows_ancestors(client, shop):
    page = html(client.get("/c/shirts/"))
    breadcrumb = page[
        page.index('aria-label="Breadcrumb"') : page.index("</nav>", page.index('aria-label="Breadcrumb"'))
    ]
    assert re.findall(r">([^<>]+)</a>", breadcrumb) == ["Home", "Clothing", "Shirts"]
    assert '<a href="/c/shirts/" aria-current="page">Shirts</a>' in breadcrumb
    assert "2 products" in page and cards(page) == 2


def test_category_pagination(client, shop):
    for n in range(28):
        make(f"P{n:02d}", f"Plain dress {n:02d}", shop["dresses"], images=1, stock=n % 4)
    first = html(client.get("/c/dresses/"))
    assert cards(first) == 24
    assert "29 products" in first and "Page 1 of 2" in first
    assert '<a class="pagination__step" href="/c/dresses/?page=2" rel="next">Next ›</a>' in first
    second = html(client.get("/c/dresses/?page=2"))
    assert cards(second) == 5
    assert "<title>Dresses · page 2 · VisualShop</title>" in second
    assert '<a class="pagination__step" href="/c/dresses/" rel="prev">‹ Previous</a>' in second
    assert '<a href="/c/dresses/?page=2" aria-current="page" aria-label="Page 2">2</a>' in second
    # In stock first: 22 in stock, then the 7 sold out (stock 0 for every fourth) by title.
    assert titles(second) == ["Plain dress 08", "Plain dress 12", "Plain dress 16", "Plain dress 20", "Plain dress 24"]
    assert cards(html(client.get("/c/dresses/?page=99"))) == 5  # out of range: the last page
    assert cards(html(client.get("/c/dresses/?page=abc"))) == 24


def test_empty_category(client, shop):
    services.category_get_or_create_path(["Accessories"])
    page = html(client.get("/c/accessories/"))
    assert "0 products" in page and "No products in this category yet." in page and cards(page) == 0


def test_category_query_count_does_not_grow_with_products(client, shop, django_assert_num_queries):
    with django_assert_num_queries(CATEGORY_QUERIES):
        assert cards(html(client.get("/c/clothing/"))) == 3
    for n in range(30):
        make(f"X{n:02d}", f"Extra {n:02d}", shop["shirts"], images=2)
    with django_assert_num_queries(CATEGORY_QUERIES):
        assert cards(html(client.get("/c/clothing/"))) == 24
    with django_assert_num_queries(CATEGORY_QUERIES):
        assert cards(html(client.get("/c/clothing/?page=2"))) == 9


def test_unknown_category_is_404(client, shop):
    response = client.get("/c/no-such-thing/")
    assert response.status_code == 404
    assert "We could not find that page" in response.content.decode()


# -- product ---------------------------------------------------------------------------


def test_product_page(client, shop):
    dress = shop["dress"]
    page = html(client.get(dress.get_absolute_url()))
    assert "<title>Polka-dot midi dress in navy by Northwind · VisualShop</title>" in page
    assert '<meta name="description" content="A midi dress in navy with white dots.' in page
    assert '<h1 class="product__title">Polka-dot midi dress in navy</h1>' in page
    assert '<p class="product__brand">Northwind</p>' in page
    assert '<p class="product__price">€89.00</p>' in page
    assert "Only 3 left" in page
    assert "<p>A midi dress in navy with white dots.</p>" in page and "<p>Fully lined.</p>" in page
    rows = re.findall(r'<tr><th scope="row">([^<]+)</th><td>([^<]+)</td></tr>', page)
    assert rows == [
        ("Colour", "navy"),
        ("Pattern", "polka dot"),
        ("Material", "viscose"),
        ("Sizes", "XS, S, M"),
        ("SKU", "D1"),
    ]
    images = list(dress.images.order_by("position"))
    assert (
        f'<img id="gallery-main" src="{images[0].display.url}" srcset="{images[0].thumbnail.url} 256w, '
        f'{images[0].display.url} 300w" sizes="(min-width: 1240px) 560px, (min-width: 860px) 45vw, 100vw" '
        'width="300" height="375" alt="Polka-dot midi dress in navy, photo 1 of 3" fetchpriority="high">'
    ) in page
    assert page.count('class="gallery__thumb"') == 3
    assert "js/gallery.js" in page
    breadcrumb = page[
        page.index('aria-label="Breadcrumb"') : page.index("</nav>", page.index('aria-label="Breadcrumb"'))
    ]
    assert re.findall(r">([^<>]+)</a>", breadcrumb) == ["Home", "Clothing", "Dresses", "Polka-dot midi dress in navy"]


def test_stock_states(client, shop):
    assert "In stock" in html(client.get(shop["mug"].get_absolute_url()))
    sold_out = html(client.get(shop["sold_out"].get_absolute_url()))
    assert '<p class="stock stock--out">' in sold_out and "Out of stock" in sold_out


def test_product_with_one_photo_has_no_thumbnails_and_no_script(client, shop):
    product = make("ONE", "Single photo mug", shop["mugs"], images=1)
    page = html(client.get(product.get_absolute_url()))
    assert 'id="gallery-main"' in page and "gallery__thumb" not in page and "gallery.js" not in page


def test_product_without_category(client, shop):
    product = make("BARE", "Bare product", None, images=1, brand="")
    page = html(client.get(product.get_absolute_url()))
    assert '<p class="product__price">€24.90</p>' in page and 'aria-label="Breadcrumb"' in page


def test_a_product_without_a_shown_photo_is_not_in_the_shop(client, shop):
    """No photo, or only one that is rejected or not processed yet: not on sale to shoppers
    (staff find it under the admin's "needs a photo" filter)."""
    bare = make("BARE", "Bare mug", shop["mugs"], images=0)
    rejected = make("REJ", "Rejected mug", shop["mugs"], images=1)
    rejected.images.update(status="rejected", thumbnail="", display="")
    waiting = make("WAIT", "Waiting mug", shop["mugs"], images=0)
    services.product_image_add(product=waiting, content=image_bytes((300, 375)))  # pending
    for product in (bare, rejected, waiting):
        assert client.get(product.get_absolute_url()).status_code == 404
    assert titles(html(client.get("/c/mugs/"))) == ["Stoneware mug in teal"]
    assert "Rejected mug" not in html(client.get("/"))
    assert "1 product" in html(client.get("/c/mugs/"))


def test_product_query_count_does_not_grow_with_images(client, shop, django_assert_num_queries):
    with django_assert_num_queries(PRODUCT_QUERIES):
        html(client.get(shop["dress"].get_absolute_url()))
    for n in range(4):
        image, _ = services.product_image_add(
            product=shop["shirt"], content=image_bytes(colour=(250, n, n)), position=5 + n
        )
        mark_processed(image)
    with django_assert_num_queries(PRODUCT_QUERIES):
        assert html(client.get(shop["shirt"].get_absolute_url())).count('class="gallery__thumb"') == 6


def test_inactive_and_unknown_products_are_404(client, shop):
    assert client.get(shop["hidden"].get_absolute_url()).status_code == 404
    assert client.get("/p/999999/anything/").status_code == 404


def test_wrong_slug_redirects_to_canonical_url(client, shop):
    response = client.get(f"/p/{shop['shirt'].pk}/old-name/")
    assert response.status_code == 301
    assert response["Location"] == f"/p/{shop['shirt'].pk}/striped-linen-shirt-in-navy/"


# -- navigation and helpers -------------------------------------------------------------


def test_navigation_loads_the_tree_once_and_only_when_used(shop, django_assert_num_queries):
    request = RequestFactory().get("/")
    with django_assert_num_queries(0):
        context = navigation(request)
    with django_assert_num_queries(1):
        assert [c.name for c in context["nav_categories"]()] == ["Clothing", "Home"]
        assert [c.name for c in context["nav_categories"]()[0].subcategories] == ["Dresses", "Shirts"]


def test_money_and_attribute_rows():
    assert money(Decimal("1249"), "EUR") == "€1,249.00"
    assert money(Decimal("12.5"), "CHF") == "12.50 CHF"
    assert money(Decimal("3"), "usd") == "$3.00"
    assert money(None) == ""
    assert attribute_rows(
        {"material": "wool", "zip": True, "colour": "red", "accent_colour": "white", "sizes": ["S", "M"], "empty": ""}
    ) == [("Colour", "red"), ("Accent colour", "white"), ("Material", "wool"), ("Sizes", "S, M"), ("Zip", "yes")]
    assert attribute_rows(None) == []


def test_product_count_of_cards_matches_products(client, shop):
    # The card partial is the only thing that renders class="product-card".
    assert cards(html(client.get("/c/home/"))) == Product.objects.filter(category=shop["mugs"]).count()


def test_processed_images_are_shown_through_their_derivatives(client, shop):
    dress = shop["dress"]
    first = dress.images.order_by("position").first()
    first.thumbnail.name, first.display.name = "derived/ab/abc-thumbnail.jpg", "derived/ab/abc-display.jpg"
    first.save(update_fields=["thumbnail", "display"])
    page = html(client.get(dress.get_absolute_url()))
    assert '<img id="gallery-main" src="/media/derived/ab/abc-display.jpg"' in page
    assert 'href="/media/derived/ab/abc-display.jpg" data-full="/media/derived/ab/abc-display.jpg"' in page
    assert '<img src="/media/derived/ab/abc-thumbnail.jpg"' in page
    category = html(client.get(shop["dresses"].get_absolute_url()))
    assert 'class="product-card__image" src="/media/derived/ab/abc-thumbnail.jpg"' in category


# -- category listing: facets, filters, chips, sort, pagination --------------------------------


@pytest.fixture
def coloured(shop):
    for key, colours in [
        ("dress", ["navy", "white"]),
        ("shirt", ["navy"]),
        ("sold_out", ["white"]),
        ("mug", ["teal"]),
        ("hidden", ["white"]),
    ]:
        Product.objects.filter(pk=shop[key].pk).update(colours=colours)
    return shop


def option(kind, name, value, label, count=None, checked=False):
    counted = f' <span class="filters__count">({count})</span>' if count is not None else ""
    return (
        f'<label class="filters__option"><input type="{kind}" name="{name}" value="{value}"'
        f"{' checked' if checked else ''}> {label}{counted}</label>"
    )


def colour_option(value, count, checked=False):
    return (
        f'<label class="filters__option"><input type="checkbox" name="colour" value="{value}"'
        f'{" checked" if checked else ""}> <span class="swatch" data-colour="{value}" aria-hidden="true"></span>'
        f'{value.capitalize()} <span class="filters__count">({count})</span></label>'
    )


def options(page_html, name):
    return re.findall(rf'<label class="filters__option"><input type="\w+" name="{name}" value="([^"]*)"', page_html)


def test_category_facets_count_the_category_with_its_descendants(client, coloured):
    page = html(client.get("/c/clothing/"))
    form = section(page, '<form class="filters__form" method="get" action="/c/clothing/">', "</form>")
    assert option("checkbox", "in_stock", "1", "In stock", 2) in form
    assert options(form, "price") == ["", "25-50", "50-100"]  # empty buckets left out
    assert option("radio", "price", "", "Any price", checked=True) in form
    assert option("radio", "price", "25-50", "€25–50", 2) in form
    assert option("radio", "price", "50-100", "€50–100", 1) in form
    assert options(form, "brand") == ["", "northwind", "lumen-loom"]  # most products first
    assert option("radio", "brand", "northwind", "Northwind", 2) in form
    assert option("radio", "brand", "lumen-loom", "Lumen &amp; Loom", 1) in form
    assert options(form, "colour") == ["navy", "white"]
    assert colour_option("navy", 2) in form and colour_option("white", 2) in form
    assert '<select class="filters__select" id="sort" name="sort">' in form
    assert '<option value="featured" selected>Featured</option>' in form
    assert '<label class="filters__label" for="sort">Sort by</label>' in form
    assert '<button class="button button--primary filters__apply" type="submit">Show products</button>' in form
    assert "Clear filters" not in form and "Active filters" not in page


def test_filters_narrow_the_listing_and_each_facet_counts_without_its_own_filter(client, coloured):
    page = html(client.get("/c/clothing/?brand=northwind&colour=white"))
    assert titles(page) == ["Polka-dot midi dress in navy", "Oxford shirt in white"]
    assert '<p class="page-header__count" id="result-count">2 products</p>' in page
    form = section(page, '<form class="filters__form"', "</form>")
    assert option("radio", "brand", "northwind", "Northwind", 2, checked=True) in form
    assert options(form, "brand") == ["", "northwind"]  # no white Lumen &amp; Loom product
    assert colour_option("navy", 1) in form and colour_option("white", 2, checked=True) in form
    assert option("radio", "price", "25-50", "€25–50", 1) in form
    assert option("radio", "price", "50-100", "€50–100", 1) in form
    assert option("checkbox", "in_stock", "1", "In stock", 1) in form
    assert '<a class="filters__clear" href="/c/clothing/">Clear filters</a>' in form

    assert titles(html(client.get("/c/clothing/?price=25-50"))) == [
        "Striped linen shirt in navy",
        "Oxford shirt in white",
    ]
    assert titles(html(client.get("/c/clothing/?price=50-100"))) == ["Polka-dot midi dress in navy"]
    assert titles(html(client.get("/c/clothing/?in_stock=1"))) == [
        "Polka-dot midi dress in navy",
        "Striped linen shirt in navy",
    ]
    assert titles(html(client.get("/c/clothing/?colour=navy&colour=white"))) == [
        "Polka-dot midi dress in navy",
        "Striped linen shirt in navy",
        "Oxford shirt in white",
    ]
    assert titles(html(client.get("/c/clothing/?colour=teal"))) == []


def test_a_price_bucket_holds_its_lower_edge_only(client, coloured):
    Product.objects.filter(pk=coloured["shirt"].pk).update(price=Decimal("50.00"))
    assert titles(html(client.get("/c/clothing/?price=25-50"))) == ["Oxford shirt in white"]
    assert titles(html(client.get("/c/clothing/?price=50-100"))) == [
        "Polka-dot midi dress in navy",
        "Striped linen shirt in navy",
    ]


def test_active_filters_are_chips_that_remove_one_filter_each(client, coloured):
    page = html(
        client.get(
            "/c/clothing/?brand=northwind&colour=white&colour=Navy&price=50-100&in_stock=1&sort=price-asc&page=1"
        )
    )
    chips = section(page, '<div class="active-filters">', "</div>")
    assert re.findall(
        r'<a class="chip chip--remove" href="([^"]+)"><span class="visually-hidden">Remove filter '
        r'</span>([^<]+)<span class="chip__x" aria-hidden="true">×</span></a>',
        chips,
    ) == [
        (
            "/c/clothing/?colour=white&amp;colour=Navy&amp;price=50-100&amp;in_stock=1&amp;sort=price-asc",
            "Brand: Northwind",
        ),
        (
            "/c/clothing/?brand=northwind&amp;colour=Navy&amp;price=50-100&amp;in_stock=1&amp;sort=price-asc",
            "Colour: white",
        ),
        (
            "/c/clothing/?brand=northwind&amp;colour=white&amp;price=50-100&amp;in_stock=1&amp;sort=price-asc",
            "Colour: navy",
        ),
        (
            "/c/clothing/?brand=northwind&amp;colour=white&amp;colour=Navy&amp;in_stock=1&amp;sort=price-asc",
            "Price: 50–100",
        ),
        (
            "/c/clothing/?brand=northwind&amp;colour=white&amp;colour=Navy&amp;price=50-100&amp;sort=price-asc",
            "In stock",
        ),
    ]
    assert titles(page) == ["Polka-dot midi dress in navy"]
    assert (
        '<h2 id="filters-title" class="filters__title">Filter and sort '
        '<span class="filters__active">(5 active)</span></h2>'
    ) in page
    # Clearing keeps the sort order.
    assert '<a class="filters__clear" href="/c/clothing/?sort=price-asc">Clear filters</a>' in page
    removed = html(client.get("/c/clothing/?colour=white&colour=Navy&price=50-100&in_stock=1&sort=price-asc"))
    assert "Brand: Northwind" not in removed and titles(removed) == ["Polka-dot midi dress in navy"]


def test_nothing_matching_the_filters(client, coloured):
    page = html(client.get("/c/shirts/?colour=navy&price=200-"))
    assert cards(page) == 0 and "0 products" in page
    assert (
        '<p class="empty-state">No products match these filters. <a href="/c/shirts/">Clear all filters</a></p>'
    ) in page
    # The chosen price bucket stays listed (with its zero), so it can be unticked.
    assert option("radio", "price", "200-", "€200+", 0, checked=True) in page


def test_values_that_do_not_clean_are_ignored(client, coloured):
    page = html(client.get("/c/clothing/?brand=no-such-brand&price=7-9&sort=cheapest&colour=%3Cb%3E&page=x"))
    assert titles(page) == ["Polka-dot midi dress in navy", "Striped linen shirt in navy", "Oxford shirt in white"]
    assert "Active filters" not in page and "<b>" not in page
    assert '<option value="featured" selected>Featured</option>' in page


@pytest.mark.parametrize(
    "sort, expected",
    [
        ("", ["Polka-dot midi dress in navy", "Striped linen shirt in navy", "Oxford shirt in white"]),
        ("featured", ["Polka-dot midi dress in navy", "Striped linen shirt in navy", "Oxford shirt in white"]),
        ("price-asc", ["Oxford shirt in white", "Striped linen shirt in navy", "Polka-dot midi dress in navy"]),
        ("price-desc", ["Polka-dot midi dress in navy", "Striped linen shirt in navy", "Oxford shirt in white"]),
        ("newest", ["Oxford shirt in white", "Striped linen shirt in navy", "Polka-dot midi dress in navy"]),
    ],
)
def test_category_sort_orders(client, coloured, sort, expected):
    page = html(client.get(f"/c/clothing/?sort={sort}"))
    assert titles(page) == expected
    selected = sort or "featured"
    assert re.findall(r'<option value="([^"]+)" selected>', page) == [selected]


def test_pagination_keeps_filters_and_sort(client, shop):
    for n in range(30):
        product = make(f"P{n:02d}", f"Plain dress {n:02d}", shop["dresses"], images=1, price=f"{10 + n}.00")
        Product.objects.filter(pk=product.pk).update(colours=["red"])
    first = html(client.get("/c/dresses/?colour=red&sort=price-desc"))
    assert cards(first) == 24 and "30 products" in first
    assert titles(first)[:2] == ["Plain dress 29", "Plain dress 28"]
    assert (
        '<a class="pagination__step" href="/c/dresses/?colour=red&amp;sort=price-desc&amp;page=2" rel="next">'
    ) in first
    second = html(client.get("/c/dresses/?colour=red&sort=price-desc&page=2"))
    assert titles(second) == [
        "Plain dress 05",
        "Plain dress 04",
        "Plain dress 03",
        "Plain dress 02",
        "Plain dress 01",
        "Plain dress 00",
    ]
    assert '<a class="pagination__step" href="/c/dresses/?colour=red&amp;sort=price-desc" rel="prev">' in second
    # Removing a filter starts again at page 1 and keeps the sort.
    assert '<a class="chip chip--remove" href="/c/dresses/?sort=price-desc">' in second


def test_filtered_category_query_count_is_fixed(client, coloured, django_assert_num_queries):
    with django_assert_num_queries(CATEGORY_QUERIES):
        assert cards(html(client.get("/c/clothing/?colour=navy&price=25-50&in_stock=1&sort=newest"))) == 1
    with django_assert_num_queries(CATEGORY_QUERIES + 1):
        assert cards(html(client.get("/c/clothing/?brand=northwind&colour=white"))) == 2
    for n in range(30):
        make(f"X{n:02d}", f"Extra {n:02d}", coloured["shirts"], images=2, brand="Northwind")
    with django_assert_num_queries(CATEGORY_QUERIES + 1):
        assert cards(html(client.get("/c/clothing/?brand=northwind&page=2"))) == 8


def test_listing_images_offer_their_derivatives(client, shop):
    image = shop["shirt"].images.order_by("position").first()
    image.thumbnail.name, image.display.name = "derived/ab/s-thumbnail.jpg", "derived/ab/s-display.jpg"
    image.save(update_fields=["thumbnail", "display"])
    page = html(client.get("/c/shirts/"))
    assert (
        '<img class="product-card__image" src="/media/derived/ab/s-thumbnail.jpg" '
        'srcset="/media/derived/ab/s-thumbnail.jpg 256w, /media/derived/ab/s-display.jpg 300w" '
        'sizes="(min-width: 1240px) 220px, (min-width: 900px) 21vw, (min-width: 700px) 31vw, 46vw" '
        'width="300" height="375" fetchpriority="high" decoding="async" alt="Striped linen shirt in navy">'
    ) in page


# -- home: photo search --------------------------------------------------------------------------


def test_home_has_a_photo_search_form(client, shop):
    page = html(client.get("/"))
    assert (
        '<section id="photo-search" class="photo-search" aria-labelledby="photo-search-title" data-photo-drop-zone>'
    ) in page
    form = section(page, '<section id="photo-search"')
    assert '<h2 id="photo-search-title" class="photo-search__title">Search with a photo</h2>' in form
    assert (
        '<form class="photo-search__form" method="post" action="/search/photo/" '
        'enctype="multipart/form-data" data-photo-search-form>'
    ) in form
    assert 'name="csrfmiddlewaretoken"' in form
    assert '<label class="photo-search__label" for="home-photo-input">Choose a photo</label>' in form
    assert (
        '<input class="photo-search__input" id="home-photo-input" type="file" name="photo" accept="image/*" '
        'required aria-describedby="photo-search-help" data-photo-search-input>'
    ) in form
    assert (
        '<button class="button button--primary photo-search__button" type="submit">Find similar items</button>'
    ) in form


def test_home_images_are_lazy_but_the_first_in_view(client, shop):
    page = html(client.get("/"))
    collage = section(page, '<div class="hero__collage" aria-hidden="true">', "</div>")
    assert [("loading" in tag) for tag in re.findall(r"<img [^>]+>", collage)] == [False, True, True]
    grid = section(page, '<section id="new-in"')
    assert re.findall(r"<img [^>]+>", grid) and all('loading="lazy"' in t for t in re.findall(r"<img [^>]+>", grid))


# -- product: visually similar ---------------------------------------------------------------------


def test_a_product_deactivated_while_its_page_is_built_still_renders_as_it_was_read(client, shop, monkeypatch):
    from catalog import selectors as catalog_selectors

    product_get = catalog_selectors.product_get

    def deactivated_right_after(pk):  # between product_get and the similar row
        product = product_get(pk)
        Product.objects.filter(pk=pk).update(is_active=False)
        return product

    monkeypatch.setattr(catalog_selectors, "product_get", deactivated_right_after)
    assert client.get(shop["dress"].get_absolute_url()).status_code == 200
    assert client.get(shop["dress"].get_absolute_url()).status_code == 404  # gone on the next view


def similar_to(product, *rows):
    from search.models import SimilarProduct

    for rank, (other, image) in enumerate(rows, start=1):
        SimilarProduct.objects.create(product=product, similar=other, rank=rank, score=1 - rank / 10, image=image)


def test_product_page_shows_the_cached_similar_products_in_their_order(client, shop, django_assert_num_queries):
    mug_second_photo = shop["mug"].images.get(position=1)
    similar_to(
        shop["dress"],
        (shop["mug"], mug_second_photo),
        (shop["hidden"], None),
        (shop["sold_out"], None),
        (shop["shirt"], shop["shirt"].images.get(position=0)),
    )
    with django_assert_num_queries(PRODUCT_WITH_SIMILAR_QUERIES):
        page = html(client.get(shop["dress"].get_absolute_url()))
    row = section(page, '<section class="similar" aria-labelledby="similar-title">')
    assert '<h2 id="similar-title" class="section__title">Visually similar</h2>' in row
    # Rank order; the inactive product is left out.
    assert titles(row) == ["Stoneware mug in teal", "Oxford shirt in white", "Striped linen shirt in navy"]
    images = re.findall(r"<img [^>]+>", row)
    assert images[0] == (
        f'<img class="product-card__image" src="{mug_second_photo.thumbnail.url}" '
        f'srcset="{mug_second_photo.thumbnail.url} 256w, {mug_second_photo.display.url} 300w" '
        'sizes="(min-width: 1024px) 200px, (min-width: 700px) 28vw, 42vw" width="300" '
        'height="375" loading="lazy" decoding="async" alt="Stoneware mug in teal">'
    )
    assert all('loading="lazy"' in tag and 'width="' in tag and 'height="' in tag for tag in images)


def test_similar_row_offers_derivatives(client, shop):
    image = shop["mug"].images.get(position=0)
    image.thumbnail.name = "derived/cd/m-thumbnail.jpg"
    image.save(update_fields=["thumbnail"])
    similar_to(shop["dress"], (shop["mug"], image))
    page = html(client.get(shop["dress"].get_absolute_url()))
    assert (
        '<img class="product-card__image" src="/media/derived/cd/m-thumbnail.jpg" '
        f'srcset="/media/derived/cd/m-thumbnail.jpg 256w, {image.display.url} 300w" '
        'sizes="(min-width: 1024px) 200px, (min-width: 700px) 28vw, 42vw" width="300" height="375" '
        'loading="lazy" decoding="async" alt="Stoneware mug in teal">'
    ) in page


def test_similar_row_is_hidden_when_there_is_none(client, shop):
    page = html(client.get(shop["dress"].get_absolute_url()))
    assert "Visually similar" not in page and 'class="similar"' not in page
    similar_to(shop["shirt"], (shop["hidden"], None))  # only an inactive one
    assert "Visually similar" not in html(client.get(shop["shirt"].get_absolute_url()))


def test_product_page_keeps_the_add_to_cart_form(client, shop):
    page = html(client.get(shop["dress"].get_absolute_url()))
    assert '<button class="button button--primary buy-box__button" type="submit">Add to cart</button>' in page
    assert '<p class="product__price">€89.00</p>' in page and "Only 3 left" in page


def test_gallery_switches_srcset_with_the_photo(client, shop):
    image = shop["dress"].images.get(position=1)
    image.thumbnail.name, image.display.name = "derived/ef/d-thumbnail.jpg", "derived/ef/d-display.jpg"
    image.save(update_fields=["thumbnail", "display"])
    page = html(client.get(shop["dress"].get_absolute_url()))
    assert (
        'href="/media/derived/ef/d-display.jpg" data-full="/media/derived/ef/d-display.jpg" '
        'data-srcset="/media/derived/ef/d-thumbnail.jpg 256w, /media/derived/ef/d-display.jpg 300w" '
        'data-alt="Polka-dot midi dress in navy, photo 2 of 3"'
    ) in page


# -- static assets ---------------------------------------------------------------------------------


def test_collected_static_files_are_fingerprinted_compressed_and_cached_for_good(tmp_path, settings):
    """The production storage (visualshop.settings.storage) with WhiteNoise in front: a
    collected asset's URL carries its content hash, a gzip copy sits beside it, and it is
    served with a far-future immutable Cache-Control."""
    from django.core.management import call_command
    from django.templatetags.static import static
    from django.test import Client

    from visualshop.settings import storage as production

    settings.STORAGES = production.STORAGES
    settings.STATIC_ROOT = str(tmp_path)
    settings.STATICFILES_FINDERS = ["django.contrib.staticfiles.finders.FileSystemFinder"]  # static/ only
    call_command("collectstatic", interactive=False, verbosity=0)  # (setting_changed rebuilt the storage)
    url = static("css/site.css")
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{12}\.css", url), url
    assert (tmp_path / (url.removeprefix("/static/") + ".gz")).is_file()
    response = Client().get(url, HTTP_ACCEPT_ENCODING="gzip")  # a new client: WhiteNoise reads STATIC_ROOT
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert response["Cache-Control"] == "max-age=315360000, public, immutable"
    assert f'<link rel="stylesheet" href="{url}">' in html(Client().get("/"))
