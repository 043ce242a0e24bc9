"""Text search in Elasticsearch (django-elasticsearch-dsl), used when ELASTICSEARCH_URL is set.

The same outcomes as the PostgreSQL backend (the contract tests hold both to them):
- weights as field boosts in the same ratios as ts_rank_cd's (title 5 : brand, category,
  colours 2 : description, attributes 1), summed over the fields that match;
- the websearch reading of the query (search.text.query) as a bool query;
- typos: a word no product has is replaced by the closest catalogue word before searching.
  The closest word comes from Elasticsearch's fuzzy term suggester (Damerau-Levenshtein, at
  most 2 edits). A `fuzziness` query instead would also widen correctly spelt words
  ("shirt" finding skirts) and give other totals and facets than Postgres;
- facets from aggregations over every match.
A search costs one request, two when a word needs its spelling checked.
"""

from __future__ import annotations

import re

from django.conf import settings
from django_elasticsearch_dsl.apps import DEDConfig
from elasticsearch import BadRequestError
from elasticsearch.helpers import bulk

from catalog.product_filters import PRICE_EDGES, ProductFilters
from search.facets import Facets, FacetValue
from search.text.elasticsearch_document import ProductDocument
from search.text.query import STOP_WORDS, ParsedQuery, Term
from search.text.results import FACET_SIZE, MIN_CORRECTED_LENGTH, TextHit, TextResults, price_facet

# Boosts in the ratios of search.text.postgres.WEIGHTS (A 1.0 : B 0.4 : C 0.2).
IN_STOCK_SCRIPT = "doc['stock'].value > 0 ? 1 : 0"
FIELDS = ["title^5", "brand^2", "category^2", "colours^2", "description^1", "attributes^1"]
_DIGIT = re.compile(r"\d")

# Index names this process has made sure exist (with the mapping: indexing into a missing
# index would create one with guessed mappings).
_ready: set[str] = set()


def index_name() -> str:
    return settings.ELASTICSEARCH_INDEX


def _client():
    return ProductDocument._get_connection()


def create_index(*, recreate: bool = False) -> None:
    """Create the index with the document's settings and mapping unless it exists."""
    client, name = _client(), index_name()
    if recreate:
        client.indices.delete(index=name, ignore_unavailable=True)
    if recreate or not client.indices.exists(index=name):
        try:
            ProductDocument.init(index=name)
        except BadRequestError as error:  # another process created it first
            if error.error != "resource_already_exists_exception":
                raise
    _ready.add(name)


def delete_index() -> None:
    _client().indices.delete(index=index_name(), ignore_unavailable=True)
    _ready.discard(index_name())


def index(product_ids: list[int]) -> None:
    name = index_name()
    if name not in _ready:
        create_index()
    document = ProductDocument()
    products = {product.pk: product for product in document.get_queryset().filter(pk__in=product_ids)}
    actions = []
    for product_id in product_ids:
        product = products.get(product_id)
        if product is not None and document.should_index_object(product):
            actions.append(
                {"_op_type": "index", "_index": name, "_id": product_id, "_source": document.prepare(product)}
            )
        else:  # gone or inactive: no longer found (404: it was not there)
            actions.append({"_op_type": "delete", "_index": name, "_id": product_id})
    # Refreshed as django-elasticsearch-dsl does by default (ELASTICSEARCH_DSL_AUTO_REFRESH):
    # the change is searchable when index_products returns.
    bulk(_client(), actions, refresh=DEDConfig.auto_refresh_enabled(), ignore_status=404)


def search(query: ParsedQuery, *, filters: ProductFilters, limit: int, offset: int, facets: bool) -> TextResults:
    words = query.words
    stop = [word.text.lower() in STOP_WORDS for word in words]
    corrections = _corrections(query, stop)
    shown = [corrections.get(index, word.text) for index, word in enumerate(words)]
    position = {id(word): index for index, word in enumerate(words)}

    groups = []
    for group in query.groups:
        must, must_not = [], []
        for term in group:
            indices = [position[id(word)] for word in term.words]
            clause = _term_query(term, [i for i in indices if not stop[i]], shown)
            if clause is not None:
                (must_not if term.negated else must).append(clause)
        if must or must_not:
            groups.append({"bool": {"must": must, "must_not": must_not}})
    if not groups:  # only stop words: Postgres matches nothing either
        return TextResults([], 0, Facets() if facets else None)
    text_query = groups[0] if len(groups) == 1 else {"bool": {"should": groups, "minimum_should_match": 1}}

    response = _client().search(
        index=index_name(),
        query={"bool": {"must": [text_query], "filter": _filters(filters)}},
        # As the Postgres backend: at equal relevance what can be bought comes first.
        sort=[
            {"_score": "desc"},
            {"_script": {"type": "number", "script": {"source": IN_STOCK_SCRIPT}, "order": "desc"}},
            {"product_id": "asc"},
        ],
        track_scores=True,
        track_total_hits=True,
        from_=offset,
        size=limit,
        source=False,
        aggs=_aggregations() if facets else None,
    )
    # The words a hit reports: wanted (not excluded), not stop words, a typo as its correction.
    wanted: dict[str, tuple[str, set[int]]] = {}
    for index, word in enumerate(words):
        if not (word.negated or stop[index]):
            wanted.setdefault(shown[index].lower(), (shown[index], set()))[1].add(index)
    hits = []
    for hit in response["hits"]["hits"]:
        matched = {int(i) for name in hit.get("matched_queries", []) for i in name.split(",")}
        hits.append(
            TextHit(
                int(hit["_id"]),
                float(hit["_score"]),
                tuple(text for text, indices in wanted.values() if indices & matched),
            )
        )
    total = response["hits"]["total"]["value"]
    typed = tuple(dict.fromkeys((words[index].text, text) for index, text in sorted(corrections.items())))
    return TextResults(hits, total, _facets(response["aggregations"]) if facets else None, typed)


