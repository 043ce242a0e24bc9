"""What a shopper narrowed the products to (category, brand, price, stock, colours): the one
type, read from slugs or from the pages' and the API's cleaned fields, with its price buckets and
colour-name rules, and turned into SQL conditions (the kNN reads, vision.knn; text search,
search.text.postgres; the listing's facets, catalog.listing_facets) or an ORM queryset (product
lists). Elasticsearch reads the same type (search.text.elasticsearch)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from catalog import selectors as catalog_selectors
from catalog.models import Brand, Product

# Price bucket edges; the buckets are 0-25, 25-50, 50-100, 100-200 and 200 and over.
PRICE_EDGES = (Decimal(25), Decimal(50), Decimal(100), Decimal(200))

# Colours a filter may hold at once, and the longest colour name (Product.colours' items;
# vision.colours names: "navy", "forest green").
MAX_COLOURS = 12
COLOUR_NAME_MAX_LENGTH = 20
COLOUR_NAME = re.compile(rf"^[a-z][a-z ]{{0,{COLOUR_NAME_MAX_LENGTH - 1}}}$")


@dataclass(frozen=True)
class ProductFilters:
    """What a shopper narrowed the results to; every field optional."""

    category_ids: list[int] | None = None  # a category and its descendants (catalog.selectors)
    brand_id: int | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool = False
    colours: tuple[str, ...] = ()  # any of these dominant colour names (vision.colours)

    def sql(self, *, picture_checked: bool = False) -> tuple[str, list]:
        """SQL conditions on `p` (catalog_product) and their parameters: only products shoppers
        may see (active, with a picture: catalog.selectors.shop_products) that pass every filter.

        picture_checked=True leaves out the "has a picture" test, for a query that reaches `p`
        through one of its searchable images (vision.knn): the product has that picture, and the
        test per row cost about a millisecond per nearest-images query on the 600-product demo."""
        clauses, params = ["p.is_active"], []
        if not picture_checked:
            clauses.append(catalog_selectors.PRODUCT_HAS_PICTURE_SQL)
        for clause, clause_params in self.sql_conditions().values():
            clauses.append(clause)
            params.extend(clause_params)
        return " AND ".join(clauses), params

    def sql_conditions(self) -> dict[str, tuple[str, list]]:
        """Each filter set, by name (category, brand, price, in_stock, colour), as an SQL
        condition on `p` (catalog_product) with its parameters."""
        conditions = {}
        if self.category_ids is not None:
            conditions["category"] = ("p.category_id = ANY(%s)", [list(self.category_ids)])
        if self.brand_id is not None:
            conditions["brand"] = ("p.brand_id = %s", [self.brand_id])
        prices, price_params = [], []
        if self.price_min is not None:
            prices.append("p.price >= %s")
            price_params.append(self.price_min)
        if self.price_max is not None:
            prices.append("p.price <= %s")
            price_params.append(self.price_max)
        if prices:
            conditions["price"] = (" AND ".join(prices), price_params)
        if self.in_stock:
            conditions["in_stock"] = ("p.stock > 0", [])
        if self.colours:
            conditions["colour"] = ("p.colours && %s::varchar[]", [list(self.colours)])
        return conditions


class UnknownFilterValue(ValueError):
    """A filter names a category or brand the shop does not have."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def from_slugs(
    *,
    category: str = "",
    brand: str = "",
    price_min: Decimal | None = None,
    price_max: Decimal | None = None,
    in_stock: bool = False,
    colours: Iterable[str] = (),
) -> ProductFilters:
    """Filters from slugs: a category means it and all its descendants. One query per slug given."""
    category_ids = None
    if category:
        tree = catalog_selectors.category_tree()
        node = tree.get(category)
        if node is None:
            raise UnknownFilterValue("category", f"No category with the slug '{category}'.")
        category_ids = tree.descendant_ids(node)
    brand_id = None
    if brand:
        brand_id = Brand.objects.filter(slug=brand).values_list("pk", flat=True).first()
        if brand_id is None:
            raise UnknownFilterValue("brand", f"No brand with the slug '{brand}'.")
    return ProductFilters(
        category_ids=category_ids,
        brand_id=brand_id,
        price_min=price_min,
        price_max=price_max,
        in_stock=in_stock,
        colours=tuple(dict.fromkeys(colours)),
    )


def product_list(filters: ProductFilters = ProductFilters()) -> QuerySet[Product]:
    """Active products matching the filters, title order, with brand, category and visible
    images (catalog.selectors.product_list): counting and each page cost one query, the
    page's images one more."""
    queryset = catalog_selectors.product_list()
    if filters.category_ids is not None:
        queryset = queryset.filter(category_id__in=filters.category_ids)
    if filters.brand_id is not None:
        queryset = queryset.filter(brand_id=filters.brand_id)
    if filters.price_min is not None:
        queryset = queryset.filter(price__gte=filters.price_min)
    if filters.price_max is not None:
        queryset = queryset.filter(price__lte=filters.price_max)
    if filters.in_stock:
        queryset = queryset.filter(stock__gt=0)
    if filters.colours:
        queryset = queryset.filter(colours__overlap=list(filters.colours))
    return queryset


def from_fields(fields: Mapping) -> ProductFilters:
    """Filters from the cleaned fields of a storefront form or an API request (a field absent
    or empty: no such filter): category, brand (slugs), colour (names), in_stock, and the price
    as a bucket `price` ("25-50", the pages) or as `price_min` / `price_max` (the API).
    One query per slug given; UnknownFilterValue for a slug the shop does not have."""
    if fields.get("price"):
        price_min, price_max = price_range(fields["price"])
    else:
        price_min, price_max = fields.get("price_min"), fields.get("price_max")
    return from_slugs(
        category=fields.get("category") or "",
        brand=fields.get("brand") or "",
        price_min=price_min,
        price_max=price_max,
        in_stock=bool(fields.get("in_stock")),
        colours=fields.get("colour") or (),
    )


# -- price buckets --------------------------------------------------------------------------------


def price_bucket_values() -> list[tuple[str, str]]:
    """(value, label) of every price bucket in order: ("0-25", "0–25") ... ("200-", "200+")."""
    lows = (Decimal(0), *PRICE_EDGES)
    highs = (*PRICE_EDGES, None)
    return [(f"{low}-{high or ''}", f"{low}–{high}" if high else f"{low}+") for low, high in zip(lows, highs)]


PRICE_BUCKETS = dict(price_bucket_values())  # "25-50" -> "25–50"


def price_range(bucket: str) -> tuple[Decimal | None, Decimal | None]:
    """A price bucket as inclusive bounds: "25-50" is 25.00 to 49.99 (50.00 is in the next
    bucket, as the facet counts have it); "200-" has no upper bound."""
    low, _, high = bucket.partition("-")
    return Decimal(low), (Decimal(high) - Decimal("0.01")) if high else None


# -- colour names ---------------------------------------------------------------------------------


def colour_names_read_leniently(values: Iterable[str] | str) -> tuple[str, ...]:
    """Colour names from a query string, read leniently: spaces collapsed, lower-cased, those
    that do not look like a colour name dropped, each kept once, at most MAX_COLOURS."""
    values = [values] if isinstance(values, str) else values
    names = (" ".join(str(value).split()).lower() for value in values)
    return tuple(dict.fromkeys(name for name in names if COLOUR_NAME.match(name)))[:MAX_COLOURS]
