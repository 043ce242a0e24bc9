"""Every kind of page under the Content-Security-Policy (visualshop/settings/csp.py) in a real
browser: no violation reported anywhere, and the features that scripts and styles drive still
work (the photo widget previews the chosen file as a blob: URL and uploads it, the category
filters open on a wide screen, the admin's scripts, Swagger UI).

Violations are caught as the browser reports them: an init script (run before any of the
page's own) listens for `securitypolicyviolation` events and hands each to the test through
an exposed binding, and Chromium's console lines about the policy are kept too. Every HTML
document must carry the policy header, so a missing policy cannot pass as "no violation";
test_an_injected_inline_script_and_style_attribute_are_blocked_and_reported shows the
listener does catch what the policy blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from browser_tests.photo_shop import lookalike_picture
from browser_tests.shopper import TOKEN, upload_photo
from catalog.models import Category, Product, ProductImage
from fixtures.factories import stored_image
from fixtures.images import scene_bytes
from fixtures.shop import jpeg
from orders.models import Order
from search.query_photos import query_photo_store
from vision.pipeline import product_images_process

pytestmark = pytest.mark.browser

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation({
    page: location.pathname + location.search, directive: event.violatedDirective,
    blocked: event.blockedURI, sample: event.sample, source: `${event.sourceFile}:${event.lineNumber}`,
  });
});
"""


@dataclass
class PolicyWatch:
    violations: list[dict] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    documents: list[tuple[str, int, str | None]] = field(default_factory=list)  # (path, status, policy)

    def assert_clean(self, *, pages: int):
        assert self.violations == [], self.violations
        assert self.console == [], self.console
        without_policy = [
            (path, status)
            for path, status, policy in self.documents
            if not policy or "script-src 'self'" not in policy or "default-src 'self'" not in policy
        ]
        assert without_policy == []
        assert len(self.documents) >= pages, [path for path, _, _ in self.documents]


@pytest.fixture
def policy_watch(page, live_server):
    watch = PolicyWatch()
    page.context.expose_binding("reportCspViolation", lambda source, violation: watch.violations.append(violation))
    page.context.add_init_script(REPORT_VIOLATIONS)
    page.on(
        "console",
        lambda message: watch.console.append(message.text) if "Content Security Policy" in message.text else None,
    )

    def on_response(response):
        if response.request.resource_type == "document" and response.frame == page.main_frame:
            watch.documents.append(
                (
                    response.url.removeprefix(live_server.url),
                    response.status,
                    response.headers.get("content-security-policy"),
                )
            )

    page.on("response", on_response)
    return watch


def go(page, path: str, status: int = 200):
    response = page.goto(path)
    assert response.status == status, (path, response.status)
    page.wait_for_load_state("load")
    return response


def results(page) -> int:
    return page.locator(".search-results .product-card").count()


