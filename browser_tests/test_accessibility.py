"""Accessibility of every kind of storefront page (issue 5, item 4), at 360 px and 1280 px:
contrast, accessible names and alt texts, no sideways scrolling on a phone, and a focus ring
on every Tab stop. No axe (no network at run time): the checks are written here.

The pages: home, a category listing with a filter applied, a product page with its "Visually
similar" row, text search results, the photo dialog with a picture in it, photo search
results (uploaded through that dialog, as test_photo_search does), the cart with a line, the
checkout with mistakes, and the order confirmation.

1. Contrast (WCAG 2.x, 1.4.3): every visible text node with non-whitespace text, the text of
   ::before/::after content, the value a form control shows, and input placeholders
   (::placeholder colour on the input's background). The text's colour is alpha-blended over
   its effective background (the ancestors' background colours down to the first opaque one),
   relative luminance as WCAG defines it; 4.5:1 is needed, 3:1 for large text (>= 24 px, or
   >= 18.66 px at weight >= 700).
   Text over a picture (an <img>/<picture> under it, e.g. the category tiles' captions) or over
   a background image (the hero's gradients) cannot be worked out from colours alone: its
   background is measured from pixels instead. The text is made transparent, every picture is
   painted all black and then all white (the worst photo either way), and the text's colour is
   compared with every pixel of its box. So a caption over a photo passes only when a solid or
   semi-opaque scrim behind it gives the contrast whatever the photo is. Exceptions would go in
   CONTRAST_ALLOWED, each with its reason; there are none.
   Exempt, as WCAG 1.4.3 says: text of inactive (disabled) controls: :disabled, or
   aria-disabled="true" such as the pagination's greyed "Previous" on the first page.
   Placeholders are NOT exempt (WCAG has no such exception; a hint people read must be legible).
   Not measured: the fading right edge of the category row on phones (a mask-image over a
   scrolling row: the cut-off link is shown fully once scrolled to).
2. Names: every visible input/select/textarea (not type=hidden/submit/button/reset) has an
   accessible name from label[for], a wrapping label, aria-label or aria-labelledby (not
   placeholder or title); every img has an alt attribute, empty only when the image is
   aria-hidden or its link/button has a name from other content; every link and button (and
   role=img placeholder) has an accessible name.
3. Responsive: at 360 px document.documentElement.scrollWidth <= 360 and no visible element
   reaches past either edge of the viewport, unless it sits inside a container that scrolls
   (overflow-x auto/scroll); what an overflow: hidden/clip ancestor cuts off does not count.
   A container that does scroll sideways must be one of SIDEWAYS_ROWS (the category row, the
   similar row): a dialog or a form scrolling sideways is overflow too.
   Folded <details> are opened before the checks, so what they hide is checked as well.
4. Focus: from the top of the home page and of the photo results page, each of the first 40
   Tab stops shows a focus indicator (has_visible_focus, on the element or, for the product
   cards whose whole card shows the ring through :has(), on the ancestor that shows it).

Screenshots of every page at both widths: var/screenshots/test_every_page_kind...-<page>-<width>.png.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from browser_tests.focus import focus_rings, from_the_top, has_visible_focus
from browser_tests.photo_shop import lookalike_picture
from browser_tests.screenshots import node_file_name, screenshot
from browser_tests.shopper import TOKEN, add_to_cart, open_dialog_with, type_field
from catalog.models import Category
from fixtures.shop import jpeg

pytestmark = pytest.mark.browser

WIDTHS = (360, 1280)
HEIGHT = 800
FOCUS_STOPS = 40

# The rows that scroll sideways on purpose on a phone (overflow-x: auto): the departments under
# the header, and the product page's "Visually similar" row.
SIDEWAYS_ROWS = [".site-nav__list", ".similar__list"]

# Text the contrast check may skip: {page kind: {CSS selector of the text's element: why}}.
# Empty: every text passes, including captions over photos (they have a scrim).
CONTRAST_ALLOWED: dict[str, dict[str, str]] = {}

# --- the checks, run in the page ---------------------------------------------------------------

# Shared by the checks: the scope (an open modal dialog, else the body: behind a modal dialog
# the page is inert and dimmed), visibility, and a short description of an element.
COMMON_JS = r"""
const scope = document.querySelector("dialog:modal") || document.body;
const describe = (el) => {
  let text = el.tagName.toLowerCase();
  if (el.id) text += "#" + el.id;
  const classes = typeof el.className === "string" ? el.className.trim().split(/\s+/).filter(Boolean) : [];
  if (classes.length) text += "." + classes.slice(0, 2).join(".");
  return text;
};
const rendered = (el) => el.checkVisibility({checkVisibilityCSS: true});
const ariaHidden = (el) => !!el.closest('[aria-hidden="true"]');
"""

CONTRAST_JS = (
    COMMON_JS
    + r"""
