"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server.

How it fits together
--------------------
- `browser` (package scope): one Playwright and one headless Chromium for the whole browser
  suite, started at its first test and stopped after its last (package scope rather than
  session scope: pytest-django groups every live-server test together, so this is the same
  single launch, but the Playwright event loop does not outlive the browser tests while the
  rest of `make test` runs). The binary is /usr/bin/chromium (Debian's package, which
  `.ci/run` installs; `VISUALSHOP_CHROMIUM` points elsewhere). If it is missing, every
  browser test FAILS with a message saying how to install it: never a silent skip.
  Playwright's `launch()` gives Chromium a fresh, empty user-data dir of its own (it refuses a
  --user-data-dir flag) and deletes it afterwards; each test also gets its own context
  (cookies, storage, session), so no test sees another's cart.
- `live_server` (pytest-django): Django's LiveServerThread on http://localhost:<port>, with
  the transactional database (committed for real, flushed after each test). pytest-django
  wraps it in django.contrib.staticfiles' StaticFilesHandler, so /static/ is served from the
  finders (no collectstatic); /media/ (the processed photos) is served by Django itself
  because SERVE_MEDIA is on. The `page` fixture fails the test if any /static/ or /media/
  request fails or the page throws a JavaScript error.
- `page`: a fresh page per test (1280 x 900), base URL = the live server, so
  `page.goto("/cart/")` works. When the test ends (passed or failed) it saves the final
  screenshots var/screenshots/<test-name>-390.png and -1280.png.
- `screenshot(page, name)` (browser_tests/screenshots.py): full-page PNGs at 390 px and 1280 px wide,
  var/screenshots/<name>-<width>.png; the `snap` fixture prefixes the test's name
  (`snap("cart")` -> <test-name>-cart-390.png, ...).
- `shop_with_photos`: the shared six-product shop (fixtures/shop.py, build_shop),
  every photo processed by the real pipeline (model, derivatives, vectors), so product
  pages show real images and photo search has vectors to find. `shop`: the same catalogue
  without processing (no model run; faster) for tests that need no photos.
- `upload_photo(page, content)` (browser_tests/shopper.py, with the other things a shopper
  does: open_dialog_with, add_to_cart, type_field): puts bytes into the header's photo-search file input
  (set_input_files, no file on disk) and submits its form (submit=False: only chooses it, so
  the photo widget opens its dialog).
- `demo_shop`: the demo catalogue (catalog.demo: 600 real photographs), processed, refreshed and
  with its projection fitted, as a fresh `make run` serves it (browser_tests/demo_shop.py).
- `photo_shop`: the API shop plus a Lamps category where three lamps share one look (variants
  of scene(21), `lookalike_picture`; browser_tests/photo_shop.py), photos processed and every product refreshed by
  search.product_refresh.products_refresh (text index, "Visually similar" rows).
- `page_without_js`: as `page`, with JavaScript switched off; `console_errors`: the page's
  console messages of type "error".

Why DJANGO_ALLOW_ASYNC_UNSAFE: Playwright's sync API runs an asyncio loop in the main thread
(asyncio.get_running_loop() succeeds while it lives), so Django would refuse ORM calls made by
the test itself (building the shop, asserting on orders, the flush between tests) as if they
came from async code. They do not, so the check is switched off while the browser lives.

