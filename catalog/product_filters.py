"""What a shopper narrowed the products to (category, brand, price, stock, colours): the one
type, its parsing from slugs, and its SQL form (the kNN reads, vision.knn) and ORM form
(product lists)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet

from catalog import selectors as catalog_selectors
from catalog.models import Brand, Product


@dataclass(frozen=True)
class ProductFilters:
    """What a shopper narrowed the results to; every field optional."""

    category_ids: list[int] | None = None  # a category and its descendants (catalog.selectors)
    brand_id: int | None = None
    price_min: Decimal | None = None
    price_max: Decimal | None = None
    in_stock: bool = False
    colours: tuple[str, ...] = ()  # any of these dominant colour names (vision.colours)

    def sql(self) -> tuple[str, list]:
        # Only products shoppers may see: active, with a picture (catalog.selectors.shop_products).
        clauses, params = ["p.is_active", catalog_selectors.PRODUCT_HAS_PICTURE_SQL], []
        if self.category_ids is not None:
            clauses.append("p.category_id = ANY(%s)")
            params.append(list(self.category_ids))
        if self.brand_id is not None:
            clauses.append("p.brand_id = %s")
            params.append(self.brand_id)
        if self.price_min is not None:
            clauses.append("p.price >= %s")
            params.append(self.price_min)
        if self.price_max is not None:
            clauses.append("p.price <= %s")
            params.append(self.price_max)
        if self.in_stock:
            clauses.append("p.stock > 0")
        if self.colours:
            clauses.append("p.colours && %s::varchar[]")
            params.append(list(self.colours))
        return " AND ".join(clauses), params


class UnknownFilterValue(ValueError):
    """A filter names a category or brand the shop does not have."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def from_slugs(*, category: str = "", brand: str = "", price_min: Decimal | None = None,
                    price_max: Decimal | None = None, in_stock: bool = False,
                    colours: Iterable[str] = ()) -> ProductFilters:
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
    return ProductFilters(category_ids=category_ids, brand_id=brand_id, price_min=price_min,
                          price_max=price_max, in_stock=in_stock, colours=tuple(dict.fromkeys(colours)))


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
