"""What the API accepts and what it answers, field by field (the OpenAPI schema is built
from these). Input serializers only check shapes and ranges; resolving slugs, searching
and loading products happen in api.selectors."""

from __future__ import annotations

import urllib.parse
import uuid

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.errors import PayloadTooLarge, UnsupportedImage
from catalog.product_filters import COLOUR_NAME_MAX_LENGTH, MAX_COLOURS
from search.photo_search import CropBox
from search.product_search import MAX_PHOTO_DEPTH

MAX_QUERY_LENGTH = 200
# Elasticsearch serves at most 10,000 results deep (index.max_result_window): offset + limit stays within.
MAX_OFFSET = 10_000 - settings.API_MAX_LIMIT
PHOTO_MAX_OFFSET = MAX_PHOTO_DEPTH - settings.API_MAX_LIMIT  # any page size stays within the search's depth
# Declared types that may hold an image; the bytes themselves are sniffed when decoded.
GENERIC_UPLOAD_TYPES = {"", "application/octet-stream"}

# ---------------------------------------------------------------------------
# Input
# ---------------------------------------------------------------------------


class ParamsSerializer(serializers.Serializer):
    """Query strings and forms: an empty value (`?limit=`) is refused, not read as "the default"
    (DRF's form handling), and so is a single-valued parameter given twice (`?limit=10&limit=500`:
    DRF would read the last one, a proxy or cache in front perhaps the first), so a client's
    mistake never passes silently."""

    def to_internal_value(self, data):
        if hasattr(data, "getlist"):
            repeated = {
                name: [f"Give this parameter once, not {len(data.getlist(name))} times."]
                for name, field in self.fields.items()
                if not isinstance(field, serializers.ListField) and len(data.getlist(name)) > 1
            }
            if repeated:
                raise serializers.ValidationError(repeated)
            blank = {
                name: ["This field may not be blank."]
                for name, field in self.fields.items()
                if name in data
                and "" in data.getlist(name)
                and not getattr(field, "allow_blank", False)
                and not isinstance(field, serializers.FileField)
            }
            if blank:
                raise serializers.ValidationError(blank)
        return super().to_internal_value(data)


class FilterParamsSerializer(ParamsSerializer):
    category = serializers.SlugField(
        required=False, max_length=140, help_text="Category slug; its subcategories are included."
    )
    brand = serializers.SlugField(required=False, max_length=140, help_text="Brand slug.")
    price_min = serializers.DecimalField(
        required=False, max_digits=12, decimal_places=2, min_value=0, help_text="Lowest price, inclusive."
    )
    price_max = serializers.DecimalField(
        required=False, max_digits=12, decimal_places=2, min_value=0, help_text="Highest price, inclusive."
    )
    in_stock = serializers.BooleanField(required=False, default=False, help_text="Only products in stock.")
    colour = serializers.ListField(
        child=serializers.CharField(max_length=COLOUR_NAME_MAX_LENGTH),
        required=False,
        max_length=MAX_COLOURS,
        help_text="Dominant colour name (e.g. red); repeat for any of several.",
    )

    def validate(self, data):
        data = super().validate(data)
        low, high = data.get("price_min"), data.get("price_max")
        if low is not None and high is not None and low > high:
            raise serializers.ValidationError({"price_max": ["Must not be lower than price_min."]})
        return data


class PageParamsSerializer(ParamsSerializer):
    limit = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=settings.API_MAX_LIMIT,
        default=settings.API_DEFAULT_LIMIT,
        help_text="Results per page.",
    )
    offset = serializers.IntegerField(
        required=False, min_value=0, max_value=MAX_OFFSET, default=0, help_text="Results to skip."
    )


class ProductListParamsSerializer(FilterParamsSerializer, PageParamsSerializer):
    pass


class TextSearchParamsSerializer(FilterParamsSerializer, PageParamsSerializer):
    q = serializers.CharField(max_length=MAX_QUERY_LENGTH, help_text="What to look for, in words.")


