import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from catalog.models import Product, ProductVariant
from fixtures.factories import with_sizes
from orders import services
from orders.models import Order, OrderLine
from orders.selectors import CART_SESSION_KEY, CHECKOUT_KEY_SESSION_KEY, ORDERS_SESSION_KEY, CartLineKey
from orders.tests.factories import customer, product
from orders.tests.locks import race_while_locked, wait_until_waiting_for_locks

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
    change = services.cart_set_quantity(session, key=CartLineKey(mug.pk), quantity=9)
    assert (change.quantity, change.clipped, change.message) == (
        4,
        True,
        "Only 4 of “Teal mug” in stock: your cart now has 4.",
    )
    assert (
        services.cart_set_quantity(session, key=CartLineKey(mug.pk), quantity=2).message
        == "Updated “Teal mug”: 2 in your cart."
    )
    Product.objects.filter(pk=bowl.pk).update(is_active=False)
    with pytest.raises(services.CartError, match="^“Bowl” is no longer available and was removed from your cart.$"):
        services.cart_set_quantity(session, key=CartLineKey(bowl.pk), quantity=1)
    assert session[CART_SESSION_KEY] == {str(mug.pk): 2}
    assert services.cart_set_quantity(session, key=CartLineKey(mug.pk), quantity=0) is None
    assert session[CART_SESSION_KEY] == {}
    with pytest.raises(services.CartError, match="not in your cart"):
        services.cart_set_quantity(session, key=CartLineKey(mug.pk), quantity=1)


def test_cart_remove_and_clear():
    session, mug = {}, product("M1", title="Teal mug")
    services.cart_add(session, product_id=mug.pk)
    assert services.cart_remove(session, key=CartLineKey(mug.pk)) == "Removed “Teal mug” from your cart."
    assert services.cart_remove(session, key=CartLineKey(mug.pk)) is None  # second click: nothing to do
    services.cart_add(session, product_id=mug.pk)
    services.cart_clear(session)
    assert CART_SESSION_KEY not in session


# -- sizes ----------------------------------------------------------------------------------


def test_a_product_sold_by_size_is_added_size_by_size_each_clipped_to_its_own_stock():
    session, dress = {}, product("D1", title="Marta dress")
    sizes = with_sizes(dress, S=2, M=0, L=5)
    change = services.cart_add(session, product_id=dress.pk, variant_id=sizes["S"].pk, quantity=3)
    assert (change.quantity, change.clipped, change.variant) == (2, True, sizes["S"])
    assert change.message == (
        "Added “Marta dress” in size S to your cart, but we have only 2 in stock: your cart now has 2."
    )
    assert services.cart_add(session, product_id=dress.pk, variant_id=sizes["L"].pk).message == (
        "Added “Marta dress” in size L to your cart."
    )
    # Two lines of one product, keyed "<product>-<size>".
    assert session[CART_SESSION_KEY] == {f"{dress.pk}-{sizes['S'].pk}": 2, f"{dress.pk}-{sizes['L'].pk}": 1}
    with pytest.raises(services.CartError, match="^Sorry, “Marta dress” in size M is out of stock.$"):
        services.cart_add(session, product_id=dress.pk, variant_id=sizes["M"].pk)
    with pytest.raises(services.CartError, match="^Please choose a size of “Marta dress”.$"):
        services.cart_add(session, product_id=dress.pk)
    other = with_sizes(product("D2"), S=1)["S"]
    with pytest.raises(services.CartError, match="^Sorry, that size of “Marta dress” is no longer sold"):
        services.cart_add(session, product_id=dress.pk, variant_id=other.pk)
    mug = product("M1", title="Teal mug")
    with pytest.raises(services.CartError, match="^Sorry, that size of “Teal mug” is no longer sold"):
        services.cart_add(session, product_id=mug.pk, variant_id=sizes["S"].pk)
    assert len(session[CART_SESSION_KEY]) == 2


