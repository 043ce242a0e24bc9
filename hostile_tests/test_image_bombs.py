"""The image-bomb corpus (hostile_tests.image_bombs) at every entry point that takes a
shopper's picture: the shop's upload form and POST /api/v1/search/image (multipart, image_url,
a catalogue image id with a crop box). One check (search.photo_search.decode_shopper_photo)
answers all of them alike: the same pictures accepted, the same reasons for the rest, every
bomb refused before a pixel is decoded (bench/uploads.py measures time and memory).

Defaults in force: IMAGE_MAX_PIXELS 60,000,000, IMAGE_DECODE_MAX_MB 128, uploads <= 10 MB."""

import io
import re

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from catalog.models import ProductImage
from fixtures.factories import stored_image
from fixtures.photo_server import serving_photo
from hostile_tests.image_bombs import CORPUS, encoded

# slow: the module's corpus (every bomb built once) takes ~20 s before its first test.
pytestmark = [pytest.mark.django_db, pytest.mark.slow]

IMAGE_URL = "/api/v1/search/image"
TOO_LARGE_TO_DECODE = "too large to decode: {} needs {} MB, the limit is 128 MB"
NOT_AN_IMAGE = "not an image (content is not a recognised image format)"

# name: None (accepted; the stored copy's size) or (code, reason) — the same at every entry point.
EXPECTED = {
    "png 8-bit grey 7700x7700": (1024, 1024),
    "png palette 7700x7700": (1024, 1024),
    "png 16-bit grey 5800x5800": (1024, 1024),
    "png 16-bit RGB 4800x4800": (1024, 1024),
    "png RGBA 4800x4800": (1024, 1024),
    "png 16-bit RGBA 4800x4800": (1024, 1024),
    "gif 7700x7700": (1024, 1024),
    "webp 2800x2800": (1024, 1024),
    "avif RGBA 3400x3400": (1024, 1024),
    "jpeg 7700x7700": (1024, 1024),
    "png 16-bit grey 7700x7700 (issue 10)": ("too_large_to_decode", TOO_LARGE_TO_DECODE.format("7700x7700", 146)),
    "png 16-bit RGB 7700x7700": ("too_large_to_decode", TOO_LARGE_TO_DECODE.format("7700x7700", 259)),
    "png RGBA 7700x7700": ("too_large_to_decode", TOO_LARGE_TO_DECODE.format("7700x7700", 259)),
    "png 1-bit grey 20000x10000": (
        "too_many_pixels",
        "too many pixels: 200000000 pixels is over the 60000000-pixel limit",
    ),
    "png 8-bit grey 8000x8000": ("too_many_pixels", "too many pixels: 8000x8000 is over the 60000000-pixel limit"),
    "gif screen 65535x65535": (
        "too_many_pixels",
        "too many pixels: 4294836225 pixels is over the 60000000-pixel limit",
    ),
    "jpeg declaring 9000x9000": ("too_many_pixels", "too many pixels: 9000x9000 is over the 60000000-pixel limit"),
    "jpeg progressive 7700x7700": ("too_large_to_decode", TOO_LARGE_TO_DECODE.format("7700x7700", 354)),
    "webp 7700x7700": ("too_large_to_decode", TOO_LARGE_TO_DECODE.format("7700x7700", 905)),
    "avif RGBA 7700x7700": ("too_large_to_decode", TOO_LARGE_TO_DECODE.format("7700x7700", 622)),
    "tiff": ("unsupported", "unsupported image format TIFF"),
    "svg": ("undecodable", NOT_AN_IMAGE),
    "zero bytes": ("empty", "empty file"),
    "html named .jpg": ("undecodable", NOT_AN_IMAGE),
    "truncated jpeg": ("undecodable", "unreadable image (Truncated File Read)"),
    "png + php payload": (400, 300),
    "png + zip": (400, 300),
    "png with html text chunk": (400, 300),
    "gif named .jpg": (400, 300),
    "tiny 10x10": ("too_small", "10x10 is too small (short side under 64 px)"),
    "panorama 8000x60": ("too_small", "8000x60 is too small (short side under 64 px)"),
    "sliver 2000x100": ("too_narrow", "2000x100 is too narrow (long side over 16 times the short side)"),
    "exif turns 1100x64 upright to 64x1100": (
        "too_narrow",
        "64x1100 is too narrow (long side over 16 times the short side)",
    ),
    "exif turns 2000x60 upright to 60x2000": ("too_small", "60x2000 is too small (short side under 64 px)"),
}
# The API's status per refusal (api.errors); any other refusal is a 400.
API_STATUS = {"too_many_pixels": 413, "too_large_to_decode": 413, "unsupported": 415}
PAYLOADS = (b"<?php", b"PK\x03\x04", b"<script", b"<html")


