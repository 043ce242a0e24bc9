"""What a text search returns, shared by both backends (search.text.postgres,
search.text.elasticsearch) and the package that chooses between them."""

from __future__ import annotations

from dataclasses import dataclass

from catalog.product_filters import price_bucket_values
from search.facets import Facets, FacetValue

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
    # Words no product has, searched as the catalogue word they look like: (("drss", "dress"),).
    corrections: tuple[tuple[str, str], ...] = ()


def price_facet(counts: list[int]) -> tuple[FacetValue, ...]:
    """The price facet from one count per bucket (catalog.product_filters.price_bucket_values
    order); empty buckets left out."""
    return tuple(
        FacetValue(value, label, count) for (value, label), count in zip(price_bucket_values(), counts) if count
    )
