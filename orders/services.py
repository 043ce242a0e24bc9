"""Writes for the cart (kept in the session) and orders. Views and the admin call these."""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction

from catalog import services as catalog_services
from catalog.models import Product
from orders import selectors
from orders.models import Order, OrderLine
from orders.selectors import CART_SESSION_KEY, CHECKOUT_KEY_SESSION_KEY, ORDERS_SESSION_KEY

# Crockford's base 32: no I, L, O or U, so a reference read out on the phone is unambiguous.
REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
REFERENCE_LENGTH = 12  # 60 random bits: not guessable, still short enough to read out
# Past this a session is no ledger: the confirmation page only needs the latest orders.
ORDERS_REMEMBERED = 20
# Checkout keys: token_urlsafe(32) is 43 characters (Order.checkout_key holds 64).
CHECKOUT_KEY_BYTES = 32


class CartError(Exception):
    """A cart change that was refused; the message is for the shopper."""


class OrderError(Exception):
    """An order that could not be placed; nothing was written. The message is for the shopper."""


class CheckoutKeyError(Exception):
    """A checkout form submitted without the one-time key this session issued for it (none
    at all, or one from an earlier visit); nothing was written. The message is for the
    shopper, shown on the form again (with a fresh key)."""


@dataclass(frozen=True)
class CartChange:
    product: Product
    quantity: int  # of this product now in the cart
    message: str
    clipped: bool = False  # fewer than asked for, because of stock


@dataclass(frozen=True)
class CustomerData:
    name: str
    email: str
    address_line1: str
    postal_code: str
    city: str
    country: str
    address_line2: str = ""
    region: str = ""
    phone: str = ""


def _cart_save(session: MutableMapping, cart: dict[int, int]) -> None:
    # Reassigning (never mutating in place) is what marks a Django session modified.
    session[CART_SESSION_KEY] = {str(product_id): quantity for product_id, quantity in cart.items()}


def _available_product(product_id: int) -> Product:
    product = Product.objects.filter(pk=product_id, is_active=True).first()
    if product is None:
        raise CartError("Sorry, this product is no longer available.")
    return product


def _clip(product: Product, wanted: int) -> tuple[int, bool]:
    return (product.stock, True) if wanted > product.stock else (wanted, False)


def cart_add(session: MutableMapping, *, product_id: int, quantity: int = 1) -> CartChange:
    """Add `quantity` of an active, in-stock product; the line never exceeds the stock."""
    if quantity < 1:
        raise CartError("Choose a quantity of at least 1.")
    product = _available_product(product_id)
    if product.stock == 0:
        raise CartError(f"Sorry, “{product.title}” is out of stock.")
    cart = selectors.cart_get(session)
    already = cart.get(product.pk, 0)
    new, clipped = _clip(product, already + quantity)
    cart[product.pk] = new
    _cart_save(session, cart)
    if not clipped:
        return CartChange(product, new, f"Added “{product.title}” to your cart.")
    if new == already:
        message = f"Only {product.stock} of “{product.title}” in stock, and all of them are already in your cart."
    else:
        message = (
            f"Added “{product.title}” to your cart, but we have only {product.stock} in stock: your cart now has {new}."
        )
    return CartChange(product, new, message, clipped=True)


def cart_set_quantity(session: MutableMapping, *, product_id: int, quantity: int) -> CartChange | None:
    """Set a line's quantity (0 removes it, returning None), clipped to the stock. A line
    whose product went off sale is removed, and CartError says so."""
    cart = selectors.cart_get(session)
    if product_id not in cart:
        raise CartError("That product is not in your cart any more.")
    if quantity < 0:
        raise CartError("Choose a quantity of 0 or more.")
    if quantity == 0:
        del cart[product_id]
        _cart_save(session, cart)
        return None
    product = Product.objects.filter(pk=product_id).first()
    if product is None or not product.is_active or product.stock == 0:
        del cart[product_id]
        _cart_save(session, cart)
        name = f"“{product.title}”" if product else "This product"
        raise CartError(f"{name} is no longer available and was removed from your cart.")
    new, clipped = _clip(product, quantity)
    cart[product_id] = new
    _cart_save(session, cart)
    if clipped:
        return CartChange(
            product, new, f"Only {product.stock} of “{product.title}” in stock: your cart now has {new}.", clipped=True
        )
    return CartChange(product, new, f"Updated “{product.title}”: {new} in your cart.")


