import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from catalog.models import Product
from orders import services
from orders.models import Order, OrderLine
from orders.selectors import CART_SESSION_KEY, ORDERS_SESSION_KEY
from orders.tests.factories import customer, product

pytestmark = pytest.mark.django_db


# -- cart ---------------------------------------------------------------------------------


def test_cart_add_stores_the_quantity_and_says_so():
    session, mug = {}, product("M1", title="Teal mug", stock=5)
    change = services.cart_add(session, product_id=mug.pk, quantity=2)
    assert (change.quantity, change.clipped, change.message) == (2, False, "Added “Teal mug” to your cart.")
    services.cart_add(session, product_id=mug.pk)
    assert session[CART_SESSION_KEY] == {str(mug.pk): 3}


def test_cart_add_clips_to_the_stock_with_a_message():
    session, mug = {}, product("M1", title="Teal mug", stock=3)
    services.cart_add(session, product_id=mug.pk, quantity=2)
    change = services.cart_add(session, product_id=mug.pk, quantity=5)
    assert (change.quantity, change.clipped) == (3, True)
    assert change.message == "Added “Teal mug” to your cart, but we have only 3 in stock: your cart now has 3."
    again = services.cart_add(session, product_id=mug.pk, quantity=1)
    assert again.message == "Only 3 of “Teal mug” in stock, and all of them are already in your cart."
    assert session[CART_SESSION_KEY] == {str(mug.pk): 3}


def test_cart_add_refuses_out_of_stock_inactive_and_unknown_products():
    session = {}
    sold_out = product("S0", title="Sold-out scarf", stock=0)
    hidden = product("H1", stock=4, active=False)
    with pytest.raises(services.CartError, match="^Sorry, “Sold-out scarf” is out of stock.$"):
        services.cart_add(session, product_id=sold_out.pk)
    for product_id in (hidden.pk, 999_999):
        with pytest.raises(services.CartError, match="^Sorry, this product is no longer available.$"):
            services.cart_add(session, product_id=product_id)
    with pytest.raises(services.CartError, match="at least 1"):
        services.cart_add(session, product_id=product("OK").pk, quantity=0)
    assert session == {}


def test_cart_set_quantity_clips_removes_at_zero_and_drops_lines_gone_off_sale():
    session = {}
    mug, bowl = product("M1", title="Teal mug", stock=4), product("B1", title="Bowl", stock=2)
    services.cart_add(session, product_id=mug.pk)
    services.cart_add(session, product_id=bowl.pk)
    change = services.cart_set_quantity(session, product_id=mug.pk, quantity=9)
    assert (change.quantity, change.clipped, change.message) == (
        4, True, "Only 4 of “Teal mug” in stock: your cart now has 4.")
    assert services.cart_set_quantity(session, product_id=mug.pk, quantity=2).message == \
        "Updated “Teal mug”: 2 in your cart."
    Product.objects.filter(pk=bowl.pk).update(is_active=False)
    with pytest.raises(services.CartError, match="^“Bowl” is no longer available and was removed from your cart.$"):
        services.cart_set_quantity(session, product_id=bowl.pk, quantity=1)
    assert session[CART_SESSION_KEY] == {str(mug.pk): 2}
    assert services.cart_set_quantity(session, product_id=mug.pk, quantity=0) is None
    assert session[CART_SESSION_KEY] == {}
    with pytest.raises(services.CartError, match="not in your cart"):
        services.cart_set_quantity(session, product_id=mug.pk, quantity=1)


def test_cart_remove_and_clear():
    session, mug = {}, product("M1", title="Teal mug")
    services.cart_add(session, product_id=mug.pk)
    assert services.cart_remove(session, product_id=mug.pk) == "Removed “Teal mug” from your cart."
    assert services.cart_remove(session, product_id=mug.pk) is None  # second click: nothing to do
    services.cart_add(session, product_id=mug.pk)
    services.cart_clear(session)
    assert CART_SESSION_KEY not in session


# -- placing an order -----------------------------------------------------------------------


def test_order_place_snapshots_lines_totals_and_decrements_stock():
    dress = product("D1", title="Midi dress", price="89.90", stock=3)
    mug = product("M1", title="Teal mug", price="14.35", stock=40)
    order = services.order_place(cart={mug.pk: 3, dress.pk: 2}, customer=customer())

    order = Order.objects.get(pk=order.pk)
    assert len(order.reference) == 12 and set(order.reference) <= set(services.REFERENCE_ALPHABET)
    assert (order.status, order.currency, order.total) == ("placed", "EUR", Decimal("222.85"))
    assert (order.name, order.email, order.address_line1, order.address_line2, order.postal_code, order.city,
            order.country, order.phone) == ("Ada Lovelace", "ada@example.com", "12 St James's Square", "Flat 3",
                                            "SW1Y 4JH", "London", "GB", "+44 20 7946 0000")
    lines = list(order.lines.values_list("product_id", "sku", "title", "unit_price", "quantity", "line_total"))
    assert lines == [
        (dress.pk, "D1", "Midi dress", Decimal("89.90"), 2, Decimal("179.80")),
        (mug.pk, "M1", "Teal mug", Decimal("14.35"), 3, Decimal("43.05")),
    ]
    assert dict(Product.objects.values_list("sku", "stock")) == {"D1": 1, "M1": 37}