const parse = (value) => {
  let m = value.match(/^rgba?\(([^)]*)\)$/);
  if (m) {
    const p = m[1].split(/[\s,\/]+/).filter(Boolean).map(parseFloat);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  }
  m = value.match(/^color\(srgb ([^)]*)\)$/);
  if (m) {
    const p = m[1].split(/[\s\/]+/).filter(Boolean).map(parseFloat);
    return {r: p[0] * 255, g: p[1] * 255, b: p[2] * 255, a: p.length > 3 ? p[3] : 1};
  }
  return null;
};
const over = (top, bottom) => {  // top alpha-blended over an opaque bottom
  const a = top.a;
  return {r: top.r * a + bottom.r * (1 - a), g: top.g * a + bottom.g * (1 - a), b: top.b * a + bottom.b * (1 - a), a: 1};
};
const channel = (c) => { c /= 255; return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4); };
const luminance = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
const ratio = (a, b) => { const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
const hex = (c) => "#" + [c.r, c.g, c.b].map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");
const isLarge = (style) => {
  const size = parseFloat(style.fontSize), weight = parseInt(style.fontWeight, 10) || 400;
  return size >= 24 || (size >= 18.66 && weight >= 700);
};
// Clipped away for screen readers only (.visually-hidden and the like): nothing to see.
const clippedAway = (el) => {
  for (let a = el; a && a !== document.body; a = a.parentElement) {
    const style = getComputedStyle(a), box = a.getBoundingClientRect();
    if (style.overflow !== "visible" && (box.width <= 1 || box.height <= 1)) return true;
  }
  return false;
};
const inactive = (el) => !!el.closest(':disabled, [aria-disabled="true"]');
const pictures = [...scope.querySelectorAll("img, picture, video, canvas")].filter(rendered)
  .map((p) => ({el: p, box: p.getBoundingClientRect()}));
const overlaps = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 2
                        && Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 2;


// The background under `el`: its own and its ancestors' colours blended down to the first opaque
// one; `complex` when a background image (a gradient, a url) or a picture is part of it. Opacity
// of the ancestors on the way fades the text too.
const background = (el, box) => {
  const layers = [];
  let complex = null, opacity = 1;
  for (let a = el; a; a = a.parentElement) {
    const style = getComputedStyle(a);
    opacity *= parseFloat(style.opacity);
    // An element's background image is painted over its background colour.
    if (style.backgroundImage !== "none") complex = complex || "background image on " + describe(a);
    const colour = parse(style.backgroundColor);
    if (colour && colour.a > 0) layers.push(colour);
    if (colour && colour.a >= 1) break;
  }
  let colour = {r: 255, g: 255, b: 255, a: 1};  // the canvas
  for (const layer of layers.reverse()) colour = over(layer, colour);
  const picture = pictures.find((p) => !el.contains(p.el) && overlaps(p.box, box));
  if (picture) complex = "over the picture " + describe(picture.el);
  return {background: colour, complex, opacity};
};

const items = [];
const add = (el, how, text, colourValue, style, box, node) => {
  items.push({el, node, how, text: text.trim().replace(/\s+/g, " ").slice(0, 50), colourValue,
              colour: parse(colourValue), large: isLarge(style), ...background(el, box)});
};

// 1. Text nodes.
const walker = document.createTreeWalker(scope, NodeFilter.SHOW_TEXT);
for (let node = walker.nextNode(); node; node = walker.nextNode()) {
  if (!node.data.trim()) continue;
  const el = node.parentElement;
  // Options are drawn by the browser's own popup; a select's chosen option is checked below.
  if (!el || el.closest("script, style, template, noscript, svg, option, optgroup, select, textarea")) continue;
  if (!rendered(el) || clippedAway(el) || inactive(el)) continue;
  const range = document.createRange();
  range.selectNodeContents(node);
  const box = range.getBoundingClientRect();
  if (box.width < 1 || box.height < 1) continue;
  const style = getComputedStyle(el);
  add(el, "text", node.data, style.color, style, box, node);
}
// 2. Generated text: ::before / ::after whose content is a string.
for (const el of scope.querySelectorAll("*")) {
  if (!rendered(el) || clippedAway(el) || inactive(el)) continue;
  for (const pseudo of ["::before", "::after"]) {
    const style = getComputedStyle(el, pseudo);
    const m = style.content.match(/^"((?:[^"\\]|\\.)*)"/);
    if (!m || !m[1].trim() || style.display === "none") continue;
    add(el, pseudo, m[1], style.color, style, el.getBoundingClientRect(), null);
  }
}
// 3. What a form control shows: its value, its chosen option, or its placeholder. A control
// drawn fully transparent over something else (the header's camera: a file input over its
// icon) shows no text of its own; what it covers is checked as itself.
for (const el of scope.querySelectorAll("input, select, textarea")) {
  if (!rendered(el) || clippedAway(el) || inactive(el)) continue;
  if (!el.checkVisibility({opacityProperty: true})) continue;
  const type = (el.type || "").toLowerCase();
  if (["hidden", "checkbox", "radio", "range", "color", "image", "submit", "button", "reset"].includes(type)) continue;
  const style = getComputedStyle(el), box = el.getBoundingClientRect();
  if (type === "file") {
    // The browser's own text ("No file chosen" or the file's name) and its button.
    add(el, "file name", el.files.length ? el.files[0].name : "No file chosen", style.color, style, box, null);
    const button = getComputedStyle(el, "::file-selector-button");
    const buttonBackground = parse(button.backgroundColor);
    if (buttonBackground && buttonBackground.a >= 1) {
      items.push({el, node: null, how: "::file-selector-button", text: "Choose File", colourValue: button.color,
                  colour: parse(button.color), large: isLarge(button), background: buttonBackground, complex: null, opacity: 1});
    } else {
      add(el, "::file-selector-button", "Choose File", button.color, button, box, null);
    }
  } else if (el.tagName === "SELECT") {
    const chosen = el.selectedOptions[0];
    if (chosen && chosen.text.trim()) add(el, "chosen option", chosen.text, style.color, style, box, null);
  } else if (el.value) {
    add(el, "value", el.value, style.color, style, box, null);
  } else if (el.placeholder) {
    add(el, "::placeholder", el.placeholder, getComputedStyle(el, "::placeholder").color, style, box, null);
  }
}

