"""Hostile requests through the real URL routing and middleware: each is a 4xx with its exact
reason, never a 500 or a page that quietly reads something else. The API answers in its one
JSON error shape (api.errors), the shop's pages with a 400 page or the page's own message.

Photo searches that pass validation need a model; those that fail validation never reach it,
so most cases run on an empty catalogue (a 503 there would mean validation let them through).
"""

import json

import pytest
from django.test import Client

from api.parsers import MAX_DEPTH
from fixtures.photo_server import redirecting_to
from storefront.forms import MAX_PAGE

pytestmark = pytest.mark.django_db

IMAGE_URL = "/api/v1/search/image"
TEXT_URL = "/api/v1/search"
NOT_UTF8_QUERY = "The query string is not UTF-8 text (byte 2 after percent-decoding is not valid UTF-8)."
TOO_MANY_PARAMETERS = "The request has more than 1000 parameters."
NO_BOUNDARY = "The upload is not a well-formed multipart form (Invalid boundary in multipart: None)."


@pytest.fixture
def client():
    # A 500 must show up as a 500 here, not as an exception the test client re-raises.
    return Client(raise_request_exception=False)


def error(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, **({"details": details} if details else {})}}


def invalid(field: str, *messages: str) -> dict:
    return error("invalid", f"Invalid request: {field}: {messages[0]}", {field: list(messages)})


def answer(response) -> tuple[int, dict]:
    assert response["Content-Type"] == "application/json", response.content[:300]
    return response.status_code, response.json()


def post_json(client, body: str | bytes):
    return client.post(IMAGE_URL, data=body, content_type="application/json")


def image_url(client, url: str):
    return post_json(client, json.dumps({"image_url": url}))


def bad_request_page(response) -> str:
    """The shop's 400 page: its reason."""
    assert response.status_code == 400
    assert [t.name for t in response.templates][:2] == ["400.html", "base.html"]
    return response.context["reason"]


# --- the API's JSON body -------------------------------------------------------------------------


NESTED_TOO_DEEP = error("parse_error", f"The JSON body is nested more than {MAX_DEPTH} levels deep.")


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param("[" * 50_000 + "]" * 50_000, (400, NESTED_TOO_DEEP), id="array-50000-deep"),
        pytest.param('{"a":' * 50_000 + "1" + "}" * 50_000, (400, NESTED_TOO_DEEP), id="object-50000-deep"),
        pytest.param(
            '{"image_id": ' + "[" * MAX_DEPTH + "]" * MAX_DEPTH + "}", (400, NESTED_TOO_DEEP), id="one-level-too-deep"
        ),
        pytest.param(
            '{"image_id": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}",
            (400, invalid("image_id", "A valid integer is required.")),
            id="deepest-accepted",
        ),
        pytest.param(
            b'{"image_url": "\xff\xfe"}',
            (400, error("parse_error", "The JSON body is not UTF-8 text (byte 15 is not valid UTF-8).")),
            id="not-utf8",
        ),
        pytest.param(
            b'{"image_url": "\xed\xa0\x80"}',  # an encoded surrogate: not UTF-8 either
            (400, error("parse_error", "The JSON body is not UTF-8 text (byte 15 is not valid UTF-8).")),
            id="utf8-surrogate",
        ),
        pytest.param(
            "[1, 2]",
            (
                400,
                error(
                    "invalid",
                    "Invalid request: Invalid data. Expected a dictionary, but got list.",
                    {"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]},
                ),
            ),
            id="array-not-object",
        ),
        pytest.param(
            '"x"',
            (
                400,
                error(
                    "invalid",
                    "Invalid request: Invalid data. Expected a dictionary, but got str.",
                    {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]},
                ),
            ),
            id="string-not-object",
        ),
        pytest.param(
            '{"image_id": 1' + "0" * 5000 + "}",
            (400, error("parse_error", "The JSON body is refused: a number has 5001 digits, over 100.")),
            id="5001-digit-number",
        ),
        pytest.param(
            '{"image_id": 1e999}',
            (400, error("parse_error", "The JSON body is refused: the number 1e999 is out of range.")),
            id="float-overflow",
        ),
        pytest.param(
            '{"image_id": NaN}',
            (400, error("parse_error", "The JSON body is refused: NaN is not a JSON number.")),
            id="nan",
        ),
        pytest.param(
            '{"image_id": -Infinity}',
            (400, error("parse_error", "The JSON body is refused: -Infinity is not a JSON number.")),
            id="infinity",
        ),
        pytest.param(
            '{"image_id": 1, "image_id": 2}',
            (400, error("parse_error", "The JSON body is refused: the key 'image_id' appears twice in one object.")),
            id="duplicate-key",
        ),
        pytest.param(
            '{"image_id": 1,',
            (
                400,
                error(
                    "parse_error",
                    "The body is not valid JSON: Expecting property name enclosed in double quotes (line 1, column 16).",
                ),
            ),
            id="truncated",
        ),
        pytest.param(
            '{"image_id": -1}',
            (400, invalid("image_id", "Ensure this value is greater than or equal to 1.")),
            id="negative-id",
        ),
    ],
)
def test_malformed_json_bodies_are_400_with_the_reason(client, body, expected):
    assert answer(post_json(client, body)) == expected


