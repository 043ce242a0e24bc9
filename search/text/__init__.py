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

from typing import Protocol

from django.conf import settings

from catalog.product_filters import ProductFilters
from search.facets import Facets
from search.text import postgres
from search.text.query import ParsedQuery, parse
from search.text.results import FACET_SIZE, MIN_CORRECTED_LENGTH, TextHit, TextResults, price_facet  # noqa: F401 (the package's interface)


class TextBackend(Protocol):
    def search(
        self, query: ParsedQuery, *, filters: ProductFilters, limit: int, offset: int, facets: bool
    ) -> TextResults: ...

    def index(self, product_ids: list[int]) -> None: ...


def text_backend() -> TextBackend:
    if settings.ELASTICSEARCH_URL:
        # Imported here: the Elasticsearch client is only loaded where it is configured.
        from search.text import elasticsearch

        return elasticsearch
    return postgres


def search_text(
    query: str, *, filters: ProductFilters = ProductFilters(), limit: int = 20, offset: int = 0, facets: bool = True
) -> TextResults:
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