const failures = [], pixelItems = [];
window.__a11yContrastItems = [];
for (const item of items) {
  const label = `${describe(item.el)} ${item.how} "${item.text}"`;
  if (allowedSelectors.some((selector) => item.el.closest(selector))) continue;
  if (!item.colour) { failures.push(`${label}: colour ${item.colourValue} not understood`); continue; }
  const needed = item.large ? 3 : 4.5;
  const text = {...item.colour, a: item.colour.a * item.opacity};
  if (item.complex) {  // measured from pixels by the test
    window.__a11yContrastItems.push(item);
    pixelItems.push({index: window.__a11yContrastItems.length - 1, label, why: item.complex, needed,
                     colour: [text.r, text.g, text.b, text.a]});
    continue;
  }
  const shown = over(text, item.background);
  const value = ratio(shown, item.background);
  if (value < needed) {
    failures.push(`${label}: ${hex(shown)} on ${hex(item.background)} is ${value.toFixed(2)}:1, needs ${needed}:1`
                  + ` (${item.large ? "large" : "normal"} text)`);
  }
}
return {failures, pixelItems, checked: items.length};
"""
)

NAMES_JS = (
    COMMON_JS
    + r"""
const byIds = (ids) => ids.split(/\s+/).map((id) => document.getElementById(id)).filter(Boolean)
  .map((el) => textOf(el, true)).join(" ");