def test_a_multipart_body_without_a_boundary_is_a_400(client):
    response = client.post(IMAGE_URL, data=b"--x\r\n\r\nabc", content_type="multipart/form-data")
    assert answer(response) == (
        400,
        error("parse_error", "Multipart form parse error - Invalid boundary in multipart: None"),
    )


def test_a_multipart_body_with_a_broken_boundary_is_a_400(client):
    body = b'--other\r\nContent-Disposition: form-data; name="image"; filename="a.jpg"\r\n\r\nabc'
    response = client.post(IMAGE_URL, data=body, content_type="multipart/form-data; boundary=expected")
    assert answer(response) == (400, invalid("image", "No file was submitted."))


def test_a_body_of_the_wrong_content_type_is_a_415(client):
    response = client.post(IMAGE_URL, data=b"image=photo.jpg", content_type="text/plain")
    assert answer(response) == (415, error("unsupported_media_type", 'Unsupported media type "text/plain" in request.'))


# --- image_url -------------------------------------------------------------------------------------

ONLY_HTTP = "Only http and https URLs are accepted."
NOT_A_URL = "Enter a valid URL."


@pytest.mark.parametrize(
    ("url", "messages"),
    [
        pytest.param("http://[::1", ["Not a usable URL (Invalid IPv6 URL).", NOT_A_URL], id="unclosed-ipv6"),
        pytest.param(
            "http://example.com:99999/a.jpg", ["Not a usable URL (Port out of range 0-65535)."], id="port-range"
        ),
        pytest.param("http://[fe80::1%25eth0]/a.jpg", [NOT_A_URL], id="ipv6-zone-id"),
        pytest.param(
            "http://user:secret@example.com/a.jpg",
            ["URLs with a user name or password are not accepted."],
            id="credentials",
        ),
        pytest.param(
            "http://user@example.com/a.jpg", ["URLs with a user name or password are not accepted."], id="user-only"
        ),
        pytest.param(
            "http://" + "a" * 10_000 + ".com/a.jpg",
            ["Ensure this field has no more than 2000 characters.", NOT_A_URL],
            id="10kb-host",
        ),
        pytest.param("http://" + "a" * 64 + ".com/a.jpg", [NOT_A_URL], id="label-over-63"),
        pytest.param("ftp://example.com/a.jpg", [ONLY_HTTP], id="ftp"),
        pytest.param("file:///etc/passwd", [ONLY_HTTP, NOT_A_URL], id="file"),
        pytest.param("gopher://127.0.0.1:6379/_FLUSHALL", [ONLY_HTTP, NOT_A_URL], id="gopher"),
        pytest.param("javascript:alert(1)", [ONLY_HTTP, NOT_A_URL], id="javascript"),
        pytest.param("data:image/png;base64,AAAA", [ONLY_HTTP, NOT_A_URL], id="data"),
        pytest.param("//example.com/a.jpg", [NOT_A_URL], id="no-scheme"),
        pytest.param("http://\uff11\uff12\uff17.0.0.1/a.jpg", [NOT_A_URL], id="fullwidth-digits-for-127.0.0.1"),
        pytest.param("http://exa\x00mple.com/a.jpg", ["Null characters are not allowed.", NOT_A_URL], id="null-byte"),
    ],
)
def test_unusable_image_urls_are_400_naming_the_problem(client, url, messages):
    assert answer(image_url(client, url)) == (400, invalid("image_url", *messages))


