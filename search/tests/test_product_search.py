import io

import pytest
from PIL import Image

from catalog import product_filters
from catalog.models import ProductImage
from catalog.url_fetch import ImageFetchError
from fixtures.factories import make_product, stored_image
from fixtures.images import scene, scene_bytes
from fixtures.photo_server import serving_photo
from search.photo_search import CropBox, PhotoSearchUnavailable
from search.product_search import InvalidSearch, SearchRequest, search_products
from vision import knn
from vision import selectors as vision_selectors
from vision.decoding import ImageRejected
from vision.pipeline import product_images_process

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(settings):
    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01
    settings.IMAGE_BLUR_THRESHOLD = 0
    images = [stored_image(make_product(f"P-{seed}"), scene_bytes(seed), f"p{seed}.jpg") for seed in range(1, 6)]
    product_images_process([image.pk for image in images])
    return images


def jpeg(picture: Image.Image) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def test_a_shoppers_photo_of_a_catalogue_item_finds_it_first_and_says_why(catalogue):
    shopper_photo = jpeg(scene(3).resize((480, 600)))  # another size and compression of product P-3
    results = search_products(SearchRequest(image=shopper_photo, limit=3))
    assert results.mode == "photo" and results.total == 5 and results.facets is None
    assert len(results.hits) == 3
    first = results.hits[0]
    assert (first.product_id, first.image_id) == (catalogue[2].product_id, catalogue[2].pk)
    assert first.visual_similarity > 0.95
    assert first.why == (f"looks similar ({first.visual_similarity:.2f})",)
    assert [hit.score for hit in results.hits] == sorted((hit.score for hit in results.hits), reverse=True)


def test_the_best_similarity_is_the_closest_products_on_every_page_and_decides_no_close_match(catalogue, settings):
    shopper_photo = jpeg(scene(3).resize((480, 600)))
    first_page = search_products(SearchRequest(image=shopper_photo, limit=2))
    later_page = search_products(SearchRequest(image=shopper_photo, limit=2, offset=2))
    assert first_page.best_similarity == later_page.best_similarity == first_page.hits[0].visual_similarity
    settings.SEARCH_NO_CLOSE_MATCH_COSINE = first_page.best_similarity  # not under it: a close match
    assert first_page.no_close_match is False
    settings.SEARCH_NO_CLOSE_MATCH_COSINE = first_page.best_similarity + 0.001
    assert first_page.no_close_match is True


def test_words_alone_and_photo_with_words_never_say_no_close_match(catalogue, settings):
    settings.SEARCH_NO_CLOSE_MATCH_COSINE = 2.0  # above any cosine
    assert search_products(SearchRequest(text="P-3")).no_close_match is False
    hybrid = search_products(SearchRequest(image=scene_bytes(3), text="product"))
    assert (hybrid.mode, hybrid.best_similarity, hybrid.no_close_match) == ("hybrid", None, False)


def test_the_deepest_photo_page_is_served(catalogue):
    # 500 deep = 2,000 candidate images: past pgvector's largest ef_search (1,000), which the
    # iterative scan goes beyond.
    page = search_products(SearchRequest(image=scene_bytes(3), limit=100, offset=400))
    assert (page.hits, page.total) == ([], 5)


def test_offset_pages_through_photo_results(catalogue):
    everything = [hit.product_id for hit in search_products(SearchRequest(image=scene_bytes(3), limit=5)).hits]
    page = search_products(SearchRequest(image=scene_bytes(3), limit=2, offset=2))
    assert [hit.product_id for hit in page.hits] == everything[2:4]


def test_all_candidates_gives_every_product_the_photos_candidates_hold(catalogue):
    """What a re-ranker re-orders (ranking.serving): not only the page asked for."""
    everything = search_products(SearchRequest(image=scene_bytes(3), limit=5))
    candidates = search_products(SearchRequest(image=scene_bytes(3), limit=1, all_candidates=True))
    assert [hit.product_id for hit in candidates.hits] == [hit.product_id for hit in everything.hits]
    assert len(candidates.hits) == candidates.total == 5
    assert all(hit.visual_score is not None and hit.category_share is not None for hit in candidates.hits)


