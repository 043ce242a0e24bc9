"""The demo shop's first impression, on a phone and on a laptop: a newcomer's own photo of a
dress, one the catalogue does not hold, finds dresses first; a photo of something the shop does
not sell (a drawn mug) is told "no close match" and offered the nearest categories and words.

The shop is `demo_shop` (browser_tests/conftest.py): the demo catalogue's 300 real photographs
processed as a fresh `make run` processes them. The photo is clothing-small's validation dress
19e4de0d (browser_tests/demo_shop.py: DRESS_PHOTO).
"""

import re

import pytest
from playwright.sync_api import expect

from browser_tests.demo_shop import DRESS_PHOTO
from browser_tests.screenshots import node_file_name, screenshot
from browser_tests.shopper import TOKEN, open_dialog_with
from fixtures.drawn_catalogue.photos import render_drawn_image
from fixtures.drawn_catalogue.products import drawn_products

pytestmark = pytest.mark.browser

# Where the dialog starts the crop box (likelyItemBox): the dress fills more than 35% of its
# photo, so the whole photo.
DRESS_START = "whole"
# The drawn cup is small on a plain backdrop: the box starts on it (and the crop is what is searched).
MUG_START = "likely-item"
# The drawn mug is nearest to hats (every result shown is one): the only category offered.
MUG_NEAREST_CATEGORIES = ["Hats & caps"]


def result_titles(page) -> list[str]:
    return page.locator(".search-results .product-card__title").all_inner_texts()


def search_with_photo(page, content: bytes, name: str) -> str:
    """Upload as a shopper does, with the crop box where the dialog starts it; returns where it
    started ("likely-item" or "whole")."""
    open_dialog_with(page, content, name=name)
    start = page.locator("#photo-search-stage").get_attribute("data-start")
    with page.expect_navigation():
        page.locator("#photo-search-submit").click()
    page.wait_for_url(re.compile(rf"/search/\?photo={TOKEN}(&crop=[0-9%C]+)?$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Products like your photo")
    return start


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_a_dress_finds_dresses_first_and_a_mug_is_told_no_close_match(page, request, demo_shop, width, height):
    assert demo_shop == 600
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/")
    assert search_with_photo(page, DRESS_PHOTO.read_bytes(), "my-dress.jpg") == DRESS_START
    titles = result_titles(page)
    print(titles[:10])
    assert [title.split(" ", 1)[1] for title in titles[:10]] == ["dress"] * 10, titles[:10]
    expect(page.locator("#search-no-close-match")).to_have_count(0)
    screenshot(page, f"{node_file_name(request)}-dress", widths=(width,))

    mug = next(product for product in drawn_products() if product.kind == "mug")
    assert search_with_photo(page, render_drawn_image(mug, 0), "mug.jpg") == MUG_START
    notice = page.locator("#search-no-close-match")
    expect(notice).to_be_visible()
    expect(notice.locator(".search-notice__title")).to_have_text("No close match")
    chips = notice.locator(".search-notice__browse .chip").all_inner_texts()
    print(chips)
    assert chips == MUG_NEAREST_CATEGORIES
    expect(notice.get_by_label("Or describe it in words")).to_be_visible()
    screenshot(page, f"{node_file_name(request)}-mug", widths=(width,))
    notice.get_by_label("Or describe it in words").fill("hat")
    with page.expect_navigation():
        notice.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Results for “hat”")
