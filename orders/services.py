"""Writes for the cart (kept in the session) and orders. Views and the admin call these.

The cart's changes and placed orders are recorded for the shopper's `identity` (tracking:
add_to_cart, remove_from_cart, purchase) after commit; None (a browser that may not be
tracked, the admin) records nothing."""

from __future__ import annotations

import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction

from catalog import services as catalog_services
from catalog.models import Product, ProductVariant
from orders import selectors
from orders.models import Order, OrderLine
from orders.selectors import CART_SESSION_KEY, CHECKOUT_KEY_SESSION_KEY, ORDERS_SESSION_KEY, CartLineKey
from tracking import services as tracking_services
from tracking.visitors import Identity

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
    quantity: int  # of this product (in this size) now in the cart
    message: str
    clipped: bool = False  # fewer than asked for, because of stock
    variant: ProductVariant | None = None


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


def _cart_save(session: MutableMapping, cart: dict[CartLineKey, int]) -> None:
    # Reassigning (never mutating in place) is what marks a Django session modified.
    session[CART_SESSION_KEY] = {str(key): quantity for key, quantity in cart.items()}


def _line_for_sale(key: CartLineKey) -> tuple[Product, ProductVariant | None]:
    """The active product of a line and its size; CartError when either is gone, or when the
    line names no size of a product sold by size."""
    product = Product.objects.filter(pk=key.product_id, is_active=True).first()
    if product is None:
        raise CartError("Sorry, this product is no longer available.")
    variant, size_missing = selectors.line_variant(key, {variant.pk: variant for variant in product.variants.all()})
    if size_missing and key.variant_id is None:
        raise CartError(f"Please choose a size of “{product.title}”.")
    if size_missing:
        raise CartError(f"Sorry, that size of “{product.title}” is no longer sold. Please choose another.")
    return product, variant


def _clip(stock: int, wanted: int) -> tuple[int, bool]:
    return (stock, True) if wanted > stock else (wanted, False)


def cart_add(
    session: MutableMapping,
    *,
    product_id: int,
    variant_id: int | None = None,
    quantity: int = 1,
    identity: Identity | None = None,
) -> CartChange:
    """Add `quantity` of an active product (of one of its sizes, for a product sold by size)
    that is in stock; the line never exceeds the stock."""
    if quantity < 1:
        raise CartError("Choose a quantity of at least 1.")
    key = CartLineKey(product_id, variant_id)
    product, variant = _line_for_sale(key)
    stock, name = (variant or product).stock, selectors.line_name(product, variant)
    if stock == 0:
        raise CartError(f"Sorry, {name} is out of stock.")
    cart = selectors.cart_get(session)
    already = cart.get(key, 0)
    new, clipped = _clip(stock, already + quantity)
    cart[key] = new
    _cart_save(session, cart)
    _cart_change_recorded(identity, product.pk, variant, new - already)
    if not clipped:
        return CartChange(product, new, f"Added {name} to your cart.", variant=variant)
    if new == already:
        message = f"Only {stock} of {name} in stock, and all of them are already in your cart."
    else:
        message = f"Added {name} to your cart, but we have only {stock} in stock: your cart now has {new}."
    return CartChange(product, new, message, clipped=True, variant=variant)