def test_overflowing_numbers_in_a_photo_search_are_400(client, processed_shop):  # noqa: F811
    """Past validation (a model exists): ids and crop sides beyond any column or picture."""
    image_id = processed_shop.images["D1"].pk
    huge = 10**22
    results = [
        answer(post_json(client, json.dumps(body)))
        for body in (
            {"image_id": huge},
            {"image_id": 2**63},
            {"image_id": image_id, "crop_left": 0, "crop_top": 0, "crop_right": huge, "crop_bottom": 5},
            {"image_id": image_id, "crop": f"{huge},0,{huge + 1},{huge}"},
        )
    ]
    assert results == [
        (400, error("invalid_request", f"image {huge} is not a searchable catalogue image")),
        (400, error("invalid_request", f"image {2**63} is not a searchable catalogue image")),
        (400, error("bad_crop", f"crop box 0,0,{huge},5 leaves less than 32x32 pixels of a 320x400 image")),
        (400, invalid("crop", "Ensure this field has no more than 64 characters.")),
    ]


def test_a_unicode_host_is_a_url_like_any_other(client):
    """IDNA hosts are real shop URLs: accepted by validation (then, without a model yet, the
    search says it is unavailable; no DNS lookup happens before that)."""
    assert answer(image_url(client, "http://b\u00fccher.example/a.jpg")) == (
        503,
        error("photo_search_unavailable", "photo search is not available yet: no catalogue image has been processed"),
    )


def test_image_urls_that_pass_the_form_meet_the_address_guard(client, processed_shop, settings):  # noqa: F811
    """With a model, valid-looking URLs reach the fetcher; spellings of this machine's own
    addresses (IPv4-mapped IPv6, a port beside ::1) are refused there
    without any DNS or network traffic."""
    settings.SEARCH_IMAGE_URL_ALLOW_PRIVATE = False
    refused = "The image URL could not be used: refused, {host} is not a public address ({address}: loopback)."
    results = [
        answer(image_url(client, url))
        for url in ("http://127.0.0.1/a.jpg", "http://[::ffff:127.0.0.1]/a.jpg", "http://[::1]:8000/a.jpg")
    ]
    assert results == [
        (400, error("image_fetch_failed", refused.format(host="127.0.0.1", address="127.0.0.1"))),
        (400, error("image_fetch_failed", refused.format(host="::ffff:127.0.0.1", address="::ffff:7f00:1"))),
        (400, error("image_fetch_failed", refused.format(host="::1", address="::1"))),
    ]


@pytest.mark.parametrize(
    ("location", "reason"),
    [
        pytest.param("http://[::1", "redirected to an unusable URL (Invalid IPv6 URL)", id="unclosed-ipv6"),
        pytest.param(
            "//[zz]/a.jpg",
            "redirected to an unusable URL ('zz' does not appear to be an IPv4 or IPv6 address)",
            id="bad-bracket-host",
        ),
    ],
)
def test_a_redirect_to_a_url_python_cannot_split_is_400(client, processed_shop, settings, location, reason):  # noqa: F811
    settings.SEARCH_IMAGE_URL_ALLOW_PRIVATE = True  # the loopback server stands in for a public one
    with redirecting_to(location) as server:
        response = image_url(client, f"{server}/a.jpg")
    assert answer(response) == (400, error("image_fetch_failed", f"The image URL could not be used: {reason}."))


