import hashlib
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog import services
from catalog.models import Product, ProductImage
from catalog.services import ProductData
from fixtures.factories import mark_processed
from fixtures.images import image_bytes, scene, scene_bytes
from fixtures.shop import jpeg
from ranking.models import ShownResults
from search.product_search import SearchRequest, search_products
from search.query_photos import QUERY_PHOTO_DIR, query_photo_store
from storefront.forms import upload_too_large_message
from storefront.views.search_results import PHOTO_GONE
from tracking import services as tracking_services
from tracking.models import Event

pytestmark = pytest.mark.django_db

# Pinned costs of the results page, the same however many results it shows: the category
# tree (header navigation, facets, chips), the words and the page with total and facets
# (search.text.postgres), the hits' products with brand and category, and their images. The
# ranking (ranking.serving) adds none once its per-process caches are warm after the visitor's
# first search: the live ranker, the candidates' facts, the catalogue's rates and the visitor's
# profile are read again at most every RANKING_LIVE_CHECK_SECONDS / RANKING_FACTS_CACHE_SECONDS.
TEXT_PAGE_QUERIES = 5
# ... plus, per filter: the category tree or the brand id (api.selectors.product_filters)
# and the name the search describes it with.
FILTERED_TEXT_PAGE_QUERIES = 9
# A photo (after the first search, which loads the model): the active model; savepoint, HNSW
# options, candidates, release; the projection; the products and their images; the tree.
PHOTO_PAGE_QUERIES = 9


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path)
    return tmp_path


@pytest.fixture
def indexed_shop(shop):  # noqa: F811
    from search.text import index_products

    index_products([product.pk for product in shop.products.values()])
    return shop


@pytest.fixture
def indexed_processed_shop(processed_shop, media):  # noqa: F811
    from search.text import index_products

    index_products([product.pk for product in processed_shop.products.values()])
    return processed_shop


def page(response, status=200) -> str:
    assert response.status_code == status, response.content.decode()[:2000]
    assert [t.name for t in response.templates][0] == "storefront/search_results.html"
    return response.content.decode()


def card_titles(html: str) -> list[str]:
    return re.findall(r'<a class="product-card__link" href="[^"]+">([^<]+)</a>', html)


