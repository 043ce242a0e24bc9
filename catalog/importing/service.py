"""Import a catalogue source row by row: a bad row is reported and skipped, the rest goes on.

A row is all or nothing. Its images are fetched and checked before anything is
written, and its writes run in one transaction, so a row whose image fails (or
that the database refuses) leaves its product exactly as it was, or absent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.db.models import Q

from catalog import services
from catalog.image_files import InvalidImage
from catalog.importing.feeds import read_feed
from catalog.importing.fetch import fetch_image
from catalog.importing.folder import count_folder_rows, read_image_folder
from catalog.importing.records import (
    IN_STOCK_DEFAULT_QUANTITY,
    ProductRecord,
    RowError,
    feed_row_sku,
    record_from_feed_row,
)
from catalog.importing.sources import Source, open_source
from catalog.models import Brand, Category, Product
from catalog.url_fetch import FetchLimits, ImageFetchError, image_http_session
from visualshop.broker import sending

# Images that other parts of the shop attached (staff uploads in the admin, the demo
# catalogue) are never removed by a re-import, even when the feed no longer lists them.
NON_IMPORT_IMAGE_SOURCES = ("admin upload:", "demo catalogue:")


@dataclass
class RowFailure:
    row: int
    reason: str
    label: str = ""  # e.g. the file of an ImageFolder row

    def __str__(self) -> str:
        where = f"row {self.row} ({self.label})" if self.label else f"row {self.row}"
        return f"{where}: {self.reason}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    images_added: int = 0
    # Products created from an ImageFolder without --default-price: hidden until priced.
    created_hidden: int = 0
    failures: list[RowFailure] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.created + self.updated + len(self.failures)

    @property
    def failed(self) -> int:
        return len(self.failures)


@dataclass(frozen=True)
class ImportOptions:
    allow_private: bool = False
    # An ImageFolder has no prices: products it creates get this one, or are created
    # hidden at 0.00 when it is None (a made-up price must never be on sale silently).
    default_price: Decimal | None = None
    default_currency: str = "EUR"
    default_stock: int = IN_STOCK_DEFAULT_QUANTITY
    # Where a feed file's local images are; None: the feed's own folder. Paths never leave it.
    image_root: Path | None = None


@dataclass(frozen=True)
class RowOutcome:
    created: bool
    images_added: int
    hidden: bool


def import_catalog(
    path: Path | str,
    options: ImportOptions = ImportOptions(),
    *,
    on_total: Callable[[int], None] = lambda total: None,
    on_row: Callable[[RowFailure | None], None] = lambda failure: None,
) -> ImportReport:
    """Import every row of `path`; raises SourceError if the source as a whole is unusable.

    on_total(number of rows) is called once before the first row, on_row(failure or
    None) after each row: hooks for a progress bar.
    """
    limits = FetchLimits(
        timeout_seconds=settings.IMPORT_IMAGE_TIMEOUT_SECONDS,
        max_bytes=settings.IMPORT_IMAGE_MAX_BYTES,
        max_redirects=settings.IMPORT_IMAGE_MAX_REDIRECTS,
        allow_private=options.allow_private,
    )
    report = ImportReport()
    with (
        open_source(Path(path), image_root=options.image_root) as source,
        image_http_session() as http,
        sending.messages_batched(),
    ):
        importer = _RowImporter(source, limits, http)
        on_total(_count_rows(source))
        first_row_of_sku: dict[str, int] = {}
        for row, item, label in _rows(source, options):
            failure = None
            try:
                if isinstance(item, RowError):
                    raise item
                # Checked before validation: a feed with two rows for one id is ambiguous
                # even if the first of them is broken.
                sku = item.sku if isinstance(item, ProductRecord) else feed_row_sku(item)
                if sku in first_row_of_sku:
                    raise RowError(f"duplicate id {sku!r} (first in row {first_row_of_sku[sku]})")
                if sku:
                    first_row_of_sku[sku] = row
                record = item if isinstance(item, ProductRecord) else record_from_feed_row(item, row)
                outcome = importer.import_record(record)
            except ImageFetchError as exc:
                # An ImageFolder row is already labelled with its file: say it once.
                failure = RowFailure(row, exc.reason if exc.ref == label else str(exc), label)
            except (RowError, InvalidImage, services.VariantError) as exc:
                failure = RowFailure(row, str(exc), label)
            except DatabaseError as exc:  # e.g. a NUL byte in a text field: the row, not the import, fails
                failure = RowFailure(row, f"rejected by the database ({str(exc).splitlines()[0]})", label)
            except OSError as exc:  # the media storage could not take the image (disk full, permissions)
                failure = RowFailure(row, f"could not store the image ({exc.strerror or exc})", label)
            else:
                report.created += outcome.created
                report.updated += not outcome.created
                report.images_added += outcome.images_added
                report.created_hidden += outcome.hidden
            if failure is not None:
                report.failures.append(failure)
            on_row(failure)
    return report


def _count_rows(source: Source) -> int:
    if source.kind == "folder":
        return count_folder_rows(source.path)
    return sum(1 for _ in read_feed(source.path))


def _rows(source: Source, options: ImportOptions) -> Iterator[tuple[int, object, str]]:
    if source.kind == "folder":
        yield from read_image_folder(
            source.path, price=options.default_price, currency=options.default_currency, stock=options.default_stock
        )
    else:
        for row, item in read_feed(source.path):
            yield row, item, ""


class _RowImporter:
    """Writes one record at a time; caches categories and brands for the length of an import."""

    def __init__(self, source: Source, limits: FetchLimits, http) -> None:
        self.source, self.limits, self.http = source, limits, http
        self.categories: dict[tuple[str, ...], Category | None] = {}
        self.brands: dict[str, Brand | None] = {}
        # Item groups imported so far: group id -> (row, price, currency) of its first row
        # that was imported. That row sets the product; the group's later rows add their size
        # (and any picture not seen yet) and must agree on the price.
        self.groups: dict[str, tuple[int, Decimal, str]] = {}

    def import_record(self, record: ProductRecord) -> RowOutcome:
        images = [
            (
                ref,
                fetch_image(
                    ref,
                    base_dir=self.source.base_dir,
                    limits=self.limits,
                    session=self.http,
                    image_root=self.source.image_root,
                    root_name=self.source.root_name,
                ),
            )
            for ref in dict.fromkeys(record.image_refs)
        ]
        group = self.groups.get(record.sku) if record.variant else None
        if group is not None and (record.price, record.currency) != group[1:]:
            raise RowError(
                f"price {record.price} {record.currency} differs from row {group[0]}'s "
                f"{group[1]} {group[2]} for item_group_id {record.sku!r}: the sizes of a product share its price"
            )
        stored: list[str] = []  # files this row wrote to storage: removed again if the row rolls back
        try:
            with transaction.atomic():
                existing = Product.objects.select_related("category", "brand").filter(sku=record.sku).first()
                if group is not None:  # a later size of a product this import already wrote
                    product, created = existing, False
                else:
                    if (
                        record.variant is None
                        and "stock" in record.given
                        and existing is not None
                        and record.stock != existing.stock
                        and existing.variants.exists()
                    ):
                        raise RowError(
                            f"product {record.sku!r} is sold by size: give each size its own row "
                            f"with item_group_id {record.sku!r} and its stock"
                        )
                    product, created = services.product_upsert(self._product_data(record, existing))
                if record.variant is not None:
                    services.product_variants_upsert(product, [record.variant])
                kept, added = [], 0
                for position, (ref, content) in enumerate(images):
                    image, image_created = services.product_image_add(
                        product=product, content=content, source=record.label or ref, position=position
                    )
                    kept.append(image.pk)
                    if image_created:
                        stored.append(image.file.name)
                        added += 1
                if not created and "images" in record.given and group is None:
                    self._drop_images_no_longer_in_source(product, kept)
        except BaseException:
            # Categories and brands created inside the rolled-back transaction are gone too.
            self.categories.clear()
            self.brands.clear()
            for name in stored:
                default_storage.delete(name)
            raise
        if record.variant is not None and group is None:
            self.groups[record.sku] = (record.row, record.price, record.currency)
        return RowOutcome(created=created, images_added=added, hidden=created and not product.is_active)

    def _product_data(self, record: ProductRecord, existing: Product | None) -> services.ProductData:
        """What the product becomes: the record for a new product; for an existing one,
        the record's stated fields over what the product has now."""
        if existing is None:
            return services.ProductData(
                sku=record.sku,
                title=record.title,
                price=record.price,
                currency=record.currency,
                description=record.description,
                category=self._category(record.category_path),
                brand=self._brand(record.brand),
                stock=record.stock,
                is_active=record.is_active,
                attributes={name: value for name, value in record.attributes.items() if value is not None},
            )
        given = record.given
        attributes = dict(existing.attributes or {})
        if "attributes" in given:
            attributes.update(record.attributes)
            attributes = {name: value for name, value in attributes.items() if value is not None}
        return services.ProductData(
            sku=record.sku,
            title=record.title if "title" in given else existing.title,
            price=record.price if "price" in given else existing.price,
            currency=record.currency if "price" in given else existing.currency,
            description=record.description if "description" in given else existing.description,
            category=self._category(record.category_path) if "category" in given else existing.category,
            brand=self._brand(record.brand) if "brand" in given else existing.brand,
            stock=record.stock if "stock" in given else existing.stock,
            is_active=existing.is_active,  # staff decide what is on sale; a feed has no say
            attributes=attributes,
        )

    @staticmethod
    def _drop_images_no_longer_in_source(product: Product, kept: list[int]) -> None:
        """The source is the truth for the images imports brought; other images stay."""
        others = Q(source="")
        for prefix in NON_IMPORT_IMAGE_SOURCES:
            others |= Q(source__startswith=prefix)
        for image in product.images.exclude(pk__in=kept).exclude(others):
            services.product_image_delete(image)

    def _category(self, path: list[str]) -> Category | None:
        key = tuple(" ".join(part.split()).lower() for part in path)
        if key not in self.categories:
            self.categories[key] = services.category_get_or_create_path(path)
        return self.categories[key]

    def _brand(self, name: str) -> Brand | None:
        key = " ".join(name.split()).lower()
        if key not in self.brands:
            self.brands[key] = services.brand_get_or_create(name)
        return self.brands[key]
