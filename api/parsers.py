"""The API's JSON body parser: strict, bounded, and every refusal a 400 that says why.

DRF's JSONParser lets a body nested 50,000 deep raise RecursionError (a 500), passes NaN's
cousin 1e999 on as infinity, keeps the last of two repeated keys (two parsers in a chain may
disagree on which one counts) and answers bad bytes with Python's own wording. Here:

- the body is UTF-8 (RFC 8259), else "not UTF-8 text";
- at most MAX_DEPTH levels of arrays and objects;
- no NaN, Infinity or number out of float range; integers of at most MAX_INTEGER_DIGITS digits;
- no key twice in one object.

The refusal is DRF's ParseError (400, code "parse_error"), shaped by api.errors.
"""

from __future__ import annotations

import json
import math

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MAX_DEPTH = 32
# Far beyond any id or count the API takes (those have their own ranges); Python itself
# refuses to read integers over 4,300 digits.
MAX_INTEGER_DIGITS = 100


class _Refused(ValueError):
    """A value json.loads read but the API does not accept; the message is the reason."""


def _no_constants(name: str):
    raise _Refused(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Refused(f"the number {text[:40]} is out of range")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise _Refused(f"a number has {len(text.lstrip('-'))} digits, over {MAX_INTEGER_DIGITS}")
    return int(text)


def _object_without_repeats(pairs: list[tuple[str, object]]) -> dict:
    result = {}
    for key, value in pairs:
        if key in result:
            raise _Refused(f"the key {key[:40]!r} appears twice in one object")
        result[key] = value
    return result


def _depth_over(value, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def parse_json_body(raw: bytes):
    """The JSON value in `raw`, or ParseError with the reason."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ParseError(f"The JSON body is not UTF-8 text (byte {exc.start} is not valid UTF-8).") from None
    try:
        value = json.loads(
            text,
            parse_constant=_no_constants,
            parse_float=_finite_float,
            parse_int=_bounded_int,
            object_pairs_hook=_object_without_repeats,
        )
    except RecursionError:
        raise ParseError(f"The JSON body is nested more than {MAX_DEPTH} levels deep.") from None
    except _Refused as exc:
        raise ParseError(f"The JSON body is refused: {exc}.") from None
    except json.JSONDecodeError as exc:
        raise ParseError(f"The body is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}).") from None
    if _depth_over(value, MAX_DEPTH):
        raise ParseError(f"The JSON body is nested more than {MAX_DEPTH} levels deep.")
    return value


class StrictJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return parse_json_body(stream.read() if stream is not None else b"")