def test_a_crop_box_searches_for_the_part_the_shopper_means(catalogue):
    street = Image.new("RGB", (1000, 800), (30, 30, 30))
    street.paste(scene(4), (500, 300))  # P-4's picture in a corner of a larger, dark photo
    box = CropBox(left=500, top=300, right=820, bottom=700)
    assert (
        search_products(SearchRequest(image=jpeg(street), crop=box, limit=1)).hits[0].product_id
        == catalogue[3].product_id
    )


def test_filters_apply_to_photo_search_and_are_named_in_every_reason(catalogue):
    assert (
        search_products(SearchRequest(image=scene_bytes(3), filters=product_filters.ProductFilters(price_max=0))).hits
        == []
    )
    catalogue[1].product.__class__.objects.filter(pk=catalogue[1].product_id).update(colours=["red", "white"])
    results = search_products(
        SearchRequest(image=scene_bytes(3), filters=product_filters.ProductFilters(colours=("red",), in_stock=False))
    )
    assert [hit.product_id for hit in results.hits] == [catalogue[1].product_id]
    assert results.applied_filters == ("colour red",)
    assert results.hits[0].why[1:] == ("filter: colour red",)


def test_a_catalogue_image_searches_with_its_stored_vector_and_leaves_its_own_product_out(
    catalogue, django_assert_num_queries
):
    # image, active model, its stored vector, then as for an upload
    with django_assert_num_queries(8):
        results = search_products(SearchRequest(image_id=catalogue[0].pk, limit=10))
    assert catalogue[0].product_id not in [hit.product_id for hit in results.hits]
    assert results.total == 4


def test_a_photo_search_costs_a_fixed_number_of_queries(catalogue, django_assert_num_queries):
    search_products(SearchRequest(image=scene_bytes(2)))  # loads the model session
    # active model; savepoint, HNSW options, candidates, release; active projection
    with django_assert_num_queries(6):
        search_products(SearchRequest(image=scene_bytes(2), limit=20))


def test_exact_and_hnsw_candidates_agree_on_a_small_catalogue(catalogue):
    request = SearchRequest(image=scene_bytes(4), limit=5)
    assert [hit.product_id for hit in search_products(request).hits] == [
        hit.product_id for hit in search_products(request, exact=True).hits
    ]


def test_a_catalogue_image_that_is_not_searchable_is_refused(catalogue):
    ProductImage.objects.filter(pk=catalogue[0].pk).update(status=ProductImage.Status.REJECTED)
    with pytest.raises(InvalidSearch, match=f"^image {catalogue[0].pk} is not a searchable catalogue image$"):
        search_products(SearchRequest(image_id=catalogue[0].pk))


@pytest.fixture
def photo_server():
    with serving_photo("/p5.jpg", scene_bytes(5)) as url:
        yield url


def test_an_image_url_is_fetched_and_searched(catalogue, settings, photo_server):
    settings.SEARCH_IMAGE_URL_ALLOW_PRIVATE = True
    results = search_products(SearchRequest(image_url=f"{photo_server}/p5.jpg", limit=1))
    assert results.hits[0].product_id == catalogue[4].product_id
    with pytest.raises(ImageFetchError, match=r"/missing\.jpg: HTTP 404"):
        search_products(SearchRequest(image_url=f"{photo_server}/missing.jpg"))


def test_image_urls_on_private_addresses_and_local_paths_are_refused(catalogue, photo_server):
    with pytest.raises(ImageFetchError, match="loopback"):
        search_products(SearchRequest(image_url=f"{photo_server}/p5.jpg"))
    with pytest.raises(InvalidSearch, match="^image_url must be an http or https URL$"):
        search_products(SearchRequest(image_url="file:///etc/passwd"))