No broker: catalogue writes queue Celery tasks on commit (the live server commits for real).
Browser tests start no Redis and no worker; the shop's photos are processed synchronously in
the fixture, so the "broker unavailable" back-off of visualshop.broker.sending is engaged for each
test and nothing is sent.
"""

from __future__ import annotations

import math
import os

import pytest

from browser_tests.demo_shop import build_demo_shop
from browser_tests.photo_shop import build_photo_shop
from browser_tests.screenshots import SCREENSHOT_DIR, VIEWPORT, node_file_name, screenshot
from fixtures.factories import mark_processed
from fixtures.shop import build_shop
from visualshop.broker import sending

CHROMIUM = os.environ.get("VISUALSHOP_CHROMIUM", "/usr/bin/chromium")
# What this machine needs: as root, no sandbox; no GPU; and none of Chromium's own network
# traffic (a closed network refuses it, slowly).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ACTION_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 20_000


# --- the browser --------------------------------------------------------------------------


@pytest.fixture(scope="package")
def browser():
    """One headless Chromium for the browser suite (see the module docstring)."""
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}, so the browser tests cannot run. "
            "Install Debian's package (`apt-get install -y chromium`; .ci/run does it) or set "
            "VISUALSHOP_CHROMIUM to a Chromium binary.",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail(
            "playwright is not installed in this virtualenv: run `make venv` (requirements.txt pins it).", pytrace=False
        )

    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            try:
                chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            except Exception as exc:
                pytest.fail(f"Chromium at {CHROMIUM} did not start: {exc}", pytrace=False)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(autouse=True)
def no_broker():
    """Nothing is sent to Celery from a browser test (see the module docstring)."""
    sending.back_off(math.inf)
    yield
    sending.back_off_reset()


def open_page(browser, live_server, request, **context_options):
    """A fresh page in its own browser context against the live server (a generator: yields
    the page, then saves the final screenshots, closes the context and fails the test if a
    static file or photo did not load or the page threw). `context_options` go to
    browser.new_context (e.g. java_script_enabled=False)."""
    context = browser.new_context(viewport=VIEWPORT, base_url=live_server.url, locale="en-GB", **context_options)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []

    def on_response(response):
        path = response.url.removeprefix(live_server.url)
        if response.status >= 400 and path.startswith(("/static/", "/media/")):
            problems.append(f"{response.status} {path}")

    def on_request_failed(request_):
        path = request_.url.removeprefix(live_server.url)
        # net::ERR_ABORTED is the browser cancelling a load because the test navigated on
        # (a lazy photo still coming in when the tab key or a click leaves the page); a
        # missing or refused file is an answer >= 400, caught by on_response above.
        if request_.failure == "net::ERR_ABORTED":
            return
        if path.startswith(("/static/", "/media/")):
            problems.append(f"failed {path}: {request_.failure}")

    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    page.on("pageerror", lambda error: problems.append(f"JavaScript error on {page.url}: {error}"))
    try:
        yield page
        if not page.is_closed():
            try:
                screenshot(page, node_file_name(request))
            except Exception as exc:  # a crashed page: report it, do not hide the test's own failure
                problems.append(f"the final screenshot failed: {exc}")
    finally:
        context.close()
    assert not problems, f"the pages had broken resources or scripts: {problems}"


@pytest.fixture
def page(browser, live_server, request):
    """A fresh page in its own browser context, against the live server. Fails the test when
    a static file or photo does not load or the page throws; saves the final screenshots."""
    yield from open_page(browser, live_server, request)


@pytest.fixture
def page_without_js(browser, live_server, request):
    """As `page`, in a context with JavaScript switched off (java_script_enabled=False): the
    pages as a shopper without scripts gets them (Playwright's own evaluate still works)."""
    yield from open_page(browser, live_server, request, java_script_enabled=False)


@pytest.fixture
def console_errors(page):
    """Every console message of type "error" the page logs, as "text (url)"; a test asserts
    the list is empty where nothing may go wrong."""
    errors: list[str] = []
    page.on(
        "console",
        lambda message: (
            errors.append(f"{message.text} ({message.location.get('url', '')})") if message.type == "error" else None
        ),
    )
    return errors


# --- screenshots (browser_tests/screenshots.py) -------------------------------------------


@pytest.fixture
def snap(page, request):
    """snap("cart") saves var/screenshots/<test-name>-cart-<width>.png at both widths."""
    prefix = node_file_name(request)
    return lambda step: screenshot(page, f"{prefix}-{step}")


# --- the shop -----------------------------------------------------------------------------


@pytest.fixture
def shop(transactional_db):
    """The shared test catalogue (fixtures/shop.py SHOP): six products in Clothing and
    Home, one inactive, D2 out of stock; one photo each, marked processed without the model
    (derivatives written, no vectors): the shop shows products with a processed photo only."""
    shop = build_shop(process=False)
    mark_processed(*shop.images.values())
    return shop


@pytest.fixture
def shop_with_photos(transactional_db, settings):
    """The same catalogue with every photo processed by the real pipeline: derivatives for
    the pages, an active image model and vectors for photo search. Returns api's Shop:
    shop.products["M1"], shop.images["M1"], shop.id("M1")."""
    # As api's processed_shop: the generated scenes are neither duplicates nor blurred.
    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01
    settings.IMAGE_BLUR_THRESHOLD = 0
    shop = build_shop(process=True)
    assert {image.status for image in shop.images.values()} <= {"ready", "flagged"}, {
        sku: (image.status, image.reason) for sku, image in shop.images.items()
    }
    return shop


@pytest.fixture
def demo_shop(transactional_db):
    """The demo catalogue as `make run` serves it: its 600 real photographs processed by the
    real pipeline, every product refreshed and the search projection fitted (browser_tests/
    demo_shop.py). About 20 s: only the tests of the demo shop's first impression use it."""
    return build_demo_shop()


@pytest.fixture
def photo_shop(transactional_db, settings):
    """build_photo_shop(): eleven products (one inactive) with processed photos, the text index
    and the similar rows, for the photo-search and product-page tests."""
    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01  # the look-alike lamps are meant to look alike
    settings.IMAGE_BLUR_THRESHOLD = 0
    return build_photo_shop()
