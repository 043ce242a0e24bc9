"""Catalogue rows for tests, with images stored as they are (no import checks, as a
broken upload or a form that bypasses the services would leave them)."""

from decimal import Decimal

from django.core.files.base import ContentFile
from PIL import Image

from catalog import services
from catalog.models import Product, ProductImage
from catalog.image_files import DERIVATIVE_SIZES
from vision.decoding import make_derivatives
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


def mark_processed(*images: ProductImage, status: str = ProductImage.Status.READY) -> None:
    """Settle images as the pipeline leaves a usable picture, without running it (no model,
    no vectors): the status and derivatives under derived/ (written from the upload when it is
    stored, so a browser finds them). Shoppers are shown products with such a picture only
    (catalog.selectors)."""
    for image in images:
        stem = f"derived/{image.sha256[:2]}/{image.sha256}" if image.sha256 else f"derived/00/image-{image.pk}"
        names = {kind: f"{stem}-{kind}.jpg" for kind in DERIVATIVE_SIZES}
        storage = image.file.storage
        if image.file.name and storage.exists(image.file.name):
            with storage.open(image.file.name, "rb") as handle, Image.open(handle) as picture:
                derived = make_derivatives(picture.convert("RGB"))
            for kind, name in names.items():
                if not storage.exists(name):
                    storage.save(name, ContentFile(derived[kind]))
        image.status = status
        image.thumbnail.name, image.display.name = names["thumbnail"], names["display"]
        image.save(update_fields=["status", "thumbnail", "display", "updated_at"])