@pytest.mark.parametrize(
    ("content", "crop", "code", "message"),
    [
        (b"", None, "empty", "empty file"),
        (b"<html>", None, "undecodable", "not an image (content is not a recognised image format)"),
        (
            scene_bytes(1),
            CropBox(0, 0, 20, 500),
            "bad_crop",
            "crop box 0,0,20,500 leaves less than 32x32 pixels of a 320x400 image",
        ),
    ],
)
def test_unusable_photos_are_refused_with_a_reason(catalogue, content, crop, code, message):
    with pytest.raises(ImageRejected) as refused:
        search_products(SearchRequest(image=content, crop=crop))
    assert (refused.value.code, str(refused.value)) == (code, message)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (SearchRequest(), "nothing to search: give words, a picture, or both"),
        (SearchRequest(text="  "), "nothing to search: give words, a picture, or both"),
        (
            SearchRequest(image=b"x", image_id=1),
            "give one picture: an upload, an image URL or a catalogue image id, not several",
        ),
        (SearchRequest(text="red", crop=CropBox(0, 0, 50, 50)), "a crop box needs a picture"),
        (SearchRequest(text="red", limit=0), "limit must be between 1 and 100"),
        (SearchRequest(text="red", limit=101), "limit must be between 1 and 100"),
        (SearchRequest(text="red", offset=-1), "offset must not be negative"),
        (
            SearchRequest(image=b"x", limit=100, offset=401),
            "photo results go 500 deep: offset + limit must not exceed it",
        ),
    ],
)
def test_requests_that_cannot_be_searched_are_refused(request_, message):
    with pytest.raises(InvalidSearch) as refused:
        search_products(request_)
    assert str(refused.value) == message


def test_before_any_image_is_processed_photo_search_says_so():
    with pytest.raises(
        PhotoSearchUnavailable, match="^photo search is not available yet: no catalogue image has been processed$"
    ):
        search_products(SearchRequest(image=scene_bytes(1)))


def test_warm_up_loads_the_active_model_and_projection(catalogue, settings):
    settings.SEARCH_EMBEDDING_THREADS = 2
    from search.photo_search import warm_up_search
    from vision.embedders import _embedders, forget_embedders

    forget_embedders()
    model = vision_selectors.embedding_model_active()
    assert warm_up_search() == f"efficientnet-lite0 {model.version} loaded"
    # The session shoppers' photos are embedded with (SEARCH_EMBEDDING_THREADS threads).
    assert list(_embedders) == [(model.pk, 2)]


def test_warm_up_before_any_image_is_processed_says_so():
    from search.photo_search import warm_up_search

    assert warm_up_search() == "no active image model yet"


# ---------------------------------------------------------------------------
# Photo + words (search.hybrid)
# ---------------------------------------------------------------------------

RED, BLUE = (200, 25, 35), (35, 70, 200)


def dress(colour, *, scale=1.0, dx=0, dy=0, size=(320, 400)) -> Image.Image:
    """One dress drawing on a light backdrop; colour, size and place vary, the shape does not,
    so every variant looks alike to the model (cosine > 0.85) and the colour step names it."""
    from PIL import ImageDraw

    picture = Image.new("RGB", size, (245, 245, 245))
    draw = ImageDraw.Draw(picture)
    cx, top = size[0] // 2 + dx, 40 + dy

    def at(x, y):
        return (cx + x * scale, top + y * scale)

    draw.polygon([at(-45, 0), at(45, 0), at(35, 110), at(110, 320), at(-110, 320), at(-35, 110)], fill=colour)
    draw.rectangle([at(-38, -30), at(-28, 0)], fill=colour)  # straps
    draw.rectangle([at(28, -30), at(38, 0)], fill=colour)
    draw.rectangle([at(-38, 100), at(38, 115)], fill=(30, 30, 30))  # belt
    for y in (190, 240, 290):  # pleats
        draw.line([at(-60, y), at(60, y)], fill=tuple(max(0, c - 60) for c in colour), width=4)
    return picture


def hat(colour, size=(320, 400)) -> Image.Image:
    from PIL import ImageDraw

    picture = Image.new("RGB", size, (245, 245, 245))
    draw = ImageDraw.Draw(picture)
    draw.ellipse([20, 230, 300, 300], fill=colour)
    draw.rectangle([90, 120, 230, 265], fill=colour)
    draw.rectangle([90, 215, 230, 240], fill=(30, 30, 30))
    return picture


