"""The header at every width from 360 to 1920 px: one row (brand, the search box with its
camera inside, the cart), at most ~10% of the screen while sticky, and no browser file-input
look anywhere; screenshots at each width."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser_tests.photo_shop import lookalike_picture
from browser_tests.screenshots import screenshot
from browser_tests.shopper import upload_photo
from fixtures.images import scene
from fixtures.shop import jpeg

# (width, height): phones (360x780, 390x844), a tablet, laptops and a large desktop.
SCREENS = [(360, 780), (390, 844), (768, 1024), (1024, 768), (1280, 800), (1440, 900), (1920, 1080)]

BOXES_JS = """() => {
  const box = (selector) => { const r = document.querySelector(selector).getBoundingClientRect();
                              return {top: r.top, bottom: r.bottom, left: r.left, right: r.right}; };
  return {header: box(".site-header"), brand: box(".site-brand__mark"), input: box("#site-search-q"),
          search: box(".header-search__text .header-search__button"), camera: box(".header-search__photo-label"),
          file: box("#site-photo-search-file"), cart: box(".cart-link"),
          fileOpacity: getComputedStyle(document.querySelector("#site-photo-search-file")).opacity};
}"""


@pytest.mark.parametrize(("width", "height"), SCREENS, ids=[f"{w}x{h}" for w, h in SCREENS])
def test_the_header_is_one_row_with_the_camera_in_the_search_box(page, shop, request, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/")
    page.wait_for_selector("html.photo-search-ready", state="attached")
    boxes = page.evaluate(BOXES_JS)
    header = boxes["header"]
    assert header["bottom"] - header["top"] <= 0.1 * height or header["bottom"] - header["top"] <= 64, boxes
    middle = lambda b: (b["top"] + b["bottom"]) / 2  # noqa: E731
    # One row: every part's middle within a few pixels of the search box's.
    for part in ("brand", "search", "camera", "cart"):
        assert abs(middle(boxes[part]) - middle(boxes["input"])) <= 3, (part, boxes)
    # The camera (and the transparent file input on it) sits inside the word box, left of Search.
    for part in ("camera", "file"):
        assert boxes["input"]["left"] < boxes[part]["left"] and boxes[part]["right"] <= boxes["search"]["left"], boxes
    assert boxes["fileOpacity"] == "0"  # never the browser's "Choose File" look
    assert boxes["input"]["right"] - boxes["input"]["left"] >= 150, boxes  # room to type
    expect(page.get_by_role("button", name="Find similar", exact=True)).to_be_hidden()
    screenshot(page, f"{request.node.name.replace('[', '-').rstrip(']')}-header", widths=(width,))


def test_the_header_stays_on_screen_while_scrolling_and_the_categories_scroll_away(page, shop, snap):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    page.mouse.wheel(0, 600)
    page.wait_for_function("() => window.scrollY > 100")
    header = page.locator(".site-header").bounding_box()
    assert (header["y"], header["height"] <= 84.4) == (0, True), header
    assert page.locator(".site-nav").bounding_box()["y"] < 0  # scrolled away with the page
    snap("scrolled")


def test_choosing_a_photo_with_the_camera_opens_the_photo_dialog(page, photo_shop, snap):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    page.wait_for_selector("html.photo-search-ready", state="attached")
    with page.expect_file_chooser() as chooser_info:
        page.locator(".header-search__photo").click()  # where a shopper taps the camera
    chooser_info.value.set_files(
        files=[{"name": "lamp.jpg", "mimeType": "image/jpeg", "buffer": jpeg(lookalike_picture("lamp-query"))}]
    )
    expect(page.locator("dialog#photo-search-dialog")).to_have_attribute("data-state", "ready")
    snap("dialog")


NATIVE_FILE_INPUTS_JS = """() => [...document.querySelectorAll('input[type=file]')]
  .filter((input) => input.checkVisibility({opacityProperty: true}))
  .filter((input) => { const r = input.getBoundingClientRect(); return r.width > 1 && r.height > 1; })
  .map((input) => input.id || input.name)"""


def test_no_page_shows_the_browsers_own_file_input(page, shop, snap):
    for path in ("/", "/search/", "/search/?q=mug", "/c/mugs/"):
        page.goto(path)
        page.wait_for_selector("html.photo-search-ready", state="attached")
        assert (path, page.evaluate(NATIVE_FILE_INPUTS_JS)) == (path, [])
    page.goto("/search/")
    snap("search-page")


def test_the_photo_dialogs_action_is_on_screen_on_a_phone_whatever_the_photo(page, shop, snap):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/")
    page.wait_for_selector("html.photo-search-ready", state="attached")
    upload_photo(page, jpeg(scene(7).resize((600, 1500))), submit=False)  # a tall photo
    expect(page.locator("dialog#photo-search-dialog")).to_have_attribute("data-state", "ready")
    action = page.locator("#photo-search-submit").bounding_box()
    assert action["y"] >= 0 and action["y"] + action["height"] <= 844, action
    snap("dialog")
