"""Search by photo in a real browser, through the photo widget (static/js/photo-search.js):
upload and see look-alikes of the photo's category first, crop onto one item of a busy picture,
refine photo results with words, files that are not photos, the whole flow with the keyboard
only, and the plain form with JavaScript switched off.

The shop is `photo_shop` (browser_tests/conftest.py): the API shop plus a Lamps category where
three lamps share one look (variants of scene(21)) and a fourth looks different, every photo
processed by the real model and every product refreshed (text index, similar rows).
"""

import re
from contextlib import contextmanager
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image
from playwright.sync_api import expect

from browser_tests.focus import focus_ring, from_the_top, has_visible_focus, tab_to
from browser_tests.photo_shop import lookalike_picture
from browser_tests.screenshots import node_file_name, screenshot
from browser_tests.shopper import TOKEN, open_dialog_with
from catalog.models import Product
from fixtures.images import scene
from fixtures.shop import jpeg

pytestmark = pytest.mark.browser

LOOKALIKE_LAMPS = ["Brass table lamp", "Ceramic table lamp", "Ceramic floor lamp"]
# The same look in the Lamps category ranks before a closer-looking mug: the category vote.
LAMPS_FIRST = [*LOOKALIKE_LAMPS, "Paper pendant lamp"]
REASON_RE = re.compile(r"^Looks similar \((\d+)%\)$")
MATCH_RE = re.compile(r"^Match \((\d+)%\)$")  # photo and words: the share of the best possible score

# A street-like picture: dark, 2000 x 1600, with the Stoneware mug's picture (scene(4), M1)
# pasted into its bottom-right corner at STREET_ITEM (left, top, right, bottom). The arrow keys
# move the crop box by 3% of a side (60 x 48 px here), so the box can land on it exactly.
STREET_SIZE = (2000, 1600)
STREET_ITEM = (1320, 720, 2000, 1600)
STORED_SCALE = 1024 / 2000  # the stored copy's long side is 1024 px (search.query_photos)
# The keys that take the box onto STREET_ITEM: Home (the whole picture), shrink it by 22 x 60 px
# and 15 x 48 px from the right and bottom (Shift+arrows), then move it 22 steps right, 15 down.
STREET_KEYS = ["Home"] + ["Shift+ArrowLeft"] * 22 + ["Shift+ArrowUp"] * 15 + ["ArrowRight"] * 22 + ["ArrowDown"] * 15
# Where the dialog's box starts on the street photo (likelyItemBox in static/js/photo-search.js):
# the mug's box, found on a 64 px copy (a 1/31.25 grid), widened by 6% of each side (120 x 96
# px) and kept inside the picture.
STREET_LIKELY_BOX = "1193,626,2000,1600"

JS_TYPES_TEXT = "JPEG, PNG, WebP, HEIC, GIF or AVIF"


def street_photo() -> bytes:
    street = Image.new("RGB", STREET_SIZE, (30, 30, 30))
    left, top, right, bottom = STREET_ITEM
    street.paste(scene(4).resize((right - left, bottom - top)), (left, top))
    return jpeg(street)


def stored_crop(box) -> str:
    """A crop box on the uploaded street photo, as the results URL has it (stored pixels)."""
    return ",".join(str(round(value * STORED_SCALE)) for value in box)


def result_titles(page) -> list[str]:
    return page.locator(".search-results .product-card__title").all_inner_texts()


def photo_reasons(page, count: int) -> list[str]:
    cards = page.locator(".search-results .result-card")
    return [cards.nth(n).locator(".result-card__reason--photo").inner_text() for n in range(count)]


