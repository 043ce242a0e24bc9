"""Screenshots of browser-test pages: full-page PNGs at a phone and a desktop width under
var/screenshots/, named after the test."""

from __future__ import annotations

import re
from pathlib import Path

from visualshop.paths import VAR_DIR

SCREENSHOT_DIR = VAR_DIR / "screenshots"
SCREENSHOT_WIDTHS = (390, 1280)
VIEWPORT = {"width": 1280, "height": 900}


def node_file_name(request) -> str:
    """The test's name as a file name: test_keyboard[390] -> test_keyboard-390."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")


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
    page.evaluate(
        """async (timeout) => {
        const images = [...document.images];
        images.forEach((image) => { if (image.loading === "lazy") image.loading = "eager"; });
        const pending = images.filter((image) => !image.complete)
            .map((image) => new Promise((done) => { image.addEventListener("load", done); image.addEventListener("error", done); }));
        await Promise.race([Promise.all(pending), new Promise((done) => setTimeout(done, timeout))]);
    }""",
        timeout_ms,
    )
