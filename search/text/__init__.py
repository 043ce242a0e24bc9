"""Product search by words: one interface, two backends.

PostgreSQL full-text search in the shop's own database (search.text.postgres) unless
ELASTICSEARCH_URL is set, then Elasticsearch through django-elasticsearch-dsl
(search.text.elasticsearch). Both read the shopper's query the same way
(search.text.query: websearch syntax), weight title over brand, category and colours over
description and attributes, correct a word the catalogue does not know to its closest
catalogue word, and count facets over every match. The contract tests
(search/tests/test_text_contract.py) hold both to the same outcomes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from django.conf import settings

from catalog.product_filters import ProductFilters, price_bucket_values
from search.facets import Facets, FacetValue
from search.text.query import ParsedQuery, parse

# Facet values shown per facet: the most frequent first.
FACET_SIZE = 50
# A query word shorter than this is never corrected: too little to tell a typo from a word.
MIN_CORRECTED_LENGTH = 3


@dataclass(frozen=True)
class TextHit:
    product_id: int
    score: float  # the backend's relevance, higher is better (comparable within one result list only)
    matched_words: tuple[str, ...]  # the shopper's words the product has (a typo as its correction)


@dataclass(frozen=True)
class TextResults:
    hits: list[TextHit]
    total: int  # every active product that matches, not just this page
    facets: Facets | None  # over every match; None when not asked for


class TextBackend(Protocol):
    def search(self, query: ParsedQuery, *, filters: ProductFilters, limit: int, offset: int,
               facets: bool) -> TextResults: ...

    def index(self, product_ids: list[int]) -> None: ...


def text_backend() -> TextBackend:
    # Imported here: the Elasticsearch client is only loaded where it is configured.
    if settings.ELASTICSEARCH_URL:
        from search.text import elasticsearch

        return elasticsearch
    from search.text import postgres

    return postgres


def search_text(query: str, *, filters: ProductFilters = ProductFilters(), limit: int = 20, offset: int = 0,
                facets: bool = True) -> TextResults:
    """Active products matching the words, best first. A query without any word finds nothing."""
    parsed = parse(query)
    if not parsed.words:
        return TextResults([], 0, Facets() if facets else None)
    return text_backend().search(parsed, filters=filters, limit=limit, offset=offset, facets=facets)


def index_products(product_ids: list[int]) -> None:
    """Write the search documents of these products from their current rows. Products that
    are inactive or no longer exist stop being found."""
    if product_ids:
        text_backend().index(sorted(set(product_ids)))


def price_facet(counts: list[int]) -> tuple[FacetValue, ...]:
    """The price facet from one count per bucket (catalog.product_filters.price_bucket_values
    order); empty buckets left out."""
    return tuple(FacetValue(value, label, count) for (value, label), count in zip(price_bucket_values(), counts)
                 if count)