def upload(content: bytes, name: str = "photo.jpg", content_type: str = "image/jpeg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def stored_photos(media: Path) -> list[str]:
    folder = media / QUERY_PHOTO_DIR
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def token_of(response) -> str:
    assert response.status_code == 303, response.content.decode()[:2000]
    match = re.fullmatch(r"/search/\?(?:q=[^&]+&)?photo=([0-9a-f]{32})(?:&crop=[0-9,%C]+)?", response["Location"])
    assert match, response["Location"]
    return match.group(1)


# --- words ---------------------------------------------------------------------------------


def test_a_text_search_lists_the_matches_in_order_with_their_words(client, indexed_shop):
    html = page(client.get("/search/", {"q": "linen"}))
    expected = [
        Product.objects.get(pk=hit.product_id).title
        for hit in search_products(SearchRequest(text="linen", limit=24)).hits
    ]
    assert sorted(expected) == ["Linen wrap dress", "Striped linen shirt"]
    assert card_titles(html) == expected
    assert html.count('<li class="result-card__reason result-card__reason--words">Matches “linen”</li>') == 2
    assert "Looks similar" not in html
    assert "<title>“linen” · Search · VisualShop</title>" in html
    assert '<h1 class="page-header__title">Results for “linen”</h1>' in html
    assert '<p class="page-header__count">2 products</p>' in html
    assert 'id="search-page" data-search-page data-mode="text" data-total="2" data-page="1"' in html
    assert re.search(
        r'<ol class="product-grid search-results" start="1" data-search-id="[0-9a-f-]{36}" data-page="1">', html
    )
    # The header's box keeps the words.
    assert '<input class="header-search__input" id="site-search-q" type="search" name="q" value="linen"' in html


def test_the_page_shown_is_logged_for_the_ranker_under_the_search_id(
    client, indexed_shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        html = page(client.get("/search/", {"q": "linen"}))
    search_id = re.search(r'data-search-id="([0-9a-f-]{36})"', html).group(1)
    logged = ShownResults.objects.get()
    assert str(logged.search_id) == search_id
    assert (logged.ranker, logged.search_kind, logged.first_position) == ("default", "text", 1)
    assert logged.product_ids == [hit.product_id for hit in search_products(SearchRequest(text="linen", limit=24)).hits]
    assert Event.objects.get(kind="search").properties["ranker"] == "default"


def test_text_facets_are_links_that_narrow_the_results(client, indexed_shop):
    html = page(client.get("/search/", {"q": "linen"}))
    for facet, value, label, count in [
        ("category", "dresses", "Dresses", 1),
        ("category", "shirts", "Shirts", 1),
        ("brand", "lumen", "Lumen", 1),
        ("brand", "northwind", "Northwind", 1),
        ("price", "25-50", "25–50", 1),
        ("price", "50-100", "50–100", 1),
    ]:
        assert (
            f'<a class="facet__link" href="/search/?q=linen&amp;{facet}={value}" data-value="{value}">'
            f'<span class="facet__label">{label}</span><span class="facet__count">{count}'
            f'<span class="visually-hidden"> product</span></span></a>'
        ) in html
    assert '<a class="facet__link" href="/search/?q=linen&amp;in_stock=1">' in html
    narrowed = page(client.get("/search/", {"q": "linen", "price": "25-50"}))
    assert card_titles(narrowed) == ["Striped linen shirt"]
    # The chosen value links to the results without it.
    assert (
        '<a class="facet__link" href="/search/?q=linen" data-value="25-50" aria-current="true">'
        '<span class="facet__label">25–50</span>'
    ) in narrowed


def test_applied_filters_are_chips_each_removing_itself(client, indexed_shop):
    Product.objects.filter(pk__in=[indexed_shop.id("M1"), indexed_shop.id("M2")]).update(colours=["teal", "white"])
    html = page(
        client.get(
            "/search/",
            {
                "q": "mug",
                "category": "home",
                "brand": "pebble-home",
                "colour": ["teal", "white"],
                "price": "0-25",
                "in_stock": "1",
            },
        )
    )
    assert sorted(card_titles(html)) == ["Enamel mug", "Stoneware mug"]
    chips = re.findall(
        r'<a class="chip chip--removable" href="([^"]+)" data-filter="(\w+)" data-value="([^"]*)">'
        r"([^<]+)<span",
        html,
    )
    base = (
        "/search/?q=mug&amp;category=home&amp;brand=pebble-home&amp;colour=teal&amp;colour=white"
        "&amp;price=0-25&amp;in_stock=1"
    )
    assert chips == [
        (base.replace("&amp;category=home", ""), "category", "home", "Category: Home"),
        (base.replace("&amp;brand=pebble-home", ""), "brand", "pebble-home", "Brand: Pebble Home"),
        (base.replace("&amp;colour=teal", ""), "colour", "teal", "Colour: teal"),
        (base.replace("&amp;colour=white", ""), "colour", "white", "Colour: white"),
        (base.replace("&amp;price=0-25", ""), "price", "0-25", "Price: 0–25"),
        (base.replace("&amp;in_stock=1", ""), "in_stock", "1", "In stock only"),
    ]
    assert '<a class="applied-filters__clear" href="/search/?q=mug">Clear all filters</a>' in html


def test_no_results_suggest_removing_filters(client, indexed_shop):
    html = page(client.get("/search/", {"q": "mug", "category": "dresses"}))
    assert card_titles(html) == []
    assert '<p class="search-empty__title">No products match “mug” with these filters.</p>' in html
    assert '<li><a class="chip" href="/search/?q=mug">Remove Category: Dresses</a></li>' in html
    assert '<p class="page-header__count">0 products</p>' in html


def test_no_results_without_filters_suggest_other_words_or_a_photo(client, indexed_shop):
    html = page(client.get("/search/", {"q": "submarine"}))
    assert '<p class="search-empty__title">No products match “submarine”.</p>' in html
    assert "<p>Check the spelling, try fewer or more general words, or search with a photo.</p>" in html
    assert "Try removing a filter" not in html
    # Not a dead end: the categories shoppers can see products in, most specific first.
    browse = html[
        html.index("<p>Or browse the shop:</p>") : html.index("</ul>", html.index("<p>Or browse the shop:</p>"))
    ]
    assert re.findall(r'<a class="chip" href="([^"]+)">([^<]+)</a>', browse) == [
        ("/c/dresses/", "Dresses"),
        ("/c/shirts/", "Shirts"),
        ("/c/mugs/", "Mugs"),
    ]


def test_words_that_find_nothing_together_offer_the_ones_that_find_something(client, indexed_shop):
    html = page(client.get("/search/", {"q": "linen submarine", "in_stock": "1"}))
    assert '<p class="search-empty__title">No products match “linen submarine” with these filters.</p>' in html
    assert (
        '<p class="search-empty__did-you-mean" id="search-did-you-mean">Did you mean '
        '<a href="/search/?q=linen&amp;in_stock=1">linen</a>?</p>'
    ) in html
    assert "search-did-you-mean" not in page(client.get("/search/", {"q": "submarine"}))  # one word: categories


def test_a_corrected_typo_is_shown_with_what_was_typed(client, indexed_shop):
    html = page(client.get("/search/", {"q": "linn"}))
    assert (
        '<p class="page-header__lead" id="search-corrections">Showing results for “linen” (you typed “linn”).</p>'
    ) in html
    assert card_titles(html) == ["Striped linen shirt", "Linen wrap dress"]
    assert "search-corrections" not in page(client.get("/search/", {"q": "linen"}))


def test_a_colour_word_is_searched_as_the_shops_colour_name_and_the_page_says_so(client, indexed_shop):
    html = page(client.get("/search/", {"q": "burgundy"}))
    assert (
        '<p class="page-header__lead" id="search-colour-words">“burgundy” searched as our colour red '
        "(we name colours from the photos).</p>"
    ) in html
    assert "search-colour-words" not in page(client.get("/search/", {"q": "red"}))


def test_an_empty_search_offers_words_and_a_photo(client, indexed_shop):
    html = page(client.get("/search/"))
    assert '<p class="search-empty__title">Search by words or with a photo.</p>' in html
    assert '<label class="search-start__label" for="search-page-q">What are you looking for?</label>' in html
    assert (
        '<form class="photo-upload" id="search-photo-form" action="/search/photo/" method="post" '
        'enctype="multipart/form-data" data-photo-search-form>'
    ) in html
    assert "<title>Search · VisualShop</title>" in html
    assert 'data-mode="" data-total="0"' in html


@pytest.fixture
def many_mugs(db):
    mugs = services.category_get_or_create_path(["Home", "Mugs"])
    for n in range(30):
        mug, _ = services.product_upsert(
            ProductData(sku=f"MUG{n:02}", title=f"Mug number {n:02}", price=Decimal("10.00"), stock=1, category=mugs)
        )
        mark_processed(ProductImage.objects.create(product=mug, file=f"products/mug{n:02}.jpg"))  # shown in the shop
    from search.text import index_products

    index_products(list(Product.objects.values_list("pk", flat=True)))


def test_results_are_paged_24_at_a_time(client, many_mugs):
    first = page(client.get("/search/", {"q": "mug"}))
    second = page(client.get("/search/", {"q": "mug", "page": "2"}))
    assert (len(card_titles(first)), len(card_titles(second))) == (24, 6)
    assert set(card_titles(first)).isdisjoint(card_titles(second))
    assert '<a class="pagination__step" href="/search/?q=mug&amp;page=2" rel="next">Next ›</a>' in first
    assert '<a href="/search/?q=mug" aria-current="page" aria-label="Page 1">1</a>' in first
    assert '<p class="pagination__status">Page 1 of 2</p>' in first
    assert '<a class="pagination__step" href="/search/?q=mug" rel="prev">‹ Previous</a>' in second
    assert re.search(
        r'<ol class="product-grid search-results" start="25" data-search-id="[0-9a-f-]{36}" data-page="2">', second
    )
    assert "<title>“mug” · Search · page 2 · VisualShop</title>" in second
    # A bad page number is the first page; one past the end says so.
    assert card_titles(page(client.get("/search/", {"q": "mug", "page": "x"}))) == card_titles(first)
    beyond = page(client.get("/search/", {"q": "mug", "page": "3"}))
    assert '<p class="search-empty__title">No more results on page 3.</p>' in beyond
    assert '<a href="/search/?q=mug">Back to the first page</a>' in beyond


def test_the_text_results_page_costs_a_fixed_number_of_queries(
    client, indexed_shop, many_mugs, ranking_caches, django_assert_num_queries
):
    for words in ("polka", "mug"):
        client.get("/search/", {"q": words})  # fills the ranking's caches
    with django_assert_num_queries(TEXT_PAGE_QUERIES):
        assert len(card_titles(page(client.get("/search/", {"q": "polka"})))) == 1
    with django_assert_num_queries(TEXT_PAGE_QUERIES):
        assert len(card_titles(page(client.get("/search/", {"q": "mug"})))) == 24
    with django_assert_num_queries(FILTERED_TEXT_PAGE_QUERIES):
        html = page(client.get("/search/", {"q": "mug", "category": "home", "brand": "pebble-home"}))
    assert len(card_titles(html)) == 2


# --- bad query strings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params, message, clean_url",
    [
        ({"q": "mug", "category": "nope"}, "No category with the slug &#x27;nope&#x27;.", "/search/?q=mug"),
        ({"q": "mug", "brand": "nope"}, "No brand with the slug &#x27;nope&#x27;.", "/search/?q=mug"),
        ({"q": "mug", "colour": "mauve"}, "There is no colour “mauve”.", "/search/?q=mug"),
        ({"q": "mug", "price": "1-2"}, "There is no price range “1-2”.", "/search/?q=mug"),
        (
            {"q": "mug", "photo": "../../etc/passwd"},
            "That photo link is not valid; upload the photo again.",
            "/search/?q=mug",
        ),
        ({"q": "mug", "crop": "1,2,3,4"}, "A crop box needs a photo.", "/search/?q=mug"),
        (
            {"q": "mug", "crop": "1,2,3"},
            "The crop box must be four whole numbers: left,top,right,bottom.",
            "/search/?q=mug",
        ),
    ],
)
def test_bad_parameters_give_a_message_and_a_way_out(client, indexed_shop, params, message, clean_url):
    html = page(client.get("/search/", params), status=400)
    assert f'<div class="search-alert" role="alert">\n    <p>{message}</p>' in html
    assert f'<p><a href="{clean_url}">Search without it</a></p>' in html
    assert card_titles(html) == []


# --- photos ----------------------------------------------------------------------------------


def test_an_uploaded_photo_redirects_to_its_results_with_the_same_scene_first(client, processed_shop, media):  # noqa: F811
    response = client.post("/search/photo/", {"photo": upload(jpeg(scene(3).resize((480, 600))))})
    token = token_of(response)
    assert response["Location"] == f"/search/?photo={token}"
    stored = media / QUERY_PHOTO_DIR / f"{token}.jpg"
    assert hashlib.sha256(stored.read_bytes()).hexdigest()[:32] == token
    html = page(client.get(response["Location"]))
    titles = card_titles(html)
    assert titles[0] == "Striped linen shirt"
    assert sorted(titles) == sorted(p.title for p in processed_shop.products.values() if p.is_active)
    similarity = re.findall(
        r'<li class="result-card__reason result-card__reason--photo">Looks similar \((\d+)%\)</li>', html
    )
    assert len(similarity) == 5 and int(similarity[0]) >= 95
    # The percents agree with the order (each is the hit's share of the highest possible score).
    assert [int(s) for s in similarity] == sorted((int(s) for s in similarity), reverse=True)
    assert '<h1 class="page-header__title">Products like your photo</h1>' in html
    assert (
        f'<section class="query-photo" id="search-query-photo" aria-labelledby="query-photo-title" '
        f'data-photo-token="{token}" data-photo-url="/search/photo/{token}.jpg" data-photo-width="480" '
        f'data-photo-height="600" data-crop="">'
    ) in html
    assert (
        f'<img class="query-photo__image" src="/search/photo/{token}.jpg" width="480" height="600" alt="Your photo">'
    ) in html
    # Refine with words: a GET form keeping the photo.
    assert f'<input type="hidden" name="photo" id="search-refine-photo" value="{token}">' in html
    assert '<label class="refine__label" for="search-refine-q">Refine with words</label>' in html


def test_a_photo_with_no_close_match_says_so_and_offers_its_nearest_categories_and_words(
    client,
    processed_shop,
    media,  # noqa: F811
    settings,
):
    token = query_photo_store(scene_bytes(3)).token
    settings.SEARCH_NO_CLOSE_MATCH_COSINE = -1.0  # every photo is close enough
    close = page(client.get("/search/", {"photo": token}))
    assert "search-no-close-match" not in close
    settings.SEARCH_NO_CLOSE_MATCH_COSINE = 2.0  # above any cosine: nothing is close
    html = page(client.get("/search/", {"photo": token}))
    titles = card_titles(html)
    assert titles == card_titles(close)  # the nearest results stay, after the notice
    assert html.index('id="search-no-close-match"') < html.index('class="product-grid search-results"')
    assert '<p class="search-notice__title">No close match</p>' in html
    notice = html[
        html.index('id="search-no-close-match"') : html.index("</form>", html.index('id="search-no-close-match"'))
    ]
    chips = re.findall(r'<li><a class="chip" href="([^"]+)">([^<]+)</a></li>', notice)
    # The five results' categories, most frequent first, ties in the order first shown.
    assert titles == ["Striped linen shirt", "Stoneware mug", "Enamel mug", "Polka-dot midi dress", "Linen wrap dress"]
    assert chips == [("/c/mugs/", "Mugs"), ("/c/dresses/", "Dresses"), ("/c/shirts/", "Shirts")]
    assert '<input class="search-input" id="search-no-match-q" type="search" name="q"' in notice
    assert 'action="/search/" method="get" role="search" aria-label="Search by words instead"' in notice


def test_photo_results_show_their_derivatives_with_a_srcset(client, processed_shop, media):  # noqa: F811
    token = query_photo_store(scene_bytes(4)).token
    html = page(client.get("/search/", {"photo": token}))
    image = processed_shop.images["M1"]  # 320x400: thumbnail 256x320, display its full 320x400
    assert (
        f'<img class="product-card__image" src="{image.thumbnail.url}" srcset="{image.thumbnail.url} 256w, '
        f'{image.display.url} 320w" sizes="(min-width: 1240px) 260px, (min-width: 1024px) 22vw, '
        f'(min-width: 700px) 30vw, 50vw" width="256" height="320" loading="lazy" decoding="async" '
        f'alt="Stoneware mug">'
    ) in html


def test_photo_only_results_offer_category_and_colour_filters(client, processed_shop, media):  # noqa: F811
    token = query_photo_store(scene_bytes(1)).token
    html = page(client.get("/search/", {"photo": token}))
    assert f'<a class="facet__link" href="/search/?photo={token}&amp;category=clothing" data-value="clothing">' in html
    assert f'<a class="facet__link" href="/search/?photo={token}&amp;category=dresses" data-value="dresses">' in html
    assert (
        f'<a class="facet__link" href="/search/?photo={token}&amp;colour=red" data-value="red">'
        '<span class="swatch" data-colour="red" aria-hidden="true"></span><span class="facet__label">red</span></a>'
    ) in html
    narrowed = page(client.get("/search/", {"photo": token, "category": "dresses"}))
    assert sorted(card_titles(narrowed)) == ["Linen wrap dress", "Polka-dot midi dress"]
    assert (
        f'<a class="chip chip--removable" href="/search/?photo={token}" data-filter="category" '
        f'data-value="dresses">Category: Dresses<span'
    ) in narrowed


def test_a_photo_with_words_is_a_hybrid_search(client, indexed_processed_shop):
    response = client.post("/search/photo/", {"photo": upload(scene_bytes(5)), "q": "enamel"})
    token = token_of(response)
    assert response["Location"] == f"/search/?q=enamel&photo={token}"
    html = page(client.get(response["Location"]))
    assert card_titles(html)[0] == "Enamel mug"
    first_card = html.split('<article class="product-card result-card"')[1]
    assert re.search(
        r'<li class="result-card__reason result-card__reason--photo">Match \(100%\)</li>\s*'
        r'<li class="result-card__reason result-card__reason--words">Matches “enamel”</li>',
        first_card,
    )
    assert '<h1 class="page-header__title">Like your photo, matching “enamel”</h1>' in html
    assert 'data-mode="hybrid"' in html
    assert f'<a href="/search/?photo={token}">Search by the photo only</a>' in html
    assert '<a href="/search/?q=enamel">Search by the words only</a>' in html


def test_refining_photo_results_with_words_keeps_the_photo_and_filters(client, indexed_processed_shop):
    token = query_photo_store(scene_bytes(3)).token
    html = page(client.get("/search/", {"photo": token, "category": "clothing"}))
    assert '<input type="hidden" name="category" value="clothing">' in html
    refined = page(client.get("/search/", {"photo": token, "crop": "", "category": "clothing", "q": "linen"}))
    assert 'data-mode="hybrid"' in refined
    assert card_titles(refined)[0] == "Striped linen shirt"
    assert set(card_titles(refined)) <= {"Striped linen shirt", "Linen wrap dress", "Polka-dot midi dress"}


def test_a_crop_box_on_upload_is_scaled_to_the_stored_photo(client, processed_shop, media):  # noqa: F811
    street = Image.new("RGB", (2000, 1600), (30, 30, 30))
    street.paste(scene(4).resize((640, 800)), (1000, 600))  # M1's picture in a corner
    response = client.post(
        "/search/photo/",
        {
            "photo": upload(jpeg(street)),
            "crop_left": "1000",
            "crop_top": "600",
            "crop_right": "1640",
            "crop_bottom": "1400",
        },
    )
    token = token_of(response)
    assert response["Location"] == f"/search/?photo={token}&crop=512%2C307%2C840%2C717"
    html = page(client.get(response["Location"]))
    assert card_titles(html)[0] == "Stoneware mug"
    assert 'data-crop="512,307,840,717"' in html
    assert 'alt="Your photo (searching the part you marked)"' in html


def test_a_crop_box_too_small_gives_a_message(client, processed_shop, media):  # noqa: F811
    token = query_photo_store(scene_bytes(4)).token
    html = page(client.get("/search/", {"photo": token, "crop": "0,0,10,10"}), status=400)
    assert (
        '<div class="search-alert" id="search-photo-problem" role="alert"><p>We could not use that photo: crop box '
        '0,0,10,10 leaves less than 32x32 pixels of a 320x400 image.</p><p><a href="/search/?photo='
        f'{token}">Search without the crop</a></p></div>'
    ) in html


def test_an_unknown_photo_token_says_so(client, indexed_shop, media):
    html = page(client.get("/search/", {"photo": "0" * 32}), status=404)
    assert f'<div class="search-alert" id="search-photo-problem" role="alert"><p>{PHOTO_GONE}</p>' in html
    assert card_titles(html) == []
    # With words, the words are still searched.
    html = page(client.get("/search/", {"photo": "0" * 32, "q": "linen"}))
    assert PHOTO_GONE in html
    assert sorted(card_titles(html)) == ["Linen wrap dress", "Striped linen shirt"]


def test_photo_search_before_any_image_is_processed_says_it_is_unavailable(client, indexed_shop, media):
    token = query_photo_store(scene_bytes(1)).token
    html = page(client.get("/search/", {"photo": token}), status=503)
    assert "Search by photo is not available yet. Try searching with words." in html


def test_the_photo_results_page_costs_a_fixed_number_of_queries(
    client,
    processed_shop,
    media,  # noqa: F811
    ranking_caches,
    django_assert_num_queries,
):
    token = query_photo_store(scene_bytes(2)).token
    client.get("/search/", {"photo": token})  # loads the model session
    with django_assert_num_queries(PHOTO_PAGE_QUERIES):
        assert len(card_titles(page(client.get("/search/", {"photo": token})))) == 5


# --- bad uploads -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "photo, message",
    [
        (upload(b""), "We could not use that photo: empty file."),
        (
            upload(b"%PDF-1.4 not a picture", "photo.pdf", "application/pdf"),
            "We could not use that photo: not an image (content is not a recognised image format).",
        ),
        (
            upload(image_bytes((50, 300)), "tiny.png", "image/png"),
            "We could not use that photo: 50x300 is too small (short side under 64 px).",
        ),
        (upload(b"x" * 1001), "The photo is 1001 bytes; the limit is 1000 bytes. Try a smaller photo or a screenshot."),
        (None, "Choose a photo to search with."),
    ],
)
def test_a_bad_upload_renders_the_page_with_a_message_beside_the_control(
    client, indexed_shop, media, settings, photo, message
):
    settings.API_MAX_UPLOAD_BYTES = 1000 if message.startswith("The photo is") else 10 * 1024 * 1024
    data = {"q": "red dress"}
    if photo is not None:
        data["photo"] = photo
    html = page(client.post("/search/photo/", data), status=400)
    assert (f'<div class="field-error" id="search-photo-error" role="alert"><p>{message}</p></div>') in html
    assert (
        '<input class="photo-upload__file" id="search-photo-input" type="file" name="photo" accept="image/*" '
        'required aria-describedby="search-photo-hint search-photo-error" aria-invalid="true" '
        "data-photo-search-input>"
    ) in html
    assert '<input class="search-input" id="search-photo-q" type="text" name="q" value="red dress"' in html
    assert stored_photos(media) == []


