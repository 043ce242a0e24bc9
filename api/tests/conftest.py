"""A small shop with processed photos (real model, real vectors) for the API tests."""

from __future__ import annotations

import io
from dataclasses import dataclass
from decimal import Decimal

import pytest
from PIL import Image

from catalog import services
from catalog.models import Product, ProductImage
from catalog.services import ProductData
from catalog.tests.factories import mark_processed, stored_image
from catalog.tests.images import scene_bytes
from search.pipeline import product_images_process


@dataclass
class Shop:
    products: dict[str, Product]
    images: dict[str, ProductImage]

    def id(self, sku: str) -> int:
        return self.products[sku].pk


def jpeg(picture: Image.Image, quality: int = 80) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


# sku: (title, category path, brand, price, stock, active, scene seed)
SHOP = {
    "D1": ("Polka-dot midi dress", ["Clothing", "Dresses"], "Northwind", "20.00", 3, True, 1),
    "D2": ("Linen wrap dress", ["Clothing", "Dresses"], "Lumen", "60.00", 0, True, 2),
    "S1": ("Striped linen shirt", ["Clothing", "Shirts"], "Northwind", "35.00", 5, True, 3),
    "M1": ("Stoneware mug", ["Home", "Mugs"], "Pebble Home", "12.00", 40, True, 4),
    "M2": ("Enamel mug", ["Home", "Mugs"], "Pebble Home", "9.50", 8, True, 5),
    "H1": ("Hidden shirt", ["Clothing", "Shirts"], "Northwind", "30.00", 2, False, 6),
}


def build_shop(*, process: bool) -> Shop:
    products, images = {}, {}
    for sku, (title, path, brand, price, stock, active, seed) in SHOP.items():
        product, _ = services.product_upsert(ProductData(
            sku=sku, title=title, price=Decimal(price), stock=stock, is_active=active,
            category=services.category_get_or_create_path(path), brand=services.brand_get_or_create(brand),
        ))
        products[sku] = product
        images[sku] = stored_image(product, scene_bytes(seed), f"{sku.lower()}.jpg")
    if process:
        product_images_process([image.pk for image in images.values()])
        for image in images.values():
            image.refresh_from_db()
    return Shop(products, images)


@pytest.fixture
def shop(db) -> Shop:
    """Six products (one inactive), one photo each, marked processed without the pipeline
    (derivatives, no vectors): no active model."""
    shop = build_shop(process=False)
    mark_processed(*shop.images.values())  # shown to shoppers without running the model
    return shop


@pytest.fixture
def processed_shop(db, settings) -> Shop:
    """The same shop with every photo processed: an active model and stored vectors."""
    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01  # the generated scenes are not duplicates
    settings.IMAGE_BLUR_THRESHOLD = 0
    shop = build_shop(process=True)
    assert {image.status for image in shop.images.values()} <= {"ready", "flagged"}, \
        {sku: (image.status, image.reason) for sku, image in shop.images.items()}
    return shop
