"""One JSON error shape for the whole API, whatever raised the error:

    {"error": {"code": "too_many_pixels", "message": "8000x8000 is over the ...", "details": {...}}}

`code` is stable (clients branch on it), `message` is for people and says why, `details`
(validation errors only) maps each offending field to its messages. The handler is
REST_FRAMEWORK["EXCEPTION_HANDLER"]; `not_found` answers unknown paths under /api/v1/.
"""

from __future__ import annotations

import logging

from django.core.exceptions import BadRequest, ObjectDoesNotExist, RequestDataTooBig, SuspiciousOperation
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from catalog.product_filters import UnknownFilterValue
from catalog.url_fetch import ImageFetchError
from search.photo_search import PhotoSearchUnavailable
from search.product_search import InvalidSearch
from vision.decoding import ImageRejected
from visualshop.bad_requests import bad_request_reason

logger = logging.getLogger("django.request")


class ApiError(exceptions.APIException):
    """An error with a fixed status and code; the message says what went wrong."""

    def __init__(self, message: str | None = None, code: str | None = None) -> None:
        super().__init__(detail=message, code=code)


class PayloadTooLarge(ApiError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."
    default_code = "payload_too_large"


class UnsupportedImage(ApiError):
    status_code = status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
    default_detail = "The upload is not an image type the shop can read."
    default_code = "unsupported_media_type"


class InvalidRequest(ApiError):
    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The request is invalid."
    default_code = "invalid_request"


class ServiceUnavailable(ApiError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The service is temporarily unavailable."
    default_code = "service_unavailable"


# ImageRejected codes that are not a plain 400.
_IMAGE_REJECTED_STATUS = {
    "unsupported": status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    "too_many_pixels": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "too_large_to_decode": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
    "too_large": status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
}


def exception_handler(exc: Exception, context: dict) -> Response:
    exc = _as_api_exception(exc)
    response = drf_exception_handler(exc, context)  # keeps DRF's headers: Retry-After, WWW-Authenticate
    if response is None:
        request = context.get("request")
        logger.error(
            "Internal Server Error: %s",
            getattr(request, "path", "?"),
            exc_info=exc,
            extra={"status_code": 500, "request": getattr(request, "_request", None)},
        )
        set_rollback()
        return Response(
            error_body("server_error", "Something went wrong on our side; it has been logged."),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    response.data = _body_for(exc)
    return response


def error_body(code: str, message: str, details: dict[str, list[str]] | None = None) -> dict:
    error = {"code": code, "message": message}
    if details:
        error["details"] = details
    return {"error": error}


def _as_api_exception(exc: Exception) -> Exception:
    """Domain and Django exceptions as the APIException that carries their status."""
    if isinstance(exc, ImageRejected):
        error = ApiError(str(exc), code=exc.code)
        error.status_code = _IMAGE_REJECTED_STATUS.get(exc.code, status.HTTP_400_BAD_REQUEST)
        return error
    if isinstance(exc, UnknownFilterValue):
        return exceptions.ValidationError({exc.field: [str(exc)]})
    if isinstance(exc, InvalidSearch):
        return InvalidRequest(str(exc))
    if isinstance(exc, ImageFetchError):
        # The importer's hint names its command-line flag, which means nothing to an API client.
        reason = exc.reason.removesuffix("; use --allow-private to allow")
        return InvalidRequest(f"The image URL could not be used: {reason}.", code="image_fetch_failed")
    if isinstance(exc, PhotoSearchUnavailable):
        return ServiceUnavailable(str(exc), code="photo_search_unavailable")
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge(bad_request_reason(exc))
    if isinstance(exc, (SuspiciousOperation, BadRequest)):
        return InvalidRequest(bad_request_reason(exc), code="bad_request")
    if isinstance(exc, (Http404, ObjectDoesNotExist)):
        return exceptions.NotFound(str(exc) or None)
    return exc


def _body_for(exc: exceptions.APIException) -> dict:
    if isinstance(exc, exceptions.ValidationError):
        details = _flatten(exc.detail)
        summary = "; ".join(
            f"{field}: {messages[0]}" if field != "non_field_errors" else messages[0]
            for field, messages in details.items()
        )
        return error_body("invalid", f"Invalid request: {summary}" if summary else "Invalid request.", details)
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    return error_body(str(code), str(exc.detail))


def _flatten(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error detail as {"field": [...], "colour.1": [...]}."""
    if isinstance(detail, dict):
        flat: dict[str, list[str]] = {}
        for key, value in detail.items():
            flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(detail, list) and any(isinstance(item, (dict, list)) for item in detail):
        flat = {}
        for index, value in enumerate(detail):
            if value:
                flat.update(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
        return flat
    messages = [str(item) for item in detail] if isinstance(detail, list) else [str(detail)]
    return {prefix or "non_field_errors": messages}
