"""Import a catalogue source row by row: a bad row is reported and skipped, the rest goes on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import requests
from django.conf import settings
from django.db import DatabaseError, transaction

from catalog import services
from catalog.importing.feeds import read_feed
from catalog.importing.fetch import FetchLimits, ImageFetchError, fetch_image
from catalog.importing.folder import count_folder_rows, read_image_folder
from catalog.importing.records import ProductRecord, RowError, record_from_feed_row
from catalog.importing.sources import Source, open_source
from catalog.image_files import InvalidImage
from catalog.models import Brand, Category


@dataclass
class RowFailure:
    row: int
    reason: str
    label: str = ""

    def __str__(self) -> str:
        where = f"row {self.row} ({self.label})" if self.label else f"row {self.row}"
        return f"{where}: {self.reason}"


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    images_added: int = 0
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
    # An ImageFolder has no prices or stock: these fill them in.
    default_price: Decimal = Decimal("0.00")
    default_currency: str = "EUR"
    default_stock: int = 10


def import_catalog(
    path: Path,
    options: ImportOptions = ImportOptions(),
    *,
    on_total: Callable[[int], None] = lambda total: None,
    on_row: Callable[[RowFailure | None], None] = lambda failure: None,
) -> ImportReport:
    """Import every row of `path`; SourceError if the source as a whole is unusable."""
    limits = FetchLimits(
        timeout_seconds=settings.IMPORT_IMAGE_TIMEOUT_SECONDS,
        max_bytes=settings.IMPORT_IMAGE_MAX_BYTES,
        max_redirects=settings.IMPORT_IMAGE_MAX_REDIRECTS,
        allow_private=options.allow_private,
    )
    report = ImportReport()
    importer = _RowImporter(limits)
    with open_source(Path(path)) as source, requests.Session() as http:
        importer.http = http
        on_total(_count_rows(source))
        seen_skus: dict[str, int] = {}
        for row, item, label in _rows(source, options):
            failure = None
            try:
                if isinstance(item, RowError):
                    raise item
                record = item if isinstance(item, ProductRecord) else record_from_feed_row(item, row)
                if record.sku in seen_skus:
                    raise RowError(f"duplicate id {record.sku!r} (first in row {seen_skus[record.sku]})")
                seen_skus[record.sku] = row
                created, images_added = importer.import_record(record, source)
                report.images_added += images_added
                if created:
                    report.created += 1
                else:
                    report.updated += 1
            except (RowError, ImageFetchError, InvalidImage) as exc:
                failure = RowFailure(row, str(exc), label)
                report.failures.append(failure)
            except DatabaseError as exc:  # e.g. a NUL byte in a text field: the row, not the import, fails
                importer.forget_cached_rows()  # they may have been rolled back with the row
                failure = RowFailure(row, f"rejected by the database ({str(exc).splitlines()[0]})", label)
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

    def __init__(self, limits: FetchLimits) -> None:
        self.limits = limits
        self.http: requests.Session | None = None
        self.categories: dict[tuple[str, ...], Category | None] = {}
        self.brands: dict[str, Brand | None] = {}

    def import_record(self, record: ProductRecord, source: Source) -> tuple[bool, int]:
        """(created, images added). Images are fetched before anything is written, so a row
        whose image fails leaves the catalogue as it was."""
        images = [
            (ref, fetch_image(ref, base_dir=source.base_dir, limits=self.limits, session=self.http))
            for ref in dict.fromkeys(record.image_refs)
        ]
        with transaction.atomic():
            product, created = services.product_upsert(
                services.ProductData(
                    sku=record.sku, title=record.title, price=record.price, currency=record.currency,
                    description=record.description, category=self._category(record.category_path),
                    brand=self._brand(record.brand), stock=record.stock, is_active=record.is_active,
                    attributes=record.attributes,
                )
            )
            kept, added = [], 0
            for position, (ref, content) in enumerate(images):
                image, image_created = services.product_image_add(
                    product=product, content=content, source=record.label or ref, position=position
                )
                kept.append(image.pk)
                added += image_created
            if not created:
                self._drop_images_no_longer_in_feed(product, kept)
        return created, added

    def forget_cached_rows(self) -> None:
        self.categories.clear()
        self.brands.clear()

    @staticmethod
    def _drop_images_no_longer_in_feed(product, kept: list[int]) -> None:
        """A feed is the truth for the images it brought; staff uploads are left alone."""
        stale = product.images.exclude(pk__in=kept).exclude(source="").exclude(source__startswith="admin upload")
        for image in stale:
            services.product_image_delete(image)

    def _category(self, path: list[str]) -> Category | None:
        key = tuple(part.lower() for part in path)
        if key not in self.categories:
            self.categories[key] = services.category_get_or_create_path(path)
        return self.categories[key]

    def _brand(self, name: str) -> Brand | None:
        key = name.lower()
        if key not in self.brands:
            self.brands[key] = services.brand_get_or_create(name)
        return self.brands[key]