def query_of(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


@contextmanager
def requests_to_the_upload(page):
    """The requests to /search/photo/ made inside the `with` block (a list)."""
    requests = []

    def record(request):
        if urlsplit(request.url).path == "/search/photo/":
            requests.append(request.url)

    page.on("request", record)
    try:
        yield requests
    finally:
        page.remove_listener("request", record)


# --- 1. a photo of a product's kind finds that category's look-alikes first ------------------


def test_a_lamp_photo_finds_the_look_alike_lamps_first_and_says_why(page, snap, photo_shop):
    page.goto("/")
    open_dialog_with(page, jpeg(lookalike_picture("lamp-query")), name="my-lamp.jpg")
    expect(page.locator("#photo-search-stage")).to_have_attribute("data-width", "480")
    expect(page.locator("#photo-search-stage")).to_have_attribute("data-height", "600")
    expect(page.locator("#photo-search-crop")).to_have_attribute("data-crop", "0,0,480,600")
    # The lamps fill the photo (more than 35% of it): the box starts on the whole photo.
    expect(page.locator("#photo-search-stage")).to_have_attribute("data-start", "whole")
    assert page.locator("#photo-search-preview").evaluate("image => image.complete && image.naturalWidth") == 480
    expect(page.locator("#photo-search-error")).to_have_text("")
    snap("dialog")

    with page.expect_response(lambda response: response.url.endswith("/search/photo/")) as posted:
        page.locator("#photo-search-submit").click()
    assert posted.value.status == 200
    page.wait_for_url(re.compile(rf"/search/\?photo={TOKEN}$"))

    expect(page.locator("#search-page")).to_have_attribute("data-mode", "photo")
    expect(page.get_by_role("heading", level=1)).to_have_text("Products like your photo")
    titles = result_titles(page)
    assert titles[:4] == LAMPS_FIRST, titles
    # Every product of the shop but the inactive one, each once.
    assert sorted(titles) == sorted(Product.objects.filter(is_active=True).values_list("title", flat=True))
    lamps = set(Product.objects.filter(category__name="Lamps").values_list("title", flat=True))
    assert set(titles[:4]) == lamps
    # Each card says why: the look-alikes look very similar, best first.
    reasons = photo_reasons(page, 3)
    percents = [int(REASON_RE.match(reason).group(1)) for reason in reasons]
    assert percents == sorted(percents, reverse=True) and percents[-1] >= 90, reasons
    cards = page.locator(".search-results .result-card")
    for n, percent in enumerate(percents):
        expect(cards.nth(n)).to_have_attribute("data-similarity", str(percent))
        expect(cards.nth(n)).to_have_attribute("data-position", str(n + 1))


# --- 2. crop onto one item of a busy picture ------------------------------------------------


def test_cropping_onto_the_mug_in_a_street_photo_finds_the_mug_and_the_whole_photo_does_not(page, snap, photo_shop):
    page.goto("/")
    open_dialog_with(page, street_photo(), name="street.jpg")
    stage, crop = page.locator("#photo-search-stage"), page.locator("#photo-search-crop")
    expect(stage).to_have_attribute("data-width", "2000")
    expect(stage).to_have_attribute("data-height", "1600")
    # The box starts on the likely item: the mug, the one thing apart from the dark backdrop.
    expect(crop).to_have_attribute("data-crop", STREET_LIKELY_BOX)
    expect(stage).to_have_attribute("data-start", "likely-item")
    snap("likely-item")

    # Drag the top-left corner handle with the pointer onto the mug's top-left corner; the
    # bottom-right corner is the picture's already.
    stage_box = stage.bounding_box()
    css_per_pixel = stage_box["width"] / STREET_SIZE[0]
    handle = crop.locator('[data-handle="nw"]').bounding_box()
    x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
    start_x, start_y = (int(value) for value in STREET_LIKELY_BOX.split(",")[:2])
    page.mouse.move(x, y)
    page.mouse.down()
    dx, dy = (STREET_ITEM[0] - start_x) * css_per_pixel, (STREET_ITEM[1] - start_y) * css_per_pixel
    page.mouse.move(x + dx / 2, y + dy / 2, steps=4)
    page.mouse.move(x + dx, y + dy, steps=4)
    page.mouse.up()
    box = [int(value) for value in crop.get_attribute("data-crop").split(",")]
    # Within a CSS pixel of the mug's corner (one CSS pixel is 1 / css_per_pixel picture pixels).
    tolerance = 1 / css_per_pixel + 1
    assert abs(box[0] - STREET_ITEM[0]) <= tolerance and abs(box[1] - STREET_ITEM[1]) <= tolerance, box
    assert box[2:] == [2000, 1600], box
    expect(crop).to_be_focused()
    snap("cropped")

    page.locator("#photo-search-submit").click()
    page.wait_for_url(re.compile(rf"/search/\?photo={TOKEN}&crop=[0-9%C]+$"))
    expected_crop = stored_crop(box)
    assert query_of(page.url)["crop"] == expected_crop
    token = query_of(page.url)["photo"]
    expect(page.locator("#search-query-photo")).to_have_attribute("data-crop", expected_crop)
    expect(page.locator("#search-query-stage")).to_have_attribute("data-width", "1024")
    expect(page.locator("#search-query-crop")).to_have_attribute("data-crop", expected_crop)
    expect(page.locator("#search-refine-crop")).to_have_value(expected_crop)
    titles = result_titles(page)
    assert titles[0] == "Stoneware mug", titles
    assert REASON_RE.match(photo_reasons(page, 1)[0])
    snap("results-cropped")

    # The same photo without the crop: the mug is not first.
    page.locator("#search-crop-whole").click()
    page.wait_for_url(re.compile(rf"/search/\?photo={token}$"))
    expect(page.locator("#search-query-photo")).to_have_attribute("data-crop", "")
    whole_titles = result_titles(page)
    assert whole_titles[0] != "Stoneware mug", whole_titles
    assert whole_titles[0] == "Paper pendant lamp", whole_titles


# --- 3. refine photo results with words -------------------------------------------------------


def test_refining_cropped_photo_results_with_words_keeps_the_photo_and_crop(page, snap, photo_shop):
    page.goto("/")
    open_dialog_with(page, jpeg(lookalike_picture("lamp-query")), name="my-lamp.jpg")
    crop = page.locator("#photo-search-crop")
    expect(crop).to_be_focused()
    # Trim the margin a little (steps of 3%: 14 x 18 px): smaller from the right and bottom,
    # then one step right and down.
    for key in ["Shift+ArrowLeft", "Shift+ArrowLeft", "Shift+ArrowUp", "Shift+ArrowUp", "ArrowRight", "ArrowDown"]:
        page.keyboard.press(key)
    expect(crop).to_have_attribute("data-crop", "14,18,466,582")
    page.locator("#photo-search-submit").click()
    page.wait_for_url(re.compile(rf"/search/\?photo={TOKEN}&crop=14%2C18%2C466%2C582$"))
    token = query_of(page.url)["photo"]
    expect(page.locator("#search-page")).to_have_attribute("data-mode", "photo")
    assert result_titles(page)[:3] == LOOKALIKE_LAMPS

    refine = page.locator("#search-refine-q")
    refine.click()
    page.keyboard.type("ceramic")
    page.get_by_role("button", name="Refine", exact=True).click()
    # The refine form sends its fields in page order: the photo and crop, then the words.
    page.wait_for_url(re.compile(rf"/search/\?photo={token}&crop=14%2C18%2C466%2C582&q=ceramic$"))
    assert query_of(page.url) == {"q": "ceramic", "photo": token, "crop": "14,18,466,582"}
    expect(page.locator("#search-page")).to_have_attribute("data-mode", "hybrid")
    expect(page.get_by_role("heading", level=1)).to_have_text("Like your photo, matching “ceramic”")
    expect(page.locator("#search-refine-q")).to_have_value("ceramic")
    expect(page.locator("#search-query-photo")).to_have_attribute("data-crop", "14,18,466,582")
    # The words narrow the photo's results (10 products) to the two that match them.
    titles = result_titles(page)
    assert titles == ["Ceramic table lamp", "Ceramic floor lamp"], titles
    expect(page.locator(".page-header__count")).to_have_text("2 products")
    cards = page.locator(".search-results .result-card")
    for n in range(2):
        expect(cards.nth(n).locator(".result-card__reason--words")).to_have_text("Matches “ceramic”")
        expect(cards.nth(n).locator(".result-card__reason--photo")).to_have_text(MATCH_RE)
    expect(page.locator(".query-photo__links a").first).to_have_attribute(
        "href", f"/search/?photo={token}&crop=14%2C18%2C466%2C582"
    )


# --- 4. files that are not photos -------------------------------------------------------------


@pytest.mark.parametrize("case", ["text-file", "broken-jpeg"])
def test_a_file_that_is_not_a_photo_gets_an_inline_message(page, console_errors, live_server, photo_shop, case):
    product = photo_shop.products["M1"]
    # Playwright's clock (time runs as usual): run_for() below fires whatever timers the widget
    # left pending, so a late status message cannot hide behind timing.
    page.clock.install()
    page.goto(product.get_absolute_url())
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url) if frame == page.main_frame else None)
    error = page.locator("#photo-search-error")
    if case == "text-file":
        # Refused in the browser before anything is sent.
        with requests_to_the_upload(page) as uploads:
            dialog = open_dialog_with(
                page, b"milk, eggs, bread\n", name="shopping-list.txt", mime_type="text/plain", state="invalid"
            )
            expect(error).to_have_text(
                f"“shopping-list.txt” is not a photo we can use. Choose a {JS_TYPES_TEXT} picture."
            )
            expect(page.locator("#photo-search-nopreview")).to_have_text("No photo chosen yet.")
            expect(page.locator("#photo-search-submit")).to_be_disabled()
            expect(page.locator("#photo-search-choose")).to_be_focused()
            # The header form's own button does not send it either.
            page.locator("#site-photo-search").evaluate("form => form.requestSubmit()")
            expect(dialog).to_have_attribute("data-state", "invalid")
        assert uploads == []
    else:
        # A .jpg the browser cannot decode: no preview (so no crop box); the server says why.
        dialog = open_dialog_with(page, b"this is not a JPEG at all", name="holiday.jpg", state="nopreview")
        expect(page.locator("#photo-search-nopreview")).to_have_text(
            "Your browser cannot show this photo, so it cannot be cropped here; we search the whole photo."
        )
        expect(page.locator("#photo-search-submit")).to_be_focused()
        with page.expect_response(lambda response: response.url.endswith("/search/photo/")) as posted:
            page.keyboard.press("Enter")
        assert posted.value.status == 400
        assert posted.value.json() == {
            "errors": ["We could not use that photo: not an image (content is not a recognised image format)."]
        }
        expect(dialog).to_have_attribute("data-state", "error")
        expect(error).to_have_text(
            "We could not use that photo: not an image (content is not a recognised image format)."
        )
        expect(page.locator("#photo-search-choose")).to_be_focused()
        # No stale "Uploaded. Searching…" announced after the error (the status is cleared for good).
        page.clock.run_for(2000)
        expect(page.locator("#photo-search-status")).to_have_text("")
        expect(error).to_have_text(
            "We could not use that photo: not an image (content is not a recognised image format)."
        )
    expect(error).to_have_attribute("role", "alert")
    expect(error).to_be_visible()
    expect(dialog).to_be_visible()
    # Still on the product page: no error page, nothing navigated, nothing logged.
    assert page.url.endswith(product.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text("Stoneware mug")
    assert navigations == []
    # Nothing logged but, for the refused upload, Chromium's own network line for the 400 the
    # widget asked for (the JSON errors); not a script error.
    network_line = (
        "Failed to load resource: the server responded with a status of 400 (Bad Request) "
        f"({live_server.url}/search/photo/)"
    )
    assert console_errors == ([] if case == "text-file" else [network_line])


# --- 6. the whole photo search with the keyboard only -----------------------------------------


def test_photo_search_with_the_keyboard_only_reaches_results_with_crop_and_words(page, snap, photo_shop):
    """From the top of the page: Tab to the header's photo input, press Space to open the file
    picker; the only step no keyboard can do in a headless browser is choosing in the OS
    dialog, so the picker Chromium opens is answered with FileChooser.set_files (where a person
    would pick the file). Then the crop box with arrow keys, Tab to the words, type, Tab to the
    submit button, Enter."""
    # Playwright turns the browser's file-chooser interception on when something listens for it,
    # and asynchronously: turned on only by expect_file_chooser below, it could still be on its
    # way when Space reached the browser, and the picker then went unseen (twice in loaded full
    # runs, never alone). Listening from the start turns it on long before.
    page.on("filechooser", lambda chooser: None)
    from_the_top(page, "/")
    page.wait_for_selector("html.photo-search-ready", state="attached")
    stops = tab_to(page, "#site-photo-search-file")
    assert has_visible_focus(stops[-1]), stops[-1]
    snap("photo-input-focused")
    # The screenshots resize the viewport and back: the focus must still be on the input (a
    # failure to open the picker below then says why, instead of a bare timeout).
    expect(page.locator("#site-photo-search-file")).to_be_focused()

    with page.expect_file_chooser() as chooser_info:
        page.keyboard.press("Space")
    chooser = chooser_info.value
    assert chooser.element.get_attribute("id") == "site-photo-search-file"
    chooser.set_files(files=[{"name": "street.jpg", "mimeType": "image/jpeg", "buffer": street_photo()}])

    dialog = page.locator("dialog#photo-search-dialog")
    expect(dialog).to_have_attribute("data-state", "ready")
    crop = page.locator("#photo-search-crop")
    expect(crop).to_be_focused()
    assert has_visible_focus(focus_ring(page)), focus_ring(page)
    for key in STREET_KEYS:
        page.keyboard.press(key)
    expect(crop).to_have_attribute("data-crop", ",".join(map(str, STREET_ITEM)))
    expect(page.locator("#photo-search-status")).to_have_text(
        "The box covers 34% by 55% of the photo, 66% from the left and 45% from the top."
    )

    stops = tab_to(page, "#photo-search-words")
    assert all(has_visible_focus(stop) for stop in stops), stops
    page.keyboard.type("mug")
    page.keyboard.press("Tab")
    ring = focus_ring(page)
    assert ring["id"] == "photo-search-submit" and has_visible_focus(ring), ring
    snap("dialog")
    page.keyboard.press("Enter")

    expected_crop = stored_crop(STREET_ITEM)
    assert expected_crop == "676,369,1024,819"
    page.wait_for_url(re.compile(rf"/search/\?q=mug&photo={TOKEN}&crop=676%2C369%2C1024%2C819$"))
    expect(page.locator("#search-page")).to_have_attribute("data-mode", "hybrid")
    expect(page.get_by_role("heading", level=1)).to_have_text("Like your photo, matching “mug”")
    expect(page.locator("#search-query-crop")).to_have_attribute("data-crop", expected_crop)
    titles = result_titles(page)
    assert titles[:2] == ["Stoneware mug", "Enamel mug"], titles


# --- without JavaScript ------------------------------------------------------------------------


def test_without_javascript_the_header_form_uploads_a_photo_and_shows_results(page_without_js, photo_shop, request):
    page = page_without_js
    page.goto("/")
    assert page.evaluate("() => document.documentElement.classList.contains('photo-search-ready')") is False
    expect(page.locator("#site-photo-search")).not_to_have_attribute("data-photo-search-enhanced", "")
    screenshot(page, f"{node_file_name(request)}-home")
    page.locator("#site-photo-search-file").set_input_files(
        files=[{"name": "my-lamp.jpg", "mimeType": "image/jpeg", "buffer": jpeg(lookalike_picture("lamp-query"))}]
    )
    with page.expect_response(lambda response: response.url.endswith("/search/photo/")) as posted:
        page.get_by_role("button", name="Find similar", exact=True).click()
    assert posted.value.status == 303
    page.wait_for_url(re.compile(rf"/search/\?photo={TOKEN}$"))
    expect(page.locator("dialog#photo-search-dialog")).to_have_count(0)
    expect(page.locator("#search-page")).to_have_attribute("data-mode", "photo")
    expect(page.get_by_role("heading", level=1)).to_have_text("Products like your photo")
    assert result_titles(page)[:4] == LAMPS_FIRST
    # Without the script the crop shows, but is not adjustable: no crop box.
    expect(page.locator("#search-query-crop")).to_have_count(0)
    expect(page.locator("#search-crop-apply")).to_be_hidden()


# --- the results page: a compact strip, the first results above the fold, the crop on demand ---


@pytest.mark.parametrize("width,height", [(390, 844), (1280, 800)])
def test_photo_results_start_on_screen_and_the_crop_editor_opens_on_demand(page, request, photo_shop, width, height):
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/")
    open_dialog_with(page, jpeg(lookalike_picture("lamp-query")), name="my-lamp.jpg")
    with page.expect_navigation():
        page.locator("#photo-search-submit").click()
    page.wait_for_url(re.compile(rf"/search/\?photo={TOKEN}$"))
    assert page.evaluate("window.scrollY") == 0
    strip = page.locator("#search-query-photo").bounding_box()
    first = page.locator(".search-results .result-card").first
    image = first.locator(".product-card__image").bounding_box()
    print(strip, image)
    # The first result's whole photo is on screen without scrolling, under a compact strip.
    assert image["y"] + image["height"] <= height, (strip, image)
    assert strip["height"] <= STRIP_MAX_HEIGHT[width], strip
    # Nothing in the strip sticks out of it (the words' field and button fit beside the photo).
    for control in ("#search-refine-q", "#search-refine-form button", "#search-crop-edit"):
        box = page.locator(control).bounding_box()
        assert strip["x"] <= box["x"] and box["x"] + box["width"] <= strip["x"] + strip["width"], (control, box, strip)
    expect(page.locator("#search-crop-apply")).to_be_hidden()
    expect(page.locator("#search-crop-help")).to_be_hidden()
    expect(page.locator("#search-query-crop")).to_have_attribute("tabindex", "-1")
    screenshot(page, f"{node_file_name(request)}-strip", widths=(width,))

    # On demand: the editor, a picture big enough to drag on; a drag across the item draws a box.
    edit = page.get_by_role("button", name="Adjust the crop")
    edit.click()
    expect(page.get_by_role("button", name="Done adjusting")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("#search-crop-help")).to_be_visible()
    apply = page.locator("#search-crop-apply")
    expect(apply).to_be_visible()
    expect(apply).to_be_disabled()
    stage = page.locator("#search-query-stage").bounding_box()
    assert stage["height"] >= 280, stage
    page.mouse.move(stage["x"] + stage["width"] * 0.2, stage["y"] + stage["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(stage["x"] + stage["width"] * 0.7, stage["y"] + stage["height"] * 0.7, steps=5)
    page.mouse.up()
    box = [int(v) for v in page.locator("#search-query-crop").get_attribute("data-crop").split(",")]
    assert [round(v / side, 1) for v, side in zip(box, (480, 600, 480, 600))] == [0.2, 0.2, 0.7, 0.7], box
    expect(apply).to_be_enabled()
    screenshot(page, f"{node_file_name(request)}-editor", widths=(width,))
    with page.expect_navigation():
        apply.click()
    assert query_of(page.url)["crop"] == ",".join(map(str, box))
    expect(page.locator("#search-query-photo")).not_to_have_class(re.compile("query-photo--editing"))


STRIP_MAX_HEIGHT = {390: 200, 1280: 160}
