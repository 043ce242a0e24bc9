"""OpenAPI pieces shared by the views: the error responses each operation can give."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiResponse

from api.serializers import ErrorResponseSerializer


def _error(description: str, code: str, message: str, details: dict | None = None) -> OpenApiResponse:
    body = {"error": {"code": code, "message": message, **({"details": details} if details else {})}}
    return OpenApiResponse(
        ErrorResponseSerializer,
        description=description,
        examples=[OpenApiExample(code, value=body, response_only=True)],
    )


INVALID = _error(
    "Invalid parameters (details per field), or a picture that cannot be used.",
    "invalid",
    "Invalid request: limit: Ensure this value is less than or equal to 100.",
    {"limit": ["Ensure this value is less than or equal to 100."]},
)
INVALID_IMAGE = _error(
    "Invalid parameters (code 'invalid', details per field), an image that is empty or cannot be "
    "decoded ('empty', 'undecodable'), a picture with a short side under 64 px ('too_small') or a long "
    "side over 16 times its short side ('too_narrow'), a crop box that leaves too little ('bad_crop'), an image URL "
    "that cannot be fetched ('image_fetch_failed'), a request the search refuses such as an image_id "
    "that is no searchable catalogue image ('invalid_request'), or an unparsable body ('parse_error').",
    "undecodable",
    "not an image (content is not a recognised image format)",
)
FORBIDDEN = _error(
    "A signed-in session sent no valid CSRF token.", "permission_denied", "CSRF Failed: CSRF token missing."
)
NOT_FOUND = _error("No such (active) product.", "not_found", "No product with id 7.")
TOO_LARGE = _error(
    "The upload is over API_MAX_UPLOAD_BYTES ('payload_too_large'; the Content-Length is checked before "
    "the body is read; 'too_large' for a fetched image), or the picture has more pixels than the shop "
    "decodes ('too_many_pixels', IMAGE_MAX_PIXELS) or would take more memory to decode than "
    "IMAGE_DECODE_MAX_MB ('too_large_to_decode': mode and bit depth count).",
    "payload_too_large",
    "The image is 12000000 bytes, over the 10485760-byte limit.",
)
UNSUPPORTED = _error(
    "The body is neither multipart/form-data nor JSON, the upload is declared as a non-image type "
    "('unsupported_media_type'), or its bytes are an image format the shop does not read ('unsupported').",
    "unsupported",
    "unsupported image format TIFF",
)
THROTTLED = _error(
    "Too many anonymous searches from this address; see the Retry-After header (seconds).",
    "throttled",
    "Request was throttled. Expected available in 12 seconds.",
)
UNAVAILABLE = _error(
    "Photo search has no image model yet (no catalogue image has been processed).",
    "photo_search_unavailable",
    "photo search is not available yet: no catalogue image has been processed",
)
