"""The API's strict JSON parser (api.parsers)."""

import json

import pytest
from rest_framework.exceptions import ParseError

from api.parsers import MAX_DEPTH, parse_json_body


def test_ordinary_bodies_read_as_json_does():
    body = {
        "image_url": "https://example.com/é.jpg",
        "crop": "1,2,3,4",
        "limit": 24,
        "price_min": 9.5,
        "in_stock": True,
        "colour": ["red", "navy"],
        "q": None,
    }
    assert parse_json_body(json.dumps(body, ensure_ascii=False).encode()) == body


def test_wide_bodies_are_not_deep():
    body = {"colour": [[0] * 10 for _ in range(10_000)]}
    assert parse_json_body(json.dumps(body).encode()) == body


def test_exactly_max_depth_is_accepted_and_one_more_is_not():
    assert parse_json_body(("[" * MAX_DEPTH + "]" * MAX_DEPTH).encode()) is not None
    with pytest.raises(ParseError) as refused:
        parse_json_body(("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)).encode())
    assert str(refused.value.detail) == f"The JSON body is nested more than {MAX_DEPTH} levels deep."


def test_a_100_digit_integer_is_accepted_and_101_digits_are_not():
    assert parse_json_body(("-" + "9" * 100).encode()) == -int("9" * 100)
    with pytest.raises(ParseError) as refused:
        parse_json_body(("9" * 101).encode())
    assert str(refused.value.detail) == "The JSON body is refused: a number has 101 digits, over 100."


def test_a_repeated_key_in_a_nested_object_is_refused():
    with pytest.raises(ParseError) as refused:
        parse_json_body(b'{"a": {"b": 1, "b": 1}}')
    assert str(refused.value.detail) == "The JSON body is refused: the key 'b' appears twice in one object."
