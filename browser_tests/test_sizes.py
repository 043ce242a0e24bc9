"""Buying a size in a real browser, at a phone and a desktop width: the product page's size
picker (sold-out sizes shown but not offered, a size required), the cart line of that size,
and the order line that records it."""

import re

import pytest
from playwright.sync_api import expect

from browser_tests.screenshots import node_file_name, screenshot
from browser_tests.shopper import type_field
from fixtures.factories import with_sizes
from orders.models import Order

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_a_shopper_chooses_a_size_and_the_order_line_records_it(page, request, shop, width, height):
    dress = shop.products["D1"]
    with_sizes(dress, S=0, M=2, L=5)  # SKUs D1-S, D1-M, D1-L
    page.set_viewport_size({"width": width, "height": height})
    page.goto(dress.get_absolute_url())
    picker = page.get_by_role("group", name="Size")
    expect(picker).to_be_visible()
    # Sold out: shown, struck through and not choosable; its accessible name says why.
    expect(picker.get_by_role("radio", name="S (sold out)")).to_be_disabled()
    expect(picker.get_by_role("radio", name="M 2 left")).to_be_enabled()
    expect(picker.get_by_role("radio", name="L", exact=True)).to_be_enabled()
    # Each size is a touch target of at least 44 px, one row of pills at both widths.
    boxes = [picker.locator("label").nth(n).bounding_box() for n in range(3)]
    assert all(box["height"] >= 44 and box["width"] >= 44 for box in boxes), boxes
    assert len({round(box["y"]) for box in boxes}) == 1, boxes

    # Without a size the browser asks for one and nothing is posted.
    page.get_by_role("button", name="Add to cart").click()
    assert page.url.endswith(dress.get_absolute_url())
    assert picker.locator("input[value]").first.evaluate("input => input.validity.valueMissing")
    expect(page.locator(".messages .message")).to_have_count(0)

    picker.locator("label", has_text="M").click()
    expect(picker.get_by_role("radio", name="M 2 left")).to_be_checked()
    # The chosen pill shows it (accent border), not only the hidden radio.
    chosen = picker.locator("label", has_text="M")
    assert chosen.evaluate("label => getComputedStyle(label).borderColor") == "rgb(36, 67, 196)"
    screenshot(page, f"{node_file_name(request)}-product", widths=(width,))
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"**{dress.get_absolute_url()}")
    expect(page.locator(".messages")).to_contain_text("Added “Polka-dot midi dress” in size M to your cart.")

    page.goto("/cart/")
    line = page.locator(".cart-line")
    expect(line).to_have_count(1)
    expect(line.locator(".cart-line__size")).to_have_text("Size M")
    # The quantity is bounded by the size's stock (2), not the product's (7).
    expect(line.get_by_label("Quantity of Polka-dot midi dress in size M")).to_have_attribute("max", "2")
    screenshot(page, f"{node_file_name(request)}-cart", widths=(width,))

    page.get_by_role("link", name="Go to checkout").click()
    expect(page.locator(".summary-line__size")).to_have_text("size M")
    for label, text in [
        ("Full name", "Ada Lovelace"),
        ("Email", "ada@example.org"),
        ("Street and number", "12 St James's Square"),
        ("Postal code", "SW1Y 4JH"),
        ("City", "London"),
    ]:
        type_field(page, label, text)
    page.get_by_label("Country").select_option("GB")
    page.get_by_role("button", name=re.compile("^Place order")).click()
    page.wait_for_url(re.compile(r"/orders/[0-9A-Z]+/$"))
    expect(page.locator(".order-table__size")).to_have_text("size M")
    screenshot(page, f"{node_file_name(request)}-order", widths=(width,))

    order = Order.objects.get()
    assert list(order.lines.values_list("sku", "size", "quantity")) == [("D1-M", "M", 1)]
    assert dict(dress.variants.values_list("size", "stock")) == {"S": 0, "M": 1, "L": 5}
    dress.refresh_from_db()
    assert dress.stock == 6