def test_an_oversized_upload_is_refused_before_its_body_is_read(client, indexed_shop, media, settings):
    settings.API_MAX_UPLOAD_BYTES = 1000
    response = client.post("/search/photo/", {"photo": upload(b"x" * 100_000)})
    length = int(response.wsgi_request.META["CONTENT_LENGTH"])
    html = page(response, status=400)
    assert f"<p>{upload_too_large_message(length)}</p>" in html
    assert upload_too_large_message(length).startswith("The upload is 98 KB; the limit is 1000 bytes.")
    assert stored_photos(media) == []


class _UnreadableBody:
    """A wsgi.input that fails the test if anything reads it."""

    def read(self, *args, **kwargs):
        raise AssertionError("the upload's body was read")

    readline = read


@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_an_oversized_upload_is_refused_on_its_content_length_alone(db, settings, accept):
    from django.test import RequestFactory

    from storefront.views.search_results import photo_upload

    settings.API_MAX_UPLOAD_BYTES = 1000
    length = 50 * 1024 * 1024
    request = RequestFactory().generic(
        "POST",
        "/search/photo/",
        CONTENT_TYPE="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(length),
        HTTP_ACCEPT=accept,
        **{"wsgi.input": _UnreadableBody()},
    )
    response = photo_upload(request)
    assert response.status_code == 400
    if accept == "application/json":
        assert json.loads(response.content) == {"errors": [upload_too_large_message(length)]}
    else:
        assert f"<p>{upload_too_large_message(length)}</p>" in response.content.decode()


