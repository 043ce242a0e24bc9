"""Colour words read as the shop's colour names (no database)."""

import pytest

from search.colour_words import COLOUR_WORDS, facet_colour, with_facet_colours
from vision.colours import NAMES


@pytest.mark.parametrize(
    "word, name",
    [("coral", "orange"), ("Burgundy", "red"), ("maroon", "red"), ("gray", "grey"), ("khaki", "beige"),
     ("lavender", "purple"), ("indigo", "navy"), ("ivory", "white"), ("charcoal", "grey"), ("cobalt", "blue")],
)  # fmt: skip
def test_a_colour_word_is_read_as_the_name_the_pipeline_gives_its_colour(word, name):
    assert facet_colour(word) == name


def test_every_colour_word_reads_as_one_of_the_shops_names_and_none_is_one_already():
    assert {facet_colour(word) for word in COLOUR_WORDS} <= set(NAMES)
    assert not set(COLOUR_WORDS) & set(NAMES)
    assert facet_colour("dress") is None and facet_colour("navy") is None


def test_the_query_keeps_its_syntax_and_says_what_it_read():
    assert with_facet_colours('coral dress -burgundy "navy blue" or khaki') == (
        'orange dress -red "navy blue" or beige',
        (("coral", "orange"), ("burgundy", "red"), ("khaki", "beige")),
    )
    assert with_facet_colours("red dress") == ("red dress", ())
    assert with_facet_colours("") == ("", ())
