"""ImageFolder layout: <root>/<category>/<image>, one product per image file."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

from django.utils.text import slugify

from catalog.importing.records import ProductRecord, RowError

FolderRow = tuple[int, ProductRecord | RowError, str]


def count_folder_rows(root: Path) -> int:
    return sum(1 for _ in _files(root))


def _files(root: Path) -> Iterator[Path]:
    for entry in sorted(root.iterdir()):
        if entry.name.startswith("."):
            continue
        if entry.is_dir():
            yield from (f for f in sorted(entry.iterdir()) if f.is_file() and not f.name.startswith("."))
        else:
            yield entry


def read_image_folder(root: Path, *, price: Decimal, currency: str, stock: int) -> Iterator[FolderRow]:
    """(row number, record or error, file path relative to root) for each file, in a stable order."""
    for number, path in enumerate(_files(root), start=1):
        relative = path.relative_to(root).as_posix()
        if path.parent == root:
            yield number, RowError("not inside a category folder (expected <category>/<image>)"), relative
            continue
        category = " ".join(path.parent.name.replace("_", " ").replace("-", " ").split())
        stem = path.stem
        # Stable SKU from category and file name, so a re-import updates instead of duplicating.
        sku = f"{slugify(category)}-{slugify(stem)}"[:64]
        label = category[:1].upper() + category[1:]
        record = ProductRecord(
            row=number, sku=sku, title=f"{label} {stem[:8]}", price=price, currency=currency,
            category_path=[label], stock=stock, image_refs=[relative], label=relative,
        )
        yield number, record, relative