def cart_set_quantity(
    session: MutableMapping, *, key: CartLineKey, quantity: int, identity: Identity | None = None
) -> CartChange | None:
    """Set a line's quantity (0 removes it, returning None), clipped to the stock. A line
    whose product or size went off sale is removed, and CartError says so."""
    cart = selectors.cart_get(session)
    if key not in cart:
        raise CartError("That product is not in your cart any more.")
    if quantity < 0:
        raise CartError("Choose a quantity of 0 or more.")
    before = cart[key]
    if quantity == 0:
        del cart[key]
        _cart_save(session, cart)
        _cart_change_recorded(identity, key.product_id, None, -before)
        return None
    try:
        product, variant = _line_for_sale(key)
    except CartError:
        product = Product.objects.filter(pk=key.product_id).first()
        if product is None or not product.is_active:
            gone = f"“{product.title}” is no longer available" if product else "This product is no longer available"
        else:
            gone = f"This size of “{product.title}” is no longer sold"
    else:
        stock, name = (variant or product).stock, selectors.line_name(product, variant)
        gone = None if stock else f"{name} is no longer available"
    if gone:
        del cart[key]
        _cart_save(session, cart)
        raise CartError(f"{gone} and was removed from your cart.")
    new, clipped = _clip(stock, quantity)
    cart[key] = new
    _cart_save(session, cart)
    _cart_change_recorded(identity, product.pk, variant, new - before)
    if clipped:
        return CartChange(
            product, new, f"Only {stock} of {name} in stock: your cart now has {new}.", clipped=True, variant=variant
        )
    return CartChange(product, new, f"Updated {name}: {new} in your cart.", variant=variant)


def cart_remove(session: MutableMapping, *, key: CartLineKey, identity: Identity | None = None) -> str | None:
    """Remove a line and return a message saying so; None when it was not in the cart
    (a second click, another tab)."""
    cart = selectors.cart_get(session)
    removed = cart.pop(key, None)
    if removed is None:
        return None
    _cart_save(session, cart)
    product = Product.objects.filter(pk=key.product_id).only("title").first()
    variant = ProductVariant.objects.filter(pk=key.variant_id).only("size").first() if key.variant_id else None
    _cart_change_recorded(identity, key.product_id, variant, -removed)
    return (
        f"Removed {selectors.line_name(product, variant)} from your cart."
        if product
        else "Removed the product from your cart."
    )


def _cart_change_recorded(
    identity: Identity | None, product_id: int, variant: ProductVariant | None, change: int
) -> None:
    """An add to cart (change > 0) or a removal (< 0) of this many, for tracking, with the size
    when it is known; nothing for no change (a line already at its stock)."""
    if identity is None or change == 0:
        return
    tracking_services.cart_change_recorded(
        identity, added=change > 0, product_id=product_id, quantity=abs(change), size=variant.size if variant else ""
    )


def cart_forget_missing(session: MutableMapping, keys: list[CartLineKey]) -> None:
    """Drop lines of products that no longer exist: nobody can buy or even name them."""
    if not keys:
        return
    cart = selectors.cart_get(session)
    for key in keys:
        cart.pop(key, None)
    _cart_save(session, cart)


def cart_clear(session: MutableMapping) -> None:
    session.pop(CART_SESSION_KEY, None)
    # A plain pop does not mark a Django session modified.
    if hasattr(session, "modified"):
        session.modified = True


def _new_reference() -> str:
    return "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(REFERENCE_LENGTH))