class SimilarParamsSerializer(ParamsSerializer):
    limit = serializers.IntegerField(
        required=False, min_value=1, max_value=50, default=12, help_text="Similar products to return."
    )


class _ImageSearchSerializer(FilterParamsSerializer, PageParamsSerializer):
    """Options shared by both kinds of photo search body."""

    # Photo results go search.product_search.MAX_PHOTO_DEPTH deep (each costs 4 candidate images).
    offset = serializers.IntegerField(
        required=False, min_value=0, max_value=PHOTO_MAX_OFFSET, default=0, help_text="Results to skip."
    )

    q = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_QUERY_LENGTH,
        default="",
        help_text="Words to search for together with the photo.",
    )
    crop = serializers.RegexField(
        r"^\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*$",
        required=False,
        max_length=64,
        help_text="The part of the photo to search for, in its upright pixels: 'left,top,right,bottom'.",
        error_messages={"invalid": "Expected four whole numbers 'left,top,right,bottom'."},
    )
    crop_left = serializers.IntegerField(required=False, min_value=0, help_text="Crop box, instead of `crop`.")
    crop_top = serializers.IntegerField(required=False, min_value=0, help_text="Crop box, instead of `crop`.")
    crop_right = serializers.IntegerField(required=False, min_value=0, help_text="Crop box, instead of `crop`.")
    crop_bottom = serializers.IntegerField(required=False, min_value=0, help_text="Crop box, instead of `crop`.")

    CROP_SIDES = ("crop_left", "crop_top", "crop_right", "crop_bottom")

    def validate(self, data):
        data = super().validate(data)
        sides = [side for side in self.CROP_SIDES if side in data]
        if "crop" in data and sides:
            raise serializers.ValidationError({"crop": ["Give either crop or crop_left/top/right/bottom, not both."]})
        if sides and len(sides) < 4:
            missing = [side for side in self.CROP_SIDES if side not in data]
            raise serializers.ValidationError({side: ["Required with the other crop sides."] for side in missing})
        box = None
        if "crop" in data:
            box = CropBox(*(int(part) for part in data.pop("crop").split(",")))
        elif sides:
            box = CropBox(*(data.pop(side) for side in self.CROP_SIDES))
        if box is not None and (box.right <= box.left or box.bottom <= box.top):
            raise serializers.ValidationError(
                {"crop": ["right must be greater than left and bottom greater than top."]}
            )
        data["crop_box"] = box
        return data


class ImageUploadSearchSerializer(_ImageSearchSerializer):
    """multipart/form-data: the photo itself."""

    image = serializers.FileField(
        allow_empty_file=True,
        help_text=("The photo: JPEG, PNG, WebP, GIF, HEIC or AVIF, at most API_MAX_UPLOAD_BYTES (10 MB by default)."),
    )

    def validate_image(self, upload):
        limit = settings.API_MAX_UPLOAD_BYTES
        if upload.size > limit:
            raise PayloadTooLarge(f"The image is {upload.size} bytes, over the {limit}-byte limit.")
        declared = (upload.content_type or "").split(";")[0].strip().lower()
        if declared not in GENERIC_UPLOAD_TYPES and not declared.startswith("image/"):
            raise UnsupportedImage(
                f"The upload is declared as {declared}, not an image; send a JPEG, PNG, WebP, GIF, HEIC or AVIF photo."
            )
        return upload


def _http_url(value: str) -> str:
    """An http(s) URL the photo fetcher can use. URLField's own check runs beside this one, so
    a URL Python cannot split (an unclosed IPv6 bracket, a port over 65535) must be refused
    here too, not raise (a 500)."""
    try:
        parts = urllib.parse.urlsplit(value)
        parts.port  # noqa: B018 (raises on a port out of range or not a number)
    except ValueError as exc:
        raise serializers.ValidationError(f"Not a usable URL ({exc}).") from None
    if parts.scheme and parts.scheme.lower() not in ("http", "https"):  # no scheme at all: "Enter a valid URL."
        raise serializers.ValidationError("Only http and https URLs are accepted.")
    if parts.username is not None or parts.password is not None:
        # The fetcher would send them to that host; a shopper's URL has no business carrying any.
        raise serializers.ValidationError("URLs with a user name or password are not accepted.")
    return value


