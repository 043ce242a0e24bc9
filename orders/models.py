from django.db import models
from django.urls import reverse

from catalog.models import Product, ProductVariant


class Order(models.Model):
    """A placed order. What was bought is snapshotted on its lines, so later changes to
    products (price, title, even SKU) never rewrite history."""

    class Status(models.TextChoices):
        PLACED = "placed", "Placed"
        PAID = "paid", "Paid"
        SHIPPED = "shipped", "Shipped"
        CANCELLED = "cancelled", "Cancelled"

    # Shown to the shopper and used in the confirmation URL; random (orders.services) so
    # order numbers leak neither volume nor each other.
    reference = models.CharField(max_length=16, unique=True, editable=False)
    # The one-time key of the checkout form that placed this order (orders.services.cart_checkout).
    # Unique, so a form submitted twice (a double click, a second tab) cannot place a second
    # order even when both submits race; NULL for orders placed before keys existed, or not
    # through the checkout form.
    checkout_key = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PLACED, db_index=True)
    name = models.CharField("full name", max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=32, blank=True)
    address_line1 = models.CharField("address", max_length=200)
    address_line2 = models.CharField("address line 2", max_length=200, blank=True)
    postal_code = models.CharField(max_length=20)
    city = models.CharField(max_length=120)
    region = models.CharField("region or state", max_length=120, blank=True)
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2 code")
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_not_negative"),
        ]

    def __str__(self) -> str:
        return self.reference

    def get_absolute_url(self) -> str:
        return reverse("orders:order", kwargs={"reference": self.reference})


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines")
    # PROTECT, not SET_NULL: a sold product is part of an accounting record (returns,
    # reports), and the shop already has the right way to take a product off sale
    # (is_active=False). Deleting one in the admin is refused with the orders listed,
    # like categories that still hold products. The snapshots below keep the order
    # readable whatever happens to the product later.
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="order_lines")
    # The size bought, for products sold by size (PROTECT for the same reason: a sold size is
    # taken off sale with stock 0, not deleted); NULL for a product without sizes.
    variant = models.ForeignKey(
        ProductVariant, null=True, blank=True, on_delete=models.PROTECT, related_name="order_lines"
    )
    # The size's SKU when a size was bought, else the product's.
    sku = models.CharField("SKU", max_length=64)
    size = models.CharField(max_length=32, blank=True)
    title = models.CharField(max_length=255)
    unit_price = models.DecimalField(max_digits=12, decimal_places=2)
    quantity = models.PositiveIntegerField()
    line_total = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["order_id", "id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="orderline_quantity_positive"),
            models.CheckConstraint(condition=models.Q(unit_price__gte=0), name="orderline_unit_price_not_negative"),
            # One line per product and size; NULLS NOT DISTINCT, so a product without sizes
            # still gets one line per order.
            models.UniqueConstraint(
                fields=["order", "product", "variant"],
                name="orderline_unique_variant_per_order",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        size = f", size {self.size}" if self.size else ""
        return f"{self.quantity} x {self.title} ({self.sku}{size})"