def _corrections(query: ParsedQuery, stop: list[bool]) -> dict[int, str]:
    """{word position: correction} for the words no indexed product has. Two suggesters per
    word: `known_words` (every searchable word; options only when the word is missing) and
    `vocabulary` (titles, brands, categories, colours: what a typo becomes)."""
    suggest = {}
    for index, word in enumerate(query.words):
        if stop[index] or len(word.text) < MIN_CORRECTED_LENGTH or _DIGIT.search(word.text):
            continue  # as Postgres: sizes and model numbers are exact, short words are words
        for field in ("known_words", "vocabulary"):
            suggest[f"{field}-{index}"] = {
                "text": word.text,
                "term": {
                    "field": field,
                    "suggest_mode": "missing",
                    "size": 1,
                    "min_word_length": MIN_CORRECTED_LENGTH,
                },
            }
    if not suggest:
        return {}
    found = _client().search(index=index_name(), size=0, suggest=suggest)["suggest"]
    corrections = {}
    for name, entries in found.items():
        field, index = name.rsplit("-", 1)
        if field == "known_words" and any(entry["options"] for entry in entries):
            options = [option for entry in found[f"vocabulary-{index}"] for option in entry["options"]]
            if options:
                corrections[int(index)] = options[0]["text"]
    return corrections


def _term_query(term: Term, indices: list[int], shown: list[str]) -> dict | None:
    """A bare term needs each of its words; a phrase, its words in order, in one field.
    Each clause is named after its word positions, so a hit says which words it has."""
    if not indices:
        return None
    if term.phrase:
        return {
            "multi_match": {
                "query": " ".join(shown[i] for i in indices),
                "type": "phrase",
                "fields": FIELDS,
                "_name": ",".join(map(str, indices)),
            }
        }
    clauses = [
        {"multi_match": {"query": shown[i], "type": "most_fields", "fields": FIELDS, "_name": str(i)}} for i in indices
    ]
    return clauses[0] if len(clauses) == 1 else {"bool": {"must": clauses}}


def _filters(filters: ProductFilters) -> list[dict]:
    """ProductFilters.sql() in Elasticsearch terms (only active products are indexed)."""
    clauses = []
    if filters.category_ids is not None:
        clauses.append({"terms": {"category_id": list(filters.category_ids)}})
    if filters.brand_id is not None:
        clauses.append({"term": {"brand_id": filters.brand_id}})
    price = {}
    if filters.price_min is not None:
        price["gte"] = float(filters.price_min)
    if filters.price_max is not None:
        price["lte"] = float(filters.price_max)
    if price:
        clauses.append({"range": {"price": price}})
    if filters.in_stock:
        clauses.append({"range": {"stock": {"gt": 0}}})
    if filters.colours:
        clauses.append({"terms": {"colour": list(filters.colours)}})
    return clauses


def _aggregations() -> dict:
    order = [{"_count": "desc"}, {"_key": "asc"}]
    edges = [float(edge) for edge in PRICE_EDGES]
    ranges = [
        {"to": edges[0]},
        *({"from": low, "to": high} for low, high in zip(edges, edges[1:])),
        {"from": edges[-1]},
    ]
    return {
        "category": {
            "terms": {"field": "category_slug", "size": FACET_SIZE, "order": order},
            "aggs": {"name": {"terms": {"field": "category_name", "size": 1}}},
        },
        "brand": {
            "terms": {"field": "brand_slug", "size": FACET_SIZE, "order": order},
            "aggs": {"name": {"terms": {"field": "brand_name", "size": 1}}},
        },
        "colour": {"terms": {"field": "colour", "size": FACET_SIZE, "order": order}},
        "price": {"range": {"field": "price", "ranges": ranges}},  # from inclusive, to exclusive
    }


def _facets(aggregations: dict) -> Facets:
    def named(buckets):
        return tuple(FacetValue(b["key"], b["name"]["buckets"][0]["key"], b["doc_count"]) for b in buckets)

    return Facets(
        category=named(aggregations["category"]["buckets"]),
        brand=named(aggregations["brand"]["buckets"]),
        colour=tuple(FacetValue(b["key"], b["key"], b["doc_count"]) for b in aggregations["colour"]["buckets"]),
        price=price_facet([b["doc_count"] for b in aggregations["price"]["buckets"]]),
    )
