from decimal import Decimal

import pytest

from catalog.models import ProductImage
from orders import selectors, services
from orders.selectors import CART_SESSION_KEY, CartLineKey
from orders.tests.factories import customer, product

pytestmark = pytest.mark.django_db


def test_cart_get_drops_malformed_session_data():
    session = {
        CART_SESSION_KEY: {
            "7": 2,
            "x": 1,
            "8": 0,
            "9": "3",
            "10": True,
            "-4": 1,
            "11": 1,
            "12-5": 3,
            "12-0": 1,
            "0-5": 1,
            "12-5-1": 1,
            "12-": 1,
            "١٢": 1,
        }
    }
    assert selectors.cart_get(session) == {CartLineKey(7): 2, CartLineKey(11): 1, CartLineKey(12, 5): 3}
    assert selectors.cart_get({CART_SESSION_KEY: ["not", "a", "dict"]}) == {}
    assert selectors.cart_item_count({CART_SESSION_KEY: {"7": 2, "11": 1, "12-5": 4}}) == 7


def test_cart_summary_lines_in_cart_order_with_first_visible_image_and_totals(django_assert_num_queries):
    mug = product("M1", price="14.35", images=2)
    dress = product("D1", price="89.90", stock=1, images=1)
    bare = product("B1", price="5.00")
    ProductImage.objects.filter(product=mug, position=0).update(status=ProductImage.Status.REJECTED)
    cart = {CartLineKey(dress.pk): 3, CartLineKey(mug.pk): 2, CartLineKey(bare.pk): 1, CartLineKey(999_999): 1}
    mug_second_image = ProductImage.objects.get(product=mug, position=1)
    with django_assert_num_queries(3):  # products, their sizes, first images
        summary = selectors.cart_summary(cart)
        assert [(line.product.sku, line.quantity, line.line_total) for line in summary.lines] == [
            ("D1", 3, Decimal("269.70")),
            ("M1", 2, Decimal("28.70")),
            ("B1", 1, Decimal("5.00")),
        ]
        assert summary.lines[1].image == mug_second_image
        assert summary.lines[0].image.product_id == dress.pk and summary.lines[2].image is None
        assert (summary.subtotal, summary.item_count, summary.currency) == (Decimal("303.40"), 6, "EUR")
        assert summary.missing == [CartLineKey(999_999)]
        assert [(line.product.sku, line.problem) for line in summary.problems] == [("D1", "Only 1 left")]


def test_cart_summary_of_an_empty_cart_costs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        summary = selectors.cart_summary({})
    assert (summary.lines, summary.subtotal, summary.item_count) == ([], Decimal("0.00"), 0)


def test_order_get_for_session_only_for_the_session_that_placed_it():
    order, _ = services.order_place(cart={CartLineKey(product("M1").pk): 1}, customer=customer())
    assert selectors.order_get_for_session({"orders": [order.reference]}, order.reference) == order
    for session in ({}, {"orders": ["SOMEONEELSE0"]}, {"orders": order.reference}):
        with pytest.raises(order.DoesNotExist):
            selectors.order_get_for_session(session, order.reference)
