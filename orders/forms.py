from django import forms
from django.core.exceptions import NON_FIELD_ERRORS

from orders.services import CustomerData

# Where the shop delivers. On the form only (not the model), so widening it needs no migration.
SHIPPING_COUNTRIES = [
    ("AT", "Austria"),
    ("BE", "Belgium"),
    ("HR", "Croatia"),
    ("CZ", "Czechia"),
    ("DK", "Denmark"),
    ("EE", "Estonia"),
    ("FI", "Finland"),
    ("FR", "France"),
    ("DE", "Germany"),
    ("GR", "Greece"),
    ("HU", "Hungary"),
    ("IE", "Ireland"),
    ("IT", "Italy"),
    ("LV", "Latvia"),
    ("LT", "Lithuania"),
    ("LU", "Luxembourg"),
    ("NL", "Netherlands"),
    ("NO", "Norway"),
    ("PL", "Poland"),
    ("PT", "Portugal"),
    ("SK", "Slovakia"),
    ("SI", "Slovenia"),
    ("ES", "Spain"),
    ("SE", "Sweden"),
    ("CH", "Switzerland"),
    ("GB", "United Kingdom"),
    ("US", "United States"),
]
# Quantities beyond this are typos; the services clip to the stock anyway.
MAX_QUANTITY = 999


class AddToCartForm(forms.Form):
    product_id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    # The chosen size of a product sold by size (the product page's size picker); whether one
    # is needed, and whether it is the product's, is the cart's to say (orders.services).
    variant_id = forms.IntegerField(min_value=1, required=False)
    quantity = forms.IntegerField(min_value=1, max_value=MAX_QUANTITY, initial=1)


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(min_value=0, max_value=MAX_QUANTITY)


def _text(label, autocomplete, *, required=True, max_length=200, **attrs):
    return forms.CharField(
        label=label,
        required=required,
        max_length=max_length,
        widget=forms.TextInput(attrs={"autocomplete": autocomplete, **attrs}),
    )


class CheckoutForm(forms.Form):
    """Who the order is for and where it goes. Autocomplete tokens let browsers and
    password managers fill the whole form."""

    name = _text("Full name", "shipping name")
    email = forms.EmailField(
        label="Email",
        help_text="We only use it about this order.",
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label="Phone (optional)",
        required=False,
        max_length=32,
        help_text="Only for the courier, if they cannot find you.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "type": "tel"}),
    )
    address_line1 = _text("Street and number", "shipping address-line1")
    address_line2 = _text("Apartment, floor, etc. (optional)", "shipping address-line2", required=False)
    postal_code = _text("Postal code", "shipping postal-code", max_length=20)
    city = _text("City", "shipping address-level2", max_length=120)
    region = _text("Region or state (optional)", "shipping address-level1", required=False, max_length=120)
    country = forms.ChoiceField(
        label="Country",
        choices=[("", "Choose a country")] + SHIPPING_COUNTRIES,
        widget=forms.Select(attrs={"autocomplete": "shipping country"}),
    )

    def clean(self):
        cleaned = super().clean()
        # Collapse runs of whitespace: they end up on a parcel label.
        for name, value in cleaned.items():
            if isinstance(value, str) and name != "email":
                cleaned[name] = " ".join(value.split())
        return cleaned

    @property
    def field_error_count(self) -> int:
        """Fields with errors, for the summary above the form (form-wide errors are listed
        there by themselves)."""
        return sum(1 for name in self.errors if name != NON_FIELD_ERRORS)

    def customer(self) -> CustomerData:
        return CustomerData(**self.cleaned_data)
