"""Over the photo-search budget in a real browser: the photo widget shows the server's 429
message inline (no error page, no navigation), and without JavaScript the header form lands
on the friendly 429 page."""

import re

import pytest
from playwright.sync_api import expect

from browser_tests.shopper import open_dialog_with
from fixtures.images import scene
from fixtures.shop import jpeg

pytestmark = pytest.mark.browser

OVER_BUDGET = re.compile(r"^You have made a lot of photo searches in a short time\. Please try again in \d+ seconds\.$")


@pytest.fixture
def spent_photo_budget(settings, transactional_db):
    """One photo search a minute, spent before the test's upload (by spend_it)."""
    settings.API_THROTTLE_RATES = {"search_image": "1/min", "search_text": "120/min"}


def spend_it(page) -> None:
    # A photo results link counts even for an unknown photo; fetched outside the page, so the
    # page's console only shows what the test does next.
    assert page.request.get("/search/?photo=" + "0" * 32).status == 404


def test_the_photo_widget_shows_the_429_message_inline(page, console_errors, live_server, spent_photo_budget):
    spend_it(page)
    page.goto("/")
    dialog = open_dialog_with(page, jpeg(scene(4)))
    with page.expect_response(lambda response: response.url.endswith("/search/photo/")) as posted:
        page.locator("#photo-search-submit").click()
    assert posted.value.status == 429
    assert re.fullmatch(r"\d+", posted.value.headers["retry-after"])
    assert OVER_BUDGET.match(posted.value.json()["errors"][0])
    error = page.locator("#photo-search-error")
    expect(error).to_have_text(OVER_BUDGET)
    expect(error).to_be_visible()
    expect(dialog).to_have_attribute("data-state", "error")
    assert page.url == f"{live_server.url}/"
    assert console_errors == [
        f"Failed to load resource: the server responded with a status of 429 "
        f"(Too Many Requests) ({live_server.url}/search/photo/)"
    ]


def test_without_javascript_the_upload_lands_on_the_friendly_429_page(page_without_js, spent_photo_budget):
    page = page_without_js
    spend_it(page)
    page.goto("/")
    page.locator("#site-photo-search-file").set_input_files(
        files=[{"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": jpeg(scene(4))}]
    )
    with page.expect_response(lambda response: response.url.endswith("/search/photo/")) as posted:
        page.get_by_role("button", name="Find similar", exact=True).click()
    assert posted.value.status == 429
    expect(page.get_by_role("heading", level=1)).to_have_text("Please slow down a little")
    expect(page.locator("main p").first).to_have_text(OVER_BUDGET)
    expect(page.get_by_role("link", name="Back to the shop")).to_have_attribute("href", "/")
