"""Reading where keyboard focus is and whether it shows, and moving it with Tab."""

from __future__ import annotations

import pytest

MAX_TABS = 40  # the header has a dozen stops; more means focus is lost somewhere


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
    rings += page.evaluate(
        """(levels) => {
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
    }""",
        levels,
    )
    return rings


def has_visible_focus(ring: dict) -> bool:
    """An outline (width > 0) or a box-shadow that the element shows only while focused."""
    rest = ring["rest"]
    outline = ring["outlineStyle"] != "none" and ring["outlineWidth"] > 0
    outline_changed = (ring["outlineStyle"], ring["outlineWidth"]) != (rest["outlineStyle"], rest["outlineWidth"])
    shadow = ring["boxShadow"] not in ("", "none") and ring["boxShadow"] != rest["boxShadow"]
    return (outline and outline_changed) or shadow


def tab_to(page, selector: str) -> list[dict]:
    """Press Tab until the element matching `selector` has focus; return every stop on the way
    (the last one is the element), failing if it is never reached."""
    stops = []
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        stops.append(focus_ring(page))
        if page.evaluate("(selector) => document.activeElement.matches(selector)", selector):
            return stops
    pytest.fail(
        f"{selector} not reached in {MAX_TABS} Tabs; focus went through {[s['className'] or s['tag'] for s in stops]}"
    )


def from_the_top(page, url: str) -> None:
    page.goto(url)
    # Focus starts at the document, as after a fresh load with nothing clicked.
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
