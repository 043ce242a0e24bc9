"""Writes to the catalogue. Views, admin, commands and tasks call these."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Iterable

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from catalog.image_files import ImageInfo, InvalidImage, inspect_image
from catalog.models import Brand, Category, Product, ProductImage

logger = logging.getLogger(__name__)


def _unique_slug(model, base: str, *, fallback: str) -> str:
    base = (slugify(base) or fallback)[:120]
    slug, n = base, 2
    while model.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def category_get_or_create_path(names: Iterable[str]) -> Category | None:
    """Return the leaf of a category path such as ["Apparel", "Dresses"], creating missing nodes."""
    parent = None
    for raw in names:
        name = " ".join(raw.split())[:120]
        if not name:
            continue
        category = Category.objects.filter(parent=parent, name__iexact=name).first()
        if category is None:
            slug_base = f"{parent.slug}-{name}" if parent and Category.objects.filter(slug=slugify(name)).exists() else name
            category = Category.objects.create(
                name=name, parent=parent, slug=_unique_slug(Category, slug_base, fallback="category")
            )
        parent = category
    return parent


def brand_get_or_create(name: str) -> Brand | None:
    name = " ".join((name or "").split())[:120]
    if not name:
        return None
    brand = Brand.objects.filter(name__iexact=name).first()
    if brand is None:
        brand = Brand.objects.create(name=name, slug=_unique_slug(Brand, name, fallback="brand"))
    return brand


@dataclass(frozen=True)
class ProductData:
    """A product as a feed or a form describes it, already validated."""

    sku: str
    title: str
    price: Decimal
    currency: str = "EUR"
    description: str = ""
    category: Category | None = None
    brand: Brand | None = None
    stock: int = 0
    is_active: bool = True
    attributes: dict | None = None


def product_upsert(data: ProductData) -> tuple[Product, bool]:
    """Create the product with this SKU or update it in place; returns (product, created)."""
    values = {
        "title": data.title,
        "slug": slugify(data.title)[:255] or "item",
        "description": data.description,
        "category": data.category,
        "brand": data.brand,
        "price": data.price,
        "currency": data.currency,
        "stock": data.stock,
        "is_active": data.is_active,
        "attributes": data.attributes or {},
    }
    return Product.objects.update_or_create(sku=data.sku, defaults=values)


def product_image_add(
    *, product: Product, content: bytes, source: str = "", position: int = 0
) -> tuple[ProductImage, bool]:
    """Attach image bytes to a product; returns (image, created).

    The same bytes on the same product are one image (idempotent re-imports); only
    its position and source are refreshed. Raises InvalidImage for bytes that are no
    usable image. Processing is queued once the surrounding transaction commits.
    """
    info = inspect_image(content)
    existing = ProductImage.objects.filter(product=product, sha256=info.sha256).first()
    if existing is not None:
        if (existing.position, existing.source) != (position, source):
            existing.position, existing.source = position, source
            existing.save(update_fields=["position", "source", "updated_at"])
        return existing, False
    image = ProductImage(product=product, position=position, source=source[:1000])
    _store_bytes(image, info, content, product.sku)
    try:
        with transaction.atomic():
            image.save()
    except IntegrityError:
        # Another process attached the same bytes a moment ago: that one wins.
        image.file.delete(save=False)
        return ProductImage.objects.get(product=product, sha256=info.sha256), False
    product_images_enqueue_processing([image.pk])
    return image, True


def _same_picture_elsewhere_on_product(image: ProductImage, sha256: str) -> int | None:
    """The id of another image of the same product with these exact bytes, if any."""
    others = ProductImage.objects.filter(product_id=image.product_id, sha256=sha256).exclude(pk=image.pk)
    return others.values_list("pk", flat=True).first()


def _store_bytes(image: ProductImage, info: ImageInfo, content: bytes, sku: str) -> None:
    """Write the file under a name derived from the bytes and record what they are (unsaved row)."""
    image.file.save(f"{sku}-{info.sha256[:12]}.{info.extension}", ContentFile(content), save=False)
    image.sha256, image.width, image.height, image.format = info.sha256, info.width, info.height, info.format


def product_image_replace_file(image: ProductImage, *, content: bytes, position: int | None = None) -> ProductImage:
    """Give an existing image new bytes (staff replaced the file); it is processed again."""
    info = inspect_image(content)
    clash = _same_picture_elsewhere_on_product(image, info.sha256)
    if clash is not None:
        raise InvalidImage(f"the same picture is already image {clash} of this product")
    old_name = image.file.name
    _store_bytes(image, info, content, image.product.sku)
    image.status, image.reason, image.processed_at = ProductImage.Status.PENDING, "", None
    if position is not None:
        image.position = position
    image.save()
    if old_name and old_name != image.file.name:
        transaction.on_commit(lambda: image.file.storage.delete(old_name))
    product_images_enqueue_processing([image.pk])
    return image


def product_image_delete(image: ProductImage) -> None:
    """Delete the row, and its file once the deletion is committed."""
    name, storage = image.file.name, image.file.storage
    image.delete()
    if name:
        transaction.on_commit(lambda: storage.delete(name))


# An unreachable broker costs about half a second of connection retries per message,
# which would turn a bulk import into a crawl. After a failure we stop trying for a
# while; the images stay pending and the periodic sweep queues them later.
BROKER_RETRY_AFTER_SECONDS = 30.0
_broker_unavailable_until = 0.0


def product_images_enqueue_processing(image_ids: Iterable[int]) -> None:
    """Queue processing after the current transaction commits (nothing is sent for a rollback)."""
    ids = list(image_ids)
    if ids:
        transaction.on_commit(lambda: _send_processing(ids))


def _send_processing(image_ids: list[int]) -> None:
    global _broker_unavailable_until
    from catalog.tasks import process_product_image

    if time.monotonic() < _broker_unavailable_until:
        return
    for image_id in image_ids:
        try:
            process_product_image.delay(image_id)
        except Exception as exc:  # kombu raises several kinds; all mean "not sent"
            _broker_unavailable_until = time.monotonic() + BROKER_RETRY_AFTER_SECONDS
            logger.warning(
                "broker unavailable, image processing not queued (the periodic sweep will) image_id=%s error=%s",
                image_id, exc,
            )
            return


def product_images_reprocess(image_ids: Iterable[int]) -> int:
    """Mark images pending again and queue them; returns how many were marked."""
    ids = list(image_ids)
    with transaction.atomic():
        count = ProductImage.objects.filter(pk__in=ids).update(
            status=ProductImage.Status.PENDING, reason="", processed_at=None, updated_at=timezone.now()
        )
        product_images_enqueue_processing(ids)
    return count


def product_image_process(image_id: int) -> ProductImage | None:
    """Record what the stored file is and settle the image's status.

    Safe to run twice: it reads the stored file and overwrites the same fields.
    The full preprocessing/validation/embedding pipeline extends this step.
    """
    with transaction.atomic():
        image = ProductImage.objects.select_for_update().filter(pk=image_id).first()
        if image is None:
            return None  # deleted since it was queued
        image.status = ProductImage.Status.PROCESSING
        image.save(update_fields=["status", "updated_at"])
    try:
        with image.file.open("rb") as handle:
            info = inspect_image(handle.read())
    except FileNotFoundError:
        return _settle(image, ProductImage.Status.REJECTED, "file is missing from storage")
    except InvalidImage as exc:
        return _settle(image, ProductImage.Status.REJECTED, str(exc))
    clash = _same_picture_elsewhere_on_product(image, info.sha256)
    if clash is not None:
        return _settle(image, ProductImage.Status.REJECTED, f"exact duplicate of image {clash} of this product")
    image.sha256, image.width, image.height, image.format = info.sha256, info.width, info.height, info.format
    return _settle(image, ProductImage.Status.READY, "")


def _settle(image: ProductImage, status: str, reason: str) -> ProductImage:
    image.status, image.reason, image.processed_at = status, reason[:255], timezone.now()
    image.save(update_fields=["status", "reason", "processed_at", "sha256", "width", "height", "format", "updated_at"])
    return image


def images_sweep_stale(*, now=None) -> int:
    """Re-queue images left pending or processing (lost message, killed worker); returns the count."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.IMAGE_STALE_AFTER_SECONDS)
    stale = ProductImage.objects.filter(
        status__in=[ProductImage.Status.PENDING, ProductImage.Status.PROCESSING], updated_at__lt=cutoff
    )
    ids = list(stale.values_list("pk", flat=True)[:5000])
    if ids:
        with transaction.atomic():
            ProductImage.objects.filter(pk__in=ids).update(updated_at=now)
            product_images_enqueue_processing(ids)
    return len(ids)
