import re
import uuid
from decimal import Decimal

import pytest
from django.urls import reverse

from catalog.models import Product, ProductVariant
from fixtures.factories import with_sizes
from orders.models import Order, OrderLine
from orders.tests.factories import CHECKOUT_POST, product

pytestmark = pytest.mark.django_db

# Pinned page costs, the same however many lines the cart has.
# session, cart products, their sizes, their first images, category tree (header)
CART_QUERIES = 5
CHECKOUT_PAGE_QUERIES = 5
# The first visit issues the checkout key, so the session is saved too (savepoint, update, release).
CHECKOUT_FIRST_PAGE_QUERIES = CHECKOUT_PAGE_QUERIES + 3
# session; the transaction: savepoint, lock products, lock their sizes, stock update, order, lines,
# release; then the session save (savepoint, update, release). Was 12: since the checkout key, a
# valid form goes to the service before the cart's products and images are read (only a form shown
# again needs them). A cart holding sizes adds one UPDATE of their stock.
CHECKOUT_POST_QUERIES = 11


def page(response):
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def message_texts(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


def add(client, item, quantity=1, *, drain=True):
    """Add to the cart; unless asked not to, show the page it redirects to, as a browser would,
    so its message does not linger into the next page the test reads."""
    response = client.post(reverse("orders:cart_add"), {"product_id": item.pk, "quantity": quantity})
    if drain and response.status_code == 302:
        client.get(response.url)
    return response


def checkout_key(client) -> str:
    """Open the checkout page, as a shopper does before submitting it, and return the one-time
    key in its hidden field."""
    html = page(client.get(reverse("orders:checkout")))
    return re.search(r'<input type="hidden" name="checkout_key" value="([^"]+)">', html).group(1)


def place(client, data=CHECKOUT_POST):
    return client.post(reverse("orders:checkout"), {**data, "checkout_key": checkout_key(client)})


@pytest.fixture
def mug():
    return product("M1", title="Stoneware mug in teal", price="14.35", stock=5, images=2)


@pytest.fixture
def dress():
    return product("D1", title="Polka-dot midi dress", price="89.90", stock=3, images=1)


# -- product page and adding ----------------------------------------------------------------


def test_product_page_has_the_add_to_cart_form(client, mug):
    html = page(client.get(mug.get_absolute_url()))
    assert f'action="{reverse("orders:cart_add")}"' in html
    assert f'<input type="hidden" name="product_id" value="{mug.pk}">' in html
    assert '<label class="quantity-field__label" for="add-quantity">Quantity</label>' in html
    assert 'max="5"' in html and "csrfmiddlewaretoken" in html


def test_out_of_stock_product_page_offers_no_form(client):
    scarf = product("S0", stock=0, images=1)
    html = page(client.get(scarf.get_absolute_url()))
    assert reverse("orders:cart_add") not in html
    assert "This product is out of stock." in html


def test_add_redirects_back_with_a_message_and_the_cart_shows_it(client, mug):
    response = add(client, mug, 2, drain=False)
    assert response.status_code == 302 and response.url == mug.get_absolute_url()
    response = client.get(response.url)
    assert message_texts(response) == ["Added “Stoneware mug in teal” to your cart."]
    html = page(response)
    assert 'aria-live="polite"' in html
    assert re.search(r'class="cart-link__count" data-count="2">2<span class="visually-hidden"> items</span>', html)

    html = page(client.get(reverse("orders:cart")))
    assert f'<a href="{mug.get_absolute_url()}">Stoneware mug in teal</a>' in html
    assert f'id="quantity-{mug.pk}" type="number" name="quantity" value="2"' in html
    assert '<dd class="cart-summary__subtotal">€28.70</dd>' in html
    assert f'action="{reverse("orders:cart_remove", args=[mug.pk])}"' in html
    assert f'href="{reverse("orders:checkout")}"' in html
    assert "/media/" in html  # the thumbnail


def test_add_beyond_stock_is_clipped_with_a_warning(client, mug):
    response = client.get(add(client, mug, 50, drain=False).url)
    assert message_texts(response) == [
        "Added “Stoneware mug in teal” to your cart, but we have only 5 in stock: your cart now has 5."
    ]
    assert client.session["cart"] == {str(mug.pk): 5}


def test_add_out_of_stock_or_inactive_is_refused_without_a_500(client):
    scarf, hidden = product("S0", title="Silk scarf", stock=0), product("H1", stock=3, active=False)
    response = add(client, scarf, drain=False)
    assert response.url == scarf.get_absolute_url()
    assert message_texts(client.get(response.url)) == ["Sorry, “Silk scarf” is out of stock."]
    response = add(client, hidden, drain=False)
    assert response.url == reverse("orders:cart")  # its page would 404
    assert message_texts(client.get(response.url)) == ["Sorry, this product is no longer available."]
    assert "cart" not in client.session


@pytest.mark.parametrize(
    "data, status",
    [
        ({}, 400),
        ({"product_id": "abc"}, 400),
        ({"product_id": "1", "quantity": "x"}, 302),
        ({"product_id": "1", "quantity": "0"}, 302),
    ],
)
def test_add_with_bad_input_is_a_4xx_or_a_message(client, mug, data, status):
    data = {**data, "product_id": mug.pk} if data.get("product_id") == "1" else data
    response = client.post(reverse("orders:cart_add"), data)
    assert response.status_code == status
    if status == 302:
        assert message_texts(client.get(response.url)) == ["Choose a quantity between 1 and 999."]
    else:
        assert response.content == b"No product given to add to the cart."


def test_add_needs_post_and_csrf(mug):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert client.get(reverse("orders:cart_add")).status_code == 405
    assert add(client, mug).status_code == 403


# -- cart page --------------------------------------------------------------------------------


def test_empty_cart_links_home(client):
    html = page(client.get(reverse("orders:cart")))
    assert "Your cart is empty." in html and '<a class="button button--primary" href="/">Start shopping</a>' in html
    assert reverse("orders:checkout") not in html


def test_update_and_remove(client, mug, dress):
    add(client, mug)
    add(client, dress)
    response = client.post(reverse("orders:cart_update", args=[mug.pk]), {"quantity": "3"})
    assert response.url == reverse("orders:cart")
    assert message_texts(client.get(response.url)) == ["Updated “Stoneware mug in teal”: 3 in your cart."]
    response = client.post(reverse("orders:cart_update", args=[dress.pk]), {"quantity": "0"})
    assert message_texts(client.get(response.url)) == ["Removed “Polka-dot midi dress” from your cart."]
    response = client.post(reverse("orders:cart_update", args=[mug.pk]), {"quantity": "-2"})
    assert message_texts(client.get(response.url)) == ["Choose a quantity between 0 and 999."]
    assert client.session["cart"] == {str(mug.pk): 3}
    response = client.post(reverse("orders:cart_remove", args=[mug.pk]))
    assert message_texts(client.get(response.url)) == ["Removed “Stoneware mug in teal” from your cart."]
    assert client.session["cart"] == {}
    response = client.post(reverse("orders:cart_update", args=[mug.pk]), {"quantity": "1"})
    assert message_texts(client.get(response.url)) == ["That product is not in your cart any more."]


def test_cart_flags_lines_that_cannot_be_ordered_and_forgets_deleted_products(client, mug, dress):
    gone = product("G1")
    for item in (mug, dress, gone):
        add(client, item, 2)
    Product.objects.filter(pk=mug.pk).update(is_active=False)
    Product.objects.filter(pk=dress.pk).update(stock=1)
    gone.delete()
    html = page(client.get(reverse("orders:cart")))
    assert f'<p class="cart-line__problem" id="problem-{mug.pk}">No longer available</p>' in html
    assert f'<p class="cart-line__problem" id="problem-{dress.pk}">Only 1 left</p>' in html
    assert client.session["cart"] == {str(mug.pk): 2, str(dress.pk): 2}


def test_cart_page_query_count_does_not_grow_with_lines(client, mug, dress, django_assert_num_queries):
    add(client, mug)
    with django_assert_num_queries(CART_QUERIES):
        page(client.get(reverse("orders:cart")))
    for n in range(5):
        add(client, product(f"X{n}", images=2))
    add(client, dress)
    with django_assert_num_queries(CART_QUERIES):
        assert page(client.get(reverse("orders:cart"))).count('class="cart-line"') == 7


# -- sizes ------------------------------------------------------------------------------------


@pytest.fixture
def sized_dress():
    """A dress sold by size: XS and L sold out, M with 2 left."""
    made = product("SD", title="Marta dress", price="59.00", images=1)
    return made, with_sizes(made, XS=0, S=6, M=2, L=0)


def test_product_page_offers_the_sizes_in_stock_and_shows_the_sold_out_ones(client, sized_dress):
    dress, sizes = sized_dress
    html = page(client.get(dress.get_absolute_url()))
    assert '<legend class="size-picker__legend">Size</legend>' in html
    radios = re.findall(r'<input class="size-picker__input" type="radio" name="variant_id" value="(\d+)"([^>]*)>', html)
    assert radios == [
        (str(sizes["XS"].pk), " required disabled"),
        (str(sizes["S"].pk), " required"),
        (str(sizes["M"].pk), " required"),
        (str(sizes["L"].pk), " required disabled"),
    ]
    names = re.findall(r'<span class="size-picker__name">([^<]+)</span>([^\n]*)', html)
    assert names == [
        ("XS", '<span class="visually-hidden"> (sold out)</span>'),
        ("S", ""),
        ("M", '<span class="size-picker__low"> 2 left</span>'),
        ("L", '<span class="visually-hidden"> (sold out)</span>'),
    ]


def test_the_only_size_left_is_chosen_for_the_shopper(client, sized_dress):
    dress, sizes = sized_dress
    ProductVariant.objects.filter(pk=sizes["S"].pk).update(stock=0)
    html = page(client.get(dress.get_absolute_url()))
    assert f'value="{sizes["M"].pk}" required checked>' in html
    assert html.count(" checked>") == 1


def test_a_size_goes_into_the_cart_and_through_checkout_onto_the_order_line(client, sized_dress):
    dress, sizes = sized_dress
    response = client.post(reverse("orders:cart_add"), {"product_id": dress.pk, "quantity": 1})
    assert response.status_code == 302 and response.url == dress.get_absolute_url()
    assert message_texts(client.get(response.url)) == ["Please choose a size of “Marta dress”."]
    response = client.post(
        reverse("orders:cart_add"), {"product_id": dress.pk, "variant_id": sizes["S"].pk, "quantity": 2}
    )
    assert message_texts(client.get(response.url)) == ["Added “Marta dress” in size S to your cart."]
    line = f"{dress.pk}-{sizes['S'].pk}"
    html = page(client.get(reverse("orders:cart")))
    assert '<p class="cart-line__size">Size <strong>S</strong></p>' in html
    assert f'id="quantity-{line}" type="number" name="quantity" value="2" min="0" max="6"' in html
    assert f'action="{reverse("orders:cart_update", args=[line])}"' in html
    assert f'action="/cart/items/{line}/remove/"' in html
    response = client.post(f"/cart/items/{line}/", {"quantity": "3"})
    assert message_texts(client.get(response.url)) == ["Updated “Marta dress” in size S: 3 in your cart."]
    assert '<span class="summary-line__size">size S</span>' in page(client.get(reverse("orders:checkout")))
    response = place(client)
    assert response.status_code == 302
    order = Order.objects.get()
    assert list(order.lines.values_list("sku", "size", "quantity")) == [("SD-S", "S", 3)]
    assert '<span class="order-table__size">size S</span>' in page(client.get(response.url))
    assert dict(dress.variants.values_list("size", "stock")) == {"XS": 0, "S": 3, "M": 2, "L": 0}


@pytest.mark.parametrize("line", ["0", "0-4", "4-0", "12-x", "12--4", "12-4-5"])
def test_a_malformed_cart_line_in_the_url_is_a_404(client, line):
    assert client.post(f"/cart/items/{line}/", {"quantity": "1"}).status_code == 404


def test_a_size_id_that_is_not_a_number_is_a_400(client, sized_dress):
    dress, _ = sized_dress
    response = client.post(reverse("orders:cart_add"), {"product_id": dress.pk, "variant_id": "M", "quantity": 1})
    assert (response.status_code, response.content) == (400, b"The size given is not a size id.")


# -- checkout -----------------------------------------------------------------------------------


def test_checkout_page_has_labelled_autocompleting_fields(client, mug):
    add(client, mug, 2)
    html = page(client.get(reverse("orders:checkout")))
    for name, autocomplete in [
        ("name", "shipping name"),
        ("email", "email"),
        ("phone", "tel"),
        ("address_line1", "shipping address-line1"),
        ("postal_code", "shipping postal-code"),
        ("city", "shipping address-level2"),
        ("country", "shipping country"),
    ]:
        assert f'<label class="form-field__label" for="id_{name}">' in html
        assert re.search(
            rf'<(input|select)[^>]*name="{name}"[^>]*autocomplete="{autocomplete}"'
            rf'|<(input|select)[^>]*autocomplete="{autocomplete}"[^>]*name="{name}"',
            html,
        ), name
    assert "Place order · €28.70" in html


def test_checkout_creates_the_order_and_shows_the_confirmation(client, mug, dress):
    add(client, mug, 3)
    add(client, dress, 2)
    response = place(client)
    order = Order.objects.get()
    assert response.status_code == 302 and response.url == f"/orders/{order.reference}/"
    assert (
        order.name,
        order.email,
        order.address_line1,
        order.postal_code,
        order.city,
        order.country,
        order.status,
        order.currency,
        order.total,
    ) == (
        "Ada Lovelace",
        "ada@example.com",
        "12 St James's Square",
        "SW1Y 4JH",
        "London",
        "GB",
        "placed",
        "EUR",
        Decimal("222.85"),
    )
    assert list(
        OrderLine.objects.filter(order=order).values_list("sku", "title", "unit_price", "quantity", "line_total")
    ) == [
        ("M1", "Stoneware mug in teal", Decimal("14.35"), 3, Decimal("43.05")),
        ("D1", "Polka-dot midi dress", Decimal("89.90"), 2, Decimal("179.80")),
    ]
    assert dict(Product.objects.values_list("sku", "stock")) == {"D1": 1, "M1": 2}
    assert "cart" not in client.session

    response = client.get(response.url)
    html = page(response)
    assert message_texts(response) == []
    assert '<h1 class="page-header__title">Thank you for your order</h1>' in html
    assert f'<strong class="order-reference">{order.reference}</strong>' in html
    assert '<td class="order-table__total">€222.85</td>' in html
    assert "United Kingdom" in html
    assert 'data-count="0"' in html


def test_checkout_with_invalid_form_shows_errors_inline_and_writes_nothing(client, mug):
    add(client, mug)
    response = place(client, {**CHECKOUT_POST, "email": "not-an-email", "city": "  ", "country": "XX"})
    html = page(response)
    assert "Please correct the 3 fields marked below." in html
    assert '<ul class="form-field__errors" id="id_email_error"><li>Enter a valid email address.</li></ul>' in html
    assert '<ul class="form-field__errors" id="id_city_error"><li>This field is required.</li></ul>' in html
    assert "Select a valid choice." in html
    assert re.search(r'<input type="email" name="email" value="not-an-email"[^>]*aria-invalid="true"', html)
    assert Order.objects.count() == 0 and Product.objects.get(pk=mug.pk).stock == 5


def test_checkout_when_stock_ran_out_goes_back_to_the_cart_naming_the_product(client, mug, dress):
    add(client, mug, 1)
    add(client, dress, 3)
    key = checkout_key(client)
    Product.objects.filter(pk=dress.pk).update(stock=2)
    response = client.post(reverse("orders:checkout"), {**CHECKOUT_POST, "checkout_key": key})
    assert response.url == reverse("orders:cart")
    assert message_texts(client.get(response.url)) == [
        "Sorry, only 2 of “Polka-dot midi dress” left. Please lower the quantity in your cart."
    ]
    assert Order.objects.count() == 0
    assert dict(Product.objects.values_list("sku", "stock")) == {"D1": 2, "M1": 5}


def test_checkout_page_with_problems_or_an_empty_cart_redirects_to_the_cart(client, mug):
    response = client.get(reverse("orders:checkout"))
    assert response.url == reverse("orders:cart")
    assert message_texts(client.get(response.url)) == ["Your cart is empty."]
    add(client, mug, 3)
    Product.objects.filter(pk=mug.pk).update(stock=1)
    response = client.get(reverse("orders:checkout"))
    assert message_texts(client.get(response.url)) == [
        "Please update your cart first: “Stoneware mug in teal” (only 1 left)."
    ]


def test_checkout_query_counts_do_not_grow_with_lines(client, mug, dress, django_assert_num_queries):
    add(client, mug)
    add(client, dress)
    for n in range(4):
        add(client, product(f"X{n}", images=1))
    with django_assert_num_queries(CHECKOUT_FIRST_PAGE_QUERIES):
        key = checkout_key(client)
    with django_assert_num_queries(CHECKOUT_PAGE_QUERIES):
        assert checkout_key(client) == key
    with django_assert_num_queries(CHECKOUT_POST_QUERIES):
        response = client.post(reverse("orders:checkout"), {**CHECKOUT_POST, "checkout_key": key})
    assert response.status_code == 302 and OrderLine.objects.count() == 6


def test_confirmation_is_404_for_another_session(client, mug):
    from django.test import Client

    add(client, mug)
    place(client)
    order = Order.objects.get()
    assert client.get(order.get_absolute_url()).status_code == 200
    assert Client().get(order.get_absolute_url()).status_code == 404
    assert client.get("/orders/NOSUCHORDER0/").status_code == 404


# -- one order per checkout form ------------------------------------------------------------------


def test_checkout_form_has_one_key_for_every_tab_and_a_new_one_after_the_order(client, mug):
    add(client, mug)
    key = checkout_key(client)
    assert len(key) >= 40 and client.session["checkout_key"] == key
    assert checkout_key(client) == key  # a reload or a second tab: the same form, the same key
    place(client)
    add(client, mug)
    assert checkout_key(client) != key


def test_placing_the_same_checkout_twice_places_one_order_and_shows_it_again(client, mug):
    add(client, mug, 2)
    key = checkout_key(client)
    first = client.post(reverse("orders:checkout"), {**CHECKOUT_POST, "checkout_key": key})
    order = Order.objects.get()
    assert first.status_code == 302 and first.url == order.get_absolute_url()
    # A double click's second request, or the second tab: the cart is empty by now.
    second = client.post(reverse("orders:checkout"), {**CHECKOUT_POST, "checkout_key": key})
    assert second.status_code == 302 and second.url == order.get_absolute_url()
    assert Order.objects.count() == 1 and Product.objects.get(pk=mug.pk).stock == 3
    response = client.get(second.url)
    assert message_texts(response) == ["This order was already placed."]
    assert f'<strong class="order-reference">{order.reference}</strong>' in page(response)


@pytest.mark.parametrize("key", [None, "", "not-a-key-this-session-was-given"])
def test_checkout_without_or_with_an_unknown_key_shows_the_form_again_with_an_error(client, mug, key):
    add(client, mug)
    issued = checkout_key(client)
    data = CHECKOUT_POST if key is None else {**CHECKOUT_POST, "checkout_key": key}
    html = page(client.post(reverse("orders:checkout"), data))
    expected = (
        "This checkout form is out of date (it was opened in an earlier visit)."
        if key
        else "This checkout form was sent without its checkout key."
    )
    assert f"<ul><li>{expected} Please check your details and place the order again.</li></ul>" in html
    assert "Please correct the" not in html  # no field is wrong
    assert 'value="ada@example.com"' in html  # what was typed is kept
    assert f'<input type="hidden" name="checkout_key" value="{issued}">' in html  # a good key this time
    assert Order.objects.count() == 0 and Product.objects.get(pk=mug.pk).stock == 5
    response = client.post(reverse("orders:checkout"), {**CHECKOUT_POST, "checkout_key": issued})
    assert response.url == Order.objects.get().get_absolute_url()


def test_another_sessions_key_does_not_lead_to_its_order(client, mug):
    from django.test import Client

    add(client, mug)
    key = checkout_key(client)
    place(client)
    other = Client()
    add(other, mug)
    html = page(other.post(reverse("orders:checkout"), {**CHECKOUT_POST, "checkout_key": key}))
    assert "This checkout form is out of date" in html
    assert Order.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_requests_placing_one_checkout_at_once_make_one_order(client, mug):
    """A double click, for real: two requests with the same session cookie and key, each on
    its own database connection, both loading the session (cart and key) before either has
    saved it, and both waiting for the cart's product locks (held here). One order; both
    are sent to it; the stock went down once; the session saved last still knows the order."""
    from django.conf import settings
    from django.test import Client

    from orders.tests.locks import race_while_locked

    add(client, mug, 2)
    data = {**CHECKOUT_POST, "checkout_key": checkout_key(client)}
    twin = Client()
    twin.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    responses = {}

    def submit(browser):
        responses[browser] = browser.post(reverse("orders:checkout"), data)

    race_while_locked(mug, lambda: submit(client), lambda: submit(twin))
    order = Order.objects.get()
    assert [(r.status_code, r.url) for r in responses.values()] == [(302, order.get_absolute_url())] * 2
    assert Product.objects.get(pk=mug.pk).stock == 3 and OrderLine.objects.count() == 1
    shown = [message_texts(browser.get(order.get_absolute_url())) for browser in (client, twin)]
    assert sorted(shown) == [[], ["This order was already placed."]]
    assert "cart" not in client.session and "checkout_key" not in client.session
    assert client.session["orders"] == [order.reference]


# -- tracking ---------------------------------------------------------------------------------------


def test_a_shopping_journey_is_recorded_and_the_purchase_credited_to_the_search(
    client, mug, dress, django_capture_on_commit_callbacks
):
    from tracking.models import Event

    client.get("/")  # the visitor's cookie
    visitor = uuid.UUID(client.cookies["vs_visitor"].value.split(":")[0])
    search_id = uuid.uuid4()
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"{mug.get_absolute_url()}?sid={search_id}&pos=3")  # a result clicked
        add(client, mug, 2)
        add(client, dress)
        client.post(reverse("orders:cart_update", args=[str(mug.pk)]), {"quantity": 1})
        client.post(reverse("orders:cart_remove", args=[str(dress.pk)]))
        key = checkout_key(client)
        client.post(reverse("orders:checkout"), {**CHECKOUT_POST, "checkout_key": key})
    order = Order.objects.get()
    events = [
        (e.kind, e.product_id, e.search_id, e.position, e.properties)
        for e in Event.objects.filter(visitor_id=visitor).order_by("id")
    ]
    assert events == [
        ("click", mug.pk, search_id, 3, {}),
        ("add_to_cart", mug.pk, search_id, None, {"quantity": 2}),
        ("add_to_cart", dress.pk, None, None, {"quantity": 1}),
        ("remove_from_cart", mug.pk, None, None, {"quantity": 1}),
        ("remove_from_cart", dress.pk, None, None, {"quantity": 1}),
        ("checkout_started", None, None, None, {"items": 1, "value": 14.35, "currency": "EUR"}),
        (
            "purchase",
            mug.pk,
            search_id,
            None,
            {"order": order.reference, "value": 14.35, "currency": "EUR", "quantity": 1, "order_value": 14.35},
        ),
    ]


def test_a_browser_that_asks_not_to_be_tracked_shops_without_a_trace(client, mug, django_capture_on_commit_callbacks):
    from tracking.models import Event

    client.defaults["HTTP_SEC_GPC"] = "1"
    with django_capture_on_commit_callbacks(execute=True):
        client.get(f"{mug.get_absolute_url()}?sid={uuid.uuid4()}&pos=1")
        add(client, mug)
        place(client)
    assert Order.objects.count() == 1 and Event.objects.count() == 0 and "vs_visitor" not in client.cookies
