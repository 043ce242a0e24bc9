"""The PostgreSQL text backend's own promises: what its documents hold at which weight,
what a search and an indexing batch cost in queries, and how typos are corrected."""

from decimal import Decimal

import pytest
from django.db import connection

from catalog import services as catalog_services
from catalog.models import Product, ProductImage
from catalog.product_filters import ProductFilters
from catalog.services import ProductData
from fixtures.factories import mark_processed
from search.text import index_products, postgres, search_text, text_backend

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def postgres_backend(settings):
    settings.ELASTICSEARCH_URL = ""


def product(sku, title, **fields) -> Product:
    """A product with a processed picture: searches find only products the shop shows."""
    made = catalog_services.product_upsert(ProductData(sku=sku, title=title, price=Decimal("10.00"), **fields))[0]
    mark_processed(ProductImage.objects.create(product=made, file=f"products/{sku}.jpg"))
    return made


def document(product_id) -> dict[str, str]:
    """lexeme -> its positions with weights, e.g. {"jacket": "1A,5B"}."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT lexeme, array_to_string(ARRAY(SELECT p || w FROM unnest(positions, weights) AS x(p, w)), ',') "
            "FROM catalog_product, unnest(search_document) WHERE id = %s",
            [product_id],
        )
        return dict(cursor.fetchall())


def vocabulary() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT word FROM search_text_vocabulary ORDER BY word")
        return [row[0] for row in cursor.fetchall()]


def test_postgres_is_the_backend_unless_elasticsearch_is_configured(settings):
    assert text_backend() is postgres


def test_the_document_weighs_title_a_brand_category_path_colours_b_description_attributes_c():
    knitwear = catalog_services.category_get_or_create_path(["Women", "Knitwear"])
    item = product(
        "K1",
        "Wool jumper",
        category=knitwear,
        brand=catalog_services.brand_get_or_create("Fjällräven"),
        description="Soft ribbed cuffs.",
        attributes={"material": "merino", "size": 12, "care": {"wash": "cold"}, "tags": ["cosy"]},
    )
    Product.objects.filter(pk=item.pk).update(colours=["grey", "white"])
    index_products([item.pk])
    assert document(item.pk) == {
        "wool": "1A",
        "jumper": "2A",
        "fjallraven": "3B",
        "women": "4B",
        "knitwear": "5B",
        "grey": "6B",
        "white": "7B",
        "soft": "8C",
        "rib": "9C",
        "cuff": "10C",
        "cold": "11C",
        "cosi": "12C",
        "merino": "13C",
    }  # accents removed; the number 12 and the attribute names are not text (jsonb orders the keys)


def test_the_predicted_category_counts_only_for_a_product_without_a_category():
    bags = catalog_services.category_get_or_create_path(["Bags"])
    shoes = catalog_services.category_get_or_create_path(["Shoes"])
    uncategorised, categorised = product("U1", "Tote"), product("C1", "Loafer", category=shoes)
    Product.objects.filter(pk__in=[uncategorised.pk, categorised.pk]).update(predicted_category=bags)
    index_products([uncategorised.pk, categorised.pk])
    assert document(uncategorised.pk) == {"tote": "1A", "bag": "2B"}
    assert document(categorised.pk) == {"loafer": "1A", "shoe": "2B"}


def test_a_batch_is_indexed_in_one_statement(django_assert_num_queries):
    items = [product(f"P{n}", f"Item {n}") for n in range(5)]
    with django_assert_num_queries(1):
        index_products([item.pk for item in items])
    assert Product.objects.filter(search_document__isnull=True).count() == 0


def test_a_search_costs_two_queries_whatever_it_asks(django_assert_num_queries):
    red, blue = product("R1", "Red jacket", stock=2), product("B1", "Blue jacket")
    index_products([red.pk, blue.pk])
    with django_assert_num_queries(2):
        results = search_text('jaket -blue or "red jacket"', filters=ProductFilters(in_stock=True), limit=5)
    assert [hit.product_id for hit in results.hits] == [red.pk]
    with django_assert_num_queries(2):
        search_text("jacket", facets=False)
    with django_assert_num_queries(0):
        search_text("  ")


def test_vocabulary_holds_words_of_active_products_titles_brands_categories_colours():
    knitwear = catalog_services.category_get_or_create_path(["Knitwear"])
    active = product("A1", "Merino jumper 2XL", category=knitwear, description="Hand wash only")
    hidden = product("H1", "Secret prototype", is_active=False)
    index_products([active.pk, hidden.pk])
    assert vocabulary() == ["jumper", "knitwear", "merino"]  # not the description, "2xl" or the hidden one


def test_a_correction_is_never_a_word_no_active_product_has_any_more():
    item = product("T1", "Trench coat")
    index_products([item.pk])
    assert [h.matched_words for h in search_text("trenhc").hits] == [("trench",)]
    Product.objects.filter(pk=item.pk).update(title="Rain coat")
    index_products([item.pk])
    assert "trench" in vocabulary()  # words are only ever added ...
    assert search_text("trenhc").total == 0  # ... but only those still found are offered


def test_a_known_word_and_short_words_or_numbers_are_never_corrected():
    shirt, skirt = product("S1", "Linen shirt"), product("K1", "Pleated skirt 38")
    index_products([shirt.pk, skirt.pk])
    assert [h.product_id for h in search_text("shirt").hits] == [shirt.pk]  # not widened to "skirt"
    assert search_text("39").total == 0
    assert search_text("sh").total == 0


def test_a_product_without_a_shown_picture_is_not_found():
    """The shop lists a product only with a ready or flagged picture (catalog.selectors)."""
    shown = product("V1", "Velvet jacket")
    bare = catalog_services.product_upsert(ProductData(sku="V2", title="Velvet jacket", price=Decimal("10.00")))[0]
    rejected = product("V3", "Velvet jacket")
    rejected.images.update(status=ProductImage.Status.REJECTED)
    index_products([shown.pk, bare.pk, rejected.pk])
    results = search_text("velvet")
    assert ([hit.product_id for hit in results.hits], results.total) == ([shown.pk], 1)
