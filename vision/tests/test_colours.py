"""Dominant colour names, on constructed pictures and the drawn test catalogue (fixtures.drawn_catalogue)'s
generated photos (no dataset needed)."""

import io

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fixtures.drawn_catalogue.photos import render_drawn_image
from fixtures.drawn_catalogue.products import drawn_products
from vision.colours import NAMES, colour_name, dominant_colours, srgb_to_oklab
from vision.onnx_model.preprocess import resize_short_side

WHITE = (255, 255, 255)


def dress(colour, backdrop=WHITE, size=(320, 400)) -> Image.Image:
    """A dress-like trapezoid on a plain backdrop, as a studio product shot; the
    pipeline hands dominant_colours its short-side-256 working copy."""
    picture = Image.new("RGB", size, backdrop)
    ImageDraw.Draw(picture).polygon([(130, 40), (190, 40), (250, 380), (70, 380)], fill=colour)
    return resize_short_side(picture)


def names(picture: Image.Image) -> list[str]:
    return list(dominant_colours(picture))


def jpeg_round_trip(picture: Image.Image, quality: int = 80) -> Image.Image:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def test_a_red_dress_on_white_is_red_and_the_backdrop_is_not_counted():
    assert dominant_colours(dress((200, 20, 30))) == {"red": 0.937}  # the rest: anti-aliased edge pixels


def test_a_plain_swatch_is_its_own_colour_even_though_it_touches_every_edge():
    assert dominant_colours(resize_short_side(Image.new("RGB", (300, 300), (200, 30, 30)))) == {"red": 1.0}


def test_a_white_shirt_on_white_keeps_the_backdrop_rather_than_nothing():
    assert dominant_colours(dress((248, 248, 248))) == {"white": 1.0}


def test_two_colours_side_by_side_give_both_names_with_their_shares():
    picture = Image.new("RGB", (300, 300), (200, 20, 30))
    ImageDraw.Draw(picture).rectangle((150, 0, 300, 300), fill=(40, 90, 220))
    assert dominant_colours(resize_short_side(picture)) == {"red": 0.5, "blue": 0.5}


def test_a_two_colour_garment_on_a_grey_backdrop_gives_its_two_colours_largest_first():
    picture = Image.new("RGB", (320, 400), (205, 205, 205))
    draw = ImageDraw.Draw(picture)
    draw.rectangle((80, 40, 240, 260), fill=(250, 215, 30))  # yellow top
    draw.rectangle((80, 260, 240, 360), fill=(30, 130, 60))  # green hem
    assert names(resize_short_side(picture)) == ["yellow", "green"]


@pytest.mark.parametrize(
    ("colour", "expected"),
    [
        ((192, 192, 198), ["grey"]),  # silver-ish: a faint blue cast is still grey, not blue
        ((150, 140, 130), ["grey"]),  # warm grey: not beige or brown
        ((128, 128, 128), ["grey"]),
        ((18, 28, 62), ["navy"]),  # dark navy: dark, but clearly blue
        ((22, 22, 26), ["black"]),  # black with a hint of blue is black
        ((225, 205, 170), ["beige"]),
    ],
)
def test_greys_and_near_blacks_on_a_white_backdrop(colour, expected):
    assert names(dress(colour)) == expected


def test_a_small_item_on_a_large_backdrop_is_still_found():
    picture = Image.new("RGB", (480, 600), (240, 240, 241))
    ImageDraw.Draw(picture).rounded_rectangle((180, 255, 300, 345), radius=12, fill=(30, 44, 86))  # 3.7% of it
    # Its anti-aliased rim (navy mixed with the pale backdrop) is a visible share of so
    # small an item, and reads as a lighter blue.
    assert dominant_colours(resize_short_side(picture)) == {"navy": 0.823, "blue": 0.146}


