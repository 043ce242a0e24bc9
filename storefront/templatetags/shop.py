"""Small presentation helpers for the storefront templates."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()

CURRENCY_SYMBOLS = {"EUR": "€", "USD": "$", "GBP": "£"}
# Attributes people look for first; the rest follow alphabetically.
ATTRIBUTE_ORDER = [
    "colour",
    "accent_colour",
    "pattern",
    "material",
    "sizes",
    "size",
    "fit",
    "length",
    "leg",
    "neckline",
    "sleeve",
    "closure",
    "capacity",
    "dimensions",
]


@register.filter
def money(amount, currency="EUR"):
    """12.5, "EUR" -> "€12.50"; currencies without a symbol here: "12.50 CHF"."""
    try:
        value = Decimal(amount)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    text = f"{value:,.2f}"
    symbol = CURRENCY_SYMBOLS.get((currency or "").upper())
    return f"{symbol}{text}" if symbol else f"{text} {currency}".strip()


@register.filter
def attribute_rows(attributes):
    """A product's attributes as (label, text) pairs in a sensible order, empty values left out."""
    if not isinstance(attributes, dict):
        return []
    rank = {name: n for n, name in enumerate(ATTRIBUTE_ORDER)}
    rows = []
    for key in sorted(attributes, key=lambda k: (rank.get(k, len(rank)), k)):
        value = attributes[key]
        if isinstance(value, bool):
            value = "yes" if value else "no"
        elif isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        value = str(value if value is not None else "").strip()
        if value:
            rows.append((str(key).replace("_", " ").strip().capitalize(), value))
    return rows