class ImageReferenceSearchSerializer(_ImageSearchSerializer):
    """application/json: a photo on the web or one of the shop's own pictures."""

    image_url = serializers.URLField(
        required=False,
        max_length=2000,
        validators=[_http_url],
        help_text="An http(s) URL of the photo (public addresses only).",
    )
    image_id = serializers.IntegerField(
        required=False, min_value=1, help_text="The id of a catalogue image (see product images)."
    )

    def validate(self, data):
        data = super().validate(data)
        if ("image_url" in data) == ("image_id" in data):
            raise serializers.ValidationError({"non_field_errors": ["Give exactly one of image_url and image_id."]})
        return data


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


class NamedSlugSerializer(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class BrandSerializer(NamedSlugSerializer):
    pass


class CategorySerializer(NamedSlugSerializer):
    pass


def _absolute(context: dict, url: str) -> str:
    request = context.get("request")
    return request.build_absolute_uri(url) if request is not None else url


class ProductSummarySerializer(serializers.Serializer):
    """A product as a result card. context["image_ids"] may name the picture to show per product."""

    id = serializers.IntegerField()
    title = serializers.CharField()
    url = serializers.SerializerMethodField(help_text="The product page in the shop.")
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    in_stock = serializers.BooleanField()
    brand = BrandSerializer(allow_null=True)
    category = CategorySerializer(allow_null=True)
    thumbnail_url = serializers.SerializerMethodField(
        help_text="A small picture for grids: the one that matched a photo search, else the first."
    )

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, product) -> str:
        return _absolute(self.context, product.get_absolute_url())

    @extend_schema_field({"type": "string", "format": "uri", "nullable": True})
    def get_thumbnail_url(self, product) -> str | None:
        wanted = self.context.get("image_ids", {}).get(product.pk)
        images = product.visible_images
        image = next((image for image in images if image.pk == wanted), images[0] if images else None)
        return _absolute(self.context, image.card_url) if image is not None else None


class ProductImageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    card_url = serializers.SerializerMethodField(help_text="Small derivative (long side 320 px) once processed.")
    display_url = serializers.SerializerMethodField(help_text="Product-page derivative (long side 1200 px).")
    width = serializers.IntegerField(allow_null=True, help_text="Of the original; derivatives keep its shape.")
    height = serializers.IntegerField(allow_null=True)
    alt = serializers.SerializerMethodField(help_text="Alternative text for the picture.")

    @extend_schema_field(OpenApiTypes.URI)
    def get_card_url(self, image) -> str:
        return _absolute(self.context, image.card_url)

    @extend_schema_field(OpenApiTypes.URI)
    def get_display_url(self, image) -> str:
        return _absolute(self.context, image.display_url)

    def get_alt(self, image) -> str:
        return self.context["alt_texts"][image.pk]


class ProductSizeSerializer(serializers.Serializer):
    id = serializers.IntegerField(help_text="What the shop's cart form posts as variant_id.")
    sku = serializers.CharField()
    size = serializers.CharField()
    in_stock = serializers.BooleanField()


class ProductDetailSerializer(ProductSummarySerializer):
    sku = serializers.CharField()
    description = serializers.CharField()
    colours = serializers.ListField(child=serializers.CharField(), help_text="Dominant colours, most dominant first.")
    attributes = serializers.DictField(help_text="Free-form attributes: colour, material, ...")
    sizes = ProductSizeSerializer(
        many=True, help_text="For a product sold by size, its sizes smallest first; empty for one sold whole."
    )
    images = serializers.SerializerMethodField()

    @extend_schema_field(ProductImageSerializer(many=True))
    def get_images(self, product) -> list[dict]:
        images = product.visible_images
        alt_texts = {
            image.pk: product.title if len(images) == 1 else f"{product.title}, photo {n} of {len(images)}"
            for n, image in enumerate(images, start=1)
        }
        return ProductImageSerializer(images, many=True, context={**self.context, "alt_texts": alt_texts}).data