// The accessible name computed from content (enough of accname 1.2 for these pages).
function textOf(el, referenced = false) {
  if (el.nodeType === Node.TEXT_NODE) return el.data;
  if (el.nodeType !== Node.ELEMENT_NODE) return "";
  if (!referenced && el.getAttribute("aria-hidden") === "true") return "";
  if (!referenced && !rendered(el) && getComputedStyle(el).display === "none") return "";
  if (el.getAttribute("aria-labelledby")) return byIds(el.getAttribute("aria-labelledby"));
  if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
  if (el.tagName === "IMG") return el.getAttribute("alt") || "";
  if (el.tagName === "svg" || el.tagName === "SVG") { const t = el.querySelector("title"); return t ? t.textContent : ""; }
  if (el.tagName === "INPUT" && ["submit", "button", "reset"].includes(el.type)) return el.value;
  return [...el.childNodes].map((child) => textOf(child)).join("");
}
const name = (el) => {
  if (el.getAttribute("aria-labelledby")) return byIds(el.getAttribute("aria-labelledby")).trim();
  if ((el.getAttribute("aria-label") || "").trim()) return el.getAttribute("aria-label").trim();
  if (el.labels && el.labels.length) return [...el.labels].map((label) => textOf(label)).join(" ").trim();
  return "";
};
// In the accessibility tree: rendered (a visually hidden element is rendered), not aria-hidden.
const exposed = (el) => rendered(el) && !ariaHidden(el);
const problems = [];

for (const el of scope.querySelectorAll("input, select, textarea")) {
  const type = (el.type || "").toLowerCase();
  if (["hidden", "submit", "button", "reset", "image"].includes(type) || !exposed(el)) continue;
  if (!name(el)) problems.push(`${describe(el)} (${type || el.tagName.toLowerCase()}): no label, aria-label or aria-labelledby`);
}
for (const el of scope.querySelectorAll("img")) {
  if (!rendered(el)) continue;
  if (!el.hasAttribute("alt")) { problems.push(`${describe(el)} ${(el.getAttribute("src") || "").slice(0, 80)}: no alt attribute`); continue; }
  if (el.getAttribute("alt").trim()) continue;
  const control = el.closest("a[href], button");
  const decorative = ariaHidden(el) || (control && textOf(control).trim());
  if (!decorative) problems.push(`${describe(el)} ${(el.getAttribute("src") || "").slice(0, 80)}: empty alt on an image that is neither aria-hidden nor in a link with text`);
}
const controls = 'a[href], button, input[type="submit"], input[type="button"], input[type="reset"], summary, [role="button"], [role="link"], [role="img"]';
for (const el of scope.querySelectorAll(controls)) {
  if (!exposed(el)) continue;
  const accessible = (name(el) || textOf(el)).trim();
  if (!accessible) problems.push(`${describe(el)} ${el.getAttribute("href") || ""}: no accessible name`);
}
return problems;
"""
)

OVERFLOW_JS = (
    COMMON_JS
    + r"""
