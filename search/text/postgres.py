"""Text search in PostgreSQL: weighted tsvector documents, websearch queries ranked by
cover density, trigram correction of words the catalogue does not know.

A search costs two queries whatever it asks: one resolves the words (stop words, and for a
word no active product has, its closest catalogue word), one returns the page, the total
and every facet from one pass over the matches.
"""

from __future__ import annotations

from django.db import connection

from catalog.product_filters import PRICE_EDGES, ProductFilters
from search.facets import Facets, FacetValue
from search.text.query import ParsedQuery
from search.text.results import FACET_SIZE, MIN_CORRECTED_LENGTH, TextHit, TextResults, price_facet

# Accents are removed on both sides (unaccent), so "cafe" finds "Café".
CONFIG = "english"
# ts_rank_cd weights of the labels, in the order PostgreSQL takes them: D, C, B, A.
# A = title, B = brand, category path, colours (predicted category), C = description, attributes.
WEIGHTS = [0.1, 0.2, 0.4, 1.0]

# One statement for the whole batch: the texts of the products (category names walked up to
# the root), their documents, and the new words of the active ones into the vocabulary
# typos are corrected to. Inactive products keep a document; every search filters them out.
_INDEX_SQL = f"""
WITH RECURSIVE batch AS (
    SELECT p.id, p.title, p.description, p.attributes, p.colours, p.is_active, p.category_id,
           b.name AS brand,
           CASE WHEN p.category_id IS NULL THEN predicted.name END AS predicted
    FROM catalog_product p
    LEFT JOIN catalog_brand b ON b.id = p.brand_id
    LEFT JOIN catalog_category predicted ON predicted.id = p.predicted_category_id
    WHERE p.id = ANY(%s)
), up AS (
    SELECT c.id AS category_id, c.parent_id, c.name, 0 AS depth
    FROM catalog_category c
    WHERE c.id IN (SELECT category_id FROM batch)
    UNION ALL
    SELECT up.category_id, c.parent_id, c.name, up.depth + 1
    FROM up JOIN catalog_category c ON c.id = up.parent_id
    WHERE up.depth < 100
), path AS (
    SELECT category_id, string_agg(name, ' ' ORDER BY depth DESC) AS names FROM up GROUP BY category_id
), texts AS MATERIALIZED (
    SELECT batch.id, batch.is_active,
           batch.title AS a,
           concat_ws(' ', batch.brand, path.names, array_to_string(batch.colours, ' '), batch.predicted) AS b,
           concat_ws(' ', batch.description, (
               SELECT string_agg(value #>> '{{}}', ' ')
               FROM jsonb_path_query(batch.attributes, 'strict $.** ? (@.type() == "string")') AS value
           )) AS c
    FROM batch LEFT JOIN path ON path.category_id = batch.category_id
), written AS (
    UPDATE catalog_product p
    SET search_document = setweight(to_tsvector('{CONFIG}', unaccent(texts.a)), 'A')
                       || setweight(to_tsvector('{CONFIG}', unaccent(texts.b)), 'B')
                       || setweight(to_tsvector('{CONFIG}', unaccent(texts.c)), 'C')
    FROM texts
    WHERE p.id = texts.id
)
INSERT INTO search_text_vocabulary (word)
SELECT DISTINCT word
FROM texts, regexp_split_to_table(lower(unaccent(texts.a || ' ' || texts.b)), '[^[:alnum:]]+') AS word
WHERE texts.is_active AND length(word) >= {MIN_CORRECTED_LENGTH} AND word !~ '[[:digit:]]'
ON CONFLICT DO NOTHING
"""

# Per query word: its unaccented form, is it a stop word, and if no active product has it,
# the most similar vocabulary word that one has (pg_trgm's `%` operator: similarity >= 0.3,
# through the trigram index). Words with digits are never corrected: sizes and model numbers
# are exact.
_RESOLVE_SQL = f"""
SELECT q.unaccented, q.stop,
       CASE
           WHEN q.stop OR length(q.plain) < {MIN_CORRECTED_LENGTH} OR q.plain ~ '[[:digit:]]' THEN NULL
           WHEN EXISTS (SELECT 1 FROM catalog_product p WHERE p.is_active AND p.search_document @@ q.query)
               THEN NULL
           ELSE (
               SELECT v.word FROM search_text_vocabulary v
               WHERE v.word %% q.plain
                 AND EXISTS (SELECT 1 FROM catalog_product p
                             WHERE p.is_active AND p.search_document @@ plainto_tsquery('{CONFIG}', v.word))
               ORDER BY similarity(v.word, q.plain) DESC, v.word
               LIMIT 1
           )
       END
FROM unnest(%s::text[]) WITH ORDINALITY AS w(word, n)
CROSS JOIN LATERAL (
    SELECT unaccented, lower(unaccented) AS plain, query, numnode(query) = 0 AS stop
    FROM unaccent(w.word) AS unaccented, plainto_tsquery('{CONFIG}', unaccented) AS query
) q
ORDER BY w.n
"""

