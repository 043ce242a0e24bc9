"""Malformed requests are 400s with a reason people can act on, never a 500 or a page that
quietly reads something else.

- `reject_undecodable_query_string`: middleware; a query string whose bytes are not UTF-8
  (`?q=%ff`) is refused instead of being read with replacement characters (Django's default,
  which would search for "\ufffd").
- `bad_request_reason`: the sentence for each refusal Django makes before or while a view
  reads the request (too many parameters, a broken multipart body, the above), used by the
  project's handler400 (visualshop.error_pages) and by api.errors.
"""

from __future__ import annotations

import urllib.parse

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    DisallowedHost,
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http.multipartparser import MultiPartParserError


class MalformedQueryString(BadRequest):
    pass


def query_string_problem(query_string: str) -> str | None:
    """Why this query string cannot be read as UTF-8 text, or None. WSGI hands it over as
    latin-1 text, i.e. one character per byte."""
    try:
        raw = query_string.encode("latin-1")
    except UnicodeEncodeError:  # already decoded text (not from a WSGI server)
        raw = query_string.encode("utf-8")
    try:
        urllib.parse.unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"The query string is not UTF-8 text (byte {exc.start} after percent-decoding is not valid UTF-8)."
    return None


def reject_undecodable_query_string(get_response):
    def middleware(request):
        problem = query_string_problem(request.META.get("QUERY_STRING", ""))
        if problem:
            raise MalformedQueryString(problem)  # Django answers it through handler400
        return get_response(request)

    return middleware


def bad_request_reason(exc: Exception) -> str:
    """The sentence a client sees for a refused request. Django's own messages name settings or
    echo configuration (DisallowedHost), so each known kind gets its own."""
    if isinstance(exc, TooManyFieldsSent):
        return f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} parameters."
    if isinstance(exc, TooManyFilesSent):
        return f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files."
    if isinstance(exc, RequestDataTooBig):
        return f"The request body is over the server's {settings.DATA_UPLOAD_MAX_MEMORY_SIZE}-byte limit."
    if isinstance(exc, MultiPartParserError):
        return f"The upload is not a well-formed multipart form ({exc})."
    if isinstance(exc, DisallowedHost):
        return "The request names a host this shop does not serve."
    if isinstance(exc, BadRequest) and str(exc):
        return str(exc)
    return "The request was refused as malformed."
