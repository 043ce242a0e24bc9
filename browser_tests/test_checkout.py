"""Buying in a real browser: product page -> cart -> checkout -> confirmation, and a checkout
form with mistakes."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from browser_tests.shopper import add_to_cart, type_field
from catalog.models import Product
from orders.models import Order
from orders.services import REFERENCE_ALPHABET, REFERENCE_LENGTH

pytestmark = pytest.mark.browser

REFERENCE_RE = re.compile(f"^[{REFERENCE_ALPHABET}]{{{REFERENCE_LENGTH}}}$")


def test_buying_two_products_places_the_order_with_exact_lines(page, snap, shop_with_photos):
    mug, dress = shop_with_photos.products["M1"], shop_with_photos.products["D1"]

    # The product page shows its processed photo (a real derivative under /media/).
    page.goto(mug.get_absolute_url())
    photo = page.locator("#gallery-main")
    expect(photo).to_be_visible()
    assert photo.evaluate("image => image.complete && image.naturalWidth > 0"), "the product photo did not load"
    assert "/media/" in photo.get_attribute("src")
    # The stylesheet applied (served by the live server's static handler).
    assert page.evaluate("() => getComputedStyle(document.querySelector('.skip-link')).position") == "absolute"
    snap("product")

    add_to_cart(page, mug, 2)
    expect(page.locator(".cart-link__count")).to_have_attribute("data-count", "2")
    add_to_cart(page, dress, 1)
    expect(page.locator(".cart-link__count")).to_have_attribute("data-count", "3")

    page.locator(".cart-link").click()
    page.wait_for_url("**/cart/")
    lines = page.locator(".cart-line")
    expect(lines).to_have_count(2)
    for product, quantity, line_total in ((mug, "2", "€24.00"), (dress, "1", "€20.00")):
        line = lines.filter(has=page.get_by_role("link", name=product.title, exact=True))
        expect(line.locator(".cart-line__title")).to_have_text(product.title)
        expect(line.locator(f"#quantity-{product.pk}")).to_have_value(quantity)
        expect(line.locator(".cart-line__total")).to_have_text(f"Line total: {line_total}")
    expect(page.locator(".cart-summary__subtotal")).to_have_text("€44.00")
    expect(page.locator(".page-header__count")).to_have_text("3 items")
    snap("cart")

    page.get_by_role("link", name="Go to checkout").click()
    page.wait_for_url("**/checkout/")
    # Typed key by key; runs of spaces are collapsed before they reach a parcel label.
    type_field(page, "Full name", "Ada   Lovelace")
    page.keyboard.press("Tab")  # Tab order: name, then email
    page.keyboard.type("ada@example.org")
    type_field(page, "Phone (optional)", "+44 20 7946 0000")
    type_field(page, "Street and number", "12 St James's Square")
    type_field(page, "Apartment, floor, etc. (optional)", "Flat 3")
    type_field(page, "Postal code", "SW1Y 4JH")
    type_field(page, "City", "London")
    page.get_by_label("Country").focus()
    page.keyboard.type("United K")  # a closed <select> jumps to what is typed
    expect(page.get_by_label("Country")).to_have_value("GB")
    snap("checkout")
    place = page.get_by_role("button", name="Place order · €44.00")
    place.focus()
    page.keyboard.press("Enter")

    page.wait_for_url(re.compile(r"/orders/[0-9A-Z]+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your order")
    reference = page.locator(".order-reference").inner_text()
    assert REFERENCE_RE.match(reference), reference
    assert page.url.endswith(f"/orders/{reference}/")
    expect(page.locator(".order-table__total")).to_have_text("€44.00")
    expect(page.locator(".cart-link__count")).to_have_attribute("data-count", "0")

    order = Order.objects.get()
    assert order.reference == reference
    assert (
        order.status,
        order.name,
        order.email,
        order.phone,
        order.address_line1,
        order.address_line2,
        order.postal_code,
        order.city,
        order.region,
        order.country,
        order.currency,
        order.total,
    ) == (
        "placed",
        "Ada Lovelace",
        "ada@example.org",
        "+44 20 7946 0000",
        "12 St James's Square",
        "Flat 3",
        "SW1Y 4JH",
        "London",
        "",
        "GB",
        "EUR",
        Decimal("44.00"),
    )
    assert [
        (line.product_id, line.sku, line.title, line.unit_price, line.quantity, line.line_total)
        for line in order.lines.order_by("sku")
    ] == [
        (dress.pk, "D1", "Polka-dot midi dress", Decimal("20.00"), 1, Decimal("20.00")),
        (mug.pk, "M1", "Stoneware mug", Decimal("12.00"), 2, Decimal("24.00")),
    ]
    # The stock went down by what was bought.
    assert dict(Product.objects.filter(sku__in=["M1", "D1"]).values_list("sku", "stock")) == {"M1": 38, "D1": 2}


def test_a_checkout_form_with_mistakes_shows_them_beside_the_fields(page, shop):
    mug = shop.products["M1"]
    add_to_cart(page, mug, 1)
    page.goto("/checkout/")

    type_field(page, "Full name", "Ada Lovelace")
    type_field(page, "Email", "ada-at-example.org")
    type_field(page, "City", "London")
    # Street, postal code and country left empty.
    with page.expect_response(lambda response: response.request.method == "POST") as posted:
        page.get_by_role("button", name=re.compile("^Place order")).click()
    assert posted.value.status == 200  # the form again, not an error page
    page.wait_for_load_state()
    assert page.url.endswith("/checkout/")
    expect(page).to_have_title("Checkout · VisualShop")

    expect(page.locator(".form-alert")).to_have_text("Please correct the 4 fields marked below.")
    expected_errors = {
        "email": "Enter a valid email address.",
        "address_line1": "This field is required.",
        "postal_code": "This field is required.",
        "country": "This field is required.",
    }
    for field, message in expected_errors.items():
        expect(page.locator(f"#id_{field}_error")).to_have_text(message)
        expect(page.locator(f"#id_{field}")).to_have_attribute("aria-invalid", "true")
        # Screen readers read the error with the field.
        assert f"id_{field}_error" in page.locator(f"#id_{field}").get_attribute("aria-describedby").split()
    expect(page.locator(".form-field--invalid")).to_have_count(4)
    # What the shopper typed is still there.
    expect(page.get_by_label("Full name")).to_have_value("Ada Lovelace")
    expect(page.get_by_label("Email")).to_have_value("ada-at-example.org")
    expect(page.get_by_label("City")).to_have_value("London")

    assert not Order.objects.exists()
    assert Product.objects.get(pk=mug.pk).stock == 40
