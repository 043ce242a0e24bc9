"""The demo catalogue's products, made from the curated photographs (no database)."""

import io
import json
from collections import Counter
from decimal import Decimal

from PIL import Image

from catalog.demo.products import KINDS, PHOTO_DIR, STYLE_NAMES, demo_photo, demo_products


def test_every_curated_photo_is_one_product_and_every_file_is_in_the_manifest():
    products = demo_products()
    manifest = json.loads((PHOTO_DIR / "manifest.json").read_text())
    files = sorted(path.name for path in PHOTO_DIR.glob("*.jpg"))
    assert len(products) == len(manifest["photos"]) == len(files) == 600
    assert sorted(photo for p in products for photo in p.photos) == files
    assert manifest["licence"] == "CC0 1.0 (public domain)"


def test_the_catalogue_is_deterministic_and_a_limit_is_a_prefix():
    assert demo_products() == demo_products()
    assert demo_products(30) == demo_products()[:30]
    assert demo_products(0) == []


def test_any_prefix_of_the_catalogue_holds_every_kind():
    assert {p.kind for p in demo_products(10)} == set(KINDS)
    assert min(Counter(p.kind for p in demo_products(48)).values()) >= 4


def test_products_read_like_a_shop():
    products = demo_products()
    assert [p.sku for p in products[:3]] == ["DEMO-0001", "DEMO-0002", "DEMO-0003"]
    assert len({p.sku for p in products}) == len({p.title for p in products}) == 600
    for p in products:
        name, noun = p.title.split(" ", 1)
        assert name in STYLE_NAMES and noun == KINDS[p.kind].noun
        assert p.category_path == KINDS[p.kind].path and p.brand in KINDS[p.kind].brands
        low, high = KINDS[p.kind].price
        assert isinstance(p.price, Decimal) and low <= p.price < high + 1 and p.price.as_tuple().exponent == -2
        assert p.attributes == {}
        # Every size of its kind, smallest first, holding the product's stock between them.
        assert [size for size, _ in p.sizes] == list(KINDS[p.kind].sizes)
        assert sum(stock for _, stock in p.sizes) == p.stock
        assert p.description.endswith(KINDS[p.kind].care) and p.description.count(".") >= 3
    stocks = [p.stock for p in products]
    assert (stocks.count(0), max(stocks)) == (62, 60)  # OUT_OF_STOCK_SHARE 0.12 of 600 asked: 62 drawn
    assert products[0].sizes == (("XS", 6), ("S", 15), ("M", 19), ("L", 13), ("XL", 6))
    # A product with little stock has some sizes sold out, as in a real shop.
    assert products[1].sizes == (("XS", 0), ("S", 1), ("M", 1), ("L", 0), ("XL", 0))
    # No style name is a colour or a brand: a search for "coral" or "Kestrel" must not match it.
    assert not {"coral", "hazel", "sienna", "kestrel", "olive", "navy"} & {n.lower() for n in STYLE_NAMES}


def test_photos_are_upright_jpegs_the_pipeline_accepts():
    for product in demo_products()[::25]:
        with Image.open(io.BytesIO(demo_photo(product, 0))) as image:
            assert image.format == "JPEG" and image.mode == "RGB"
            assert min(image.size) >= 200 and max(image.size) <= 560
            assert not image.getexif()
