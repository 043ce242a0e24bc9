"""A product as one feed row describes it, validated: bad rows become RowError."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from catalog.models import Brand, Category, Product
from catalog.services import SIZE_MAX_CHARS, VariantData


class RowError(ValueError):
    """One row could not be imported; str() is the reason shown to the user."""


class SourceError(ValueError):
    """The whole source is unusable (no such file, not a feed, a broken zip, ...)."""


# What a row can state about a product. A re-import changes only what the row states:
# a feed without a `description` column leaves descriptions alone, and a folder (which
# knows only a category and a picture) does not reset prices that staff have set.
FIELDS = frozenset({"title", "price", "description", "brand", "category", "stock", "attributes", "images"})


@dataclass
class ProductRecord:
    row: int  # line number in the feed (header = 1), or position in a folder
    sku: str
    title: str
    price: Decimal
    currency: str = "EUR"
    description: str = ""
    brand: str = ""
    category_path: list[str] = field(default_factory=list)
    stock: int = 0
    # Only for products the import creates; an existing product keeps its flag.
    is_active: bool = True
    # Attribute name -> value; None means "the column is there but empty": drop the attribute.
    attributes: dict[str, str | None] = field(default_factory=dict)
    image_refs: list[str] = field(default_factory=list)  # paths or URLs, first is the main image
    label: str = ""  # how to name the row in messages besides its number (e.g. a file path)
    # A row with an `item_group_id` is one size of the product with that SKU: `sku` is then the
    # group's id and this the size (its SKU is the row's `id`). None for a product sold whole.
    variant: VariantData | None = None
    given: frozenset[str] = FIELDS  # which FIELDS the row states; the others keep their values on update


# The catalogue's column sizes, read from the models so that they never drift apart.
SKU_MAX_CHARS = Product._meta.get_field("sku").max_length
TITLE_MAX_CHARS = Product._meta.get_field("title").max_length
NAME_MAX_CHARS = min(Brand._meta.get_field("name").max_length, Category._meta.get_field("name").max_length)

DEFAULT_CURRENCY = "EUR"
# GMC's `availability` values (and common spellings) -> stock when the feed gives no count.
IN_STOCK_DEFAULT_QUANTITY = 10
AVAILABILITY = {
    "in stock": True,
    "in_stock": True,
    "instock": True,
    "available": True,
    "preorder": True,
    "backorder": True,
    "out of stock": False,
    "out_of_stock": False,
    "outofstock": False,
    "sold out": False,
}
# Feed columns kept as text attributes of the product (GMC names -> our attribute names).
ATTRIBUTE_COLUMNS = {
    "color": "colour",
    "colour": "colour",
    "material": "material",
    "pattern": "pattern",
    "size": "size",
    "gender": "gender",
    "age_group": "age_group",
    "condition": "condition",
    "gtin": "gtin",
    "mpn": "mpn",
    "size_type": "size_type",
    "product_detail": "detail",
}
_PRICE = re.compile(
    r"^(?:(?P<pre>[A-Za-z]{3})\s*)?(?P<amount>[-+]?[0-9]+(?:[.,][0-9]+)?)\s*(?:(?P<post>[A-Za-z]{3}))?$"
)


def parse_price(text: str) -> tuple[Decimal, str]:
    """'12.99 EUR', 'EUR 12.99', '12.99' (EUR) -> (Decimal('12.99'), 'EUR')."""
    value = " ".join((text or "").split())
    match = _PRICE.match(value)
    if not value or not match or (match["pre"] and match["post"]):
        raise RowError(f"malformed price {text!r} (expected e.g. '12.99 EUR')")
    try:
        amount = Decimal(match["amount"].replace(",", "."))
    except InvalidOperation:
        raise RowError(f"malformed price {text!r} (expected e.g. '12.99 EUR')") from None
    if amount < 0:
        raise RowError(f"negative price {text!r}")
    if amount.as_tuple().exponent < -2:
        raise RowError(f"price {text!r} has more than 2 decimals")
    if amount >= Decimal("10000000000"):
        raise RowError(f"price {text!r} is too large")
    currency = (match["pre"] or match["post"] or DEFAULT_CURRENCY).upper()
    return amount.quantize(Decimal("0.01")), currency


def parse_stock(row: dict) -> int | None:
    """Stock count from a `quantity`/`stock` column, else from `availability`; None if the row says nothing."""
    for column in ("quantity", "stock"):
        raw = _text(row.get(column))
        if raw:
            if not raw.isdigit():
                raise RowError(f"{column} must be a whole number, got {raw!r}")
            return int(raw)
    availability = " ".join(_text(row.get("availability")).lower().split())
    if not availability:
        return None
    if availability not in AVAILABILITY:
        raise RowError(f"unknown availability {availability!r} (expected 'in stock' or 'out of stock')")
    return IN_STOCK_DEFAULT_QUANTITY if AVAILABILITY[availability] else 0


def feed_row_sku(row: dict) -> str:
    """The row's id as the duplicate check sees it, before (and whatever) validation says."""
    return _text(row.get("id"))


