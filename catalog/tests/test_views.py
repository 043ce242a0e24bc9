import re
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.urls import reverse

from catalog import services
from catalog.context_processors import navigation
from catalog.models import Category, Product
from catalog.services import ProductData
from catalog.templatetags.shop import attribute_rows, money
from catalog.tests.images import image_bytes

pytestmark = pytest.mark.django_db

# Pinned page costs. Each is independent of how many products and images are shown.
HOME_QUERIES = 4      # category tree (header + tiles), tile covers, featured products, their images
CATEGORY_QUERIES = 4  # category tree (header, category, breadcrumb, subcategories), count, page, images
PRODUCT_QUERIES = 3   # product with brand and category, its images, category tree (header, breadcrumb)


def make(sku, title, category, *, price="24.90", stock=7, brand="Northwind", images=2, active=True,
         attributes=None, description=""):
    product, _ = services.product_upsert(ProductData(
        sku=sku, title=title, price=Decimal(price), category=category, stock=stock, is_active=active,
        brand=services.brand_get_or_create(brand), attributes=attributes or {}, description=description,
    ))
    for n in range(images):
        services.product_image_add(
            product=product, content=image_bytes((300, 375), colour=(n * 60, sum(map(ord, sku)) % 256, 120)),
            position=n,
        )
    return product


@pytest.fixture
def shop():
    dresses = services.category_get_or_create_path(["Clothing", "Dresses"])
    shirts = services.category_get_or_create_path(["Clothing", "Shirts"])
    mugs = services.category_get_or_create_path(["Home", "Mugs"])
    return {
        "dresses": dresses, "shirts": shirts, "mugs": mugs,
        "clothing": Category.objects.get(name="Clothing"), "home": Category.objects.get(name="Home"),
        "dress": make("D1", "Polka-dot midi dress in navy", dresses, price="89.00", stock=3, images=3,
                      attributes={"colour": "navy", "pattern": "polka dot", "material": "viscose",
                                  "sizes": "XS, S, M"},
                      description="A midi dress in navy with white dots.\n\nFully lined."),
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


# -- home ---------------------------------------------------------------------------


def test_home_shows_pitch_categories_and_featured_products(client, shop):
    page = html(client.get("/"))
    assert "<title>VisualShop · Shop by what you see</title>" in page
    assert "Shop by what you see." in page
    assert cards(page) == 3  # in stock and active only
    for title, price in [("Polka-dot midi dress in navy", "€89.00"), ("Striped linen shirt in navy", "€49.50"),
                         ("Stoneware mug in teal", "€14.00")]:
        assert f'>{title}</a>' in page and f">{price}<" in page
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
    page = html(client.get(reverse("catalog:category", kwargs={"slug": "shirts"})))
    image = shop["shirt"].images.get(position=0)
    assert (f'<img class="product-card__image" src="{image.file.url}" width="300" height="375" loading="lazy" '
            f'decoding="async" alt="Striped linen shirt in navy">') in page
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
    assert ["Oxford shirt in white", "Polka-dot midi dress in navy", "Striped linen shirt in navy"] == re.findall(
        r'class="product-card__link" href="[^"]+">([^<]+)</a>', page)
    assert page.count("Out of stock") == 1
    assert "Hidden shirt" not in page
    assert '<a class="chip" href="/c/dresses/">Dresses</a>' in page
    assert '<a class="chip" href="/c/shirts/">Shirts</a>' in page
    assert '<a class="site-nav__link" href="/c/clothing/" aria-current="true">Clothing</a>' in page


def test_leaf_category_breadcrumb_shows_ancestors(client, shop):
    page = html(client.get("/c/shirts/"))
    breadcrumb = page[page.index('aria-label="Breadcrumb"'):page.index("</nav>", page.index('aria-label="Breadcrumb"'))]
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
    assert ">Plain dress 27<" in second and ">Polka-dot midi dress in navy<" in second
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
    assert rows == [("Colour", "navy"), ("Pattern", "polka dot"), ("Material", "viscose"), ("Sizes", "XS, S, M"),
                    ("SKU", "D1")]
    images = list(dress.images.order_by("position"))
    assert f'<img id="gallery-main" src="{images[0].file.url}" width="300" height="375" ' \
           'alt="Polka-dot midi dress in navy, photo 1 of 3" fetchpriority="high">' in page
    assert page.count('class="gallery__thumb"') == 3
    assert "js/gallery.js" in page
    breadcrumb = page[page.index('aria-label="Breadcrumb"'):page.index("</nav>", page.index('aria-label="Breadcrumb"'))]
    assert re.findall(r">([^<>]+)</a>", breadcrumb) == ["Home", "Clothing", "Dresses", "Polka-dot midi dress in navy"]


def test_stock_states(client, shop):
    assert "In stock" in html(client.get(shop["mug"].get_absolute_url()))
    sold_out = html(client.get(shop["sold_out"].get_absolute_url()))
    assert '<p class="stock stock--out">' in sold_out and "Out of stock" in sold_out


def test_product_with_one_photo_has_no_thumbnails_and_no_script(client, shop):
    product = make("ONE", "Single photo mug", shop["mugs"], images=1)
    page = html(client.get(product.get_absolute_url()))
    assert 'id="gallery-main"' in page and "gallery__thumb" not in page and "gallery.js" not in page


def test_product_without_category_or_photos(client, shop):
    product = make("BARE", "Bare product", None, images=0, brand="")
    page = html(client.get(product.get_absolute_url()))
    assert "no photo yet" in page and '<p class="product__price">€24.90</p>' in page


def test_product_query_count_does_not_grow_with_images(client, shop, django_assert_num_queries):
    with django_assert_num_queries(PRODUCT_QUERIES):
        html(client.get(shop["dress"].get_absolute_url()))
    for n in range(4):
        services.product_image_add(product=shop["shirt"], content=image_bytes(colour=(250, n, n)), position=5 + n)
    with django_assert_num_queries(PRODUCT_QUERIES):
        assert html(client.get(shop["shirt"].get_absolute_url())).count('class="gallery__thumb"') == 6


def test_inactive_and_unknown_products_are_404(client, shop):
    assert client.get(shop["hidden"].get_absolute_url()).status_code == 404
    assert client.get("/p/999999/anything/").status_code == 404


def test_wrong_slug_redirects_to_canonical_url(client, shop):
    response = client.get(f"/p/{shop['shirt'].pk}/old-name/")
    assert response.status_code == 301
    assert response["Location"] == "/p/%d/striped-linen-shirt-in-navy/" % shop["shirt"].pk


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
    assert attribute_rows({"material": "wool", "zip": True, "colour": "red", "accent_colour": "white",
                           "sizes": ["S", "M"], "empty": ""}) == [
        ("Colour", "red"), ("Accent colour", "white"), ("Material", "wool"), ("Sizes", "S, M"), ("Zip", "yes")]
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
