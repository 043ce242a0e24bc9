"""The photo-search shop of the browser tests: the API shop plus look-alike lamps, every photo
processed and every product refreshed (`photo_shop` in browser_tests/conftest.py)."""

from __future__ import annotations

from decimal import Decimal

from PIL import ImageEnhance, ImageOps

from catalog import services
from catalog.services import ProductData
from fixtures.factories import stored_image
from fixtures.images import scene
from fixtures.shop import build_shop, jpeg
from search.product_refresh import products_refresh
from vision.pipeline import product_images_process

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
        return ImageOps.expand(ImageEnhance.Brightness(base).enhance(1.08), border=16, fill=(230, 230, 230)).resize(
            (480, 600)
        )
    raise ValueError(name)


def build_photo_shop():
    """The API shop plus PHOTO_SHOP_EXTRA, every photo processed, then every product refreshed
    as a worker would (search.product_refresh.products_refresh): colours, predicted category,
    the text index and the cached "Visually similar" rows. Returns api's Shop."""
    shop = build_shop(process=False)
    for sku, (title, path, brand, price, stock, picture) in PHOTO_SHOP_EXTRA.items():
        product, _ = services.product_upsert(
            ProductData(
                sku=sku,
                title=title,
                price=Decimal(price),
                stock=stock,
                is_active=True,
                category=services.category_get_or_create_path(path),
                brand=services.brand_get_or_create(brand),
            )
        )
        shop.products[sku] = product
        shop.images[sku] = stored_image(product, jpeg(lookalike_picture(picture), quality=90), f"{sku.lower()}.jpg")
    product_images_process([image.pk for image in shop.images.values()])
    for image in shop.images.values():
        image.refresh_from_db()
    assert {image.status for image in shop.images.values()} <= {"ready", "flagged"}, {
        sku: (image.status, image.reason) for sku, image in shop.images.items()
    }
    products_refresh([product.pk for product in shop.products.values()], only_dirty=False)
    for product in shop.products.values():
        product.refresh_from_db()
    return shop
