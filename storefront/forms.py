"""Forms of the storefront pages: the category listing's filters and sort, and the search
pages' two forms, whose field names are the public contract (a JavaScript photo widget
posts and links with the same names):

GET /search/ (SearchForm): q, photo (a token from the upload), crop ("l,t,r,b" in the stored
photo's pixels), category (slug), brand (slug), colour (repeatable name), price (bucket
"0-25", "25-50", "50-100", "100-200", "200-"), in_stock ("1"), page (1-based, 24 a page).

POST /search/photo/ (PhotoUploadForm, multipart): photo (the file), q, and a crop box in the
uploaded picture's upright pixels: crop ("l,t,r,b") or crop_left, crop_top, crop_right,
crop_bottom. Success: 303 to /search/?q=…&photo=<token>&crop=…; failure: the search page
with status 400 and the message beside the upload control. With "Accept: application/json"
(the photo widget, static/js/photo-search.js): 200 {"url": <results>} or 400 {"errors": [...]}.
"""

from __future__ import annotations

import math
import re

from django import forms
from django.conf import settings

from catalog.product_filters import PRICE_BUCKETS, colour_names_read_leniently
from catalog.selectors import DEFAULT_SORT, PRODUCT_SORTS
from search.photo_search import CropBox
from search.product_search import MAX_PHOTO_DEPTH
from search.query_photos import TOKEN_RE
from vision.colours import NAMES as COLOUR_NAMES


class ColourListField(forms.Field):
    """Several `colour` values from a query string, read leniently
    (catalog.product_filters.colour_names_read_leniently)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> tuple[str, ...]:
        if not value:
            return ()
        return colour_names_read_leniently(value)


class ListingForm(forms.Form):
    """The filters and sort order of a category listing (a GET form that works without
    JavaScript). Read leniently: a value that does not clean is ignored, never an error page.

    `price_buckets` are (value, label) pairs, cheapest first (catalog.product_filters.price_bucket_values).
    """

    brand = forms.SlugField(required=False, max_length=140)
    colour = ColourListField(required=False)
    price = forms.ChoiceField(required=False)
    in_stock = forms.BooleanField(required=False)
    sort = forms.ChoiceField(required=False, choices=list(PRODUCT_SORTS.items()))

    def __init__(self, data, *, price_buckets: list[tuple[str, str]]):
        super().__init__(data)
        self.fields["price"].choices = [("", "Any price"), *price_buckets]

    def values(self) -> dict:
        """The valid values, with defaults for the rest."""
        self.is_valid()
        data = self.cleaned_data
        return {
            "brand": data.get("brand") or "",
            "colour": data.get("colour") or (),
            "price": data.get("price") or "",
            "in_stock": bool(data.get("in_stock")),
            "sort": data.get("sort") or DEFAULT_SORT,
        }


# Search results pages: 24 a page, as deep as photo results go (MAX_PHOTO_DEPTH, 500).
SEARCH_PAGE_SIZE = 24
MAX_PAGE = MAX_PHOTO_DEPTH // SEARCH_PAGE_SIZE
CROP_RE = re.compile(r"^\s*(\d{1,5})\s*,\s*(\d{1,5})\s*,\s*(\d{1,5})\s*,\s*(\d{1,5})\s*$")


def size_text(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MB"
    if size >= 1024:
        return f"{math.ceil(size / 1024)} KB"
    return f"{size} bytes"


def parse_crop(value: str) -> CropBox | None:
    """'l,t,r,b' in pixels; None for an empty value. forms.ValidationError otherwise."""
    if not value:
        return None
    match = CROP_RE.match(value)
    if not match:
        raise forms.ValidationError("The crop box must be four whole numbers: left,top,right,bottom.", code="bad_crop")
    left, top, right, bottom = (int(group) for group in match.groups())
    if right <= left or bottom <= top:
        raise forms.ValidationError(
            "The crop box must have its right edge after its left and its bottom below its top.", code="bad_crop"
        )
    return CropBox(left, top, right, bottom)


class SearchForm(forms.Form):
    """GET /search/: what to search for and how to narrow it. Every field optional."""

    q = forms.CharField(required=False, max_length=200, strip=True)
    photo = forms.RegexField(
        TOKEN_RE, required=False, error_messages={"invalid": "That photo link is not valid; upload the photo again."}
    )
    crop = forms.CharField(required=False, max_length=40)
    category = forms.SlugField(required=False, max_length=255)
    brand = forms.SlugField(required=False, max_length=255)
    colour = forms.MultipleChoiceField(
        required=False,
        choices=[(name, name) for name in COLOUR_NAMES],
        error_messages={"invalid_choice": "There is no colour “%(value)s”."},
    )
    price = forms.ChoiceField(
        required=False,
        choices=[("", "any")] + list(PRICE_BUCKETS.items()),
        error_messages={"invalid_choice": "There is no price range “%(value)s”."},
    )
    in_stock = forms.BooleanField(required=False)
    page = forms.CharField(required=False)  # read leniently by clean_page: a bad page is page 1

    def clean_crop(self):
        crop = parse_crop(self.cleaned_data["crop"])
        if crop is not None and not self.data.get("photo"):
            raise forms.ValidationError("A crop box needs a photo.", code="bad_crop")
        return crop

    def clean_page(self) -> int:
        try:
            page = int(self.cleaned_data["page"] or 1)
        except ValueError:
            return 1
        return min(max(page, 1), MAX_PAGE)

    def clean_colour(self) -> list[str]:
        return list(dict.fromkeys(self.cleaned_data["colour"]))


class PhotoUploadForm(forms.Form):
    """POST /search/photo/ (multipart): the photo, optional words, an optional crop box in the
    uploaded picture's upright pixels, either as `crop` ("l,t,r,b") or as the four fields."""

    photo = forms.FileField(
        allow_empty_file=True,  # an empty file gets the decoder's message
        error_messages={"required": "Choose a photo to search with."},
    )
    q = forms.CharField(required=False, max_length=200, strip=True)
    crop = forms.CharField(required=False, max_length=40)
    crop_left = forms.IntegerField(required=False, min_value=0)
    crop_top = forms.IntegerField(required=False, min_value=0)
    crop_right = forms.IntegerField(required=False, min_value=0)
    crop_bottom = forms.IntegerField(required=False, min_value=0)

    def clean_photo(self):
        photo = self.cleaned_data["photo"]
        limit = settings.API_MAX_UPLOAD_BYTES
        if photo.size > limit:
            raise forms.ValidationError(
                f"The photo is {size_text(photo.size)}; the limit is {size_text(limit)}. "
                "Try a smaller photo or a screenshot.",
                code="too_large",
            )
        return photo

    def clean(self):
        data = super().clean()
        sides = [data.get(name) for name in ("crop_left", "crop_top", "crop_right", "crop_bottom")]
        try:
            if any(side is not None for side in sides):
                if any(side is None for side in sides):
                    raise forms.ValidationError(
                        "The crop box needs all four of left, top, right and bottom.", code="bad_crop"
                    )
                data["crop_box"] = parse_crop(",".join(str(side) for side in sides))
            else:
                data["crop_box"] = parse_crop(data.get("crop", ""))
        except forms.ValidationError as error:
            self.add_error("crop", error)
        return data


def upload_too_large_message(content_length: int) -> str:
    """For a request refused on its Content-Length, before the body is read."""
    return (
        f"The upload is {size_text(content_length)}; the limit is {size_text(settings.API_MAX_UPLOAD_BYTES)}. "
        "Try a smaller photo or a screenshot."
    )