_FACETS_SQL = """
    (SELECT json_agg(json_build_array(slug, name, n) ORDER BY n DESC, slug) FROM (
        SELECT c.slug, c.name, count(*) AS n FROM matches m JOIN catalog_category c ON c.id = m.category_id
        GROUP BY c.id ORDER BY n DESC, c.slug LIMIT %s) f),
    (SELECT json_agg(json_build_array(slug, name, n) ORDER BY n DESC, slug) FROM (
        SELECT b.slug, b.name, count(*) AS n FROM matches m JOIN catalog_brand b ON b.id = m.brand_id
        GROUP BY b.id ORDER BY n DESC, b.slug LIMIT %s) f),
    (SELECT json_agg(json_build_array(colour, n) ORDER BY n DESC, colour) FROM (
        SELECT colour, count(*) AS n FROM matches m, LATERAL (SELECT DISTINCT unnest(m.colours)) AS c(colour)
        GROUP BY colour ORDER BY n DESC, colour LIMIT %s) f),
    (SELECT json_agg(json_build_array(bucket, n)) FROM (
        SELECT width_bucket(price, %s::numeric[]) AS bucket, count(*) AS n FROM matches GROUP BY 1) f)
"""


def _search_sql(where: str, facets: bool) -> str:
    # Every match is ranked once (MATERIALIZED); the page, the total and the facets read that.
    # At equal relevance what can be bought comes first (then the older product).
    # The words arrive unaccented (from the first query), so the tsquery is a constant the
    # planner folds once: it estimates the matches from the column's statistics and can use
    # the GIN index (unaccent() is only STABLE, and would be evaluated for every row).
    return f"""
    WITH matches AS MATERIALIZED (
        SELECT p.id, p.category_id, p.brand_id, p.colours, p.price, p.stock > 0 AS in_stock,
               ts_rank_cd(%s::real[], p.search_document, websearch_to_tsquery('{CONFIG}', %s)) AS score
        FROM catalog_product p
        WHERE p.search_document @@ websearch_to_tsquery('{CONFIG}', %s) AND {where}
    ), page AS (
        SELECT id, score, in_stock FROM matches ORDER BY score DESC, in_stock DESC, id LIMIT %s OFFSET %s
    )
    SELECT
        (SELECT count(*) FROM matches),
        (SELECT json_agg(json_build_array(
                    page.id, page.score,
                    ARRAY(SELECT w.shown FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS w(shown, term, n)
                          WHERE p.search_document @@ plainto_tsquery('{CONFIG}', w.term)
                          ORDER BY w.n))
                ORDER BY page.score DESC, page.in_stock DESC, page.id)
         FROM page JOIN catalog_product p ON p.id = page.id),
        {_FACETS_SQL if facets else "NULL, NULL, NULL, NULL"}
    """


def index(product_ids: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_INDEX_SQL, [product_ids])


def search(query: ParsedQuery, *, filters: ProductFilters, limit: int, offset: int, facets: bool) -> TextResults:
    words = query.words
    with connection.cursor() as cursor:
        cursor.execute(_RESOLVE_SQL, [[word.text for word in words]])
        resolved = cursor.fetchall()
        terms = {index: correction or unaccented for index, (unaccented, _, correction) in enumerate(resolved)}
        # The words a hit reports: wanted (not excluded), not stop words, a typo as its correction.
        wanted: dict[str, tuple[str, str]] = {}
        for index, (word, (_, stop, correction)) in enumerate(zip(words, resolved)):
            if not (word.negated or stop):
                shown = correction or word.text
                wanted.setdefault(shown.lower(), (shown, terms[index]))
        where, filter_params = filters.sql()
        facet_params = [FACET_SIZE, FACET_SIZE, FACET_SIZE, list(PRICE_EDGES)] if facets else []
        text = query.with_replacements(terms)
        cursor.execute(
            _search_sql(where, facets),
            [
                WEIGHTS,
                text,
                text,
                *filter_params,
                limit,
                offset,
                [shown for shown, _ in wanted.values()],
                [term for _, term in wanted.values()],
                *facet_params,
            ],
        )
        total, page, categories, brands, colours, prices = cursor.fetchone()
    hits = [TextHit(product_id, float(score), tuple(matched)) for product_id, score, matched in page or []]
    corrections = tuple(
        dict.fromkeys(
            (word.text, correction)
            for word, (_, _, correction) in zip(words, resolved)
            if correction and correction.lower() != word.text.lower()
        )
    )
    return TextResults(hits, total, _facets(categories, brands, colours, prices) if facets else None, corrections)


def _facets(categories, brands, colours, prices) -> Facets:
    counts = [0] * (len(PRICE_EDGES) + 1)
    for bucket, count in prices or []:
        counts[bucket] = count  # width_bucket: 0 below the first edge, len(edges) at or above the last
    return Facets(
        category=tuple(FacetValue(slug, name, count) for slug, name, count in categories or []),
        brand=tuple(FacetValue(slug, name, count) for slug, name, count in brands or []),
        colour=tuple(FacetValue(colour, colour, count) for colour, count in colours or []),
        price=price_facet(counts),
    )
