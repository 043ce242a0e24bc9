import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import Product
from fixtures.images import scene, scene_bytes
from fixtures.photo_server import serving_photo
from fixtures.shop import jpeg
from ranking.models import ShownResults
from tracking.models import Event

pytestmark = pytest.mark.django_db

IMAGE_URL = "/api/v1/search/image"
TEXT_URL = "/api/v1/search"
# Pinned costs of a photo search through the API, after the first (which loads the model):
# active model; savepoint, HNSW options, candidates, release; active projection (the search),
# then the hits' products with brand and category, and their images (the hydration). The
# ranking (ranking.serving) adds none once its per-process caches are warm after the visitor's
# first search: the live ranker, the candidates' facts, the catalogue's rates and the visitor's
# profile are read again at most every RANKING_LIVE_CHECK_SECONDS / RANKING_FACTS_CACHE_SECONDS.
PHOTO_SEARCH_QUERIES = 8
# The same plus the category tree (category filter) and the brand (brand filter), and the two
# names the search looks up to describe those filters.
FILTERED_PHOTO_SEARCH_QUERIES = 12


def upload(content: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def summary(shop, sku: str, image_sku: str | None = None) -> dict:
    product, image = shop.products[sku], shop.images[image_sku or sku]
    return {
        "id": product.pk,
        "title": product.title,
        "url": f"http://testserver/p/{product.pk}/{product.slug}/",
        "price": str(product.price),
        "currency": "EUR",
        "in_stock": product.stock > 0,
        "brand": {"slug": product.brand.slug, "name": product.brand.name},
        "category": {"slug": product.category.slug, "name": product.category.name},
        "thumbnail_url": f"http://testserver{image.card_url}",
    }


def test_an_uploaded_photo_finds_its_product_first_with_a_full_summary(client, processed_shop):
    photo = jpeg(scene(3).resize((480, 600)))  # S1's picture, another size and compression
    response = client.post(IMAGE_URL, {"image": upload(photo), "limit": "3"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["mode"], body["total"], body["limit"], body["offset"]) == ("photo", 5, 3, 0)
    assert (body["applied_filters"], body["facets"]) == ([], None)
    assert len(body["results"]) == 3
    first = body["results"][0]
    assert first["product"] == summary(processed_shop, "S1")
    assert first["image_id"] == processed_shop.images["S1"].pk
    assert first["visual_similarity"] > 0.95
    assert first["matched_words"] == []
    assert first["why"] == [f"looks similar ({first['visual_similarity']:.2f})"]
    # The closest product is close: no "no close match".
    assert (body["best_similarity"], body["no_close_match"]) == (first["visual_similarity"], False)
    scores = [hit["score"] for hit in body["results"]]
    assert scores == sorted(scores, reverse=True)
    # The inactive product never shows up.
    assert processed_shop.id("H1") not in [hit["product"]["id"] for hit in body["results"]]


def test_a_photo_far_from_everything_is_flagged_no_close_match(client, processed_shop, settings):
    settings.SEARCH_NO_CLOSE_MATCH_COSINE = 2.0  # above any cosine
    body = client.post(IMAGE_URL, {"image": upload(scene_bytes(4))}).json()
    assert body["no_close_match"] is True and body["best_similarity"] < 2.0 and len(body["results"]) == 5


def test_the_thumbnail_is_a_processed_derivative(client, processed_shop):
    response = client.post(IMAGE_URL, {"image": upload(scene_bytes(4))})
    thumbnail = response.json()["results"][0]["product"]["thumbnail_url"]
    assert thumbnail.startswith("http://testserver/media/derived/")
    assert client.get(thumbnail.removeprefix("http://testserver")).status_code == 200


@pytest.mark.parametrize(
    "crop",
    [
        {"crop": "500,300,820,700"},
        {"crop_left": "500", "crop_top": "300", "crop_right": "820", "crop_bottom": "700"},
    ],
)
def test_a_crop_box_searches_for_the_part_the_shopper_means(client, processed_shop, crop):
    street = Image.new("RGB", (1000, 800), (30, 30, 30))
    street.paste(scene(4), (500, 300))  # M1's picture in a corner of a larger, dark photo
    response = client.post(IMAGE_URL, {"image": upload(jpeg(street)), "limit": "1", **crop})
    assert response.status_code == 200, response.json()
    assert [hit["product"]["id"] for hit in response.json()["results"]] == [processed_shop.id("M1")]


def test_filters_narrow_a_photo_search_and_are_reported(client, processed_shop):
    response = client.post(
        IMAGE_URL,
        {
            "image": upload(scene_bytes(1)),
            "category": "clothing",
            "brand": "northwind",
            "price_max": "30",
            "in_stock": "true",
        },
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    # Clothing and its subcategories, Northwind, at most 30, in stock: only D1 (H1 is inactive).
    assert [hit["product"]["id"] for hit in body["results"]] == [processed_shop.id("D1")]
    assert body["applied_filters"] == ["category Clothing", "brand Northwind", "price ≤ 30.00", "in stock"]


def test_colour_filters_are_repeatable(client, processed_shop):
    Product.objects.filter(pk=processed_shop.id("M2")).update(colours=["teal"])
    Product.objects.filter(pk=processed_shop.id("D2")).update(colours=["red", "white"])
    response = client.post(IMAGE_URL, {"image": upload(scene_bytes(1)), "colour": ["red", "teal"]})
    assert response.status_code == 200, response.json()
    assert {hit["product"]["id"] for hit in response.json()["results"]} == {
        processed_shop.id("M2"),
        processed_shop.id("D2"),
    }
    assert response.json()["applied_filters"] == ["colour red or teal"]


def test_offset_pages_through_photo_results(client, processed_shop):
    everything = client.post(IMAGE_URL, {"image": upload(scene_bytes(3)), "limit": "5"}).json()["results"]
    page = client.post(IMAGE_URL, {"image": upload(scene_bytes(3)), "limit": "2", "offset": "2"}).json()
    assert (page["limit"], page["offset"]) == (2, 2)
    assert [hit["product"]["id"] for hit in page["results"]] == [hit["product"]["id"] for hit in everything[2:4]]


def test_a_catalogue_image_searches_for_more_like_it_as_json(client, processed_shop):
    response = client.post(
        IMAGE_URL, {"image_id": processed_shop.images["D1"].pk, "limit": 10}, content_type="application/json"
    )
    assert response.status_code == 200, response.json()
    ids = [hit["product"]["id"] for hit in response.json()["results"]]
    assert processed_shop.id("D1") not in ids  # its own product is left out
    assert sorted(ids) == sorted(processed_shop.id(sku) for sku in ("D2", "S1", "M1", "M2"))


@pytest.fixture
def photo_server():
    with serving_photo("/m2.jpg", scene_bytes(5)) as url:
        yield url


def test_an_image_url_is_fetched_and_searched(client, processed_shop, settings, photo_server):
    settings.SEARCH_IMAGE_URL_ALLOW_PRIVATE = True  # the test server is on loopback
    response = client.post(
        IMAGE_URL, {"image_url": f"{photo_server}/m2.jpg", "limit": 1}, content_type="application/json"
    )
    assert response.status_code == 200, response.json()
    assert [hit["product"]["id"] for hit in response.json()["results"]] == [processed_shop.id("M2")]


def test_a_photo_search_costs_a_fixed_number_of_queries(
    client, processed_shop, ranking_caches, django_assert_num_queries
):
    client.post(IMAGE_URL, {"image": upload(scene_bytes(2))})  # loads the model session
    with django_assert_num_queries(PHOTO_SEARCH_QUERIES):
        response = client.post(IMAGE_URL, {"image": upload(scene_bytes(2)), "limit": "5"})
    assert len(response.json()["results"]) == 5
    with django_assert_num_queries(PHOTO_SEARCH_QUERIES):
        response = client.post(IMAGE_URL, {"image": upload(scene_bytes(2)), "limit": "1"})
    assert len(response.json()["results"]) == 1


def test_a_filtered_photo_search_costs_a_fixed_number_of_queries(
    client, processed_shop, ranking_caches, django_assert_num_queries
):
    client.post(IMAGE_URL, {"image": upload(scene_bytes(2))})
    with django_assert_num_queries(FILTERED_PHOTO_SEARCH_QUERIES):
        response = client.post(IMAGE_URL, {"image": upload(scene_bytes(2)), "category": "home", "brand": "pebble-home"})
    assert sorted(hit["product"]["id"] for hit in response.json()["results"]) == sorted(
        [processed_shop.id("M1"), processed_shop.id("M2")]
    )


# --- words -------------------------------------------------------------------------------


@pytest.fixture
def indexed_shop(shop):
    from search.text import index_products

    index_products([product.pk for product in shop.products.values()])
    return shop


def test_text_search_finds_products_by_their_words_with_facets(
    client, indexed_shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(TEXT_URL, {"q": "mug"})
    assert response.status_code == 200, response.json()
    body = response.json()
    results = body.pop("results")
    # The search as tracking recorded it, its id in the answer for the client's own events.
    search = Event.objects.get()
    assert body.pop("search_id") == str(search.search_id)
    latency = search.properties.pop("latency_ms")
    assert (search.kind, search.visitor_id, 0 < latency < 10_000) == ("search", response.wsgi_request.visitor_id, True)
    assert search.properties == {
        "search_kind": "text",
        "words": "mug",
        "filters": {},
        "page": 1,
        "result_count": 2,
        "zero_results": False,
        "ranker": "default",
        "variants": {},
    }
    assert body == {
        "mode": "text",
        "total": 2,
        "limit": 24,
        "offset": 0,
        "applied_filters": [],
        "facets": {
            "category": [{"value": "mugs", "label": "Mugs", "count": 2}],
            "brand": [{"value": "pebble-home", "label": "Pebble Home", "count": 2}],
            "colour": [],
            "price": [{"value": "0-25", "label": "0–25", "count": 2}],
        },
        "best_similarity": None,
        "no_close_match": False,
        "corrections": [],
        "colour_words": [],
    }
    assert sorted(hit["product"]["id"] for hit in results) == sorted([indexed_shop.id("M1"), indexed_shop.id("M2")])

    for hit in results:
        assert hit["product"] == summary(
            indexed_shop, next(sku for sku in ("M1", "M2") if indexed_shop.id(sku) == hit["product"]["id"])
        )
        assert (hit["image_id"], hit["visual_similarity"], hit["matched_words"], hit["why"]) == (
            None,
            None,
            ["mug"],
            ["matches “mug”"],
        )


def test_the_answer_says_which_words_were_read_as_what(client, indexed_shop):
    body = client.get(TEXT_URL, {"q": "burgundy linn"}).json()
    assert (body["corrections"], body["colour_words"]) == ([["linn", "linen"]], [["burgundy", "red"]])


def test_text_search_filters_and_pages(client, indexed_shop):
    both = client.get(TEXT_URL, {"q": "linen"}).json()
    assert sorted(hit["product"]["id"] for hit in both["results"]) == sorted(
        [indexed_shop.id("D2"), indexed_shop.id("S1")]
    )
    dresses = client.get(TEXT_URL, {"q": "linen", "category": "dresses", "in_stock": "false"}).json()
    assert ([hit["product"]["id"] for hit in dresses["results"]], dresses["total"], dresses["applied_filters"]) == (
        [indexed_shop.id("D2")],
        1,
        ["category Dresses"],
    )
    assert [hit["why"] for hit in dresses["results"]] == [["matches “linen”", "filter: category Dresses"]]
    second = client.get(TEXT_URL, {"q": "linen", "limit": 1, "offset": 1}).json()
    assert ([hit["product"]["id"] for hit in second["results"]], second["total"]) == (
        [both["results"][1]["product"]["id"]],
        2,
    )


def test_a_photo_with_words_is_a_hybrid_search(client, processed_shop):
    from search.text import index_products

    index_products([product.pk for product in processed_shop.products.values()])
    # M2's own picture and a word only M2 has: first in both rankings, so first when fused.
    response = client.post(IMAGE_URL, {"image": upload(scene_bytes(5)), "q": "enamel", "limit": "3"})
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["mode"], body["total"]) == ("hybrid", 1)  # the words narrow the photo's results
    assert body["facets"]["category"] == [{"value": "mugs", "label": "Mugs", "count": 1}]
    (first,) = body["results"]
    assert (first["product"]["id"], first["image_id"], first["matched_words"]) == (
        processed_shop.id("M2"),
        processed_shop.images["M2"].pk,
        ["enamel"],
    )
    assert first["why"] == [f"looks similar ({first['visual_similarity']:.2f})", "matches “enamel”"]


# Pinned: the words, then the page with total and facets (search.text.postgres), then the hits'
# products and their images (the ranking's caches warm, as for a photo).
TEXT_SEARCH_QUERIES = 4
# ... plus the category tree and the brand (filters), and the two names describing them.
FILTERED_TEXT_SEARCH_QUERIES = 8


def test_a_text_search_costs_a_fixed_number_of_queries(client, indexed_shop, ranking_caches, django_assert_num_queries):
    for words in ("polka", "mug"):
        client.get(TEXT_URL, {"q": words})  # fills the ranking's caches
    with django_assert_num_queries(TEXT_SEARCH_QUERIES):
        assert len(client.get(TEXT_URL, {"q": "polka"}).json()["results"]) == 1
    with django_assert_num_queries(TEXT_SEARCH_QUERIES):
        assert len(client.get(TEXT_URL, {"q": "mug"}).json()["results"]) == 2
    with django_assert_num_queries(FILTERED_TEXT_SEARCH_QUERIES):
        found = client.get(TEXT_URL, {"q": "mug", "category": "home", "brand": "pebble-home"}).json()
    assert len(found["results"]) == 2


def test_a_photo_sent_to_the_api_is_recorded_as_an_upload_with_its_outcome(
    client, processed_shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(IMAGE_URL, {"image": upload(scene_bytes(2))}).status_code == 200
        assert client.post(IMAGE_URL, {"image": upload(b"not a picture")}).status_code == 400
        assert (
            client.post(
                IMAGE_URL, {"image_id": processed_shop.images["M1"].pk}, content_type="application/json"
            ).status_code
            == 200
        )
    uploads = Event.objects.filter(kind="photo_upload").order_by("id")
    assert [e.properties for e in uploads] == [
        {"accepted": True, "rejection_code": ""},
        {"accepted": False, "rejection_code": "undecodable"},
    ]  # a catalogue image is no upload
    assert Event.objects.filter(kind="search").count() == 2


def test_a_search_logs_what_it_answered_for_the_ranker(client, indexed_shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        found = client.get(TEXT_URL, {"q": "mug", "limit": 1, "offset": 1}).json()
    logged = ShownResults.objects.get()
    assert str(logged.search_id) == found["search_id"]
    assert logged.product_ids == [result["product"]["id"] for result in found["results"]]
    assert (logged.first_position, logged.ranker) == (2, "default")