def test_the_shop_pages_report_no_policy_violation_and_still_work(page, policy_watch, photo_shop, settings):
    lamps = Category.objects.get(name="Lamps")
    lamp = photo_shop.products["L1"]

    go(page, "/")
    page.wait_for_selector("html.photo-search-ready", state="attached")  # photo-search.js ran

    go(page, lamps.get_absolute_url())
    expect(page.locator(".product-card")).to_have_count(4)
    # static/js/filters-open.js: on a wide screen the filters start open.
    expect(page.locator("details#filters")).to_have_attribute("open", "")

    # A second photo, so the product page loads static/js/gallery.js.
    second = stored_image(lamp, jpeg(lookalike_picture(30)), "l1-second.jpg")
    product_images_process([second.pk])
    go(page, lamp.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_have_text(lamp.title)
    main = page.locator("#gallery-main")
    assert main.evaluate("image => image.complete && image.naturalWidth > 0")
    thumb = page.locator(".gallery__thumb").nth(1)
    thumb.click()
    expect(main).to_have_attribute("src", thumb.get_attribute("data-full"))
    expect(thumb).to_have_attribute("aria-current", "true")

    # (Which products each search finds is browser_tests/test_photo_search.py's business.)
    go(page, "/search/?q=lamp")
    assert results(page) > 0

    # The photo widget: the chosen file is previewed as a blob: URL, then uploaded.
    go(page, "/")
    page.wait_for_selector("html.photo-search-ready", state="attached")
    upload_photo(page, jpeg(lookalike_picture("lamp-query")), name="my-lamp.jpg", submit=False)
    dialog = page.locator("dialog#photo-search-dialog")
    expect(dialog).to_have_attribute("data-state", "ready")
    preview = page.locator("#photo-search-preview")
    assert preview.get_attribute("src").startswith("blob:")
    assert preview.evaluate("image => image.complete && image.naturalWidth") == 480
    with page.expect_response(lambda response: response.url.endswith("/search/photo/")) as posted:
        page.locator("#photo-search-submit").click()
    assert posted.value.status == 200
    page.wait_for_url(re.compile(rf"/search/\?photo={TOKEN}$"))
    expect(page.locator("#search-page")).to_have_attribute("data-mode", "photo")
    assert results(page) > 0
    photo_url = page.url

    # A cropped photo: the page's nonce'd style block sizes the photo and marks the crop.
    go(page, f"{photo_url}&crop=0%2C0%2C240%2C300")
    stage = page.locator("#search-query-stage")
    assert stage.evaluate("stage => getComputedStyle(stage).aspectRatio") == "480 / 600"

    # Hybrid: the photo refined with words.
    page.locator("#search-refine-q").fill("ceramic")
    with page.expect_navigation():
        page.locator("#search-refine-q").press("Enter")
    expect(page.locator("#search-page")).to_have_attribute("data-mode", "hybrid")
    assert results(page) > 0

    # Cart, checkout and the order page.
    go(page, lamp.get_absolute_url())
    page.get_by_role("button", name="Add to cart").click()
    page.wait_for_url(f"**{lamp.get_absolute_url()}")
    go(page, "/cart/")
    expect(page.locator(".cart-line")).to_have_count(1)
    go(page, "/checkout/")
    for label, text in (
        ("Full name", "Ada Lovelace"),
        ("Email", "ada@example.org"),
        ("Street and number", "12 St James's Square"),
        ("Postal code", "SW1Y 4JH"),
        ("City", "London"),
    ):
        page.get_by_label(label, exact=True).fill(text)
    page.get_by_label("Country").select_option("GB")
    page.get_by_role("button", name=re.compile("^Place order")).click()
    page.wait_for_url(re.compile(r"/orders/[0-9A-Z]+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you for your order")
    assert Order.objects.count() == 1

    go(page, "/no-such-page/", status=404)

    # The friendly 429 page of the search rate limit.
    settings.API_THROTTLE_RATES = {**settings.API_THROTTLE_RATES, "search_text": "1/min"}
    statuses = [page.goto("/search/?q=mug").status for _ in range(2)]
    assert statuses[-1] == 429, statuses
    expect(page.get_by_role("heading", level=1)).to_have_text("Please slow down a little")

    policy_watch.assert_clean(pages=17)


def test_the_admin_and_the_api_docs_report_no_policy_violation_and_still_work(page, policy_watch, photo_shop):
    get_user_model().objects.create_superuser("staff", "staff@example.org", "staff-password-1")
    image = ProductImage.objects.filter(product=photo_shop.products["M1"]).get()

    # A locked-out login: the admin login page with the lockout message.
    go(page, "/admin/login/")
    for _ in range(5):
        page.get_by_label("Username").fill("mallory")
        page.get_by_label("Password").fill("guess")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state("load")
    expect(page.locator("[data-lockout-message]")).to_contain_text("Too many failed login attempts")

    go(page, "/admin/login/")
    page.get_by_label("Username").fill("staff")
    page.get_by_label("Password").fill("staff-password-1")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/admin/")

    go(page, "/admin/catalog/product/")
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(Product.objects.count())
    # The admin's own scripts run: "select all" ticks every row and counts them.
    page.locator("#action-toggle").check()
    expect(page.locator(".action-counter")).to_have_text(
        f"{Product.objects.count()} of {Product.objects.count()} selected"
    )

    go(page, "/admin/catalog/productimage/")  # thumbnails and status notes use style attributes
    page.wait_for_function("() => [...document.images].every((image) => image.complete)")
    # A picture the real pipeline made (the lamps' photos are processed by photo_shop).
    thumbnail = page.locator("#result_list tbody tr").filter(has_text="Brass table lamp").locator("img").first
    assert thumbnail.evaluate("image => image.complete && image.naturalWidth > 0")
    go(page, f"/admin/catalog/product/{photo_shop.products['M1'].pk}/change/")
    expect(page.locator("#id_title")).to_have_value(photo_shop.products["M1"].title)
    go(page, f"/admin/catalog/productimage/{image.pk}/change/")
    # Every picture loaded before the page is left (a request aborted by leaving counts as broken).
    page.wait_for_function("() => [...document.images].every((image) => image.complete)")

    # Where staff unlock a pair: axes' access attempts, mallory's among them.
    go(page, "/admin/axes/accessattempt/")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list tbody tr")).to_contain_text("mallory")

    go(page, "/api/v1/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("VisualShop API")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()

    policy_watch.assert_clean(pages=13)


def test_an_injected_inline_script_and_style_attribute_are_blocked_and_reported(page, policy_watch, transactional_db):
    go(page, "/")
    page.evaluate("""() => {
        const script = document.createElement("script");
        script.textContent = "window.injected = true;";
        document.body.appendChild(script);
        document.body.insertAdjacentHTML("beforeend", '<p id="injected-style" style="color: rgb(255, 0, 0)">x</p>');
    }""")
    page.wait_for_function("() => document.querySelectorAll('#injected-style').length === 1")
    expect(page.locator("#injected-style")).not_to_have_css("color", "rgb(255, 0, 0)")
    assert page.evaluate("() => window.injected") is None
    page.wait_for_timeout(200)  # the reports are delivered as tasks
    assert sorted(v["directive"] for v in policy_watch.violations) == ["script-src-elem", "style-src-attr"]
    assert {v["page"] for v in policy_watch.violations} == {"/"}


def test_without_javascript_the_nonced_style_block_sizes_the_photo_and_draws_the_crop(page_without_js, photo_shop):
    """The results page's per-photo values (size, crop mark) come from a <style> block with the
    response's nonce, not style attributes: without scripts the mark must still sit where the crop is."""
    page = page_without_js
    token = query_photo_store(scene_bytes(4)).token  # stored at 320 x 400
    response = page.goto(f"/search/?photo={token}&crop=32%2C40%2C288%2C240")
    assert response.status == 200
    assert "'nonce-" in response.headers["content-security-policy"]
    stage = page.locator("#search-query-stage")
    assert stage.evaluate("stage => getComputedStyle(stage).aspectRatio") == "320 / 400"
    box = stage.bounding_box()
    mark = page.locator("[data-crop-mark]").bounding_box()
    # crop 32,40 - 288,240 of 320 x 400: left 10 %, top 10 %, width 80 %, height 50 %
    assert [
        round(value, 1)
        for value in (
            (mark["x"] - box["x"]) / box["width"],
            (mark["y"] - box["y"]) / box["height"],
            mark["width"] / box["width"],
            mark["height"] / box["height"],
        )
    ] == [0.1, 0.1, 0.8, 0.5]
