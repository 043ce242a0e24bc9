"""The REST API under /api/v1/ (the `api` app): DRF, its OpenAPI 3 schema with offline
Swagger UI (drf-spectacular-sidecar: no CDN), rate limits for anonymous search and the
photo upload limit. Every value a deployment may want to change comes from the environment."""

import os

from visualshop.env import env_bool, env_int

from .base import REST_FRAMEWORK as _BASE_REST_FRAMEWORK

# Photo uploads (and JSON bodies) over this many bytes are refused with 413 before any
# decoding; the Content-Length header is checked before the body is read.
API_MAX_UPLOAD_BYTES = env_int("API_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)


# Anonymous search rate limits, per client address: "<count>/<second|minute|hour|day>".
# An empty value switches that limit off. Embedding a photo costs ~10 ms of CPU, a text
# query ~1 ms, hence the lower photo rate. Counts live in the default Django cache
# (visualshop/settings/cache.py: the broker's Redis, shared by every web process).
def _rate(name: str, default: str) -> str | None:
    """Unset: the default; set but empty: no limit (unlike env_str, where empty means default)."""
    value = os.environ.get(name)
    return default if value is None else (value.strip() or None)


API_THROTTLE_RATES = {
    "search_image": _rate("API_THROTTLE_IMAGE_SEARCH", "30/min"),
    "search_text": _rate("API_THROTTLE_TEXT_SEARCH", "120/min"),
}
# Proxies in front of the shop that append to X-Forwarded-For. 0 (the default without a
# proxy) means the client address is REMOTE_ADDR and a client-sent X-Forwarded-For is
# ignored, so nobody dodges the limits by inventing addresses.
API_NUM_PROXIES = env_int("API_NUM_PROXIES", 1 if env_bool("DJANGO_BEHIND_TLS_PROXY", False) else 0)

# Page sizes of list and search endpoints.
API_DEFAULT_LIMIT = 24
API_MAX_LIMIT = 100

REST_FRAMEWORK = {
    **_BASE_REST_FRAMEWORK,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    # JSON only: errors look the same everywhere; /api/v1/docs/ is the interactive view.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Strict JSON: too deep, NaN, repeated keys or bad bytes are a 400 with the reason.
    "DEFAULT_PARSER_CLASSES": ["api.parsers.StrictJSONParser"],
    # Signed-in staff (session) are not rate limited; no Basic auth on a public API.
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_THROTTLE_RATES": API_THROTTLE_RATES,
    "NUM_PROXIES": API_NUM_PROXIES,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "VisualShop API",
    "DESCRIPTION": (
        "Search the catalogue by photo or by words, browse products and their visually "
        "similar products. Every error is JSON: "
        '`{"error": {"code": "...", "message": "...", "details": {...}}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Upload fields become `format: binary` in their own request components.
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI and its assets from the drf_spectacular_sidecar app's static files:
    # the docs work on machines and intranets without CDN access.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # No badge fetched from validator.swagger.io (offline).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
}