def cart_remove(session: MutableMapping, *, product_id: int) -> str | None:
    """Remove a line and return a message saying so; None when it was not in the cart
    (a second click, another tab)."""
    cart = selectors.cart_get(session)
    if cart.pop(product_id, None) is None:
        return None
    _cart_save(session, cart)
    title = Product.objects.filter(pk=product_id).values_list("title", flat=True).first()
    return f"Removed “{title}” from your cart." if title else "Removed the product from your cart."


def cart_forget_missing(session: MutableMapping, product_ids: list[int]) -> None:
    """Drop lines of products that no longer exist: nobody can buy or even name them."""
    if not product_ids:
        return
    cart = selectors.cart_get(session)
    for product_id in product_ids:
        cart.pop(product_id, None)
    _cart_save(session, cart)


def cart_clear(session: MutableMapping) -> None:
    session.pop(CART_SESSION_KEY, None)
    # A plain pop does not mark a Django session modified.
    if hasattr(session, "modified"):
        session.modified = True


def _new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def order_place(*, cart: dict[int, int], customer: CustomerData, checkout_key: str | None = None) -> tuple[Order, bool]:
    """Turn a cart into an order, all or nothing; returns (order, created).

    The cart's products are locked (in id order, so two checkouts sharing products cannot
    deadlock), then re-checked: any line that went off sale or exceeds the stock left
    raises OrderError naming the product, and nothing is written. Otherwise the stock is
    decremented and the order is created with price snapshots.

    With a checkout_key (stored on the order, unique) the same key never places two orders.
    Two submits of one checkout form (a double click, a second tab) that race each other
    both get here: the second waits for the first's product locks, then either fails its
    stock check or its insert of the order hits the unique key (IntegrityError; also when
    the carts differ and no lock was shared). Either way everything it did is rolled back,
    and if an order with its key exists it gets (that order, False) instead of the error.
    """
    try:
        return _order_create(cart=cart, customer=customer, checkout_key=checkout_key), True
    except (OrderError, IntegrityError):
        # Read after the rollback: a committed twin is visible (READ COMMITTED).
        placed = Order.objects.filter(checkout_key=checkout_key).first() if checkout_key else None
        if placed is None:
            raise
        return placed, False