# --- the API's query strings -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("q=%ff%fe", (400, error("bad_request", NOT_UTF8_QUERY)), id="percent-encoded-not-utf8"),
        pytest.param(
            "&".join(["colour=red"] * 10_000) + "&q=a",
            (400, error("bad_request", TOO_MANY_PARAMETERS)),
            id="10000-repeats",
        ),
        pytest.param("q=a%00b", (400, invalid("q", "Null characters are not allowed.")), id="null-byte"),
        pytest.param(
            "q=a&limit=10&limit=500",
            (400, invalid("limit", "Give this parameter once, not 2 times.")),
            id="repeated-limit",
        ),
        pytest.param("q=shirt&q=dress", (400, invalid("q", "Give this parameter once, not 2 times.")), id="repeated-q"),
        pytest.param("q=a&colour=red&colour=navy&colour=red", (200, None), id="repeatable-colour"),
        pytest.param(
            "q=" + "a" * 100_000,
            (400, invalid("q", "Ensure this field has no more than 200 characters.")),
            id="100kb-q",
        ),
        pytest.param(
            "q=a&offset=1" + "0" * 100,
            (400, invalid("offset", "Ensure this value is less than or equal to 9900.")),
            id="offset-10e100",
        ),
        pytest.param(
            "q=a&offset=" + "9" * 5000, (400, invalid("offset", "String value too large.")), id="offset-5000-digits"
        ),
        pytest.param(
            "q=a&limit=-99999999999999999999",
            (400, invalid("limit", "Ensure this value is greater than or equal to 1.")),
            id="limit-negative",
        ),
        pytest.param("q=a&price_min=NaN", (400, invalid("price_min", "A valid number is required.")), id="price-nan"),
        pytest.param(
            "q=a&price_min=1e999",
            (400, invalid("price_min", "Ensure that there are no more than 12 digits in total.")),
            id="price-1e999",
        ),
    ],
)
def test_malformed_api_query_strings_are_400_with_the_reason(client, query, expected):
    status, body = answer(client.get(f"{TEXT_URL}?{query}"))
    assert (status, body if status != 200 else None) == expected


def test_raw_bytes_that_are_not_utf8_in_an_api_query_string_are_a_400(client):
    # WSGI passes the query string as latin-1 text: this is the raw byte 0xff, not %ff.
    assert answer(client.get(TEXT_URL, QUERY_STRING="q=\xff")) == (400, error("bad_request", NOT_UTF8_QUERY))


def test_an_unknown_host_is_a_json_400_under_the_api(client):
    assert answer(client.get(TEXT_URL, {"q": "a"}, HTTP_HOST="evil.example")) == (
        400,
        error("bad_request", "The request names a host this shop does not serve."),
    )


# --- the shop's pages ----------------------------------------------------------------------------


def test_a_page_query_string_that_is_not_utf8_is_the_400_page(client):
    assert bad_request_page(client.get("/search/?q=%ff%fe")) == NOT_UTF8_QUERY
    assert bad_request_page(client.get("/c/clothing/?colour=%ff")) == NOT_UTF8_QUERY.replace("byte 2", "byte 7")


def test_a_page_with_10000_parameters_is_the_400_page(client):
    assert bad_request_page(client.get("/search/?" + "&".join(["colour=red"] * 10_000) + "&q=a")) == TOO_MANY_PARAMETERS


