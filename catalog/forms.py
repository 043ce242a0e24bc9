"""Forms of the storefront pages."""

from __future__ import annotations

import re

from django import forms

from catalog.selectors import DEFAULT_SORT, PRODUCT_SORTS

# Colours a listing can be narrowed to at once, and what a colour name looks like
# (search.colours names: "navy", "forest green").
MAX_COLOURS = 12
COLOUR_NAME = re.compile(r"^[a-z][a-z ]{0,19}$")


class ColourListField(forms.Field):
    """Several `colour` values from a query string: lower-cased, known-looking ones kept once."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> tuple[str, ...]:
        if not value:
            return ()
        values = [value] if isinstance(value, str) else value
        names = (" ".join(str(v).split()).lower() for v in values)
        return tuple(dict.fromkeys(name for name in names if COLOUR_NAME.match(name)))[:MAX_COLOURS]


class ListingForm(forms.Form):
    """The filters and sort order of a category listing (a GET form that works without
    JavaScript). Read leniently: a value that does not clean is ignored, never an error page.

    `price_buckets` are (value, label) pairs, cheapest first (search.text.price_bucket_values).
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