def record_from_feed_row(row: dict, row_number: int) -> ProductRecord:
    """Validate one feed row (keys are lower-cased column names)."""
    sku = feed_row_sku(row)
    if not sku:
        raise RowError("missing id (the SKU)")
    check_length("id", sku, SKU_MAX_CHARS)
    title = _text(row.get("title"))
    if not title:
        raise RowError("missing title")
    check_length("title", title, TITLE_MAX_CHARS)
    price, currency = parse_price(_text(row.get("price")))
    stock = parse_stock(row)
    images = [ref for ref in [_text(row.get("image_link"))] if ref]
    extra = row.get("additional_image_link")
    extra_refs = extra if isinstance(extra, list) else _text(extra).split(",")  # JSON lists or GMC's commas
    images += [ref for ref in (_text(item) for item in extra_refs) if ref]
    category_path = [part.strip() for part in _text(row.get("product_type")).split(">") if part.strip()]
    for part in category_path:  # measured as the catalogue stores names: runs of spaces collapsed
        check_length("product_type level", " ".join(part.split()), NAME_MAX_CHARS)
    brand = _text(row.get("brand"))
    check_length("brand", " ".join(brand.split()), NAME_MAX_CHARS)
    attributes: dict[str, str | None] = {}
    for column, name in ATTRIBUTE_COLUMNS.items():
        if column in row:
            # "color" and "colour" both feed "colour": an empty one must not undo the other.
            attributes[name] = _text(row[column]) or attributes.get(name)
    variant = _variant(row, sku, stock)
    if variant is not None:
        attributes["size"] = None  # the size is the variant's, not the whole product's: dropped
    given = {"title", "price"}
    given |= {
        name
        for name, column in (("description", "description"), ("brand", "brand"), ("category", "product_type"))
        if column in row
    }
    if stock is not None and variant is None:  # a size's stock is the size's
        given.add("stock")
    if attributes:
        given.add("attributes")
    if images:
        # A row without images leaves the product's pictures as they are (a price-only
        # feed must not strip a catalogue bare).
        given.add("images")
    return ProductRecord(
        row=row_number,
        sku=_text(row.get("item_group_id")) if variant else sku,
        title=title,
        price=price,
        currency=currency,
        description=_text(row.get("description")),
        brand=brand,
        category_path=category_path,
        stock=IN_STOCK_DEFAULT_QUANTITY if stock is None else stock,
        attributes=attributes,
        image_refs=images,
        given=frozenset(given),
        variant=variant,
    )


def _variant(row: dict, sku: str, stock: int | None) -> VariantData | None:
    """The size a row with an `item_group_id` describes (GMC's way of listing one product's
    sizes as rows). Only sizes are variants here: a group row without a size (GMC also groups
    colours this way) is refused rather than guessed at."""
    group = _text(row.get("item_group_id"))
    if not group:
        return None
    check_length("item_group_id", group, SKU_MAX_CHARS)
    size = " ".join(_text(row.get("size")).split())
    if not size:
        raise RowError(
            f"item_group_id {group!r} without a size: rows of a group are the sizes of one product "
            "(give each colour its own id and no item_group_id)"
        )
    check_length("size", size, SIZE_MAX_CHARS)
    # No position: a new size goes after the product's sizes, a known one keeps its place.
    return VariantData(sku=sku, size=size, stock=IN_STOCK_DEFAULT_QUANTITY if stock is None else stock, position=None)


def check_length(name: str, value: str, limit: int) -> None:
    """A value longer than its column is a row error: cutting it would change the product unseen."""
    if len(value) > limit:
        raise RowError(f"{name} {value[:20]!r}... is {len(value)} characters long, over the {limit}-character limit")


def _text(value) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    return value.strip()
