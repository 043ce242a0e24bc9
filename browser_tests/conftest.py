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
- `screenshot(page, name)`: full-page PNGs at 390 px and 1280 px wide,
  var/screenshots/<name>-<width>.png; the `snap` fixture prefixes the test's name
  (`snap("cart")` -> <test-name>-cart-390.png, ...).
- `shop_with_photos`: the shared six-product shop (fixtures/shop.py, build_shop),
  every photo processed by the real pipeline (model, derivatives, vectors), so product
  pages show real images and photo search has vectors to find. `shop`: the same catalogue
  without processing (no model run; faster) for tests that need no photos.
- `upload_photo(page, content)`: puts bytes into the header's photo-search file input
  (set_input_files, no file on disk) and submits its form (submit=False: only chooses it, so
  the photo widget opens its dialog).
- `photo_shop`: the API shop plus a Lamps category where three lamps share one look (variants
  of scene(21), `lookalike_picture`), photos processed and every product refreshed by
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
import re
from decimal import Decimal
from pathlib import Path

import pytest

from visualshop.broker import sending
from visualshop.paths import VAR_DIR

CHROMIUM = os.environ.get("VISUALSHOP_CHROMIUM", "/usr/bin/chromium")
# What this machine needs: as root, no sandbox; no GPU; and none of Chromium's own network
# traffic (a closed network refuses it, slowly).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
SCREENSHOT_DIR = VAR_DIR / "screenshots"
SCREENSHOT_WIDTHS = (390, 1280)
VIEWPORT = {"width": 1280, "height": 900}
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
            "VISUALSHOP_CHROMIUM to a Chromium binary.", pytrace=False)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed in this virtualenv: run `make venv` "
                    "(requirements.txt pins it).", pytrace=False)

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


def node_file_name(request) -> str:
    """The test's name as a file name: test_keyboard[390] -> test_keyboard-390."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")


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
    page.on("console", lambda message: errors.append(f"{message.text} ({message.location.get('url', '')})")
            if message.type == "error" else None)
    return errors


# --- screenshots --------------------------------------------------------------------------


def screenshot(page, name: str, widths=SCREENSHOT_WIDTHS) -> list[Path]:
    """Full-page screenshots of the current page at each width, var/screenshots/<name>-<width>.png.
    The viewport comes back to what it was; lazy images are loaded first so they show."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size or VIEWPORT
    paths = []
    try:
        for width in widths:
            page.set_viewport_size({"width": width, "height": original["height"]})
            _load_images(page)
            path = SCREENSHOT_DIR / f"{name}-{width}.png"
            page.screenshot(path=str(path), full_page=True, animations="disabled", caret="initial")
            paths.append(path)
    finally:
        page.set_viewport_size(original)
    return paths


def _load_images(page, timeout_ms: int = 5_000) -> None:
    # A full-page screenshot shows images below the fold, which loading="lazy" never fetched.
    page.evaluate("""async (timeout) => {
        const images = [...document.images];
        images.forEach((image) => { if (image.loading === "lazy") image.loading = "eager"; });
        const pending = images.filter((image) => !image.complete)
            .map((image) => new Promise((done) => { image.addEventListener("load", done); image.addEventListener("error", done); }));
        await Promise.race([Promise.all(pending), new Promise((done) => setTimeout(done, timeout))]);
    }""", timeout_ms)


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
    from fixtures.shop import build_shop
    from catalog.tests.factories import mark_processed

    shop = build_shop(process=False)
    mark_processed(*shop.images.values())
    return shop


@pytest.fixture
def shop_with_photos(transactional_db, settings):
    """The same catalogue with every photo processed by the real pipeline: derivatives for
    the pages, an active image model and vectors for photo search. Returns api's Shop:
    shop.products["M1"], shop.images["M1"], shop.id("M1")."""
    from fixtures.shop import build_shop

    # As api's processed_shop: the generated scenes are neither duplicates nor blurred.
    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01
    settings.IMAGE_BLUR_THRESHOLD = 0
    shop = build_shop(process=True)
    assert {image.status for image in shop.images.values()} <= {"ready", "flagged"}, \
        {sku: (image.status, image.reason) for sku, image in shop.images.items()}
    return shop


# --- actions for the tests to come ---------------------------------------------------------


def upload_photo(page, content: bytes, *, name: str = "photo.jpg", mime_type: str = "image/jpeg",
                 submit: bool = True) -> None:
    """Choose `content` in the header's photo-search input (the data-photo-search-input hook
    of templates/storefront/_header_search.html) without a file on disk. With submit=True the
    form is submitted as its button would (requestSubmit) and the navigation awaited; pass
    submit=False to test what a script does on "change" (preview, crop, auto-submit)."""
    page.locator("[data-photo-search-input]").first.set_input_files(
        files=[{"name": name, "mimeType": mime_type, "buffer": content}])
    if submit:
        with page.expect_navigation():
            page.locator("[data-photo-search-form]").first.evaluate("form => form.requestSubmit()")


def focus_ring(page) -> dict:
    """The focused element and how its focus shows: tag, id, classes, text, whether it matches
    :focus-visible, and its outline and box-shadow both focused and at rest (read by blurring
    it for a moment and focusing it again, which keeps the Tab sequence where it was)."""
    return page.evaluate("""() => {
        const element = document.activeElement;
        const read = () => {
            const style = getComputedStyle(element);
            return {outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth) || 0,
                    boxShadow: style.boxShadow};
        };
        const focused = read();
        const focusVisible = element.matches(":focus-visible");
        let rest = focused;
        if (element !== document.body) {
            element.blur();
            rest = read();
            element.focus({preventScroll: true});
        }
        return {tag: element.tagName.toLowerCase(), id: element.id, className: String(element.className),
                text: (element.innerText || element.value || "").trim().slice(0, 60), focusVisible,
                ...focused, rest};
    }""")


