"""A word search that finds nothing is not a dead end (390 and 1280 px, with screenshots)."""

from __future__ import annotations

from playwright.sync_api import expect


def test_a_search_that_finds_nothing_offers_the_categories_to_browse(page, shop, snap):
    page.goto("/search/?q=submarine")
    expect(page.locator(".search-empty__title")).to_have_text("No products match “submarine”.")
    browse = page.locator(".search-empty__browse a")
    expect(browse).to_have_text(["Dresses", "Shirts", "Mugs"])
    snap("nothing-found")
    browse.filter(has_text="Mugs").click()
    page.wait_for_url("**/c/mugs/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Mugs")
