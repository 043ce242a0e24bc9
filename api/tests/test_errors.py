"""Every error the API gives, with its exact status and body."""

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIRequestFactory

from api.errors import exception_handler
from catalog.models import ProductImage
from fixtures.images import scene_bytes

pytestmark = pytest.mark.django_db

IMAGE_URL = "/api/v1/search/image"


def error(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, **({"details": details} if details else {})}}


def upload(content: bytes, content_type: str = "image/jpeg", name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=content_type)


def tiff() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), (10, 20, 30)).save(buffer, "TIFF")
    return buffer.getvalue()


def assert_error(response, status: int, body: dict) -> None:
    assert (response.status_code, response["Content-Type"], response.json()) == (status, "application/json", body)


# --- 400 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "extra", "body"),
    [
        (b"", {}, error("empty", "empty file")),
        (b"<html>", {}, error("undecodable", "not an image (content is not a recognised image format)")),
        (
            scene_bytes(1),
            {"crop": "0,0,20,500"},
            error("bad_crop", "crop box 0,0,20,500 leaves less than 32x32 pixels of a 320x400 image"),
        ),
    ],
)
def test_unusable_photos_are_400_with_the_reason(client, processed_shop, content, extra, body):
    assert_error(client.post(IMAGE_URL, {"image": upload(content), **extra}), 400, body)


@pytest.mark.parametrize(
    ("data", "details"),
    [
        ({"limit": "0"}, {"limit": ["Ensure this value is greater than or equal to 1."]}),
        ({"limit": "101"}, {"limit": ["Ensure this value is less than or equal to 100."]}),
        ({"offset": "-1"}, {"offset": ["Ensure this value is greater than or equal to 0."]}),
        ({"crop": "1,2,3"}, {"crop": ["Expected four whole numbers 'left,top,right,bottom'."]}),
        ({"crop": "10,10,5,50"}, {"crop": ["right must be greater than left and bottom greater than top."]}),
        (
            {"crop": "0,0,50,50", "crop_left": "0"},
            {"crop": ["Give either crop or crop_left/top/right/bottom, not both."]},
        ),
        (
            {"crop_left": "0", "crop_top": "0"},
            {
                "crop_right": ["Required with the other crop sides."],
                "crop_bottom": ["Required with the other crop sides."],
            },
        ),
        ({"price_min": "50", "price_max": "10"}, {"price_max": ["Must not be lower than price_min."]}),
        ({"price_min": "cheap"}, {"price_min": ["A valid number is required."]}),
        ({"in_stock": "perhaps"}, {"in_stock": ["Must be a valid boolean."]}),
        ({"category": "no-such-thing"}, {"category": ["No category with the slug 'no-such-thing'."]}),
        ({"brand": "nobody"}, {"brand": ["No brand with the slug 'nobody'."]}),
    ],
)
def test_invalid_parameters_are_400_with_details_per_field(client, shop, data, details):
    response = client.post(IMAGE_URL, {"image": upload(scene_bytes(1)), **data})
    summary = "; ".join(f"{field}: {messages[0]}" for field, messages in details.items())
    assert_error(response, 400, error("invalid", f"Invalid request: {summary}", details))


def test_a_multipart_search_needs_the_photo(client, shop):
    assert_error(
        client.post(IMAGE_URL, {"q": "dress"}),
        400,
        error("invalid", "Invalid request: image: No file was submitted.", {"image": ["No file was submitted."]}),
    )


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({}, {"non_field_errors": ["Give exactly one of image_url and image_id."]}),
        (
            {"image_id": 1, "image_url": "https://example.com/a.jpg"},
            {"non_field_errors": ["Give exactly one of image_url and image_id."]},
        ),
        ({"image_url": "ftp://example.com/a.jpg"}, {"image_url": ["Only http and https URLs are accepted."]}),
        ({"image_url": "not a url"}, {"image_url": ["Enter a valid URL."]}),
        ({"image_id": 0}, {"image_id": ["Ensure this value is greater than or equal to 1."]}),
        ({"image_id": 1, "colour": "red"}, {"colour": ['Expected a list of items but got type "str".']}),
    ],
)
def test_invalid_json_bodies_are_400_with_details(client, shop, body, details):
    response = client.post(IMAGE_URL, body, content_type="application/json")
    summary = "; ".join(
        messages[0] if field == "non_field_errors" else f"{field}: {messages[0]}" for field, messages in details.items()
    )
    assert_error(response, 400, error("invalid", f"Invalid request: {summary}", details))


def test_malformed_json_is_400(client, shop):
    response = client.post(IMAGE_URL, b"{nope", content_type="application/json")
    assert_error(
        response,
        400,
        error(
            "parse_error",
            "The body is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2).",
        ),
    )


def test_a_catalogue_image_that_is_not_searchable_is_400(client, processed_shop):
    image = processed_shop.images["D1"]
    ProductImage.objects.filter(pk=image.pk).update(status=ProductImage.Status.REJECTED)
    response = client.post(IMAGE_URL, {"image_id": image.pk}, content_type="application/json")
    assert_error(response, 400, error("invalid_request", f"image {image.pk} is not a searchable catalogue image"))


def test_an_image_url_on_a_private_address_is_400_with_the_reason(client, processed_shop):
    response = client.post(IMAGE_URL, {"image_url": "http://127.0.0.1:9/photo.jpg"}, content_type="application/json")
    assert_error(
        response,
        400,
        error(
            "image_fetch_failed",
            "The image URL could not be used: refused, 127.0.0.1 is not a public address (127.0.0.1: loopback).",
        ),
    )