@pytest.fixture(scope="module")
def corpus() -> dict[str, tuple[bytes, str]]:
    return {name: build() for name, build in CORPUS.items()}


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def unthrottled(settings):
    settings.API_THROTTLE_RATES = {}  # the whole corpus from one address, in one test


def accepted(expected) -> bool:
    return isinstance(expected[0], int)


def test_the_corpus_names_every_case():
    assert set(EXPECTED) == set(CORPUS)


@pytest.mark.parametrize("name", list(CORPUS))
def test_the_shops_upload_form(client, media, corpus, name):
    content, filename = corpus[name]
    response = client.post(
        "/search/photo/", {"photo": SimpleUploadedFile(filename, content, "image/jpeg")}, HTTP_ACCEPT="application/json"
    )
    expected = EXPECTED[name]
    if not accepted(expected):
        assert (response.status_code, response.json()) == (
            400,
            {"errors": [f"We could not use that photo: {expected[1]}."]},
        )
        return
    assert response.status_code == 200, response.json()
    token = re.fullmatch(r"/search/\?photo=([0-9a-f]{32})", response.json()["url"]).group(1)
    with default_storage.open(f"query-photos/{token}.jpg", "rb") as handle:
        stored = handle.read()
    # Kept only as a JPEG the shop encoded itself: whatever rode along with the picture is gone.
    assert (Image.open(io.BytesIO(stored)).format, Image.open(io.BytesIO(stored)).size) == ("JPEG", expected)
    assert [payload for payload in PAYLOADS if payload in stored] == []


def api_outcome(response) -> tuple:
    body = response.json()
    if response.status_code == 200:
        return 200, body["mode"], len(body["results"])
    return response.status_code, body["error"]["code"], body["error"]["message"]


def expected_api_outcome(expected) -> tuple:
    if accepted(expected):
        return 200, "photo", 5  # the five active products of the processed shop
    code, reason = expected
    return API_STATUS.get(code, 400), code, reason


def test_the_api_multipart_upload(client, processed_shop, unthrottled, corpus):  # noqa: F811
    # One test for the whole corpus: the shop with a model takes seconds to build.
    outcomes = {}
    for name, (content, filename) in corpus.items():
        response = client.post(IMAGE_URL, {"image": SimpleUploadedFile(filename, content, "image/jpeg")})
        outcomes[name] = api_outcome(response)
    assert outcomes == {name: expected_api_outcome(EXPECTED[name]) for name in CORPUS}


@pytest.mark.parametrize("name", ["tiny 10x10", "panorama 8000x60", "sliver 2000x100"])
def test_the_api_image_url_answers_as_the_form_does(client, processed_shop, settings, corpus, name):  # noqa: F811
    settings.SEARCH_IMAGE_URL_ALLOW_PRIVATE = True  # the photo server is on loopback
    with serving_photo("/photo", corpus[name][0]) as server:
        response = client.post(IMAGE_URL, {"image_url": f"{server}/photo"}, content_type="application/json")
    assert api_outcome(response) == expected_api_outcome(EXPECTED[name])


def test_a_bomb_behind_an_image_url_is_refused_before_decoding(client, processed_shop, settings, corpus):  # noqa: F811
    # The fetch applies the importer's check (catalog.url_fetch.checked_image), judged at the scale the
    # catalogue pipeline decodes at: same limit, a slightly larger reduced copy counted.
    settings.SEARCH_IMAGE_URL_ALLOW_PRIVATE = True
    with serving_photo("/bomb.png", corpus["png 16-bit grey 7700x7700 (issue 10)"][0]) as server:
        response = client.post(IMAGE_URL, {"image_url": f"{server}/bomb.png"}, content_type="application/json")
    assert api_outcome(response) == (
        400,
        "image_fetch_failed",
        "The image URL could not be used: " + TOO_LARGE_TO_DECODE.format("7700x7700", 149) + ".",
    )


def test_a_catalogue_image_searched_with_a_crop_box_gets_the_same_check(client, processed_shop):  # noqa: F811
    # Staff may upload a strip of a picture; a shopper cropping it is judged like an upload.
    product = processed_shop.products["D1"]
    strip = stored_image(product, encoded(Image.new("RGB", (2000, 100), (0, 90, 0)), "PNG"), "strip.png")
    ProductImage.objects.filter(pk=strip.pk).update(status=ProductImage.Status.READY)
    response = client.post(IMAGE_URL, {"image_id": strip.pk, "crop": "0,0,1000,100"}, content_type="application/json")
    assert api_outcome(response) == (400, "too_narrow", EXPECTED["sliver 2000x100"][1])