def test_an_unknown_host_is_the_400_page(client):
    reason = bad_request_page(client.get("/", HTTP_HOST="evil.example"))
    assert reason == "The request names a host this shop does not serve."


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        pytest.param("q=a%00b", ["Null characters are not allowed."], id="null-byte"),
        pytest.param(
            "q=" + "a" * 100_000, ["Ensure this value has at most 200 characters (it has 100000)."], id="100kb-q"
        ),
        pytest.param(
            "q=a&photo=../../etc/passwd",
            ["That photo link is not valid; upload the photo again."],
            id="photo-traversal",
        ),
        pytest.param(
            "q=a&photo=abc&crop=1,2,3," + "9" * 400,
            [
                "That photo link is not valid; upload the photo again.",
                "Ensure this value has at most 40 characters (it has 406).",
            ],
            id="crop-overflow",
        ),
    ],
)
def test_malformed_search_parameters_are_400_with_a_message_on_the_page(client, query, errors):
    response = client.get(f"/search/?{query}")
    assert (response.status_code, response.context["errors"]) == (400, errors)


@pytest.mark.parametrize(
    ("page", "shown"),
    [
        pytest.param("1" + "0" * 100, MAX_PAGE, id="10e100"),
        pytest.param("9" * 5000, 1, id="5000-digits"),
        pytest.param("-5", 1, id="negative"),
        pytest.param("x", 1, id="not-a-number"),
    ],
)
def test_an_out_of_range_page_number_shows_the_nearest_page(client, page, shown):
    """A page number is read leniently (storefront.forms.SearchForm.clean_page): pagination
    links a shopper edits by hand land on a real page, never an error."""
    response = client.get("/search/", {"q": "mug", "page": page})
    assert (response.status_code, response.context["page_number"]) == (200, shown)


def test_a_photo_upload_without_a_multipart_boundary_is_a_400(client):
    response = client.post("/search/photo/", data=b"--x\r\n\r\nabc", content_type="multipart/form-data")
    assert bad_request_page(response) == NO_BOUNDARY
    for_widget = client.post(
        "/search/photo/", data=b"--x\r\n\r\nabc", content_type="multipart/form-data", HTTP_ACCEPT="application/json"
    )
    assert (for_widget.status_code, for_widget.json()) == (400, {"errors": [NO_BOUNDARY]})


def test_a_photo_upload_whose_parts_miss_the_boundary_is_a_400_with_the_upload_message(client):
    body = b'--other\r\nContent-Disposition: form-data; name="photo"; filename="a.jpg"\r\n\r\nabc'
    response = client.post(
        "/search/photo/",
        data=body,
        content_type="multipart/form-data; boundary=expected",
        HTTP_ACCEPT="application/json",
    )
    assert (response.status_code, response.json()) == (400, {"errors": ["Choose a photo to search with."]})


def test_a_photo_upload_of_the_wrong_content_type_is_a_400_with_the_upload_message(client):
    response = client.post(
        "/search/photo/", data=b"photo=a.jpg", content_type="text/plain", HTTP_ACCEPT="application/json"
    )
    assert (response.status_code, response.json()) == (400, {"errors": ["Choose a photo to search with."]})


# --- through a real HTTP server ------------------------------------------------------------------


def raw_http(live_server, request_line: bytes) -> tuple[bytes, bytes]:
    """Send one request exactly as given (no client library cleaning it up); status line, body."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(live_server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as connection:
        connection.sendall(request_line + b"\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        answer_bytes = b""
        while chunk := connection.recv(65536):
            answer_bytes += chunk
    head, _, body = answer_bytes.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0], body


def test_raw_bytes_that_are_not_utf8_are_a_400_through_a_real_server(live_server):
    status, body = raw_http(live_server, b"GET /api/v1/search?q=\xff\xfe HTTP/1.1")
    assert (status, json.loads(body)) == (b"HTTP/1.1 400 Bad Request", error("bad_request", NOT_UTF8_QUERY))
    status, body = raw_http(live_server, b"GET /search/?q=caf\xe9 HTTP/1.1")  # latin-1, not UTF-8
    assert status == b"HTTP/1.1 400 Bad Request"
    assert b"<h1>We could not read that request</h1>" in body
    assert NOT_UTF8_QUERY.replace("byte 2", "byte 5").encode() in body