def test_a_size_line_is_updated_and_removed_by_its_key_and_dropped_when_the_size_is_gone():
    session, dress = {}, product("D1", title="Marta dress")
    sizes = with_sizes(dress, S=2, L=5)
    small, large = CartLineKey(dress.pk, sizes["S"].pk), CartLineKey(dress.pk, sizes["L"].pk)
    services.cart_add(session, product_id=dress.pk, variant_id=sizes["S"].pk)
    services.cart_add(session, product_id=dress.pk, variant_id=sizes["L"].pk)
    assert services.cart_set_quantity(session, key=large, quantity=9).message == (
        "Only 5 of “Marta dress” in size L in stock: your cart now has 5."
    )
    assert services.cart_remove(session, key=large) == "Removed “Marta dress” in size L from your cart."
    sizes["S"].delete()
    with pytest.raises(
        services.CartError, match="^This size of “Marta dress” is no longer sold and was removed from your cart.$"
    ):
        services.cart_set_quantity(session, key=small, quantity=1)
    assert session[CART_SESSION_KEY] == {}


def test_an_order_of_sizes_snapshots_each_size_and_takes_the_stock_from_size_and_product():
    dress, mug = product("D1", title="Marta dress", price="59.00"), product("M1", title="Teal mug", stock=9)
    sizes = with_sizes(dress, S=2, M=1, L=5)
    assert dress.stock == 8
    cart = {CartLineKey(dress.pk, sizes["L"].pk): 3, CartLineKey(mug.pk): 1, CartLineKey(dress.pk, sizes["S"].pk): 2}
    order, _ = services.order_place(cart=cart, customer=customer())
    assert list(order.lines.values_list("variant", "sku", "size", "quantity", "line_total")) == [
        (sizes["L"].pk, "D1-L", "L", 3, Decimal("177.00")),
        (None, "M1", "", 1, Decimal("10.00")),
        (sizes["S"].pk, "D1-S", "S", 2, Decimal("118.00")),
    ]
    assert dict(dress.variants.values_list("size", "stock")) == {"S": 0, "M": 1, "L": 2}
    assert dict(Product.objects.values_list("sku", "stock")) == {"D1": 3, "M1": 8}
    assert str(order.lines.get(size="L")) == "3 x Marta dress (D1-L, size L)"


def test_an_order_is_refused_whole_for_a_sold_out_or_missing_size_or_a_size_not_chosen():
    dress = product("D1", title="Marta dress")
    sizes = with_sizes(dress, S=1, M=3)
    mug = product("M1")
    for cart, message in (
        ({CartLineKey(dress.pk, sizes["S"].pk): 2}, "Sorry, only 1 of “Marta dress” in size S left."),
        ({CartLineKey(dress.pk): 1}, "Sorry, the size you chose of “Marta dress” is no longer sold."),
        ({CartLineKey(dress.pk, 999_999): 1}, "Sorry, the size you chose of “Marta dress” is no longer sold."),
        ({CartLineKey(mug.pk, sizes["M"].pk): 1}, "Sorry, the size you chose of “Product M1” is no longer sold."),
    ):
        with pytest.raises(services.OrderError) as raised:
            services.order_place(cart={CartLineKey(mug.pk): 1, **cart}, customer=customer())
        assert str(raised.value).startswith(message)
    ProductVariant.objects.filter(pk=sizes["S"].pk).update(stock=0)
    with pytest.raises(services.OrderError, match="^Sorry, “Marta dress” in size S is sold out."):
        services.order_place(cart={CartLineKey(dress.pk, sizes["S"].pk): 1}, customer=customer())
    assert Order.objects.count() == 0
    assert dict(dress.variants.values_list("size", "stock")) == {"S": 0, "M": 3}
    assert Product.objects.get(pk=mug.pk).stock == 5