def test_an_oversized_upload_is_refused_before_the_csrf_check_reads_its_body(indexed_shop, settings):
    from django.test import Client

    settings.API_MAX_UPLOAD_BYTES = 1000
    length = 50 * 1024 * 1024
    browser = Client(enforce_csrf_checks=True)
    browser.cookies[settings.CSRF_COOKIE_NAME] = "a" * 32  # a cookie, so the check would go on to request.POST
    response = browser.generic(  # through the middleware, CsrfViewMiddleware too
        "POST",
        "/search/photo/",
        content_type="multipart/form-data; boundary=x",
        CONTENT_LENGTH=str(length),
        HTTP_ACCEPT="application/json",
        **{"wsgi.input": _UnreadableBody()},
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [upload_too_large_message(length)]}


def test_an_upload_without_a_csrf_token_is_refused(indexed_processed_shop, media):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post("/search/photo/", {"photo": upload(scene_bytes(2))})
    assert response.status_code == 403
    assert stored_photos(media) == []


def test_a_bad_crop_on_upload_is_a_message(client, indexed_shop, media):
    html = page(client.post("/search/photo/", {"photo": upload(scene_bytes(1)), "crop_left": "5"}), status=400)
    assert "<p>The crop box needs all four of left, top, right and bottom.</p>" in html
    assert stored_photos(media) == []


