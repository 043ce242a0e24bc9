"""What every text backend must do, run against each one: the same catalogue, the same
queries, the same outcomes. The Elasticsearch run needs a server (ELASTICSEARCH_URL) and
uses a throw-away index; without one it is reported as skipped, never silently passed."""

from decimal import Decimal

import pytest

from catalog import services as catalog_services
from catalog.models import Product, ProductImage
from catalog.product_filters import ProductFilters
from catalog.services import ProductData
from fixtures.factories import mark_processed
from search.facets import Facets, FacetValue
from search.text import index_products, search_text

pytestmark = pytest.mark.django_db

ES_SKIP_REASON = "ELASTICSEARCH_URL is not set: the Elasticsearch backend's contract tests did not run"


@pytest.fixture(params=["postgres", "elasticsearch"])
def backend(request, settings):
    if request.param == "postgres":
        settings.ELASTICSEARCH_URL = ""
        yield "postgres"
        return
    if not settings.ELASTICSEARCH_URL:
        pytest.skip(ES_SKIP_REASON)
    from search.text import elasticsearch

    # Never the shop's index: a fresh one per test, deleted afterwards.
    settings.ELASTICSEARCH_INDEX = f"{settings.ELASTICSEARCH_INDEX}-test-{request.node.name}".lower()
    elasticsearch.create_index(recreate=True)
    yield "elasticsearch"
    elasticsearch.delete_index()


@pytest.fixture
def shop(backend):
    clothing_jackets = catalog_services.category_get_or_create_path(["Clothing", "Jackets"])
    clothing_dresses = catalog_services.category_get_or_create_path(["Clothing", "Dresses"])
    shirts = catalog_services.category_get_or_create_path(["Clothing", "Shirts"])
    mugs = catalog_services.category_get_or_create_path(["Home", "Mugs"])
    northwind = catalog_services.brand_get_or_create("Northwind")
    sunwear = catalog_services.brand_get_or_create("Sunwear")
    linen_works = catalog_services.brand_get_or_create("Linen Works")
    rows = [  # sku, title, category, brand, price, stock, colours, description, attributes, active
        (
            "J1",
            "Waterproof rain jacket",
            clothing_jackets,
            northwind,
            "120.00",
            5,
            ["navy"],
            "Taped seams and a hood.",
            {"material": "nylon"},
            True,
        ),
        ("J2", "Quilted jacket", clothing_jackets, None, "80.00", 0, ["black"], "Warm for winter.", {}, True),
        (
            "J3",
            "Leather biker jacket",
            clothing_jackets,
            northwind,
            "250.00",
            2,
            ["brown"],
            "Leather with zips.",
            {},
            False,
        ),
        ("D1", "Summer dress", clothing_dresses, sunwear, "45.00", 2, ["red"], "Light and airy.", {}, True),
        ("D2", "Evening gown", clothing_dresses, None, "210.00", 1, ["black"], "Floor length.", {}, True),
        ("S1", "Linen shirt", shirts, None, "35.00", 4, ["white"], "Short sleeves.", {}, True),
        ("S2", "Oxford shirt", shirts, linen_works, "40.00", 4, ["blue"], "Button-down collar.", {}, True),
        ("S3", "Cotton shirt", shirts, None, "30.00", 4, ["green"], "Woven from linen.", {}, True),
        (
            "M1",
            "Café enamel mug",
            mugs,
            northwind,
            "12.00",
            9,
            ["red"],
            "Holds half a litre.",
            {"finish": "glossy"},
            True,
        ),
    ]
    ids = {}
    for sku, title, category, brand, price, stock, colours, description, attributes, active in rows:
        product = catalog_services.product_upsert(
            ProductData(
                sku=sku,
                title=title,
                price=Decimal(price),
                category=category,
                brand=brand,
                stock=stock,
                description=description,
                attributes=attributes,
                is_active=active,
            )
        )[0]
        Product.objects.filter(pk=product.pk).update(colours=colours)
        # A processed picture: the shop lists (and search finds) products with one only.
        mark_processed(ProductImage.objects.create(product=product, file=f"products/{sku}.jpg"))
        ids[sku] = product.pk
    index_products(list(ids.values()))
    return {
        "ids": ids,
        "sku": {pk: sku for sku, pk in ids.items()},
        "jackets": clothing_jackets,
        "clothing": clothing_jackets.parent,
        "northwind": northwind,
    }