def _order_create(*, cart: dict[int, int], customer: CustomerData, checkout_key: str | None) -> Order:
    cart = {product_id: quantity for product_id, quantity in cart.items() if quantity > 0}
    if not cart:
        raise OrderError("Your cart is empty.")
    with transaction.atomic():
        products = list(Product.objects.select_for_update().filter(pk__in=list(cart)).order_by("pk"))
        if len(products) != len(cart):
            raise OrderError("A product in your cart is no longer sold. Please check your cart.")
        for product in products:
            quantity = cart[product.pk]
            if not product.is_active or product.stock == 0:
                raise OrderError(f"Sorry, “{product.title}” is no longer available. Please remove it from your cart.")
            if quantity > product.stock:
                raise OrderError(
                    f"Sorry, only {product.stock} of “{product.title}” left. Please lower the quantity in your cart."
                )
        currencies = {product.currency for product in products}
        if len(currencies) > 1:
            raise OrderError("Your cart mixes prices in different currencies; please order them separately.")
        sold_out = []
        for product in products:
            product.stock -= cart[product.pk]
            if product.stock == 0:
                # Search filters on "in stock" (the Elasticsearch index keeps its own copy),
                # so a product that just sold out is refreshed like any catalogue change.
                # Other stock changes leave that filter as it was: no refresh per order.
                product.search_dirty = True
                sold_out.append(product.pk)
        # One UPDATE for every product. The rows are locked, so plain values are safe here.
        Product.objects.bulk_update(products, ["stock", "search_dirty"])
        catalog_services.products_enqueue_search_refresh(sold_out)
        lines = [
            OrderLine(
                product=product,
                sku=product.sku,
                title=product.title,
                unit_price=product.price,
                quantity=cart[product.pk],
                line_total=product.price * cart[product.pk],
            )
            for product in products
        ]
        order = Order.objects.create(
            reference=_new_reference(),
            checkout_key=checkout_key or None,
            status=Order.Status.PLACED,
            name=customer.name,
            email=customer.email,
            phone=customer.phone,
            address_line1=customer.address_line1,
            address_line2=customer.address_line2,
            postal_code=customer.postal_code,
            city=customer.city,
            region=customer.region,
            country=customer.country,
            currency=currencies.pop(),
            total=sum((line.line_total for line in lines), Decimal("0.00")),
        )
        for line in lines:
            line.order = order
        OrderLine.objects.bulk_create(lines)
    return order


def checkout_key_issue(session: MutableMapping) -> str:
    """The one-time key for the checkout form of the session's cart, for its hidden field.

    The key stays the same until it places an order, so every reload and every tab of the
    checkout form carries the same one, and only one of their submits can place an order;
    the next checkout gets a new key.
    """
    key = session.get(CHECKOUT_KEY_SESSION_KEY)
    if not isinstance(key, str) or not key:
        key = secrets.token_urlsafe(CHECKOUT_KEY_BYTES)
        session[CHECKOUT_KEY_SESSION_KEY] = key
    return key


def cart_checkout(session: MutableMapping, *, customer: CustomerData, checkout_key: str) -> tuple[Order, bool]:
    """Place the session cart's order, then empty the cart and let this session (and only
    this one) see the order's confirmation page. Returns (order, created).

    checkout_key is the key the checkout form was given (checkout_key_issue). A key that
    already placed an order of this session places nothing: (that order, False), also
    when the cart is empty by then. A missing key, or one this session did not issue (or
    no longer holds: an earlier visit's form), raises CheckoutKeyError.
    """
    if not isinstance(checkout_key, str) or not checkout_key:
        raise CheckoutKeyError(
            "This checkout form was sent without its checkout key. Please check your details and place the order again."
        )
    if checkout_key != session.get(CHECKOUT_KEY_SESSION_KEY):
        # Not the open checkout's key: the repeat of one that already placed its order
        # (this request loaded the session after the first one saved it), or unknown.
        placed = selectors.order_for_checkout_key(session, checkout_key)
        if placed is None:
            raise CheckoutKeyError(
                "This checkout form is out of date (it was opened in an earlier visit). "
                "Please check your details and place the order again."
            )
        return placed, False
    cart = selectors.cart_get(session)
    try:
        order, created = order_place(cart=cart, customer=customer, checkout_key=checkout_key)
    except OrderError:
        # Products deleted meanwhile cannot be named or bought: take them out of the cart
        # so the shopper is not stuck with a line they cannot see or remove.
        missing = set(cart) - set(Product.objects.filter(pk__in=list(cart)).values_list("pk", flat=True))
        cart_forget_missing(session, sorted(missing))
        raise
    # Also when a twin request placed the order (both loaded the session before either
    # saved it): both leave the session the same, so whichever saves last loses nothing.
    cart_clear(session)
    session.pop(CHECKOUT_KEY_SESSION_KEY, None)
    placed = session.get(ORDERS_SESSION_KEY)
    placed = placed if isinstance(placed, list) else []
    if order.reference not in placed:
        session[ORDERS_SESSION_KEY] = [*placed, order.reference][-ORDERS_REMEMBERED:]
    return order, created