def test_a_garment_filling_the_frame_is_not_mistaken_for_the_backdrop():
    """A black sweater photographed close up touches three edges; the grey sheet above
    it is the backdrop (on the edge, not in the middle)."""
    picture = Image.new("RGB", (320, 400), (120, 120, 125))
    ImageDraw.Draw(picture).polygon([(0, 60), (320, 60), (320, 400), (0, 400)], fill=(25, 25, 28))
    assert dominant_colours(resize_short_side(picture)) == {"black": 0.982}


def test_jpeg_noise_does_not_change_the_names_and_the_result_is_deterministic():
    picture = dress((30, 44, 86), backdrop=(236, 240, 244))
    assert names(jpeg_round_trip(picture, quality=60)) == names(picture) == ["navy"]
    assert dominant_colours(picture) == dominant_colours(picture)


@pytest.mark.parametrize(
    ("rgb", "name"),
    [
        ((20, 20, 22), "black"),
        ((64, 66, 72), "black"),
        ((90, 90, 90), "grey"),
        ((250, 250, 250), "white"),
        ((240, 236, 228), "white"),
        ((192, 192, 196), "grey"),
        ((225, 205, 170), "beige"),
        ((240, 230, 204), "beige"),
        ((120, 70, 30), "brown"),
        ((182, 132, 80), "brown"),
        ((128, 0, 0), "red"),
        ((112, 30, 48), "red"),
        ((220, 20, 30), "red"),
        ((255, 150, 180), "pink"),
        ((250, 130, 20), "orange"),
        ((250, 220, 30), "yellow"),
        ((214, 160, 42), "yellow"),
        ((110, 110, 40), "olive"),
        ((40, 160, 60), "green"),
        ((150, 174, 140), "green"),
        ((0, 128, 128), "teal"),
        ((40, 190, 220), "teal"),
        ((40, 90, 220), "blue"),
        ((124, 176, 220), "blue"),
        ((72, 100, 142), "blue"),
        ((20, 30, 80), "navy"),
        ((25, 35, 55), "navy"),
        ((120, 50, 160), "purple"),
        ((176, 160, 214), "purple"),
    ],
)
def test_colour_names(rgb, name):
    assert colour_name(srgb_to_oklab(np.array(rgb))) == name


def test_there_are_fifteen_names():
    assert sorted(NAMES) == sorted(
        [
            "black",
            "white",
            "grey",
            "beige",
            "brown",
            "red",
            "pink",
            "orange",
            "yellow",
            "olive",
            "green",
            "teal",
            "blue",
            "navy",
            "purple",
        ]
    )


# The drawn catalogue's colour names, in this module's vocabulary.
DEMO_COLOURS = {
    "navy": "navy",
    "black": "black",
    "white": "white",
    "grey": "grey",
    "charcoal": "black",
    "red": "red",
    "burgundy": "red",
    "pink": "pink",
    "coral": "orange",
    "mustard": "yellow",
    "olive": "olive",
    "forest green": "green",
    "sage": "green",
    "sky blue": "blue",
    "cobalt": "blue",
    "lavender": "purple",
    "beige": "beige",
    "camel": "brown",
    "brown": "brown",
    "cream": "white",
    "terracotta": "brown",
}  # teal and denim blue come only patterned or as bags


def test_each_solid_colour_of_the_drawn_catalogue_is_named_first():
    """The first single-colour product of each colour (bags excluded: their flap is
    drawn darker than the body) on its generated studio photo."""
    firsts = {}
    for product in drawn_products():
        colour = product.attributes["colour"]
        if product.pattern == "solid" and product.kind != "bag" and colour not in firsts:
            firsts[colour] = product
    assert len(firsts) == len(DEMO_COLOURS)
    found = {}
    for colour, product in firsts.items():
        picture = Image.open(io.BytesIO(render_drawn_image(product, 0))).convert("RGB")
        found[colour] = names(resize_short_side(picture))[0]
    assert found == DEMO_COLOURS