def test_selling_the_last_of_every_size_refreshes_the_product_for_search(
    monkeypatch, django_capture_on_commit_callbacks
):
    dress = product("D1")
    sizes = with_sizes(dress, S=1, M=1)
    queued = []
    monkeypatch.setattr("catalog.services._search_refresh.queue", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        services.order_place(cart={CartLineKey(dress.pk, sizes["S"].pk): 1}, customer=customer())
    assert queued == []  # M is left: still in stock
    with django_capture_on_commit_callbacks(execute=True):
        services.order_place(cart={CartLineKey(dress.pk, sizes["M"].pk): 1}, customer=customer())
    assert queued == [[dress.pk]]
    assert Product.objects.get(pk=dress.pk).stock == 0


# -- placing an order -----------------------------------------------------------------------


def test_order_place_snapshots_lines_totals_and_decrements_stock():
    dress = product("D1", title="Midi dress", price="89.90", stock=3)
    mug = product("M1", title="Teal mug", price="14.35", stock=40)
    order, created = services.order_place(cart={CartLineKey(mug.pk): 3, CartLineKey(dress.pk): 2}, customer=customer())
    assert created

    order = Order.objects.get(pk=order.pk)
    assert len(order.reference) == 12 and set(order.reference) <= set(services.REFERENCE_ALPHABET)
    assert (order.status, order.currency, order.total) == ("placed", "EUR", Decimal("222.85"))
    assert (
        order.name,
        order.email,
        order.address_line1,
        order.address_line2,
        order.postal_code,
        order.city,
        order.country,
        order.phone,
    ) == (
        "Ada Lovelace",
        "ada@example.com",
        "12 St James's Square",
        "Flat 3",
        "SW1Y 4JH",
        "London",
        "GB",
        "+44 20 7946 0000",
    )
    lines = list(
        order.lines.values_list("product_id", "variant", "sku", "size", "title", "unit_price", "quantity", "line_total")
    )
    # In the cart's order, as the shopper saw them.
    assert lines == [
        (mug.pk, None, "M1", "", "Teal mug", Decimal("14.35"), 3, Decimal("43.05")),
        (dress.pk, None, "D1", "", "Midi dress", Decimal("89.90"), 2, Decimal("179.80")),
    ]
    assert dict(Product.objects.values_list("sku", "stock")) == {"D1": 1, "M1": 37}


def test_order_lines_keep_their_snapshot_when_the_product_changes():
    mug = product("M1", title="Teal mug", price="14.00")
    order, _ = services.order_place(cart={CartLineKey(mug.pk): 1}, customer=customer())
    Product.objects.filter(pk=mug.pk).update(price=Decimal("99.00"), title="Renamed")
    line = OrderLine.objects.get(order=order)
    assert (line.title, line.unit_price, line.line_total) == ("Teal mug", Decimal("14.00"), Decimal("14.00"))


def test_order_place_fails_whole_when_stock_ran_out_meanwhile():
    dress = product("D1", title="Midi dress", stock=3)
    mug = product("M1", title="Teal mug", stock=40)
    session = {}
    services.cart_add(session, product_id=dress.pk, quantity=2)
    services.cart_add(session, product_id=mug.pk, quantity=1)
    key = services.checkout_key_issue(session)
    Product.objects.filter(pk=dress.pk).update(stock=1)  # someone else bought two
    with pytest.raises(services.OrderError) as raised:
        services.cart_checkout(session, customer=customer(), checkout_key=key)
    assert str(raised.value) == "Sorry, only 1 of “Midi dress” left. Please lower the quantity in your cart."
    assert Order.objects.count() == 0 and OrderLine.objects.count() == 0
    assert dict(Product.objects.values_list("sku", "stock")) == {"D1": 1, "M1": 40}
    assert session[CART_SESSION_KEY] == {str(dress.pk): 2, str(mug.pk): 1}  # kept, to fix and retry
    assert ORDERS_SESSION_KEY not in session
    assert session[CHECKOUT_KEY_SESSION_KEY] == key  # the retry's form keeps its key


@pytest.mark.parametrize("change", [{"is_active": False}, {"stock": 0}])
def test_order_place_refuses_a_product_gone_off_sale(change):
    scarf, mug = product("S1", title="Silk scarf", stock=2), product("M1", stock=5)
    Product.objects.filter(pk=scarf.pk).update(**change)
    with pytest.raises(services.OrderError, match="^Sorry, “Silk scarf” is no longer available. Please remove it"):
        services.order_place(cart={CartLineKey(mug.pk): 1, CartLineKey(scarf.pk): 1}, customer=customer())
    assert Order.objects.count() == 0
    assert Product.objects.get(pk=mug.pk).stock == 5


def test_order_place_refuses_an_empty_cart_and_mixed_currencies():
    with pytest.raises(services.OrderError, match="^Your cart is empty.$"):
        services.order_place(cart={}, customer=customer())
    eur, usd = product("E1"), product("U1", currency="USD")
    with pytest.raises(services.OrderError, match="different currencies"):
        services.order_place(cart={CartLineKey(eur.pk): 1, CartLineKey(usd.pk): 1}, customer=customer())
    assert Order.objects.count() == 0


def test_checkout_empties_the_cart_and_remembers_the_order_in_the_session():
    mug = product("M1", stock=5)
    session = {ORDERS_SESSION_KEY: ["OLDER0000000"]}
    services.cart_add(session, product_id=mug.pk, quantity=2)
    key = services.checkout_key_issue(session)
    order, created = services.cart_checkout(session, customer=customer(), checkout_key=key)
    assert created
    assert CART_SESSION_KEY not in session and CHECKOUT_KEY_SESSION_KEY not in session
    assert session[ORDERS_SESSION_KEY] == ["OLDER0000000", order.reference]


def test_checkout_forgets_products_deleted_meanwhile():
    mug, gone = product("M1", stock=5), product("G1", stock=5)
    session = {}
    services.cart_add(session, product_id=mug.pk)
    services.cart_add(session, product_id=gone.pk)
    gone.delete()
    with pytest.raises(services.OrderError, match="no longer sold"):
        services.cart_checkout(session, customer=customer(), checkout_key=services.checkout_key_issue(session))
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
            outcome["order"], _ = services.order_place(cart={CartLineKey(last.pk): 1}, customer=customer(name="Second"))
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


def test_selling_the_last_unit_queues_a_search_refresh_for_that_product_only(
    monkeypatch, django_capture_on_commit_callbacks
):
    last, plenty = product("L1", stock=2), product("P1", stock=9)
    Product.objects.update(search_dirty=False)
    queued = []
    monkeypatch.setattr("catalog.services._search_refresh.queue", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        services.order_place(cart={CartLineKey(last.pk): 2, CartLineKey(plenty.pk): 1}, customer=customer())
    assert queued == [[last.pk]]
    assert dict(Product.objects.values_list("sku", "search_dirty")) == {"L1": True, "P1": False}


# -- one order per checkout key ---------------------------------------------------------------


def test_checkout_key_stays_the_same_until_it_places_an_order():
    session, mug = {}, product("M1", stock=5)
    services.cart_add(session, product_id=mug.pk)
    key = services.checkout_key_issue(session)
    assert len(key) >= 40 and session[CHECKOUT_KEY_SESSION_KEY] == key
    assert services.checkout_key_issue(session) == key  # a reload, a second tab: the same key
    services.cart_checkout(session, customer=customer(), checkout_key=key)
    assert services.checkout_key_issue(session) not in (key, "")  # the next checkout's


def test_order_place_with_a_key_that_placed_an_order_returns_that_order():
    mug = product("M1", stock=5)
    first, created = services.order_place(cart={CartLineKey(mug.pk): 2}, customer=customer(), checkout_key="K" * 43)
    assert created and Order.objects.get().checkout_key == "K" * 43
    again, created = services.order_place(cart={CartLineKey(mug.pk): 2}, customer=customer(), checkout_key="K" * 43)
    assert (again.pk, created) == (first.pk, False)
    # Even when the repeat would now fail (not enough stock left, or an empty cart).
    assert services.order_place(cart={CartLineKey(mug.pk): 4}, customer=customer(), checkout_key="K" * 43) == (
        first,
        False,
    )
    assert services.order_place(cart={}, customer=customer(), checkout_key="K" * 43) == (first, False)
    assert Order.objects.count() == 1 and Product.objects.get(pk=mug.pk).stock == 3
    # Without a key, or with another one, each call is an order of its own.
    assert services.order_place(cart={CartLineKey(mug.pk): 1}, customer=customer())[1] is True
    assert services.order_place(cart={CartLineKey(mug.pk): 1}, customer=customer(), checkout_key="other")[1] is True
    assert Order.objects.count() == 3 and Product.objects.get(pk=mug.pk).stock == 1
    assert Order.objects.filter(checkout_key__isnull=True).count() == 1


def test_checkout_submitted_twice_places_one_order_and_decrements_the_stock_once():
    session, mug = {}, product("M1", stock=5)
    services.cart_add(session, product_id=mug.pk, quantity=2)
    key = services.checkout_key_issue(session)
    order, created = services.cart_checkout(session, customer=customer(), checkout_key=key)
    assert created
    # The second submit loads the session the first one saved: no cart, no open key.
    again, created = services.cart_checkout(session, customer=customer(), checkout_key=key)
    assert (again.pk, created) == (order.pk, False)
    assert Order.objects.count() == 1 and Product.objects.get(pk=mug.pk).stock == 3
    assert session[ORDERS_SESSION_KEY] == [order.reference]
    # A new cart meanwhile is not placed by the old form, nor emptied by it.
    services.cart_add(session, product_id=mug.pk)
    assert services.cart_checkout(session, customer=customer(), checkout_key=key) == (order, False)
    assert session[CART_SESSION_KEY] == {str(mug.pk): 1} and Order.objects.count() == 1


@pytest.mark.parametrize("key", [None, "", 42, "a key this session never had"])
def test_checkout_without_the_sessions_key_is_refused(key):
    session, mug = {}, product("M1", stock=5)
    services.cart_add(session, product_id=mug.pk)
    issued = services.checkout_key_issue(session)
    with pytest.raises(services.CheckoutKeyError, match="Please check your details and place the order again.$"):
        services.cart_checkout(session, customer=customer(), checkout_key=key)
    assert Order.objects.count() == 0 and Product.objects.get(pk=mug.pk).stock == 5
    assert session[CHECKOUT_KEY_SESSION_KEY] == issued and session[CART_SESSION_KEY] == {str(mug.pk): 1}


def test_another_sessions_checkout_key_is_refused_not_redirected_to_its_order():
    mug = product("M1", stock=5)
    theirs = {}
    services.cart_add(theirs, product_id=mug.pk)
    their_key = services.checkout_key_issue(theirs)
    services.cart_checkout(theirs, customer=customer(), checkout_key=their_key)
    mine = {ORDERS_SESSION_KEY: ["OLDER0000000"]}
    services.cart_add(mine, product_id=mug.pk)
    services.checkout_key_issue(mine)
    with pytest.raises(services.CheckoutKeyError, match="out of date"):
        services.cart_checkout(mine, customer=customer(), checkout_key=their_key)
    assert Order.objects.count() == 1 and Product.objects.get(pk=mug.pk).stock == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("stock", [3, 5], ids=["second-fails-the-stock-check", "second-hits-the-unique-key"])
def test_two_submits_of_one_checkout_at_once_place_one_order(stock):
    """A double click: two requests load the same session (cart and key) before either saved
    it, and both reach order_place. Both wait on the products' locks (held here), then run
    one after the other: one order, the stock decremented once, both get that order, and
    both leave the session the same."""
    mug = product("M1", stock=stock)
    session = {}
    services.cart_add(session, product_id=mug.pk, quantity=2)
    key = services.checkout_key_issue(session)
    sessions = [dict(session), dict(session)]
    outcomes = [None, None]

    def submit(n):
        try:
            outcomes[n] = services.cart_checkout(sessions[n], customer=customer(), checkout_key=key)
        except Exception as error:  # reported by the assertions below
            outcomes[n] = error

    race_while_locked(mug, lambda: submit(0), lambda: submit(1))
    order = Order.objects.get()
    assert sorted(outcomes, key=lambda outcome: not outcome[1]) == [(order, True), (order, False)], outcomes
    assert Product.objects.get(pk=mug.pk).stock == stock - 2
    assert sessions[0] == sessions[1] == {ORDERS_SESSION_KEY: [order.reference]}


@pytest.mark.django_db(transaction=True)
def test_a_twin_submit_that_shares_no_lock_waits_on_the_unique_key():
    """Two submits of one form whose carts differ (changed in another tab in between) lock
    different products; the unique checkout key still lets only one order in. The second
    waits for the first's transaction, then gets its order; its own stock change is undone."""
    mug, bowl = product("M1", stock=5), product("B1", stock=5)
    outcome = {}

    def second():
        try:
            outcome["result"] = services.order_place(
                cart={CartLineKey(bowl.pk): 1}, customer=customer(), checkout_key="twin"
            )
        except Exception as error:
            outcome["result"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=second)
    with transaction.atomic():
        first, created = services.order_place(cart={CartLineKey(mug.pk): 1}, customer=customer(), checkout_key="twin")
        thread.start()
        wait_until_waiting_for_locks(1)  # on the first's uncommitted row with the same key
    thread.join(timeout=10)
    assert created and outcome == {"result": (first, False)}
    assert Order.objects.count() == 1 and OrderLine.objects.get().product_id == mug.pk
    assert dict(Product.objects.values_list("sku", "stock")) == {"M1": 4, "B1": 5}
