"""Reads for the cart and orders. The session cart is {"<line key>": quantity}, where a line
key is "<product id>" for a product sold whole and "<product id>-<size id>" for one size of a
product sold by size (CartLineKey)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from catalog.models import Product, ProductImage, ProductVariant
from orders.models import Order

CART_SESSION_KEY = "cart"
ORDERS_SESSION_KEY = "orders"
# The one-time key of the checkout form now open for this session's cart (orders.services).
CHECKOUT_KEY_SESSION_KEY = "checkout_key"


class CartLineKey(NamedTuple):
    """What a cart line is of: a product, and its size when it is sold by size."""

    product_id: int
    variant_id: int | None = None

    def __str__(self) -> str:
        return f"{self.product_id}-{self.variant_id}" if self.variant_id else str(self.product_id)

    @classmethod
    def parse(cls, text: str) -> CartLineKey | None:
        """ "12" or "12-34" -> the key; None for anything else."""
        parts = text.split("-") if isinstance(text, str) else []
        if not 1 <= len(parts) <= 2 or not all(part.isascii() and part.isdigit() for part in parts):
            return None
        ids = [int(part) for part in parts]
        if min(ids) < 1:
            return None
        return cls(*ids)


def line_variant(key: CartLineKey, sizes: Mapping[int, ProductVariant]) -> tuple[ProductVariant | None, bool]:
    """The size a line names among its product's sizes (by id), and whether the line is wrong
    about sizes: it names a size the product does not have, or no size of a product sold by
    size. The one rule the cart, its summary and order placement share."""
    variant = sizes.get(key.variant_id) if key.variant_id else None
    return variant, variant is None and (key.variant_id is not None or bool(sizes))


def line_name(product: Product, variant: ProductVariant | None) -> str:
    """How messages name a line: “Marta dress”, or “Marta dress” in size M."""
    return f"“{product.title}” in size {variant.size}" if variant else f"“{product.title}”"


def cart_get(session: Mapping) -> dict[CartLineKey, int]:
    """The session's cart as {line key: quantity}. A session is client-influenced state that
    outlives deploys, so anything malformed is dropped rather than trusted."""
    raw = session.get(CART_SESSION_KEY)
    if not isinstance(raw, dict):
        return {}
    cart = {}
    for text, quantity in raw.items():
        key = CartLineKey.parse(text)
        if key is not None and isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > 0:
            cart[key] = quantity
    return cart


def cart_item_count(session: Mapping) -> int:
    """Items in the cart (quantities summed), from the session alone: no query, so the
    header can show it on every page."""
    return sum(cart_get(session).values())


@dataclass
class CartLine:
    product: Product
    quantity: int
    image: ProductImage | None = None
    # The size, for a product sold by size; None for one sold whole (or a size gone since).
    variant: ProductVariant | None = None
    # The line names a size the product no longer has, or no size of a product now sold by size.
    size_missing: bool = False
    # The line's key in the session (what its quantity and remove buttons post to).
    key: CartLineKey | None = None

    def __post_init__(self) -> None:
        if self.key is None:
            self.key = CartLineKey(self.product.pk, self.variant.pk if self.variant else None)

    @property
    def stock(self) -> int:
        return self.variant.stock if self.variant else self.product.stock

    @property
    def name(self) -> str:
        return line_name(self.product, self.variant)

    @property
    def unit_price(self) -> Decimal:
        return self.product.price

    @property
    def line_total(self) -> Decimal:
        return self.product.price * self.quantity

    @property
    def problem(self) -> str:
        """Why this line cannot be ordered as it is, in words; "" when it can."""
        if not self.product.is_active or self.product.stock == 0:
            return "No longer available"
        if self.size_missing:
            return "This size is no longer sold: choose a size on the product page"
        if self.stock == 0:
            return f"Size {self.variant.size} is sold out"
        if self.quantity > self.stock:
            return f"Only {self.stock} left"
        return ""


@dataclass
class CartSummary:
    lines: list[CartLine] = field(default_factory=list)
    # Lines whose product no longer exists at all (deleted by staff).
    missing: list[CartLineKey] = field(default_factory=list)

    @property
    def item_count(self) -> int:
        return sum(line.quantity for line in self.lines)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines), Decimal("0.00"))

    @property
    def currency(self) -> str:
        return self.lines[0].product.currency if self.lines else "EUR"

    @property
    def problems(self) -> list[CartLine]:
        return [line for line in self.lines if line.problem]


def cart_summary(cart: Mapping[CartLineKey, int]) -> CartSummary:
    """The cart's lines with their products, sizes and first visible image, in the order they
    were added, in three queries however many lines there are (products, their sizes, images)."""
    if not cart:
        return CartSummary()
    products = Product.objects.in_bulk({key.product_id for key in cart})
    # Every size of the cart's products: also tells a product now sold by size from one sold whole.
    sizes: dict[int, dict[int, ProductVariant]] = {}
    for variant in ProductVariant.objects.filter(product_id__in=list(products)) if products else []:
        sizes.setdefault(variant.product_id, {})[variant.pk] = variant
    # Only each product's first visible image: DISTINCT ON keeps one row per product.
    images = (
        {
            image.product_id: image
            for image in ProductImage.objects.filter(
                product_id__in=list(products), status__in=ProductImage.SEARCHABLE_STATUSES
            )
            .order_by("product_id", "position", "id")
            .distinct("product_id")
            .only("id", "product_id", "file", "thumbnail", "width", "height")
        }
        if products
        else {}
    )
    summary = CartSummary()
    for key, quantity in cart.items():
        product = products.get(key.product_id)
        if product is None:
            summary.missing.append(key)
            continue
        variant, size_missing = line_variant(key, sizes.get(product.pk, {}))
        summary.lines.append(
            CartLine(
                product=product,
                quantity=quantity,
                image=images.get(product.pk),
                variant=variant,
                size_missing=size_missing,
                key=key,
            )
        )
    return summary


def product_url(product_id: int) -> str | None:
    """Where an active product's page is, for redirecting back to it; None when it is off sale."""
    product = Product.objects.filter(pk=product_id, is_active=True).only("pk", "slug").first()
    return product.get_absolute_url() if product else None


def order_get_for_session(session: Mapping, reference: str) -> Order:
    """An order with its lines, only if this session placed it (Order.DoesNotExist otherwise:
    the reference alone is no proof of ownership when links get shared)."""
    placed = session.get(ORDERS_SESSION_KEY)
    if not isinstance(placed, list) or reference not in placed:
        raise Order.DoesNotExist(reference)
    return Order.objects.prefetch_related("lines").get(reference=reference)


def order_for_checkout_key(session: Mapping, checkout_key: str) -> Order | None:
    """The order a checkout key placed, only if this session placed it; None otherwise (and
    without a query when the session has placed no order)."""
    placed = session.get(ORDERS_SESSION_KEY)
    if not isinstance(placed, list) or not placed or not checkout_key:
        return None
    return Order.objects.filter(checkout_key=checkout_key, reference__in=placed).first()
