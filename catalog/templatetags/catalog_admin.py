"""The admin home's panel of what needs staff: pictures the pipeline flagged, rejected or could
not process, and products shoppers cannot see for want of a picture, each linking to its list."""

from django import template
from django.urls import reverse

from catalog import selectors
from catalog.models import ProductImage

register = template.Library()

# (status, what staff read after "N picture(s)"): flagged pictures are still shown, the others
# are not.
ATTENTION = [
    (ProductImage.Status.FLAGGED, "flagged (shown, worth a look)"),
    (ProductImage.Status.REJECTED, "rejected (not shown)"),
    (ProductImage.Status.FAILED, "that failed processing"),
]


@register.inclusion_tag("admin/catalog/needs_attention.html")
def catalogue_needs_attention() -> dict:
    """Two queries: the picture counts by status, the products without a usable picture."""
    counts = selectors.image_status_counts()
    images_url = reverse("admin:catalog_productimage_changelist")
    rows = [
        {
            "count": counts.get(status, 0),
            "noun": "picture",
            "label": label,
            "url": f"{images_url}?status__exact={status.value}",
        }
        for status, label in ATTENTION
    ]
    rows.append(
        {
            "count": selectors.products_needing_a_photo().count(),
            "noun": "product",
            "label": "not in the shop for want of a usable picture",
            "url": reverse("admin:catalog_product_changelist") + "?photo=needed",
        }
    )
    return {"rows": rows}