const width = window.innerWidth;
const problems = [];
const scrollWidth = document.documentElement.scrollWidth;
if (scrollWidth > width) problems.push(`document.documentElement.scrollWidth is ${scrollWidth} at ${width} px`);
const reported = [];
for (const el of scope.querySelectorAll("*")) {
  if (!rendered(el) || reported.some((r) => r.contains(el))) continue;
  const box = el.getBoundingClientRect();
  if (box.width === 0 && box.height === 0) continue;
  // A container that scrolls sideways must be one of the rows meant to (sidewaysRows): anywhere
  // else (a dialog, a form, a table) it would be overflow in disguise.
  const elStyle = getComputedStyle(el);
  if (/auto|scroll/.test(elStyle.overflowX) && el.scrollWidth > el.clientWidth + 1
      && !sidewaysRows.some((selector) => el.matches(selector))) {
    problems.push(`${describe(el)} scrolls sideways (${el.scrollWidth} px in ${el.clientWidth} px) and is not a row meant to`);
  }
  let left = box.left, right = box.right, scrolls = false;
  // Stop below <body>: overflow on html/body would hide the very overflow looked for.
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    const style = getComputedStyle(a);
    if (/auto|scroll/.test(style.overflowX)) { scrolls = true; break; }  // inside a scrolling container
    if (/hidden|clip/.test(style.overflowX)) { const b = a.getBoundingClientRect(); left = Math.max(left, b.left); right = Math.min(right, b.right); }
  }
  if (scrolls || right - left <= 0) continue;
  if (right > width + 0.5 || left < -0.5) {
    reported.push(el);
    problems.push(`${describe(el)} "${(el.innerText || "").trim().replace(/\s+/g, " ").slice(0, 40)}" spans ${Math.round(left)}..${Math.round(right)} px`);
  }
}
return problems;
"""
)

HIDE_TEXT_CSS = """
*, *::before, *::after, *::placeholder, *::marker {
  color: transparent !important; -webkit-text-fill-color: transparent !important;
  text-shadow: none !important; caret-color: transparent !important; transition: none !important;
}
img, picture, video, canvas { filter: %s !important; }
"""
PICTURE_EXTREMES = {"black": "brightness(0)", "white": "brightness(0) invert(1)"}

ITEM_BOX_JS = r"""(index) => {
  const item = window.__a11yContrastItems[index];
  const target = item.node ? item.node.parentElement : item.el;
  target.scrollIntoView({block: "center", inline: "nearest"});
  let box;
  if (item.node) { const range = document.createRange(); range.selectNodeContents(item.node); box = range.getBoundingClientRect(); }
  else box = item.el.getBoundingClientRect();
  return {x: box.left, y: box.top, width: box.width, height: box.height};
}"""


def js_function(body: str, argument: str = "") -> str:
    return f"({argument}) => {{" + body + "}"


def luminance(rgb: np.ndarray) -> np.ndarray:
    c = rgb / 255.0
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return c @ np.array([0.2126, 0.7152, 0.0722])


ADOPT_STYLE_JS = """(css) => {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    document.adoptedStyleSheets = [...document.adoptedStyleSheets, sheet];
}"""


def pixel_contrast(page, items: list[dict]) -> list[str]:
    """Contrast of text over pictures and background images, from pixels: the text hidden and
    every picture painted black, then white; each text's colour against every pixel of its box."""
    failures = []
    worst: dict[int, tuple[float, str]] = {}
    viewport = page.viewport_size
    for extreme, css_filter in PICTURE_EXTREMES.items():
        # A constructed stylesheet (CSSOM), not a <style> tag: the shop's Content-Security-Policy
        # blocks inline style elements without its nonce (visualshop/settings/csp.py).
        page.evaluate(ADOPT_STYLE_JS, HIDE_TEXT_CSS % css_filter)
        try:
            for item in items:
                box = page.evaluate(ITEM_BOX_JS, item["index"])
                left, top = max(box["x"] + 1, 0), max(box["y"] + 1, 0)
                right = min(box["x"] + box["width"] - 1, viewport["width"])
                bottom = min(box["y"] + box["height"] - 1, viewport["height"])
                if right - left < 1 or bottom - top < 1:
                    failures.append(f"{item['label']}: could not be measured (box {box})")
                    continue
                png = page.screenshot(
                    clip={"x": left, "y": top, "width": right - left, "height": bottom - top}, animations="disabled"
                )
                pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=float).reshape(-1, 3)
                r, g, b, a = item["colour"]
                text = a * np.array([r, g, b]) + (1 - a) * pixels
                lum_text, lum_back = luminance(text), luminance(pixels)
                ratios = (np.maximum(lum_text, lum_back) + 0.05) / (np.minimum(lum_text, lum_back) + 0.05)
                n = int(ratios.argmin())
                if item["index"] not in worst or ratios[n] < worst[item["index"]][0]:
                    back = "#" + "".join(f"{int(v):02x}" for v in pixels[n])
                    worst[item["index"]] = (float(ratios[n]), f"{back} with {extreme} pictures")
        finally:
            page.evaluate("() => { document.adoptedStyleSheets = document.adoptedStyleSheets.slice(0, -1); }")
    for item in items:
        if item["index"] in worst and worst[item["index"]][0] < item["needed"]:
            value, where = worst[item["index"]]
            failures.append(f"{item['label']} ({item['why']}): {value:.2f}:1 on {where}, needs {item['needed']}:1")
    return failures