def skus(shop, results):
    return [shop["sku"][hit.product_id] for hit in results.hits]


def test_title_weighs_more_than_brand_which_weighs_more_than_description(shop):
    results = search_text("linen")
    assert skus(shop, results) == ["S1", "S2", "S3"]  # title, brand, description
    assert results.hits[0].score > results.hits[1].score > results.hits[2].score > 0


def test_category_path_colours_and_attributes_are_searchable(shop):
    assert sorted(skus(shop, search_text("clothing navy"))) == ["J1"]  # the root category, a colour
    assert sorted(skus(shop, search_text("home"))) == ["M1"]
    assert sorted(skus(shop, search_text("nylon"))) == ["J1"]  # an attribute value
    assert sorted(skus(shop, search_text("glossy"))) == ["M1"]


def test_accents_and_stemming_do_not_matter(shop):
    assert skus(shop, search_text("cafe")) == ["M1"]
    assert skus(shop, search_text("CAFÉ mugs")) == ["M1"]
    assert sorted(skus(shop, search_text("jackets"))) == ["J1", "J2"]


def test_total_counts_every_match_and_pages_do_not_overlap(shop):
    first = search_text("shirt", limit=2)
    second = search_text("shirt", limit=2, offset=2)
    assert (first.total, second.total) == (3, 3)
    assert (len(first.hits), len(second.hits)) == (2, 1)
    assert sorted(skus(shop, first) + skus(shop, second)) == ["S1", "S2", "S3"]


def test_facets_count_every_match_not_just_the_page(shop):
    results = search_text("jacket or dress", limit=1)
    assert results.total == 4 and len(results.hits) == 1
    assert results.facets == Facets(
        category=(FacetValue("dresses", "Dresses", 2), FacetValue("jackets", "Jackets", 2)),
        brand=(FacetValue("northwind", "Northwind", 1), FacetValue("sunwear", "Sunwear", 1)),
        colour=(FacetValue("black", "black", 2), FacetValue("navy", "navy", 1), FacetValue("red", "red", 1)),
        price=(
            FacetValue("25-50", "25–50", 1),
            FacetValue("50-100", "50–100", 1),
            FacetValue("100-200", "100–200", 1),
            FacetValue("200-", "200+", 1),
        ),
    )
    assert search_text("jacket", facets=False).facets is None


def test_filters_narrow_matches_and_facets(shop):
    def found(**filters):
        results = search_text("jacket or dress or shirt", filters=ProductFilters(**filters))
        assert results.total == len(results.hits)
        return sorted(skus(shop, results))

    assert found() == ["D1", "D2", "J1", "J2", "S1", "S2", "S3"]
    assert found(category_ids=[shop["jackets"].pk]) == ["J1", "J2"]
    assert found(brand_id=shop["northwind"].pk) == ["J1"]
    assert found(price_min=Decimal("40.00"), price_max=Decimal("120.00")) == ["D1", "J1", "J2", "S2"]
    assert found(in_stock=True) == ["D1", "D2", "J1", "S1", "S2", "S3"]
    assert found(colours=("black", "red")) == ["D1", "D2", "J2"]
    narrowed = search_text("jacket or dress", filters=ProductFilters(colours=("black",)))
    assert narrowed.facets.colour == (FacetValue("black", "black", 2),)
    assert narrowed.facets.category == (FacetValue("dresses", "Dresses", 1), FacetValue("jackets", "Jackets", 1))