def test_get_on_the_upload_url_goes_to_the_search_page(client, db):
    response = client.get("/search/photo/")
    assert (response.status_code, response["Location"]) == (302, "/search/")


# --- the header ------------------------------------------------------------------------------


def test_every_page_has_a_labelled_word_search_and_photo_search_in_the_header(client, indexed_shop, settings):
    response = client.get("/")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<link rel="stylesheet" href="/static/css/search.css">' in html
    assert (
        '<form class="header-search__text" action="/search/" method="get" role="search" '
        'aria-label="Search products by words">'
    ) in html
    assert '<label class="visually-hidden" for="site-search-q">Search products</label>' in html
    assert (
        '<form class="header-search__photo" id="site-photo-search" action="/search/photo/" method="post" '
        'enctype="multipart/form-data" aria-label="Search by photo" data-photo-search-form '
        f'data-max-upload-bytes="{settings.API_MAX_UPLOAD_BYTES}">'
    ) in html
    assert '<label class="header-search__photo-label" for="site-photo-search-file">' in html
    assert (
        '<input class="header-search__file" id="site-photo-search-file" type="file" name="photo" '
        'accept="image/*" required data-photo-search-input>'
    ) in html
    assert (
        '<button class="header-search__button header-search__button--photo" type="submit">Find similar</button>'
    ) in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_header_photo_form_works_with_csrf_checks(indexed_processed_shop):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    html = browser.get("/").content.decode()
    csrf = re.search(
        r'<form class="header-search__photo".*?name="csrfmiddlewaretoken" value="([^"]+)"', html, re.S
    ).group(1)
    response = browser.post("/search/photo/", {"csrfmiddlewaretoken": csrf, "photo": upload(scene_bytes(2))})
    assert response.status_code == 303


