"""Writes to the catalogue. Views, admin, commands and tasks call these."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Concat, Left
from django.utils import timezone
from django.utils.text import slugify

from catalog import selectors
from catalog.image_files import ImageInfo, InvalidImage, inspect_image
from catalog.models import Brand, Category, Product, ProductImage, ProductVariant
from visualshop.broker import holdings as broker_holdings
from visualshop.broker import sending

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
            slug_base = (
                f"{parent.slug}-{name}" if parent and Category.objects.filter(slug=slugify(name)).exists() else name
            )
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
    """Create the product with this SKU or update it in place; returns (product, created).

    A product that is new or actually changed is marked search-dirty in the same write and
    its search refresh is queued on commit; re-importing an unchanged row writes nothing.
    A product sold by size keeps its sizes' total as its stock, whatever `data.stock` says.
    """
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
    with transaction.atomic():
        product = Product.objects.select_for_update(no_key=True).filter(sku=data.sku).first()
        if product is None:
            try:
                with transaction.atomic():
                    product = Product.objects.create(sku=data.sku, search_dirty=True, **values)
            except IntegrityError:  # another process created this SKU a moment ago: update that one
                product = Product.objects.select_for_update(no_key=True).get(sku=data.sku)
            else:
                products_enqueue_search_refresh([product.pk])
                return product, True
        if values["stock"] != product.stock and product.variants.exists():
            # Sold by size: its stock is its sizes' sum (product_variants_upsert), not the data's.
            values["stock"] = product.stock
        changed = [name for name, value in values.items() if _field_value(product, name) != _raw(value)]
        if changed:
            for name in changed:
                setattr(product, name, values[name])
            product.search_dirty = True
            product.save(update_fields=[*changed, "search_dirty", "updated_at"])
            products_enqueue_search_refresh([product.pk])
    return product, False


class VariantError(ValueError):
    """A size that cannot be written as asked (its SKU belongs to another product, or the
    product already has the size under another SKU); the message says which."""


@dataclass(frozen=True)
class VariantData:
    """One size of a product as a feed, the demo or staff describe it, already validated."""

    sku: str
    size: str
    stock: int
    # Where the size picker lists it; None: where it is, or after the product's sizes when new
    # (a feed lists them smallest first; staff may have reordered them).
    position: int | None = 0


SIZE_MAX_CHARS = ProductVariant._meta.get_field("size").max_length


def product_variants_upsert(product: Product, variants: Iterable[VariantData]) -> int:
    """Create or update these sizes of the product (matched by SKU; sizes not named stay as
    they are), then make the product's stock their sum. Returns how many were created.

    The product's row is locked first, as order placement locks products before sizes, so a
    checkout and a stock update of the same product cannot deadlock."""
    variants = list(variants)
    new, changed = [], []
    with transaction.atomic():
        stock_before = Product.objects.select_for_update(no_key=True).values_list("stock", flat=True).get(pk=product.pk)
        # Two reads however many sizes: these SKUs wherever they are, and the product's sizes.
        by_sku = {
            v.sku: v for v in ProductVariant.objects.filter(sku__in=[d.sku for d in variants]).select_related("product")
        }
        sku_of_size = {v.size: v.sku for v in ProductVariant.objects.filter(product=product)}
        for data in variants:
            variant = by_sku.get(data.sku)
            if variant is not None and variant.product_id != product.pk:
                raise VariantError(f"size SKU {data.sku!r} already belongs to another product ({variant.product})")
            if sku_of_size.get(data.size, data.sku) != data.sku:
                raise VariantError(f"the product already has size {data.size!r} as SKU {sku_of_size[data.size]!r}")
            position = data.position
            if position is None:
                position = variant.position if variant is not None else len(sku_of_size)
            if variant is None:
                variant = ProductVariant(product=product, sku=data.sku)
                new.append(variant)
            elif (variant.size, variant.stock, variant.position) == (data.size, data.stock, position):
                continue
            else:
                sku_of_size.pop(variant.size, None)
                changed.append(variant)
            variant.size, variant.stock, variant.position = data.size, data.stock, position
            sku_of_size[data.size] = data.sku
            by_sku[data.sku] = variant
        ProductVariant.objects.bulk_create(new)
        for variant in changed:
            variant.save(update_fields=["size", "stock", "position", "updated_at"])
        _stock_make_sizes_sum(product, stock_before)
    return len(new)


def product_stock_resum(product: Product) -> None:
    """A product sold by size has the sum of its sizes' stock as its own (listings, search's
    in-stock filter and ranking read that one column). Call it in the transaction that changed
    a size's stock. A product without sizes keeps the stock it was given.

    Only a change between in stock and sold out marks it search-dirty, as an order does:
    search reads nothing else of the stock."""
    with transaction.atomic():
        stock_before = Product.objects.select_for_update(no_key=True).values_list("stock", flat=True).get(pk=product.pk)
        _stock_make_sizes_sum(product, stock_before)


def _stock_make_sizes_sum(product: Product, stock_before: int) -> None:
    """product_stock_resum for a caller holding the product's row lock, which read its stock."""
    total = ProductVariant.objects.filter(product=product).aggregate(total=Sum("stock"))["total"]
    if total is None or total == stock_before:
        product.stock = stock_before
        return
    changes = {"stock": total, "updated_at": timezone.now()}
    flipped = (total == 0) != (stock_before == 0)
    if flipped:
        changes["search_dirty"] = True
    Product.objects.filter(pk=product.pk).update(**changes)
    product.stock = total
    if flipped:
        products_enqueue_search_refresh([product.pk])


