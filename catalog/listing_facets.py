"""The counts beside a category listing: for each filter (brand, colour, price bucket, in
stock), how many products choosing each value would show."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection

from catalog.product_filters import PRICE_EDGES, ProductFilters
from catalog.selectors import PRODUCT_HAS_PICTURE_SQL


@dataclass(frozen=True)
class FacetCount:
    value: str  # brand slug, colour name, or the index of a price bucket as text
    label: str
    count: int


@dataclass(frozen=True)
class ListingFacets:
    """Counts beside a category listing. Each facet counts with every other active filter
    applied but not its own, so its values say what choosing them would show."""

    total: int  # products listed with every filter applied
    brand: tuple[FacetCount, ...]  # most products first, then by name
    colour: tuple[FacetCount, ...]  # most products first, then by name
    price: tuple[int, ...]  # one count per price bucket (len(price_edges) + 1), cheapest first
    in_stock: int


def listing_facets(filters: ProductFilters, *, price_edges: Sequence[Decimal] = PRICE_EDGES) -> ListingFacets:
    """Facet counts over the products shoppers may see in `filters.category_ids` (a category
    and its descendants; required), with the listing's other filters (ProductFilters.sql_conditions).
    One query.

    Price buckets are cut at `price_edges` (a bucket holds its lower edge, as width_bucket).
    """
    if filters.category_ids is None:
        raise ValueError("Listing facets count within categories: filters.category_ids is required.")
    conditions = filters.sql_conditions()
    del conditions["category"]  # the listing itself, not a facet

    def where(leave_out: str | None = None) -> tuple[str, list]:
        chosen = [c for name, c in conditions.items() if name != leave_out]
        params = [param for _, values in chosen for param in values]
        return " AND ".join(["TRUE", *(sql for sql, _ in chosen)]), params

    everything, everything_params = where()
    not_brand, not_brand_params = where("brand")
    not_colour, not_colour_params = where("colour")
    not_price, not_price_params = where("price")
    not_stock, not_stock_params = where("in_stock")
    sql = f"""
        WITH listed AS MATERIALIZED (
            SELECT p.brand_id, p.colours, p.price, p.stock
            FROM catalog_product p
            WHERE p.is_active AND p.category_id = ANY(%s) AND {PRODUCT_HAS_PICTURE_SQL}
        )
        SELECT
            (SELECT count(*) FROM listed p WHERE {everything}),
            (SELECT json_agg(json_build_array(b.slug, b.name, f.n) ORDER BY f.n DESC, b.name, b.slug) FROM (
                SELECT p.brand_id, count(*) AS n FROM listed p WHERE {not_brand} GROUP BY p.brand_id
             ) f JOIN catalog_brand b ON b.id = f.brand_id),
            (SELECT json_agg(json_build_array(f.colour, f.n) ORDER BY f.n DESC, f.colour) FROM (
                SELECT c.colour, count(*) AS n
                FROM listed p, LATERAL (SELECT DISTINCT unnest(p.colours)) AS c(colour)
                WHERE {not_colour} GROUP BY c.colour
             ) f),
            (SELECT json_agg(json_build_array(f.bucket, f.n)) FROM (
                SELECT width_bucket(p.price, %s::numeric[]) AS bucket, count(*) AS n
                FROM listed p WHERE {not_price} GROUP BY 1
             ) f),
            (SELECT count(*) FROM listed p WHERE {not_stock} AND p.stock > 0)
    """
    params = [
        list(filters.category_ids),
        *everything_params,
        *not_brand_params,
        *not_colour_params,
        list(price_edges),
        *not_price_params,
        *not_stock_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        total, brands, colour_rows, buckets, stocked = cursor.fetchone()
    prices = [0] * (len(price_edges) + 1)
    for bucket, count in _json(buckets):
        prices[bucket] = count  # width_bucket: 0 below the first edge, len(edges) from the last one
    return ListingFacets(
        total=total,
        brand=tuple(FacetCount(slug, name, count) for slug, name, count in _json(brands)),
        colour=tuple(FacetCount(colour, colour, count) for colour, count in _json(colour_rows)),
        price=tuple(prices),
        in_stock=stocked,
    )


def _json(value) -> list:
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else value
