"""A product page in a real browser: the "Visually similar" row shows the products that
search.product_refresh.products_refresh stored for it, best first, with their photos."""

import pytest
from playwright.sync_api import expect

from search.models import SimilarProduct

pytestmark = pytest.mark.browser


def similar_titles_stored(product) -> list[str]:
    """The product's similar rows as products_refresh stored them, in rank order."""
    return list(
        SimilarProduct.objects.filter(product=product, similar__is_active=True)
        .order_by("rank")
        .values_list("similar__title", flat=True)
    )


def test_a_product_page_shows_its_visually_similar_products_in_order(page, snap, photo_shop):
    lamp = photo_shop.products["L1"]
    stored = similar_titles_stored(lamp)
    # The two lamps that share its look come first; every other active product follows
    # (the row holds up to SIMILAR_PRODUCTS_COUNT, 12): not itself, not the inactive shirt.
    assert stored[:2] == ["Ceramic table lamp", "Ceramic floor lamp"], stored
    assert len(stored) == 9 and "Brass table lamp" not in stored and "Hidden shirt" not in stored, stored

    page.goto(lamp.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text("Brass table lamp")
    row = page.locator("section.similar")
    expect(row.get_by_role("heading", level=2)).to_have_text("Visually similar")
    titles = row.locator(".similar__item .product-card__title")
    expect(titles).to_have_text(stored)
    # Each card shows the similar product's processed photo (a derivative under /media/).
    images = row.locator(".similar__item img.product-card__image")
    expect(images).to_have_count(len(stored))
    for n in range(2):
        images.nth(n).scroll_into_view_if_needed()
        expect(images.nth(n)).to_have_attribute("alt", stored[n])
        assert "/media/" in images.nth(n).get_attribute("src")
        page.wait_for_function("image => image.complete && image.naturalWidth > 0", arg=images.nth(n).element_handle())
    snap("product")

    # Following the first card: its page lists the first lamp among its own look-alikes.
    row.get_by_role("link", name="Ceramic table lamp", exact=True).click()
    page.wait_for_url(f"**{photo_shop.products['L2'].get_absolute_url()}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ceramic table lamp")
    stored_l2 = similar_titles_stored(photo_shop.products["L2"])
    assert stored_l2[:2] == ["Brass table lamp", "Ceramic floor lamp"], stored_l2
    expect(page.locator("section.similar .similar__item .product-card__title")).to_have_text(stored_l2)