def _field_value(product: Product, name: str):
    """The stored value, foreign keys as their id (reading product.category would query)."""
    field = Product._meta.get_field(name)
    return getattr(product, field.attname)


def _raw(value):
    return value.pk if isinstance(value, (Category, Brand)) else value


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


def _store_bytes(image: ProductImage, info: ImageInfo, content: bytes, sku: str) -> None:
    """Write the file under a name derived from the bytes and record what they are (unsaved row)."""
    image.file.save(f"{sku}-{info.sha256[:12]}.{info.extension}", ContentFile(content), save=False)
    image.sha256, image.width, image.height, image.format = info.sha256, info.width, info.height, info.format


def product_image_replace_file(image: ProductImage, *, content: bytes, position: int | None = None) -> ProductImage:
    """Give an existing image new bytes (staff replaced the file); it is processed again."""
    info = inspect_image(content)
    clash = selectors.product_image_with_same_bytes(image.product_id, info.sha256, exclude_pk=image.pk)
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
    # The old picture no longer counts for the product's colours and similar products.
    products_mark_search_dirty([image.product_id])
    return image


def product_image_delete(image: ProductImage) -> None:
    """Delete the row, and its file once the deletion is committed."""
    name, storage = image.file.name, image.file.storage
    product_id = image.product_id
    image.delete()
    products_mark_search_dirty([product_id])
    if name:
        transaction.on_commit(lambda: storage.delete(name))


# Inside images_unqueued_collected(): the images whose processing message could not be sent.
_unqueued_images: ContextVar[list[int] | None] = ContextVar("unqueued_images", default=None)


@contextmanager
def images_unqueued_collected():
    """Yield a list that receives the id of every image whose processing could not be queued
    (broker unreachable) inside this block, so a bulk import can say so. Those images stay
    pending; the sweep (images_requeue_lost) queues them once the broker is back."""
    collected: list[int] = []
    token = _unqueued_images.set(collected)
    try:
        yield collected
    finally:
        _unqueued_images.reset(token)


def product_images_enqueue_processing(image_ids: Iterable[int]) -> None:
    """Queue processing after the current transaction commits (nothing is sent for a rollback).
    Inside visualshop.broker.sending.messages_batched() the ids go in messages of
    IMAGE_PROCESSING_BATCH; ids lost with a crashed process stay pending for the sweep."""
    ids = list(image_ids)
    if ids:
        transaction.on_commit(lambda: _image_processing.queue(ids))


def _send_processing(image_ids: list[int]) -> None:
    """Send the ids to the pipeline (search.tasks, named in settings: catalog does not import search)."""
    unsent = sending.send_ids(
        settings.IMAGE_PROCESSING_TASK,
        image_ids,
        per_message=settings.IMAGE_PROCESSING_BATCH,
        consequence="image processing not queued (the periodic sweep will)",
    )
    collected = _unqueued_images.get()
    if unsent and collected is not None:
        collected.extend(unsent)


_image_processing = sending.BatchedIds(_send_processing, batch_size=lambda: settings.IMAGE_PROCESSING_BATCH)


def products_mark_search_dirty(product_ids: Iterable[int]) -> None:
    """Something search derives from these products changed (their text, their images):
    mark them search-dirty now, in the caller's transaction, and queue their refresh once it
    commits. A lost message costs nothing: the periodic sweep refreshes dirty products."""
    ids = sorted(set(product_ids))
    if not ids:
        return
    if len(ids) == 1:
        Product.objects.filter(pk=ids[0]).update(search_dirty=True)
    else:
        with transaction.atomic():
            # Rows locked in id order: two writers marking overlapping sets cannot deadlock.
            list(Product.objects.filter(pk__in=ids).order_by("pk").select_for_update(no_key=True).values_list("pk"))
            Product.objects.filter(pk__in=ids).update(search_dirty=True)
    products_enqueue_search_refresh(ids)


def brand_product_ids(brands: Brand | Iterable[Brand]) -> list[int]:
    """The products of these brands (for brands about to be deleted: collect them first)."""
    brands = [brands] if isinstance(brands, Brand) else brands
    return list(Product.objects.filter(brand__in=brands).order_by("pk").values_list("pk", flat=True))