# --- the photo widget (static/js/photo-search.js) ----------------------------------------------


def test_every_page_loads_the_photo_widget_once_and_deferred(client, indexed_shop):
    product = indexed_shop.products["M1"]
    for url in ("/", "/search/", product.get_absolute_url()):
        html = client.get(url).content.decode()
        assert html.count('<script src="/static/js/photo-search.js" defer></script>') == 1, url


def test_the_search_page_gives_the_widget_the_upload_limit(client, indexed_shop, settings):
    settings.API_MAX_UPLOAD_BYTES = 123456
    html = page(client.get("/search/"))
    assert (
        '<div class="container search-page" id="search-page" data-search-page data-mode="" data-total="0" '
        'data-page="1" data-max-upload-bytes="123456">'
    ) in html


def test_every_pages_header_photo_form_gives_the_widget_the_upload_limit(client, indexed_shop, settings):
    settings.API_MAX_UPLOAD_BYTES = 123456
    product = indexed_shop.products["M1"]
    for url in ("/", "/search/", product.get_absolute_url(), "/cart/"):
        html = client.get(url).content.decode()
        assert html.count('data-photo-search-form data-max-upload-bytes="123456">') == 1, url


def test_the_widget_uploads_for_json_and_gets_the_results_url(client, processed_shop, media):  # noqa: F811
    street = Image.new("RGB", (2000, 1600), (30, 30, 30))
    street.paste(scene(4).resize((640, 800)), (1000, 600))
    response = client.post(
        "/search/photo/",
        {"photo": upload(jpeg(street)), "q": "mug", "crop": "1000,600,1640,1400"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    url = response.json()["url"]
    token = re.fullmatch(r"/search/\?q=mug&photo=([0-9a-f]{32})&crop=512%2C307%2C840%2C717", url).group(1)
    assert stored_photos(media) == [f"{token}.jpg"]


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"photo": upload(b"garbage", "photo.jpg")},
            "We could not use that photo: not an image (content is not a recognised image format).",
        ),
        (
            {"photo": upload(b"x" * 1001)},
            "The photo is 1001 bytes; the limit is 1000 bytes. Try a smaller photo or a screenshot.",
        ),
        (
            {"photo": upload(scene_bytes(1)), "crop": "5,5,1,1"},
            "The crop box must have its right edge after its left and its bottom below its top.",
        ),
        ({}, "Choose a photo to search with."),
    ],
)
def test_a_bad_upload_for_json_is_its_messages(client, indexed_shop, media, settings, data, message):
    settings.API_MAX_UPLOAD_BYTES = 1000 if message.startswith("The photo is") else 10 * 1024 * 1024
    response = client.post("/search/photo/", data, HTTP_ACCEPT="application/json")
    assert (response.status_code, response["Content-Type"]) == (400, "application/json")
    assert response.json() == {"errors": [message]}
    assert stored_photos(media) == []


