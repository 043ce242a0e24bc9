"""The header with the keyboard only: Tab from the top of the page reaches the skip link
first, then the search and the cart, each with a focus ring you can see; Enter follows them."""

import re

import pytest
from playwright.sync_api import expect

from browser_tests.focus import focus_ring, from_the_top, has_visible_focus, tab_to

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [390, 1280])
def test_tab_reaches_the_skip_link_search_and_cart_with_a_visible_focus_ring(page, shop, width):
    page.set_viewport_size({"width": width, "height": 900})
    product = shop.products["M1"]

    # The skip link is the first stop, shown on screen while focused; Enter moves focus to the content.
    from_the_top(page, product.get_absolute_url())
    page.keyboard.press("Tab")
    ring = focus_ring(page)
    assert "skip-link" in ring["className"], f"the first Tab stop is {ring}, not the skip link"
    assert has_visible_focus(ring), ring
    box = page.locator(".skip-link").bounding_box()
    assert box and box["y"] >= 0 and box["x"] >= 0 and box["x"] + box["width"] <= width, (
        f"the focused skip link is off screen: {box}"
    )
    page.keyboard.press("Enter")
    page.wait_for_function("() => location.hash === '#main' && document.activeElement.id === 'main'")
    # The next Tab continues inside the content (the breadcrumb), not back in the header.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('#main').contains(document.activeElement)")

    # The search box: a visible ring, and Enter searches for what was typed.
    from_the_top(page, product.get_absolute_url())
    stops = tab_to(page, "#site-search-q")
    assert "skip-link" in stops[0]["className"], stops[0]
    assert has_visible_focus(stops[-1]), stops[-1]
    page.keyboard.type("mug")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/search/\?(?:.*&)?q=mug(?:&|$)"))
    expect(page.locator("#site-search-q")).to_have_value("mug")

    # The cart link: a visible ring, and Enter opens the cart. Every stop on the way shows focus.
    from_the_top(page, product.get_absolute_url())
    stops = tab_to(page, ".cart-link")
    invisible = [stop for stop in stops if not has_visible_focus(stop)]
    assert not invisible, f"Tab stops without a visible focus ring: {invisible}"
    page.keyboard.press("Enter")
    page.wait_for_url("**/cart/")
    expect(page.locator(".cart-link")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your cart")