def brand_products_mark_search_dirty(brand: Brand) -> list[int]:
    """The brand's name is in its products' text documents and facets: a renamed brand
    marks them search-dirty (refreshed on commit). Returns their ids."""
    ids = brand_product_ids(brand)
    products_mark_search_dirty(ids)
    return ids


def category_product_ids(category: Category) -> list[int]:
    """The products filed (or, without a category, predicted) anywhere in the category's
    subtree: the category path of their text documents and facets runs through it."""
    subtree = selectors.category_descendant_ids(category)
    return list(
        Product.objects.filter(Q(category_id__in=subtree) | Q(predicted_category_id__in=subtree))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def category_products_mark_search_dirty(category: Category) -> list[int]:
    """A category renamed or moved changes the path in the documents of its whole subtree's
    products: marked search-dirty (refreshed on commit). Returns their ids."""
    ids = category_product_ids(category)
    products_mark_search_dirty(ids)
    return ids


def products_enqueue_search_refresh(product_ids: Iterable[int]) -> None:
    """Queue the search refresh (search.tasks, named in SEARCH_REFRESH_TASK) after the
    current transaction commits; nothing is sent for a rollback. Inside
    visualshop.broker.sending.messages_batched() the ids go in messages of SEARCH_REFRESH_BATCH."""
    ids = list(product_ids)
    if ids:
        transaction.on_commit(lambda: _search_refresh.queue(ids))


def _send_refresh(product_ids: list[int]) -> None:
    sending.send_ids(
        settings.SEARCH_REFRESH_TASK,
        list(dict.fromkeys(product_ids)),  # a batch may repeat ids
        per_message=settings.SEARCH_REFRESH_BATCH,
        consequence="search refresh not queued (the products stay dirty for the periodic sweep)",
    )


_search_refresh = sending.BatchedIds(_send_refresh, batch_size=lambda: settings.SEARCH_REFRESH_BATCH)


def product_images_reprocess(image_ids: Iterable[int], *, enqueue: bool = True) -> int:
    """Mark images pending again and (unless the caller processes them itself) queue them;
    returns how many were marked."""
    ids = list(image_ids)
    with transaction.atomic():
        count = ProductImage.objects.filter(pk__in=ids).update(
            status=ProductImage.Status.PENDING,
            reason="",
            reason_codes=[],
            attempts=0,
            processed_at=None,
            updated_at=timezone.now(),
        )
        if enqueue:
            product_images_enqueue_processing(ids)
    return count


# How a picture's reason reads once staff dismissed its flags: the flags' words after it (here
# and when the pipeline meets the same bytes again, vision.pipeline).
FLAGS_DISMISSED_PREFIX = "flags dismissed by staff: "


def image_flags_dismiss(image_ids: Iterable[int], *, by) -> int:
    """Staff looked at flagged pictures and found them fine: each is ready at once, and its
    review (who, when, which flags, which bytes) stays, so reprocessing the same bytes does not
    raise those flags again (vision.pipeline). Pictures not flagged are left alone; returns how
    many were dismissed. Flagged and ready pictures are both shown: search data is unchanged."""
    return ProductImage.objects.filter(pk__in=list(image_ids), status=ProductImage.Status.FLAGGED).update(
        status=ProductImage.Status.READY,
        reason=Left(Concat(Value(FLAGS_DISMISSED_PREFIX), F("reason")), 255),
        reason_codes=[],
        duplicate_of=None,
        **_flag_review(ProductImage.FlagReview.DISMISSED, by),
    )


def image_flags_accept(image_ids: Iterable[int], *, by) -> int:
    """Staff agree with the flags: the pictures leave the shop. Each is reprocessed at once and
    the pipeline, finding the review of these bytes, rejects it (dropping its vectors and
    derivatives), as it will on every later reprocessing unless a new flag or a new file comes
    up. Pictures not flagged are left alone; returns how many were accepted."""
    with transaction.atomic():
        flagged = ProductImage.objects.filter(pk__in=list(image_ids), status=ProductImage.Status.FLAGGED)
        ids = list(flagged.values_list("pk", flat=True))
        ProductImage.objects.filter(pk__in=ids).update(**_flag_review(ProductImage.FlagReview.ACCEPTED, by))
        product_images_reprocess(ids)
    return len(ids)


def _flag_review(review: str, by) -> dict:
    return {
        "flag_review": review,
        "flag_reviewed_codes": F("reason_codes"),
        "flag_reviewed_sha256": F("sha256"),
        "flag_reviewed_by": by,
        "flag_reviewed_at": timezone.now(),
        "updated_at": timezone.now(),
    }


def images_sweep_stale(*, now=None, unfinished: bool = True) -> int:
    """Re-queue images whose processing was lost: pending or processing for too long (lost
    message, killed worker), or failed with attempts left. An image that keeps killing its
    worker is given up on (FAILED) after IMAGE_MAX_ATTEMPTS. Returns how many were queued.

    unfinished=False: only failed images (when images_requeue_lost, which knows what the
    broker holds, takes care of pending and processing ones)."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.IMAGE_STALE_AFTER_SECONDS)
    Status = ProductImage.Status
    with transaction.atomic():
        _images_give_up_on_worker_killers(ProductImage.objects.filter(updated_at__lt=cutoff), now)
        retry_failed = Q(status=Status.FAILED, attempts__lt=settings.IMAGE_MAX_ATTEMPTS, updated_at__lt=cutoff)
        stale = ProductImage.objects.filter(
            Q(status__in=[Status.PENDING, Status.PROCESSING], updated_at__lt=cutoff) | retry_failed
            if unfinished
            else retry_failed
        )
        ids = list(stale.order_by("pk").values_list("pk", flat=True)[:5000])
        if ids:
            ProductImage.objects.filter(pk__in=ids).update(updated_at=now)
            product_images_enqueue_processing(ids)
    return len(ids)


def _images_give_up_on_worker_killers(images, now) -> None:
    """Images among `images` claimed IMAGE_MAX_ATTEMPTS times and lost each time kill their
    worker: marked FAILED instead of being queued again."""
    max_attempts = settings.IMAGE_MAX_ATTEMPTS
    images.filter(status=ProductImage.Status.PROCESSING, attempts__gte=max_attempts).update(
        status=ProductImage.Status.FAILED,
        reason_codes=[ProductImage.Reason.ERROR],
        updated_at=now,
        reason=f"gave up after {max_attempts} attempts (the worker died or timed out each time)",
    )


def images_requeue_lost(*, now=None) -> int | None:
    """Find image processing the broker lost and send it again; returns how many images were
    sent back to the workers, or None if the broker cannot be read (the caller falls back to
    images_sweep_stale's time-based rule).

    Lost work is (1) a message delivered to a worker that is gone (killed, crashed machine):
    unacknowledged for BROKER_ORPHAN_AFTER_SECONDS and reported by no live worker; it goes
    back to the head of the queue, as kombu itself would do only after the visibility
    timeout; and (2) an image pending or processing, unchanged for IMAGE_LOST_AFTER_SECONDS,
    that no message in the broker and no live worker holds (a Redis restart that lost its
    data, a send that failed): it is queued again. An image that is still held anywhere is
    never queued a second time, so no image is processed by two workers at once."""
    task = settings.IMAGE_PROCESSING_TASK
    holdings = broker_holdings.read_holdings(task)
    if holdings is None:
        return None
    now = now or timezone.now()
    Status = ProductImage.Status
    unfinished = ProductImage.objects.filter(
        status__in=[Status.PENDING, Status.PROCESSING],
        updated_at__lt=now - timedelta(seconds=settings.IMAGE_LOST_AFTER_SECONDS),
    )
    orphan_before = now.timestamp() - settings.BROKER_ORPHAN_AFTER_SECONDS
    old_deliveries = [delivery for delivery in holdings.deliveries if delivery.delivered_at < orphan_before]
    candidates = set(unfinished.values_list("pk", flat=True)[:20000]) - holdings.queued - holdings.delivered_ids()
    if not old_deliveries and not candidates:
        return 0  # the usual case: one query and one read of the queue, no question to the workers
    workers = broker_holdings.read_worker_holdings(task)
    if workers is None:
        return 0  # cannot tell what the workers hold: sending anything could process it twice
    orphans = [delivery for delivery in old_deliveries if delivery.task_id not in workers.task_ids]
    restored = 0
    if orphans:
        broker_holdings.restore_deliveries([delivery.tag for delivery in orphans])
        orphan_ids = {pk for delivery in orphans for pk in delivery.ids}
        restored = ProductImage.objects.filter(
            pk__in=orphan_ids, status__in=[Status.PENDING, Status.PROCESSING]
        ).count()
        logger.warning(
            "re-queued %s message(s) of a worker that is gone (%s unfinished images)", len(orphans), restored
        )
    lost = sorted(candidates - workers.ids)
    if not lost:
        return restored
    with transaction.atomic():
        _images_give_up_on_worker_killers(ProductImage.objects.filter(pk__in=lost), now)
        # Re-read under the same filter: an image settled since the first read is left alone.
        ids = list(unfinished.filter(pk__in=lost).order_by("pk").values_list("pk", flat=True))
        ProductImage.objects.filter(pk__in=ids).update(updated_at=now)
        product_images_enqueue_processing(ids)
    if ids:
        logger.warning("re-queued %s image(s) the broker had lost", len(ids))
    return restored + len(ids)