def test_an_oversized_upload_for_json_is_refused_before_its_body_is_read(client, indexed_shop, media, settings):
    settings.API_MAX_UPLOAD_BYTES = 1000
    response = client.post("/search/photo/", {"photo": upload(b"x" * 100_000)}, HTTP_ACCEPT="application/json")
    length = int(response.wsgi_request.META["CONTENT_LENGTH"])
    assert response.status_code == 400
    assert response.json() == {"errors": [upload_too_large_message(length)]}


def test_the_query_photo_shows_its_crop_box_and_offers_the_whole_photo(client, processed_shop, media):  # noqa: F811
    token = query_photo_store(scene_bytes(4)).token  # stored at 320x400
    response = client.get("/search/", {"photo": token, "crop": "32,40,288,240", "q": "mug", "colour": "red"})
    html = page(response)
    # The photo's size and the crop mark: a <style> block with the response's CSP nonce (no style
    # attributes under the Content-Security-Policy, visualshop/settings/csp.py).
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    assert (
        f'<style nonce="{nonce}">#search-query-stage {{ --w: 320; --h: 400; }}\n'
        "#search-query-stage [data-crop-mark] { left: 10.00%; top: 10.00%; width: 80.00%; height: 50.00%; }"
        "</style>"
    ) in html
    assert '<div class="crop-stage query-photo__stage" id="search-query-stage">' in html
    assert '<span class="crop-stage__mark" data-crop-mark aria-hidden="true"></span>' in html
    assert (
        f'<a class="query-photo__whole" id="search-crop-whole" href="/search/?q=mug&amp;photo={token}&amp;'
        'colour=red">Search the whole photo</a>'
    ) in html
    assert (
        '<button class="button button--primary query-photo__apply" type="button" id="search-crop-apply" hidden '
        "disabled>Search this area</button>"
    ) in html
    assert '<p class="query-photo__status" id="search-crop-status" role="status" aria-live="polite"></p>' in html
    # The refine form keeps photo, crop and the filters; the chips keep photo, crop and words.
    assert '<input type="hidden" name="crop" id="search-refine-crop" value="32,40,288,240">' in html
    assert '<input type="hidden" name="colour" value="red">' in html
    assert (
        f'<a class="chip chip--removable" href="/search/?q=mug&amp;photo={token}&amp;crop=32%2C40%2C288%2C240" '
        'data-filter="colour" data-value="red">'
    ) in html


