"""Word searches that find nothing or use other words for colours are not dead ends (390 and 1280 px, with screenshots)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from search.text import index_products


@pytest.fixture
def indexed_shop(shop):
    """The shared shop with its products' search text written (search.text.index_products)."""
    index_products([product.pk for product in shop.products.values()])
    return shop


def test_a_search_that_finds_nothing_offers_the_categories_to_browse(page, shop, snap):
    page.goto("/search/?q=submarine")
    expect(page.locator(".search-empty__title")).to_have_text("No products match “submarine”.")
    browse = page.locator(".search-empty__browse a")
    expect(browse).to_have_text(["Dresses", "Shirts", "Mugs"])
    snap("nothing-found")
    browse.filter(has_text="Mugs").click()
    page.wait_for_url("**/c/mugs/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mugs")


def test_words_that_find_nothing_together_offer_the_ones_that_do(page, indexed_shop, snap):
    page.goto("/search/?q=linen+submarine")
    expect(page.locator(".search-empty__title")).to_have_text("No products match “linen submarine”.")
    suggestion = page.locator("#search-did-you-mean")
    expect(suggestion).to_have_text("Did you mean linen?")
    snap("did-you-mean")
    suggestion.get_by_role("link", name="linen").click()
    page.wait_for_url("**/search/?q=linen")
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “linen”")
    # Equal relevance: the shirt in stock before the dress that is not.
    expect(page.locator(".search-results .product-card__title")).to_have_text(
        ["Striped linen shirt", "Linen wrap dress"]
    )


def test_a_colour_word_the_shop_does_not_use_is_searched_as_its_colour_name(page, indexed_shop, snap):
    page.goto("/search/?q=burgundy")
    expect(page.locator("#search-colour-words")).to_have_text(
        "“burgundy” searched as our colour red (we name colours from the photos)."
    )
    snap("colour-word")


def test_a_misspelt_word_shows_what_was_searched_instead(page, indexed_shop, snap):
    page.goto("/search/?q=linn")
    expect(page.locator("#search-corrections")).to_have_text("Showing results for “linen” (you typed “linn”).")
    expect(page.locator(".search-results .product-card__title")).to_have_text(
        ["Striped linen shirt", "Linen wrap dress"]
    )
    snap("typo")
