"""What to offer a shopper whose words found nothing: the words that do find something.

"red lamp" finds nothing in a shop with red dresses and no lamps, because every word is
required; "Did you mean: red" is one click from results. Only on a page that found nothing:
one text search per word, then one for the suggestion (a few ms each here)."""

from __future__ import annotations

from catalog.product_filters import ProductFilters
from search import text
from search.colour_words import with_facet_colours
from search.text.query import STOP_WORDS, parse


def _finds(words: str, filters: ProductFilters) -> bool:
    searched, _ = with_facet_colours(words)  # as search_products reads them
    return text.search_text(searched, filters=filters, limit=1, facets=False).total > 0


def words_that_find(query: str, filters: ProductFilters = ProductFilters()) -> str | None:
    """The query's wanted words (as typed) that find products on their own (with the same
    filters, colour words read as search_products reads them), when they are some but not all
    of them and together find something; else None."""
    wanted = [word.text for word in parse(query).words if not word.negated and word.text.lower() not in STOP_WORDS]
    if len(wanted) < 2:
        return None
    kept = [word for word in wanted if _finds(word, filters)]
    if not kept or len(kept) == len(wanted):
        return None
    suggestion = " ".join(dict.fromkeys(kept))
    return suggestion if _finds(suggestion, filters) else None
