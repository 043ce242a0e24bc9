"""The Elasticsearch document of a product (django-elasticsearch-dsl), used by
search.text.elasticsearch when ELASTICSEARCH_URL is set.

Fields mirror the PostgreSQL document's weights (search.text.postgres): title (A); brand,
category path, colours (B); description, attribute values (C). The boosts live in the
query (search.text.elasticsearch.FIELDS). The library's signal handlers are off
(visualshop/settings/search.py): search.text.index_products writes the documents.
"""

from __future__ import annotations

from django.conf import settings as django_settings
from django_elasticsearch_dsl import Document, fields
from django_elasticsearch_dsl.registries import registry
from elasticsearch.dsl import analyzer, token_filter

from catalog.models import Product
from catalog.selectors import category_tree, product_has_picture
from search.text.query import STOP_WORDS

# The same reading of text as PostgreSQL's 'english' configuration over unaccent(): folded
# accents, its stop words, the Snowball English (Porter2) stemmer.
ENGLISH = analyzer(
    "visualshop_english",
    tokenizer="standard",
    filter=[
        "lowercase",
        "asciifolding",
        token_filter("visualshop_english_stop", type="stop", stopwords=sorted(STOP_WORDS)),
        token_filter("visualshop_english_stemmer", type="stemmer", language="porter2"),
    ],
)
# Whole words as the shopper would type them, for spelling suggestions.
PLAIN = analyzer("visualshop_plain", tokenizer="standard", filter=["lowercase", "asciifolding"])

# `known_words`: every searchable word (a query word found here is no typo).
# `vocabulary`: the words a typo may be corrected to (as search_text_vocabulary in Postgres).
_EVERYWHERE = ["known_words", "vocabulary"]


@registry.register_document
class ProductDocument(Document):
    product_id = fields.IntegerField(attr="id")  # ties in score are broken by it, as in Postgres
    title = fields.TextField(analyzer=ENGLISH, copy_to=_EVERYWHERE)
    brand = fields.TextField(analyzer=ENGLISH, copy_to=_EVERYWHERE)
    category = fields.TextField(analyzer=ENGLISH, copy_to=_EVERYWHERE)
    colours = fields.TextField(analyzer=ENGLISH, copy_to=_EVERYWHERE)
    description = fields.TextField(analyzer=ENGLISH, copy_to="known_words")
    attributes = fields.TextField(analyzer=ENGLISH, copy_to="known_words")
    known_words = fields.TextField(analyzer=PLAIN)
    vocabulary = fields.TextField(analyzer=PLAIN)
    # Filters and facets
    category_id = fields.IntegerField()
    category_slug = fields.KeywordField()
    category_name = fields.KeywordField()
    brand_id = fields.IntegerField()
    brand_slug = fields.KeywordField()
    brand_name = fields.KeywordField()
    colour = fields.KeywordField()
    price = fields.ScaledFloatField(scaling_factor=100)  # cents, exact
    stock = fields.IntegerField()

    class Index:
        name = django_settings.ELASTICSEARCH_INDEX
        # One shard: a catalogue fits, and scores and spelling statistics stay global.
        settings = {"number_of_shards": 1}

    class Django:
        model = Product
        ignore_signals = True

    def get_queryset(self):
        return (
            super()
            .get_queryset()
            .select_related("brand", "category", "predicted_category")
            .annotate(has_picture=product_has_picture())
        )

    def should_index_object(self, obj: Product) -> bool:
        # What the shop shows (catalog.selectors.shop_products): settling an image marks its
        # product search-dirty, so the refresh adds or removes it here.
        return obj.is_active and obj.has_picture

    def _category_tree(self):
        # Loaded once per document object, i.e. once per indexed batch.
        if not hasattr(self, "_tree"):
            self._tree = category_tree()
        return self._tree

    def prepare_brand(self, instance: Product) -> str:
        return instance.brand.name if instance.brand else ""

    def prepare_category(self, instance: Product) -> str:
        """The category and its ancestors; the predicted category's name when it has none."""
        if instance.category_id:
            return " ".join(node.name for node in self._category_tree().ancestors(instance.category))
        return instance.predicted_category.name if instance.predicted_category else ""

    def prepare_colours(self, instance: Product) -> str:
        return " ".join(instance.colours)

    def prepare_attributes(self, instance: Product) -> str:
        return " ".join(_strings(instance.attributes))

    def prepare_category_slug(self, instance: Product) -> str | None:
        return instance.category.slug if instance.category else None

    def prepare_category_name(self, instance: Product) -> str | None:
        return instance.category.name if instance.category else None

    def prepare_brand_slug(self, instance: Product) -> str | None:
        return instance.brand.slug if instance.brand else None

    def prepare_brand_name(self, instance: Product) -> str | None:
        return instance.brand.name if instance.brand else None

    def prepare_colour(self, instance: Product) -> list[str]:
        return list(dict.fromkeys(instance.colours))


def _strings(value) -> list[str]:
    """Every string value in a JSON value, at any depth (as jsonb_path_query's `$.**`)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []
