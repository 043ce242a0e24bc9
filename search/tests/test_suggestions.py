"""Words that found nothing: the part of them that finds something (PostgreSQL text search)."""

from decimal import Decimal

import pytest

from catalog import services as catalog_services
from catalog.models import Product, ProductImage
from catalog.product_filters import ProductFilters
from catalog.services import ProductData
from fixtures.factories import mark_processed
from search.product_search import SearchRequest, search_products
from search.suggestions import words_that_find
from search.text import index_products

pytestmark = pytest.mark.django_db


@pytest.fixture
def wardrobe(settings):
    settings.ELASTICSEARCH_URL = ""
    dresses = catalog_services.category_get_or_create_path(["Clothing", "Dresses"])
    rows = [("D1", "Marta dress", ["red"]), ("D2", "Nora dress", ["blue"]), ("S1", "Pia shirt", ["orange", "white"])]
    for sku, title, colours in rows:
        product, _ = catalog_services.product_upsert(
            ProductData(sku=sku, title=title, price=Decimal("20.00"), category=dresses, stock=3)
        )
        Product.objects.filter(pk=product.pk).update(colours=colours)
        # A processed picture: searches find only products the shop shows.
        mark_processed(ProductImage.objects.create(product=product, file=f"products/{sku}.jpg"))
    index_products(list(Product.objects.values_list("pk", flat=True)))


def test_the_words_that_find_something_are_offered_when_all_together_find_nothing(wardrobe):
    assert search_products(SearchRequest(text="red lamp")).total == 0
    assert words_that_find("red lamp") == "red"
    assert words_that_find("lamp red dress") == "red dress"
    # Colour words are read as search reads them, and offered as the shopper typed them.
    assert words_that_find("burgundy lamp") == "burgundy"


def test_nothing_is_offered_when_no_word_or_every_word_finds_something_or_the_filters_exclude_it(wardrobe):
    assert words_that_find("lamp") is None  # one word: the categories are offered instead
    assert words_that_find("lamp vase") is None
    assert words_that_find("red dress") is None
    assert words_that_find("red lamp", ProductFilters(colours=("blue",))) is None
    assert words_that_find("blue lamp", ProductFilters(colours=("blue",))) == "blue"


def test_a_colour_word_finds_the_products_the_pipeline_named_with_that_colour(wardrobe):
    found = search_products(SearchRequest(text="coral"))
    assert [hit.product_id for hit in found.hits] == [Product.objects.get(sku="S1").pk]
    assert found.colour_words_read == (("coral", "orange"),)
    assert search_products(SearchRequest(text="maroon dress")).total == 1
    assert search_products(SearchRequest(text="red dress")).colour_words_read == ()