def test_the_query_photo_without_a_crop_has_no_mark_and_no_whole_photo_link(client, processed_shop, media):  # noqa: F811
    token = query_photo_store(scene_bytes(4)).token
    html = page(client.get("/search/", {"photo": token}))
    assert 'id="search-query-stage"' in html
    assert "data-crop-mark" not in html and "search-crop-whole" not in html


def test_a_match_percent_is_the_hits_share_of_the_highest_possible_score():
    from storefront.views.search_results import match_percent

    assert [match_percent(score, 2.0) for score in (2.0, 1.9, 1.234, 0.03, -0.5, 2.5)] == [100, 95, 62, 2, 0, 100]
    assert match_percent(0.9, None) is None


# -- tracking ---------------------------------------------------------------------------------


def test_a_search_is_recorded_once_with_what_was_asked_and_found(
    client, indexed_shop, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get("/search/", {"q": "linen", "brand": "northwind"})
    html = page(response)
    search = Event.objects.get()
    assert re.search(f'data-search-id="{search.search_id}"', html)
    assert (search.kind, search.visitor_id, search.user_id) == ("search", response.wsgi_request.visitor_id, None)
    latency = search.properties.pop("latency_ms")
    assert 0 < latency < 10_000
    assert search.properties == {
        "search_kind": "text",
        "words": "linen",
        "filters": {"brand": ["northwind"]},
        "page": 1,
        "result_count": 1,
        "zero_results": False,
        "ranker": "default",
        "variants": {},
    }


def test_a_search_under_do_not_track_records_nothing(client, indexed_shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        html = page(client.get("/search/", {"q": "linen"}, HTTP_DNT="1"))
    assert Event.objects.count() == 0 and "data-search-id" not in html


def test_a_search_still_answers_when_tracking_cannot_write(
    client, indexed_shop, django_capture_on_commit_callbacks, monkeypatch
):
    def refused(events):
        raise RuntimeError("tracking database down")

    monkeypatch.setattr(tracking_services, "events_record", refused)
    with django_capture_on_commit_callbacks(execute=True):
        html = page(client.get("/search/", {"q": "linen"}))
    assert card_titles(html) and 'data-search-id="' in html


def test_each_result_links_with_its_search_and_position(client, indexed_shop, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        html = page(client.get("/search/", {"q": "linen"}))
    search = Event.objects.get()
    links = re.findall(r'<a class="product-card__link" href="([^"]+)">', html)
    assert [link.split("?", 1)[1] for link in links] == [f"sid={search.search_id}&amp;pos={n}" for n in (1, 2)]


@pytest.mark.parametrize(
    "photo, outcome",
    [
        (lambda: upload(jpeg(scene(3).resize((480, 600)))), {"accepted": True, "rejection_code": ""}),
        (lambda: upload(b"not a picture"), {"accepted": False, "rejection_code": "undecodable"}),
    ],
)
def test_a_photo_upload_is_recorded_with_its_outcome_and_never_the_picture(
    client,
    processed_shop,
    media,  # noqa: F811
    photo,
    outcome,
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/search/photo/", {"photo": photo()})
    recorded = Event.objects.get()
    assert (recorded.kind, recorded.properties, recorded.search_id, recorded.product_id) == (
        "photo_upload",
        outcome,
        None,
        None,
    )