class PhotoRequests:
    """Counts the page's /media/ and /static/ requests in flight, so a test can let them finish
    before it navigates away (an aborted photo request fails the `page` fixture)."""

    def __init__(self, page):
        self.page, self.pending = page, set()
        page.on("request", lambda r: self.pending.add(r) if "/media/" in r.url or "/static/" in r.url else None)
        page.on("requestfinished", lambda r: self.pending.discard(r))
        page.on("requestfailed", lambda r: self.pending.discard(r))

    def settle(self, timeout_ms: int = 5_000) -> None:
        # Two frames first: what a resize or a scroll makes the page fetch starts by then.
        self.page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
        for _ in range(timeout_ms // 25):
            if not self.pending:
                return
            self.page.wait_for_timeout(25)


class Audit:
    """Runs the checks on each page at each width; collects what fails, by check."""

    def __init__(self, page, request):
        self.page = page
        self.requests = PhotoRequests(page)
        self.prefix = node_file_name(request)
        self.found: dict[str, list[str]] = {"contrast": [], "names": [], "overflow": []}
        self.counts = {"pages": 0, "texts": 0, "measured from pixels": 0}

    def check(self, kind: str, width: int) -> None:
        page = self.page
        page.set_viewport_size({"width": width, "height": HEIGHT})
        page.evaluate("() => document.fonts.ready")
        # Folded content (the filters on a phone, "Search with another photo") is checked open:
        # what shows when a shopper unfolds it must pass too.
        page.evaluate("() => document.querySelectorAll('details:not([open])').forEach((d) => { d.open = true; })")
        where = f"{kind} @ {width}"
        contrast = page.evaluate(js_function(CONTRAST_JS, "allowedSelectors"), list(CONTRAST_ALLOWED.get(kind, {})))
        self.counts["pages"] += 1
        self.counts["texts"] += contrast["checked"]
        pixel_items = contrast["pixelItems"]
        self.counts["measured from pixels"] += len(pixel_items)
        failures = contrast["failures"] + pixel_contrast(page, pixel_items)
        self.found["contrast"] += [f"{where}: {failure}" for failure in failures]
        self.found["names"] += [f"{where}: {problem}" for problem in page.evaluate(js_function(NAMES_JS))]
        if width <= 360:
            page.evaluate("() => window.scrollTo(0, 0)")
            self.found["overflow"] += [
                f"{where}: {problem}"
                for problem in page.evaluate(js_function(OVERFLOW_JS, "sidewaysRows"), SIDEWAYS_ROWS)
            ]
        screenshot(page, f"{self.prefix}-{kind}", widths=(width,))
        self.requests.settle()

    def at_both_widths(self, kind: str, url: str | None = None) -> None:
        """Each width from a fresh load of `url` (what loads at that width, e.g. the folded
        filters on a phone), or, without a url, the page as it is (a dialog, a POST's answer)."""
        for width in WIDTHS:
            if url:
                # A resize makes the old page pick other srcset candidates: let them load, as
                # an aborted photo request fails the test.
                self.page.set_viewport_size({"width": width, "height": HEIGHT})
                self.requests.settle()
                self.page.goto(url)
            self.check(kind, width)

    def assert_clean(self) -> None:
        report = "\n".join(
            f"{check}: {len(problems)} problem(s)\n  " + "\n  ".join(problems)
            for check, problems in self.found.items()
            if problems
        )
        print(f"checked {self.counts}\n{report or 'no problems'}")
        assert self.found == {"contrast": [], "names": [], "overflow": []}, report


# --- the tests -------------------------------------------------------------------------------------


def test_every_page_kind_has_contrast_names_and_fits_360_px(page, request, photo_shop):
    audit = Audit(page, request)
    lamp = photo_shop.products["L1"]
    home_category = Category.objects.get(name="Home", parent=None)

    audit.at_both_widths("home", "/")
    audit.at_both_widths("category-filtered", f"{home_category.get_absolute_url()}?in_stock=1&brand=lumen")
    expect(page.locator(".active-filters .chip")).not_to_have_count(0)
    audit.at_both_widths("product", lamp.get_absolute_url())
    expect(page.locator("section.similar .similar__item")).not_to_have_count(0)
    audit.at_both_widths("text-search", "/search/?q=lamp")
    expect(page.locator(".search-results .result-card")).not_to_have_count(0)

    # The photo dialog with a picture in it, then its results (uploaded through the dialog).
    page.set_viewport_size({"width": WIDTHS[-1], "height": HEIGHT})
    page.goto("/")
    open_dialog_with(page, jpeg(lookalike_picture("lamp-query")), name="my-lamp.jpg")
    audit.at_both_widths("photo-dialog")
    audit.requests.settle()
    page.locator("#photo-search-submit").click()
    page.wait_for_url(re.compile(rf"/search/\?photo={TOKEN}$"))
    expect(page.locator("#search-page")).to_have_attribute("data-mode", "photo")
    audit.at_both_widths("photo-results", page.url)

    # Cart with a line; checkout with mistakes; the order placed.
    add_to_cart(page, lamp, 1)
    audit.at_both_widths("cart", "/cart/")
    expect(page.locator(".cart-line")).to_have_count(1)
    page.goto("/checkout/")
    type_field(page, "Full name", "Ada Lovelace")
    type_field(page, "Email", "ada-at-example.org")
    page.get_by_role("button", name=re.compile("^Place order")).click()
    expect(page.locator(".form-alert")).to_be_visible()
    audit.at_both_widths("checkout-errors")
    page.get_by_label("Email", exact=True).fill("ada@example.org")
    page.get_by_label("Street and number", exact=True).fill("12 St James's Square")
    page.get_by_label("Postal code", exact=True).fill("SW1Y 4JH")
    page.get_by_label("City", exact=True).fill("London")
    page.get_by_label("Country").select_option("GB")
    page.get_by_role("button", name=re.compile("^Place order")).click()
    page.wait_for_url(re.compile(r"/orders/[0-9A-Z]+/$"))
    audit.at_both_widths("order", page.url)

    audit.assert_clean()


def tab_through(page, url: str, stops: int = FOCUS_STOPS) -> list[dict]:
    """Tab `stops` times from the top of `url`; each stop's focus rings (focus_rings)."""
    from_the_top(page, url)
    page.wait_for_selector("html.photo-search-ready", state="attached")  # the widget has set up the forms
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    seen = []
    for _ in range(stops):
        page.keyboard.press("Tab")
        seen.append(focus_rings(page))
    return seen


@pytest.mark.parametrize("width", WIDTHS)
def test_the_first_40_tab_stops_of_home_and_photo_results_show_focus(page, request, photo_shop, width):
    requests = PhotoRequests(page)
    page.set_viewport_size({"width": width, "height": HEIGHT})
    page.goto("/")
    open_dialog_with(page, jpeg(lookalike_picture("lamp-query")), name="my-lamp.jpg")
    requests.settle()
    page.locator("#photo-search-submit").click()
    page.wait_for_url(re.compile(rf"/search/\?photo={TOKEN}$"))
    photo_results = page.url

    unseen = []
    for kind, url in (("home", "/"), ("photo-results", photo_results)):
        stops = tab_through(page, url)
        requests.settle()
        # After the page's last stop, Tab leaves the document (focus on <body>) and the next
        # Tab starts again at the skip link: those stops are not elements of the page.
        on_page = [(n, rings) for n, rings in enumerate(stops) if rings[0]["tag"] != "body"]
        assert len(on_page) >= 25, f"{kind}: only {len(on_page)} of {FOCUS_STOPS} Tab stops were on the page"
        unseen += [
            f"{kind} stop {n + 1}: {rings[0]}"
            for n, rings in on_page
            if not any(has_visible_focus(ring) for ring in rings)
        ]
        screenshot(page, f"{node_file_name(request)}-{kind}-stop-{FOCUS_STOPS}", widths=(width,))
        requests.settle()
    assert unseen == [], "Tab stops without a visible focus indicator:\n" + "\n".join(unseen)
