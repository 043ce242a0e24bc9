"""Reads for the cart and orders. The session cart is {"<product id>": quantity}."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from catalog.models import Product, ProductImage
from orders.models import Order

CART_SESSION_KEY = "cart"
ORDERS_SESSION_KEY = "orders"
# The one-time key of the checkout form now open for this session's cart (orders.services).
CHECKOUT_KEY_SESSION_KEY = "checkout_key"


def cart_get(session: Mapping) -> dict[int, int]:
    """The session's cart as {product id: quantity}. A session is client-influenced state
    that outlives deploys, so anything malformed is dropped rather than trusted."""
    raw = session.get(CART_SESSION_KEY)
    if not isinstance(raw, dict):
        return {}
    cart = {}
    for key, quantity in raw.items():
        try:
            product_id = int(key)
        except (TypeError, ValueError):
            continue
        if isinstance(quantity, int) and not isinstance(quantity, bool) and quantity > 0 and product_id > 0:
            cart[product_id] = quantity
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
        if self.quantity > self.product.stock:
            return f"Only {self.product.stock} left"
        return ""


@dataclass
class CartSummary:
    lines: list[CartLine] = field(default_factory=list)
    # Products in the session that no longer exist at all (deleted by staff).
    missing_ids: list[int] = field(default_factory=list)

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


def cart_summary(cart: Mapping[int, int]) -> CartSummary:
    """The cart's lines with their products and first visible image, in the order they
    were added, in two queries however many lines there are."""
    if not cart:
        return CartSummary()
    ids = list(cart)
    products = Product.objects.in_bulk(ids)
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
    for product_id in ids:
        product = products.get(product_id)
        if product is None:
            summary.missing_ids.append(product_id)
        else:
            summary.lines.append(CartLine(product=product, quantity=cart[product_id], image=images.get(product_id)))
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