class ProductPageSerializer(serializers.Serializer):
    count = serializers.IntegerField(help_text="Matching products in all pages.")
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = ProductSummarySerializer(many=True)


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField(help_text="What to filter by: a slug, a colour or a price range '0-25'.")
    label = serializers.CharField()
    count = serializers.IntegerField()


class FacetsSerializer(serializers.Serializer):
    category = FacetValueSerializer(many=True)
    brand = FacetValueSerializer(many=True)
    colour = FacetValueSerializer(many=True)
    price = FacetValueSerializer(many=True)


class SearchHitSerializer(serializers.Serializer):
    product = ProductSummarySerializer()
    score = serializers.FloatField(
        source="hit.score", help_text="Ranking score, higher is better; its scale depends on the mode."
    )
    image_id = serializers.IntegerField(
        source="hit.image_id", allow_null=True, help_text="The product image that matched the photo."
    )
    visual_similarity = serializers.FloatField(
        source="hit.visual_similarity",
        allow_null=True,
        help_text="Cosine similarity of that image to the photo, -1..1.",
    )
    matched_words = serializers.ListField(source="hit.matched_words", child=serializers.CharField())
    why = serializers.ListField(source="hit.why", child=serializers.CharField(), help_text="Short reasons for people.")


class SearchResultsSerializer(serializers.Serializer):
    mode = serializers.ChoiceField(source="results.mode", choices=["photo", "text", "hybrid"])
    total = serializers.IntegerField(
        source="results.total", help_text="Text: all matching products; photo: the hits found."
    )
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()
    applied_filters = serializers.ListField(
        source="results.applied_filters", child=serializers.CharField(), help_text="The filters in force, for people."
    )
    facets = FacetsSerializer(source="results.facets", allow_null=True)
    best_similarity = serializers.FloatField(
        source="results.best_similarity",
        allow_null=True,
        help_text="Photo alone: the closest product's cosine similarity to the photo, -1..1 (null otherwise).",
    )
    no_close_match = serializers.BooleanField(
        source="results.no_close_match",
        help_text="Photo alone: true when even the closest product is far from the photo "
        "(best_similarity under SEARCH_NO_CLOSE_MATCH_COSINE); the results are the nearest anyway.",
    )
    corrections = serializers.ListField(
        source="results.corrections",
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        help_text="Misspelt words searched as the catalogue word they look like: [typed, searched].",
    )
    colour_words = serializers.ListField(
        source="results.colour_words_read",
        child=serializers.ListField(child=serializers.CharField(), min_length=2, max_length=2),
        help_text="Colour words searched as the shop's colour name for them: [word, colour], e.g. [coral, orange].",
    )
    results = SearchHitSerializer(source="hits", many=True)
    search_id = serializers.SerializerMethodField(
        help_text="This search as the shop recorded it (docs/tracking.md); null when the client may not be "
        "tracked (Do-Not-Track, Global Privacy Control, no consent)."
    )

    def get_search_id(self, page) -> uuid.UUID | None:
        return self.context.get("search_id")


class SimilarProductSerializer(serializers.Serializer):
    product = ProductSummarySerializer()
    rank = serializers.IntegerField()
    score = serializers.FloatField(help_text="Visual similarity, -1..1.")


class SimilarProductsSerializer(serializers.Serializer):
    results = SimilarProductSerializer(many=True)


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. 'undecodable' or 'throttled'.")
    message = serializers.CharField(help_text="What went wrong, for people.")
    details = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors only: messages per offending field.",
    )


class ErrorResponseSerializer(serializers.Serializer):
    error = ErrorSerializer()
