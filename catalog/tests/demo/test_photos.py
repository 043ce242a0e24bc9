"""The demo catalogue's drawn photos (no database)."""

import io

import pytest
from PIL import Image

from catalog.demo.photos import CANVAS, render_demo_image
from catalog.demo.products import KINDS, demo_products


@pytest.mark.parametrize("kind", [kind.key for kind in KINDS])
def test_photos_are_jpegs_of_product_size_and_shots_differ(kind):
    product = next(p for p in demo_products() if p.kind == kind and p.image_count >= 2)
    shots = [render_demo_image(product, index) for index in range(3)]
    assert len(set(shots)) == 3
    for content in shots:
        with Image.open(io.BytesIO(content)) as image:
            assert (image.format, image.size) == ("JPEG", CANVAS)
            assert min(image.size) >= 200
            # The item is drawn in its own colour, not just a blank background.
            colours = image.convert("RGB").resize((48, 60)).getcolors(48 * 60)
            assert len(colours) > 20
