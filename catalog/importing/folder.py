"""ImageFolder layout: <root>/<category>/<image>, one product per image file."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from django.utils.text import slugify

from catalog.importing.records import (
    IN_STOCK_DEFAULT_QUANTITY,
    NAME_MAX_CHARS,
    ProductRecord,
    RowError,
    check_length,
)

FolderRow = tuple[int, ProductRecord | RowError, str]


def count_folder_rows(root: Path) -> int:
    return sum(1 for _ in _files(root))


def _files(root: Path) -> Iterator[Path]:
    """Files one level down (the categories), plus stray top-level files so they get reported."""
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from (f for f in sorted(entry.iterdir()) if f.is_file() and not f.name.startswith("."))
        else:
            yield entry


def category_label(folder_name: str) -> str:
    """'t-shirt' -> 'T-shirt', 'long_sleeve' -> 'Long sleeve'."""
    words = " ".join(folder_name.replace("_", " ").split())
    return words[:1].upper() + words[1:]


def folder_sku(category: str, stem: str) -> str:
    """Stable SKU from category and file name, so a re-import updates instead of duplicating."""
    return f"{slugify(category)}-{slugify(stem)}"[:64]


def read_image_folder(
    root: Path, *, price: Decimal | None, currency: str, stock: int = IN_STOCK_DEFAULT_QUANTITY
) -> Iterator[FolderRow]:
    """(row number, record or error, file path relative to root) for each file, in a stable order.

    A folder knows a category, a file name and a picture. Products it creates get a
    title from those, `price` and `stock`; with no price they are created hidden (price 0.00)
    so that no placeholder price is ever shown in the shop. Existing products only
    get their category and picture refreshed: staff edits survive a re-import.
    """
    first_file_of_sku: dict[str, tuple[int, str]] = {}
    for number, path in enumerate(_files(root), start=1):
        relative = path.relative_to(root).as_posix()
        if path.parent == root:
            yield number, RowError("not inside a category folder (expected <category>/<image>)"), relative
            continue
        category = category_label(path.parent.name)
        try:
            check_length("category folder name", category, NAME_MAX_CHARS)
        except RowError as exc:
            yield number, exc, relative
            continue
        sku = folder_sku(category, path.stem)
        # Two files one SKU ('animated.gif' and 'animated.webp', 'Red Dress.jpg' and
        # 'red-dress.jpg'): most likely one picture saved twice, and either way the shop
        # must choose. The first file (in name order) keeps the SKU, so catalogues imported
        # before keep theirs; the later one is a row error naming both files. A made-up
        # suffix would instead move when a third file appears, and a re-import would
        # silently give an existing product another picture.
        if sku in first_file_of_sku:
            first_row, first_relative = first_file_of_sku[sku]
            yield (
                number,
                RowError(f"same SKU {sku!r} as {first_relative} (row {first_row}); rename one of the two files"),
                relative,
            )
            continue
        first_file_of_sku[sku] = (number, relative)
        record = ProductRecord(
            row=number,
            sku=sku,
            title=f"{category} {path.stem[:8]}",
            price=price if price is not None else Decimal("0.00"),
            currency=currency,
            category_path=[category],
            stock=stock,
            is_active=price is not None,
            image_refs=[relative],
            label=relative,
            given=frozenset({"category", "images"}),
        )
        yield number, record, relative
