"""Facet counts shown beside search results (filled by the text backends)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FacetValue:
    value: str  # category slug, brand slug, colour name, or price bucket "0-25"
    label: str
    count: int


@dataclass(frozen=True)
class Facets:
    category: tuple[FacetValue, ...] = ()
    brand: tuple[FacetValue, ...] = ()
    colour: tuple[FacetValue, ...] = ()
    price: tuple[FacetValue, ...] = ()