def test_order_lines_keep_their_snapshot_when_the_product_changes():
    mug = product("M1", title="Teal mug", price="14.00")
    order = services.order_place(cart={mug.pk: 1}, customer=customer())
    Product.objects.filter(pk=mug.pk).update(price=Decimal("99.00"), title="Renamed")
    line = OrderLine.objects.get(order=order)
    assert (line.title, line.unit_price, line.line_total) == ("Teal mug", Decimal("14.00"), Decimal("14.00"))


def test_order_place_fails_whole_when_stock_ran_out_meanwhile():
    dress = product("D1", title="Midi dress", stock=3)
    mug = product("M1", title="Teal mug", stock=40)
    session = {}
    services.cart_add(session, product_id=dress.pk, quantity=2)
    services.cart_add(session, product_id=mug.pk, quantity=1)
    Product.objects.filter(pk=dress.pk).update(stock=1)  # someone else bought two
    with pytest.raises(services.OrderError) as raised:
        services.cart_checkout(session, customer=customer())
    assert str(raised.value) == "Sorry, only 1 of “Midi dress” left. Please lower the quantity in your cart."
    assert Order.objects.count() == 0 and OrderLine.objects.count() == 0
    assert dict(Product.objects.values_list("sku", "stock")) == {"D1": 1, "M1": 40}
    assert session[CART_SESSION_KEY] == {str(dress.pk): 2, str(mug.pk): 1}  # kept, to fix and retry
    assert ORDERS_SESSION_KEY not in session


@pytest.mark.parametrize("change", [{"is_active": False}, {"stock": 0}])
def test_order_place_refuses_a_product_gone_off_sale(change):
    scarf, mug = product("S1", title="Silk scarf", stock=2), product("M1", stock=5)
    Product.objects.filter(pk=scarf.pk).update(**change)
    with pytest.raises(services.OrderError, match="^Sorry, “Silk scarf” is no longer available. Please remove it"):
        services.order_place(cart={mug.pk: 1, scarf.pk: 1}, customer=customer())
    assert Order.objects.count() == 0
    assert Product.objects.get(pk=mug.pk).stock == 5


def test_order_place_refuses_an_empty_cart_and_mixed_currencies():
    with pytest.raises(services.OrderError, match="^Your cart is empty.$"):
        services.order_place(cart={}, customer=customer())
    eur, usd = product("E1"), product("U1", currency="USD")
    with pytest.raises(services.OrderError, match="different currencies"):
        services.order_place(cart={eur.pk: 1, usd.pk: 1}, customer=customer())
    assert Order.objects.count() == 0


def test_checkout_empties_the_cart_and_remembers_the_order_in_the_session():
    mug = product("M1", stock=5)
    session = {ORDERS_SESSION_KEY: ["OLDER0000000"]}
    services.cart_add(session, product_id=mug.pk, quantity=2)
    order = services.cart_checkout(session, customer=customer())
    assert CART_SESSION_KEY not in session
    assert session[ORDERS_SESSION_KEY] == ["OLDER0000000", order.reference]


def test_checkout_forgets_products_deleted_meanwhile():
    mug, gone = product("M1", stock=5), product("G1", stock=5)
    session = {}
    services.cart_add(session, product_id=mug.pk)
    services.cart_add(session, product_id=gone.pk)
    gone.delete()
    with pytest.raises(services.OrderError, match="no longer sold"):
        services.cart_checkout(session, customer=customer())
    assert session[CART_SESSION_KEY] == {str(mug.pk): 1}


@pytest.mark.django_db(transaction=True)
def test_a_checkout_waits_for_a_concurrent_one_and_sees_the_stock_it_left():
    """The last unit, wanted by two shoppers: the row lock makes the second checkout wait
    for the first to commit, then re-read the stock (0) and fail; no overselling."""
    last = product("L1", title="Last lamp", stock=1)
    first_holds_lock, outcome = threading.Event(), {}

    def second_checkout():
        first_holds_lock.wait()
        try:
            outcome["order"] = services.order_place(cart={last.pk: 1}, customer=customer(name="Second"))
        except services.OrderError as error:
            outcome["error"] = str(error)
        finally:
            connection.close()

    thread = threading.Thread(target=second_checkout)
    thread.start()
    with transaction.atomic():
        # The first checkout, paused while holding the lock: same lock order_place takes.
        Product.objects.select_for_update().filter(pk=last.pk).update(stock=0)
        first_holds_lock.set()
        thread.join(timeout=0.5)
        assert thread.is_alive(), "the second checkout must wait for the lock"
    thread.join(timeout=10)
    assert outcome == {"error": "Sorry, “Last lamp” is no longer available. Please remove it from your cart."}
    assert Order.objects.count() == 0
    assert Product.objects.get(pk=last.pk).stock == 0


def test_selling_the_last_unit_queues_a_search_refresh_for_that_product_only(monkeypatch,
                                                                            django_capture_on_commit_callbacks):
    last, plenty = product("L1", stock=2), product("P1", stock=9)
    Product.objects.update(search_dirty=False)
    queued = []
    monkeypatch.setattr("catalog.services._queue_refresh", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        services.order_place(cart={last.pk: 2, plenty.pk: 1}, customer=customer())
    assert queued == [[last.pk]]
    assert dict(Product.objects.values_list("sku", "search_dirty")) == {"L1": True, "P1": False}