@pytest.fixture
def wardrobe(settings):
    """Two red and two blue dresses (one drawing, resized and moved), a red hat, three busy
    scenes with no dominant colour; colours, category votes and text documents computed by
    the real pipeline and refresh. The red hat is created first: the lowest id, so text alone
    (every product matches "red" equally) ranks it first."""
    from catalog.models import Product
    from search.product_refresh import products_refresh

    settings.IMAGE_NEAR_DUPLICATE_COSINE = 1.01
    settings.IMAGE_BLUR_THRESHOLD = 0
    pictures = {
        "HAT-RED": ("Hats", hat(RED)),
        "DRESS-RED-1": ("Dresses", dress(RED, scale=0.9, dx=10)),
        "DRESS-BLUE-1": ("Dresses", dress(BLUE, scale=1.0, dx=-8)),
        "DRESS-RED-2": ("Dresses", dress(RED, scale=0.75, dy=30)),
        "DRESS-BLUE-2": ("Dresses", dress(BLUE, scale=0.8, dx=15, dy=20)),
        "SCENE-2": (None, scene(2)),
        "SCENE-5": (None, scene(5)),
        "SCENE-6": (None, scene(6)),
    }
    images = [
        stored_image(make_product(sku, category), jpeg(picture), f"{sku}.jpg")
        for sku, (category, picture) in pictures.items()
    ]
    product_images_process([image.pk for image in images])
    ids = {image.product.sku: image.product_id for image in images}
    # Until nothing is left dirty: a refresh that merges a product into its neighbours' similar
    # lists may leave those for another round (search.product_refresh).
    for _ in range(len(ids)):
        if not products_refresh(list(ids.values())):
            break
    assert dict(Product.objects.values_list("sku", "colours")) == {
        "HAT-RED": ["red"],
        "DRESS-RED-1": ["red"],
        "DRESS-RED-2": ["red", "pink"],
        "DRESS-BLUE-1": ["blue"],
        "DRESS-BLUE-2": ["blue"],
        "SCENE-2": ["purple", "yellow", "green"],
        "SCENE-5": ["green", "navy"],
        "SCENE-6": ["teal", "green", "grey"],
    }
    return ids


def skus(results, ids) -> list[str]:
    names = {pk: sku for sku, pk in ids.items()}
    return [names[hit.product_id] for hit in results.hits]


def blue_dress_photo() -> bytes:
    return jpeg(dress(BLUE, scale=0.95))


def test_a_dress_photo_with_red_puts_the_red_dresses_first_and_says_why(wardrobe):
    results = search_products(SearchRequest(image=blue_dress_photo(), text="red", limit=10))
    # The words narrow the photo's results: only the red ones are left (the photo alone finds
    # all 8), red dresses by likeness, then the red hat (matches but looks different).
    assert (results.mode, results.total) == ("hybrid", 3)
    assert skus(results, wardrobe) == ["DRESS-RED-1", "DRESS-RED-2", "HAT-RED"]
    for hit in results.hits:
        assert hit.matched_words == ("red",)
        assert hit.why == (f"looks similar ({hit.visual_similarity:.2f})", "matches “red”")
    assert all(hit.image_id is not None for hit in results.hits)
    assert results.hits[0].visual_similarity > results.hits[1].visual_similarity > 0.8
    assert [hit.score for hit in results.hits] == sorted((hit.score for hit in results.hits), reverse=True)
    # The words' facets, over every match.
    assert [(value.value, value.count) for value in results.facets.colour] == [("red", 3), ("pink", 1)]


def test_photo_alone_and_words_alone_rank_the_wardrobe_differently(wardrobe):
    photo = search_products(SearchRequest(image=blue_dress_photo(), limit=10))
    assert skus(photo, wardrobe)[:5] == ["DRESS-BLUE-1", "DRESS-BLUE-2", "DRESS-RED-1", "DRESS-RED-2", "HAT-RED"]
    words = search_products(SearchRequest(text="red", limit=10))
    assert skus(words, wardrobe) == ["HAT-RED", "DRESS-RED-1", "DRESS-RED-2"]  # equal matches: by id


