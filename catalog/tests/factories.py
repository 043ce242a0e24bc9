"""Catalogue rows for tests, with images stored as they are (no import checks, as a
broken upload or a form that bypasses the services would leave them)."""

from decimal import Decimal

from django.core.files.base import ContentFile

from catalog import services
from catalog.models import Product, ProductImage
from catalog.services import ProductData


def make_product(sku: str, category: str | None = None) -> Product:
    leaf = services.category_get_or_create_path([category]) if category else None
    return services.product_upsert(ProductData(sku=sku, title=f"Product {sku}", price=Decimal("10.00"), category=leaf))[0]


def stored_image(product: Product, content: bytes, name: str = "photo.jpg") -> ProductImage:
    image = ProductImage(product=product)
    image.file.save(name, ContentFile(content), save=False)
    image.save()
    return image


def stored_images(sku: str, *contents: bytes) -> list[ProductImage]:
    """One product with these image bytes, all pending."""
    product = make_product(sku)
    return [stored_image(product, content, f"image{n}.jpg") for n, content in enumerate(contents)]