def test_text_search_needs_words(client, shop):
    assert_error(
        client.get("/api/v1/search"),
        400,
        error("invalid", "Invalid request: q: This field is required.", {"q": ["This field is required."]}),
    )


def test_too_many_form_fields_are_400(client, shop, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 2
    response = client.post(IMAGE_URL, {"image": upload(scene_bytes(1)), "q": "a", "limit": "3", "offset": "0"})
    assert_error(response, 400, error("bad_request", "The request has more than 2 parameters."))


# --- 413 ---------------------------------------------------------------------------------


def test_a_body_over_the_upload_limit_is_413_before_it_is_read(client, shop, settings):
    settings.API_MAX_UPLOAD_BYTES = 1000
    body = b" " * (1000 + 64 * 1024 + 1)
    response = client.post(IMAGE_URL, body, content_type="application/json")
    assert_error(
        response,
        413,
        error("payload_too_large", f"The request body is {len(body)} bytes, over the 1000-byte upload limit."),
    )


def test_a_photo_over_the_upload_limit_is_413(client, shop, settings):
    photo = scene_bytes(1)
    settings.API_MAX_UPLOAD_BYTES = len(photo) - 1
    response = client.post(IMAGE_URL, {"image": upload(photo)})
    assert_error(
        response,
        413,
        error("payload_too_large", f"The image is {len(photo)} bytes, over the {len(photo) - 1}-byte limit."),
    )


def test_a_photo_over_the_pixel_cap_is_413(client, processed_shop, settings):
    settings.IMAGE_MAX_PIXELS = 100_000
    response = client.post(IMAGE_URL, {"image": upload(scene_bytes(1))})
    assert_error(response, 413, error("too_many_pixels", "too many pixels: 320x400 is over the 100000-pixel limit"))


def test_djangos_own_request_size_limit_is_the_same_json_413(client, shop, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    body = error("payload_too_large", "The request body is over the server's 100-byte limit.")
    json_body = json.dumps({"image_url": "https://example.com/" + "a" * 200 + ".jpg"})
    assert_error(client.post(IMAGE_URL, json_body, content_type="application/json"), 413, body)
    # A form field over the limit in a multipart body (the photo itself does not count).
    assert_error(client.post(IMAGE_URL, {"image": upload(scene_bytes(1)), "q": "x" * 200}), 413, body)


# --- 415 ---------------------------------------------------------------------------------


def test_an_image_format_the_shop_does_not_read_is_415(client, processed_shop):
    response = client.post(IMAGE_URL, {"image": upload(tiff(), "image/tiff", "photo.tif")})
    assert_error(response, 415, error("unsupported", "unsupported image format TIFF"))


def test_an_upload_declared_as_no_image_is_415_before_decoding(client, shop):
    response = client.post(IMAGE_URL, {"image": upload(b"hello", "text/plain", "notes.txt")})
    assert_error(
        response,
        415,
        error(
            "unsupported_media_type",
            "The upload is declared as text/plain, not an image; send a JPEG, PNG, WebP, GIF, HEIC or AVIF photo.",
        ),
    )


def test_a_body_that_is_neither_multipart_nor_json_is_415(client, shop):
    response = client.post(IMAGE_URL, b"hello", content_type="text/plain")
    assert_error(response, 415, error("unsupported_media_type", 'Unsupported media type "text/plain" in request.'))


# --- 404, 405 ----------------------------------------------------------------------------


def test_unknown_and_inactive_products_are_404(client, shop):
    for product_id in (shop.id("H1"), 999_999, 2**63):
        for path in (f"/api/v1/products/{product_id}/", f"/api/v1/products/{product_id}/similar/"):
            assert_error(client.get(path), 404, error("not_found", f"No product with id {product_id}."))


def test_unknown_paths_under_the_api_are_json_404s(client, db):
    assert_error(
        client.get("/api/v1/nothing/here"), 404, error("not_found", "No API endpoint at /api/v1/nothing/here.")
    )
    assert_error(
        client.post("/api/v1/products/abc/"), 404, error("not_found", "No API endpoint at /api/v1/products/abc/.")
    )
    assert_error(
        client.get("/api/v1/products"),
        404,
        error("not_found", "No API endpoint at /api/v1/products. Did you mean /api/v1/products/ ?"),
    )


def test_a_method_an_endpoint_does_not_have_is_405(client, db):
    assert_error(client.get(IMAGE_URL), 405, error("method_not_allowed", 'Method "GET" not allowed.'))
    assert_error(client.delete("/api/v1/products/"), 405, error("method_not_allowed", 'Method "DELETE" not allowed.'))


# --- 503, 500 ----------------------------------------------------------------------------


def test_photo_search_before_any_image_is_processed_is_503(client, shop):
    assert_error(
        client.post(IMAGE_URL, {"image": upload(scene_bytes(1))}),
        503,
        error("photo_search_unavailable", "photo search is not available yet: no catalogue image has been processed"),
    )


def test_an_unexpected_exception_is_a_logged_json_500(caplog):
    request = APIRequestFactory().get("/api/v1/products/")
    response = exception_handler(RuntimeError("boom"), {"request": request, "view": None})
    assert (response.status_code, response.data) == (
        500,
        error("server_error", "Something went wrong on our side; it has been logged."),
    )
    assert [(record.levelname, record.getMessage(), record.exc_info[1].args) for record in caplog.records] == [
        ("ERROR", "Internal Server Error: /api/v1/products/", ("boom",))
    ]