def test_websearch_syntax(shop):
    assert skus(shop, search_text('"rain jacket"')) == ["J1"]
    assert skus(shop, search_text('"jacket rain"')) == []  # a phrase keeps its order
    assert skus(shop, search_text("quilted jacket")) == ["J2"]  # every word is required
    assert sorted(skus(shop, search_text("mug or gown"))) == ["D2", "M1"]
    assert skus(shop, search_text("jacket -quilted")) == ["J1"]
    assert skus(shop, search_text('jacket -"quilted jacket"')) == ["J1"]
    assert sorted(skus(shop, search_text("quilted jacket or summer"))) == ["D1", "J2"]  # AND before OR


def test_a_misspelt_word_is_corrected_to_the_closest_catalogue_word(shop):
    results = search_text("jaket")
    assert sorted(skus(shop, results)) == ["J1", "J2"] and results.total == 2
    assert {hit.matched_words for hit in results.hits} == {("jacket",)}
    assert sorted(skus(shop, search_text("drses"))) == ["D1", "D2"]
    assert skus(shop, search_text("waterprof jaket")) == ["J1"]
    assert skus(shop, search_text("xqzvw")) == []  # nothing close: no guess


def test_the_results_say_which_words_were_corrected_to_what(shop):
    assert search_text("jaket").corrections == (("jaket", "jacket"),)
    assert search_text("waterprof jaket jaket").corrections == (("waterprof", "waterproof"), ("jaket", "jacket"))
    assert search_text("jacket").corrections == ()  # spelt right
    assert search_text("xqzvw").corrections == ()  # nothing close: no guess to report


def test_matched_words_are_the_shoppers_words_the_product_has(shop):
    results = search_text("navy jacket")
    assert [(shop["sku"][h.product_id], h.matched_words) for h in results.hits] == [("J1", ("navy", "jacket"))]
    by_sku = {shop["sku"][h.product_id]: h.matched_words for h in search_text("Summer or Enamel or the gown").hits}
    assert by_sku == {"D1": ("Summer",), "M1": ("Enamel",), "D2": ("gown",)}  # as typed; "the" is no match
    assert [h.matched_words for h in search_text("jacket -quilted").hits] == [("jacket",)]  # never an excluded one


def test_inactive_and_deleted_products_are_never_found(shop):
    assert search_text("leather").total == 0  # J3 is inactive
    Product.objects.filter(pk=shop["ids"]["J1"]).update(is_active=False)
    Product.objects.filter(pk=shop["ids"]["J2"]).delete()
    index_products([shop["ids"]["J1"], shop["ids"]["J2"]])
    assert search_text("jacket").total == 0
    assert search_text("jacket").hits == []


def test_reindexing_picks_up_changed_text(shop):
    Product.objects.filter(pk=shop["ids"]["D2"]).update(title="Velvet evening gown")
    assert search_text("velvet").total == 0  # documents change only when indexed
    index_products([shop["ids"]["D2"]])
    assert skus(shop, search_text("velvet")) == ["D2"]


def test_at_equal_relevance_what_can_be_bought_comes_first(shop):
    made = []
    for sku, stock in (("W1", 0), ("W2", 3), ("W3", 0), ("W4", 1)):  # the same text, older first
        product = catalog_services.product_upsert(
            ProductData(sku=sku, title="Wool beanie", price=Decimal("15.00"), stock=stock)
        )[0]
        mark_processed(ProductImage.objects.create(product=product, file=f"products/{sku}.jpg"))
        made.append(product.pk)
    index_products(made)
    results = search_text("beanie")
    assert [hit.product_id for hit in results.hits] == [made[1], made[3], made[0], made[2]]
    assert len({hit.score for hit in results.hits}) == 1
    assert [hit.product_id for hit in search_text("beanie", limit=2, offset=2).hits] == [made[0], made[2]]


def test_a_query_without_words_finds_nothing(shop):
    for query in ["", "   ", '"" -', "!!"]:
        results = search_text(query)
        assert (results.hits, results.total, results.facets) == ([], 0, Facets())