def test_reciprocal_rank_fusion_stays_selectable(wardrobe, settings):
    settings.SEARCH_HYBRID_METHOD = "rrf"
    results = search_products(SearchRequest(image=blue_dress_photo(), text="red", limit=10))
    # Its weakness: the hat, first among equal text matches by id, beats the second red dress.
    assert skus(results, wardrobe) == ["DRESS-RED-1", "HAT-RED", "DRESS-RED-2"]
    assert results.total == 3
    # photo rank 1 (the photo is ranked among the words' matches only), text rank 2
    assert results.hits[0].score == pytest.approx(1 / 61 + 1 / 62)


def test_hybrid_results_page_and_leave_a_catalogue_images_own_product_out(wardrobe):
    everything = search_products(SearchRequest(image=blue_dress_photo(), text="red", limit=10))
    page = search_products(SearchRequest(image=blue_dress_photo(), text="red", limit=2, offset=1))
    assert [hit.product_id for hit in page.hits] == [hit.product_id for hit in everything.hits[1:3]]
    own = ProductImage.objects.get(product_id=wardrobe["DRESS-RED-1"])
    more_like = search_products(SearchRequest(image_id=own.pk, text="red", limit=10))
    assert skus(more_like, wardrobe) == ["DRESS-RED-2", "HAT-RED"]
    assert more_like.total == 2


def test_words_that_none_of_the_photos_products_match_leave_nothing(wardrobe):
    results = search_products(SearchRequest(image=blue_dress_photo(), text="lamp", limit=10))
    assert (results.mode, results.total, results.hits) == ("hybrid", 0, [])


def test_a_match_of_the_words_far_down_the_photos_ranking_is_still_found(wardrobe, settings, monkeypatch):
    # The photo alone read only 4 images (the dresses) and would not reach the red hat: with
    # words the photo is ranked among the words' matches, so the hat is found (after the dresses).
    settings.SEARCH_CANDIDATES = 1
    monkeypatch.setattr(knn, "CANDIDATES_PER_RESULT", 1)
    settings.SEARCH_HYBRID_PHOTO_CANDIDATES = 4
    photo_alone = search_products(SearchRequest(image=jpeg(dress(RED, scale=0.95)), limit=4))
    assert "HAT-RED" not in skus(photo_alone, wardrobe)
    results = search_products(SearchRequest(image=jpeg(dress(RED, scale=0.95)), text="red", limit=4))
    assert skus(results, wardrobe) == ["DRESS-RED-1", "DRESS-RED-2", "HAT-RED"]
    assert results.total == 3
    assert all(hit.image_id is not None and hit.matched_words == ("red",) for hit in results.hits)


def test_a_hybrid_search_costs_a_fixed_number_of_queries(wardrobe, django_assert_num_queries):
    search_products(SearchRequest(image=blue_dress_photo(), text="red"))  # loads the model session
    # active model; the words': resolve them, the page with total and facets; the photo's
    # neighbourhood (the vote): savepoint, HNSW options, candidates, release; the candidates
    # among the words' matches (few, so compared one by one: vision.knn._listed_products_candidates):
    # one query; active projection
    with django_assert_num_queries(9):
        search_products(SearchRequest(image=blue_dress_photo(), text="red", limit=20))


def test_the_share_of_words_counts_distinct_wanted_words():
    from search.hybrid import query_word_count

    assert query_word_count("red") == 1
    assert query_word_count("the Red red dress -blue") == 2  # stop words, repeats and exclusions left out
    assert query_word_count('"red dress" or skirt') == 3


def test_an_unknown_fusion_method_is_refused():
    from search.hybrid import fuse

    with pytest.raises(ValueError, match="^unknown hybrid method 'max': expected one of score, rrf$"):
        fuse([], [], method="max", words=1)