def order_place(
    *, cart: dict[CartLineKey, int], customer: CustomerData, checkout_key: str | None = None
) -> tuple[Order, bool]:
    """Turn a cart into an order, all or nothing; returns (order, created).

    The cart's products and their sizes are locked (in id order, so two checkouts sharing
    products cannot deadlock), then re-checked: any line that went off sale (product or size)
    or exceeds the stock left raises OrderError naming it, and nothing is written. Otherwise
    the stock (the size's and the product's) is decremented and the order is created with
    price, SKU and size snapshots.

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


def _order_create(*, cart: dict[CartLineKey, int], customer: CustomerData, checkout_key: str | None) -> Order:
    cart = {key: quantity for key, quantity in cart.items() if quantity > 0}
    if not cart:
        raise OrderError("Your cart is empty.")
    product_ids = sorted({key.product_id for key in cart})
    with transaction.atomic():
        # Products first, then their sizes, each in id order: the order every writer of
        # stock takes them in (catalog.services.product_variants_upsert), so none deadlock.
        products = {p.pk: p for p in Product.objects.select_for_update().filter(pk__in=product_ids).order_by("pk")}
        if len(products) != len(product_ids):
            raise OrderError("A product in your cart is no longer sold. Please check your cart.")
        sizes: dict[int, dict[int, ProductVariant]] = {}
        for variant in ProductVariant.objects.select_for_update().filter(product_id__in=product_ids).order_by("pk"):
            sizes.setdefault(variant.product_id, {})[variant.pk] = variant
        lines = []
        for key, quantity in cart.items():
            product = products[key.product_id]
            variant, size_missing = selectors.line_variant(key, sizes.get(product.pk, {}))
            name = selectors.line_name(product, variant)
            if not product.is_active or product.stock == 0:
                raise OrderError(f"Sorry, “{product.title}” is no longer available. Please remove it from your cart.")
            if size_missing:
                raise OrderError(
                    f"Sorry, the size you chose of “{product.title}” is no longer sold. "
                    "Please remove it from your cart and choose a size again."
                )
            stock = (variant or product).stock
            if stock == 0:
                raise OrderError(f"Sorry, {name} is sold out. Please remove it from your cart.")
            if quantity > stock:
                raise OrderError(f"Sorry, only {stock} of {name} left. Please lower the quantity in your cart.")
            lines.append((product, variant, quantity))
        currencies = {product.currency for product in products.values()}
        if len(currencies) > 1:
            raise OrderError("Your cart mixes prices in different currencies; please order them separately.")
        sold_out = []
        for product, variant, quantity in lines:
            # A product sold by size holds its sizes' sum: both go down.
            product.stock -= quantity
            if variant is not None:
                variant.stock -= quantity
        for product in products.values():
            if product.stock == 0:
                # Search filters on "in stock" (the Elasticsearch index keeps its own copy),
                # so a product that just sold out is refreshed like any catalogue change.
                # Other stock changes leave that filter as it was: no refresh per order.
                product.search_dirty = True
                sold_out.append(product.pk)
        # One UPDATE for every product, one for every size. The rows are locked, so plain
        # values are safe here.
        Product.objects.bulk_update(list(products.values()), ["stock", "search_dirty"])
        variants = [variant for _, variant, _ in lines if variant is not None]
        if variants:
            ProductVariant.objects.bulk_update(variants, ["stock"])
        catalog_services.products_enqueue_search_refresh(sold_out)
        order_lines = [
            OrderLine(
                product=product,
                variant=variant,
                sku=variant.sku if variant else product.sku,
                size=variant.size if variant else "",
                title=product.title,
                unit_price=product.price,
                quantity=quantity,
                line_total=product.price * quantity,
            )
            for product, variant, quantity in lines
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
            total=sum((line.line_total for line in order_lines), Decimal("0.00")),
        )
        for line in order_lines:
            line.order = order
        OrderLine.objects.bulk_create(order_lines)
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


def cart_checkout(
    session: MutableMapping, *, customer: CustomerData, checkout_key: str, identity: Identity | None = None
) -> tuple[Order, bool]:
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
        existing = set(Product.objects.filter(pk__in=[key.product_id for key in cart]).values_list("pk", flat=True))
        cart_forget_missing(session, [key for key in cart if key.product_id not in existing])
        raise
    if created:
        tracking_services.purchase_recorded(
            identity,
            order=order.reference,
            lines=lambda: [
                tracking_services.LineData(line.product_id, line.quantity, float(line.line_total))
                for line in order.lines.order_by("pk")
            ],
            currency=order.currency,
        )
    # Also when a twin request placed the order (both loaded the session before either
    # saved it): both leave the session the same, so whichever saves last loses nothing.
    cart_clear(session)
    session.pop(CHECKOUT_KEY_SESSION_KEY, None)
    placed = session.get(ORDERS_SESSION_KEY)
    placed = placed if isinstance(placed, list) else []
    if order.reference not in placed:
        session[ORDERS_SESSION_KEY] = [*placed, order.reference][-ORDERS_REMEMBERED:]
    return order, created