def focus_rings(page, levels: int = 3) -> list[dict]:
    """focus_ring(page) for the focused element, then the same reading (outline and box-shadow
    focused and at rest) for up to `levels` ancestors: where a whole card shows the focus of the
    link inside it (.product-card:has(.product-card__link:focus-visible)) the ring is on the
    card. A stop shows focus when has_visible_focus() holds for any of them."""
    rings = [focus_ring(page)]
    rings += page.evaluate("""(levels) => {
        const element = document.activeElement;
        if (!element || element === document.body) return [];
        const ancestors = [];
        for (let a = element.parentElement; a && a !== document.body && ancestors.length < levels; a = a.parentElement) ancestors.push(a);
        const read = (a) => { const style = getComputedStyle(a);
            return {outlineStyle: style.outlineStyle, outlineWidth: parseFloat(style.outlineWidth) || 0, boxShadow: style.boxShadow}; };
        const focused = ancestors.map(read);
        element.blur();
        const rest = ancestors.map(read);
        element.focus({preventScroll: true});
        return ancestors.map((a, n) => ({tag: a.tagName.toLowerCase(), id: a.id, className: String(a.className),
                                         text: "", focusVisible: false, ...focused[n], rest: rest[n]}));
    }""", levels)
    return rings


def has_visible_focus(ring: dict) -> bool:
    """An outline (width > 0) or a box-shadow that the element shows only while focused."""
    rest = ring["rest"]
    outline = ring["outlineStyle"] != "none" and ring["outlineWidth"] > 0
    outline_changed = (ring["outlineStyle"], ring["outlineWidth"]) != (rest["outlineStyle"], rest["outlineWidth"])
    shadow = ring["boxShadow"] not in ("", "none") and ring["boxShadow"] != rest["boxShadow"]
    return (outline and outline_changed) or shadow


# --- the photo-search shop ------------------------------------------------------------------

# sku: (title, category path, brand, price, stock, picture): the API shop's six products plus
# a Lamps category where three lamps share one look (variants of scene(21)) and a fourth, and
# a vase, look different. Pictures are named by `lookalike_picture`.
PHOTO_SHOP_EXTRA = {
    "L1": ("Brass table lamp", ["Home", "Lamps"], "Lumen", "45.00", 6, "lamp-a"),
    "L2": ("Ceramic table lamp", ["Home", "Lamps"], "Lumen", "39.00", 4, "lamp-b"),
    "L3": ("Ceramic floor lamp", ["Home", "Lamps"], "Lumen", "89.00", 2, "lamp-c"),
    "L4": ("Paper pendant lamp", ["Home", "Lamps"], "Pebble Home", "25.00", 9, 22),
    "V1": ("Glass vase", ["Home", "Vases"], "Pebble Home", "18.00", 12, 23),
}
LAMP_SEED = 21


def lookalike_picture(name):
    """A picture by name: an int is scene(seed); "lamp-a/b/c" and "lamp-query" are variants
    of scene(LAMP_SEED) (the same shapes, seen a little differently)."""
    from PIL import ImageEnhance, ImageOps

    from catalog.tests.images import scene

    if isinstance(name, int):
        return scene(name)
    base = scene(LAMP_SEED)
    if name == "lamp-a":
        return base
    if name == "lamp-b":
        return ImageOps.mirror(base)
    if name == "lamp-c":
        return base.crop((24, 30, 296, 370)).resize(base.size)
    if name == "lamp-query":  # a shopper's photo of the look: bigger, a little brighter, a margin
        return ImageOps.expand(ImageEnhance.Brightness(base).enhance(1.08), border=16, fill=(230, 230, 230)).resize((480, 600))
    raise ValueError(name)


def build_photo_shop():
    """The API shop plus PHOTO_SHOP_EXTRA, every photo processed, then every product refreshed
    as a worker would (search.product_refresh.products_refresh): colours, predicted category,
    the text index and the cached "Visually similar" rows. Returns api's Shop."""
    from fixtures.shop import build_shop, jpeg
    from catalog import services
    from catalog.services import ProductData
    from catalog.tests.factories import stored_image
    from vision.pipeline import product_images_process
    from search.product_refresh import products_refresh

    shop = build_shop(process=False)
    for sku, (title, path, brand, price, stock, picture) in PHOTO_SHOP_EXTRA.items():
        product, _ = services.product_upsert(ProductData(
            sku=sku, title=title, price=Decimal(price), stock=stock, is_active=True,
            category=services.category_get_or_create_path(path), brand=services.brand_get_or_create(brand),
        ))
        shop.products[sku] = product
        shop.images[sku] = stored_image(product, jpeg(lookalike_picture(picture), quality=90), f"{sku.lower()}.jpg")
    product_images_process([image.pk for image in shop.images.values()])
    for image in shop.images.values():
        image.refresh_from_db()
    assert {image.status for image in shop.images.values()} <= {"ready", "flagged"}, \
        {sku: (image.status, image.reason) for sku, image in shop.images.items()}
    products_refresh([product.pk for product in shop.products.values()], only_dirty=False)
    for product in shop.products.values():
        product.refresh_from_db()
    return shop


@pytest.fixture
def photo_shop(transactional_db, settings):
    """build_photo_shop(): eleven products (one inactive) with processed photos, the text index
    and the similar rows, for the photo-search and product-page tests."""
    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01  # the look-alike lamps are meant to look alike
    settings.IMAGE_BLUR_THRESHOLD = 0
    return build_photo_shop()
