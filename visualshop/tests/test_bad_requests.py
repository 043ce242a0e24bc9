"""Refused requests and their reasons (visualshop.bad_requests)."""

import pytest
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    RequestDataTooBig,
    SuspiciousFileOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http.multipartparser import MultiPartParserError

from visualshop.bad_requests import bad_request_reason, query_string_problem


@pytest.mark.parametrize(
    "query_string",
    [
        "",
        "q=red+dress",
        "q=%C3%A9t%C3%A9",
        "q=\u00c3\u00a9",  # é as raw UTF-8 bytes (WSGI: latin-1 text)
        "q=%zz",
        "q=100%",
        "q=%E2%82%AC&colour=red&colour=blue",
    ],
)
def test_utf8_query_strings_pass(query_string):
    assert query_string_problem(query_string) is None


@pytest.mark.parametrize(
    ("query_string", "byte"),
    [
        ("q=%ff", 2),
        ("q=\u00ff", 2),
        ("a=b&q=%C3", 6),
        ("q=%ED%A0%80", 2),  # a lone surrogate is not UTF-8
    ],
)
def test_other_query_strings_name_the_first_bad_byte(query_string, byte):
    assert query_string_problem(query_string) == (
        f"The query string is not UTF-8 text (byte {byte} after percent-decoding is not valid UTF-8)."
    )


@pytest.mark.parametrize(
    ("exc", "reason"),
    [
        (
            TooManyFieldsSent("The number of GET/POST parameters exceeded settings.DATA_UPLOAD_MAX_NUMBER_FIELDS."),
            "The request has more than 1000 parameters.",
        ),
        (TooManyFilesSent("x"), "The request has more than 100 files."),
        (RequestDataTooBig("x"), "The request body is over the server's 26214400-byte limit."),
        (
            MultiPartParserError("Invalid boundary in multipart: None"),
            "The upload is not a well-formed multipart form (Invalid boundary in multipart: None).",
        ),
        (
            DisallowedHost("Invalid HTTP_HOST header: 'x'. You may need to add 'x' to ALLOWED_HOSTS."),
            "The request names a host this shop does not serve.",
        ),
        (BadRequest("Said plainly."), "Said plainly."),
        (SuspiciousFileOperation("Detected path traversal attempt in '/etc'"), "The request was refused as malformed."),
    ],
)
def test_each_refusal_has_a_reason_that_names_no_setting(exc, reason):
    assert bad_request_reason(exc) == reason
