"""Colour words shoppers type that are not the shop's colour names: "coral", "burgundy",
"navy blue" ... read as the colour facet the pipeline would give that colour.

The shop names a product's colours from its photos with a small vocabulary (vision.colours:
black, white, grey, red, pink, orange, yellow, brown, beige, olive, green, teal, blue, navy,
purple), and those names are in every product's search text. A shopper's "coral dress" would
otherwise find nothing coral (no product says coral) or be "corrected" to a word that only
looks alike. Each word below has its usual sRGB value (CSS Color Module 4 where it defines the
name, else the common paint/fashion swatch), and is read as whatever vision.colours.colour_name
calls that colour, so the mapping follows the pipeline's own naming and is not a second,
hand-made vocabulary to keep in step.
"""

from __future__ import annotations

from functools import cache

import numpy as np

from search.text.query import parse
from vision.colours import NAMES, colour_name, srgb_to_oklab

COLOUR_WORDS: dict[str, tuple[int, int, int]] = {
    "amber": (255, 191, 0),
    "aqua": (0, 255, 255),
    "aubergine": (97, 64, 81),
    "azure": (0, 127, 255),
    "burgundy": (128, 0, 32),
    "camel": (193, 154, 107),
    "charcoal": (54, 69, 79),
    "chocolate": (123, 63, 0),
    "cobalt": (0, 71, 171),
    "coral": (255, 127, 80),
    "cream": (255, 253, 208),
    "crimson": (220, 20, 60),
    "ecru": (205, 178, 128),
    "emerald": (80, 200, 120),
    "fuchsia": (255, 0, 255),
    "gold": (212, 175, 55),
    "gray": (128, 128, 128),
    "indigo": (75, 0, 130),
    "ivory": (255, 255, 240),
    "khaki": (195, 176, 145),
    "lavender": (181, 126, 220),
    "lilac": (200, 162, 200),
    "magenta": (255, 0, 144),
    "maroon": (128, 0, 0),
    "mauve": (224, 176, 255),
    "mint": (152, 255, 152),
    "mustard": (225, 173, 1),
    "ochre": (204, 119, 34),
    "peach": (255, 203, 164),
    "plum": (142, 69, 133),
    "rose": (255, 0, 127),
    "rust": (183, 65, 14),
    "sage": (178, 172, 136),
    "salmon": (250, 128, 114),
    "scarlet": (255, 36, 0),
    "silver": (192, 192, 192),
    "tan": (210, 180, 140),
    "taupe": (72, 60, 50),
    "terracotta": (226, 114, 91),
    "turquoise": (64, 224, 208),
    "violet": (143, 0, 255),
    "wine": (114, 47, 55),
}


@cache
def facet_colour(word: str) -> str | None:
    """The shop's colour name for a colour word ("coral" -> "orange"), None if it is not one of
    COLOUR_WORDS (the shop's own names need no reading)."""
    rgb = COLOUR_WORDS.get(word.lower())
    if rgb is None:
        return None
    return colour_name(srgb_to_oklab(np.array(rgb, dtype=np.uint8)))


def with_facet_colours(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The query with every colour word replaced by the shop's name for it (query syntax
    kept), and the (word, name) pairs replaced: ("coral dress", ...) -> ("orange dress",
    (("coral", "orange"),)). A word that already is a shop colour name stays."""
    parsed = parse(text)
    replacements: dict[int, str] = {}
    read: list[tuple[str, str]] = []
    for index, word in enumerate(parsed.words):
        if word.text.lower() in NAMES:
            continue
        name = facet_colour(word.text)
        if name is not None:
            replacements[index] = name
            read.append((word.text, name))
    if not replacements:
        return text, ()
    return parsed.with_replacements(replacements), tuple(read)
