"""Search by photo (POST /api/v1/search/image) and by words (GET /api/v1/search)."""

from __future__ import annotations

import time

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from api import schema, selectors
from api.errors import PayloadTooLarge
from api.parsers import StrictJSONParser
from api.serializers import (
    ImageReferenceSearchSerializer,
    ImageUploadSearchSerializer,
    SearchResultsSerializer,
    TextSearchParamsSerializer,
)
from api.throttling import ImageSearchThrottle, TextSearchThrottle
from catalog import product_filters
from ranking import services as ranking_services
from tracking import services as tracking_services
from tracking.visitors import request_identity
from vision.decoding import ImageRejected

# The search parameters that are filters (catalog.product_filters.from_fields).
TRACKED_FILTERS = ("category", "brand", "colour", "price", "price_min", "price_max", "in_stock")
# Room in a multipart body for the form fields and the part headers beside the photo.
MULTIPART_ALLOWANCE = 64 * 1024

RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds until this address may search again.",
)


def filter_values(data: dict) -> dict[str, list[str]]:
    """The filters a search was asked for, as its tracking event lists them."""
    values = {}
    for name, value in data.items():
        if name in TRACKED_FILTERS and value not in (None, "", [], False):
            values[name] = [str(item) for item in value] if isinstance(value, list | tuple) else [str(value)]
    return values


def _visitor_id(request):
    identity = request_identity(request)
    return identity.visitor_id if identity else None


def results_data(page: selectors.SearchPage, request, *, started: float, data: dict) -> dict:
    """The page as JSON, the search recorded for tracking (its id in the answer, so a client
    can send the results' impressions and clicks with it)."""
    identity = request_identity(request)
    search_id = tracking_services.search_recorded(
        identity,
        search_kind=page.results.mode,
        words=data.get("q", ""),
        filters=filter_values(data),
        page=page.offset // page.limit + 1 if page.limit else 1,
        result_count=page.results.total,
        latency_ms=(time.perf_counter() - started) * 1000,
        ranker=page.ranked.ranker,
    )
    ranking_services.shown_results_log(search_id, identity.visitor_id if identity else None, page.ranked)
    image_ids = {hit.product.pk: hit.image_id for hit in page.hits}
    context = {"request": request, "image_ids": image_ids, "search_id": search_id}
    return SearchResultsSerializer(page, context=context).data


class ImageSearchView(APIView):
    parser_classes = [MultiPartParser, StrictJSONParser]
    throttle_classes = [ImageSearchThrottle]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        # Refuse an oversized body before reading it: parsing would spool it to disk first.
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.API_MAX_UPLOAD_BYTES
        if length > limit + MULTIPART_ALLOWANCE:
            raise PayloadTooLarge(f"The request body is {length} bytes, over the {limit}-byte upload limit.")

    @extend_schema(
        operation_id="search_by_image",
        summary="Search by photo",
        description=(
            "Products that look like a photo, best first. Send the photo itself as multipart/form-data "
            "(field `image`), or JSON naming a photo on the web (`image_url`) or a catalogue image "
            "(`image_id`). Optionally a crop box (the part of the photo you mean), words (`q`, "
            "searched together with the photo) and filters. Anonymous clients are rate limited."
        ),
        request={
            "multipart/form-data": ImageUploadSearchSerializer,
            "application/json": ImageReferenceSearchSerializer,
        },
        parameters=[RETRY_AFTER],
        responses={
            200: SearchResultsSerializer,
            400: schema.INVALID_IMAGE,
            403: schema.FORBIDDEN,
            413: schema.TOO_LARGE,
            415: schema.UNSUPPORTED,
            429: schema.THROTTLED,
            503: schema.UNAVAILABLE,
        },
        tags=["search"],
    )
    def post(self, request):
        started = time.perf_counter()
        if (request.content_type or "").startswith("multipart/form-data"):
            serializer = ImageUploadSearchSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            picture = {"image": serializer.validated_data["image"].read()}
        else:
            serializer = ImageReferenceSearchSerializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            picture = {
                "image_url": serializer.validated_data.get("image_url", ""),
                "image_id": serializer.validated_data.get("image_id"),
            }
        data = serializer.validated_data
        uploaded = "image" in picture
        try:
            page = selectors.search(
                text=data["q"],
                crop=data["crop_box"],
                limit=data["limit"],
                offset=data["offset"],
                filters=product_filters.from_fields(data),
                visitor_id=_visitor_id(request),
                **picture,
            )
        except ImageRejected as error:
            if uploaded:  # a photo sent with the request: its upload, refused (api.errors answers the 400)
                tracking_services.photo_upload_recorded(request_identity(request), rejection_code=error.code)
            raise
        if uploaded:
            tracking_services.photo_upload_recorded(request_identity(request))
        return Response(results_data(page, request, started=started, data=data))


class TextSearchView(APIView):
    throttle_classes = [TextSearchThrottle]

    @extend_schema(
        operation_id="search_by_text",
        summary="Search by words",
        description="Products matching the words, best first, with facet counts for narrowing down. "
        "Anonymous clients are rate limited.",
        parameters=[TextSearchParamsSerializer, RETRY_AFTER],
        responses={200: SearchResultsSerializer, 400: schema.INVALID, 429: schema.THROTTLED},
        tags=["search"],
    )
    def get(self, request):
        started = time.perf_counter()
        params = TextSearchParamsSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        page = selectors.search(
            text=data["q"],
            limit=data["limit"],
            offset=data["offset"],
            filters=product_filters.from_fields(data),
            visitor_id=_visitor_id(request),
        )
        return Response(results_data(page, request, started=started, data=data))
