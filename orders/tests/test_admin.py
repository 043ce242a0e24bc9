from decimal import Decimal

import pytest
from django.urls import reverse

from orders import services
from orders.selectors import CartLineKey
from orders.tests.factories import customer, product

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    order, _ = services.order_place(
        cart={CartLineKey(product("M1", title="Teal mug", price="14.35").pk): 2}, customer=customer()
    )
    return order


def test_changelist_filters_and_search(admin_client, order):
    url = reverse("admin:orders_order_changelist")
    html = admin_client.get(url, {"status__exact": "placed", "q": "M1"}).content.decode()
    assert order.reference in html and "Ada Lovelace" in html
    assert order.reference not in admin_client.get(url, {"status__exact": "shipped"}).content.decode()


def test_change_page_shows_read_only_snapshots_and_saves_the_status(admin_client, order):
    url = reverse("admin:orders_order_change", args=[order.pk])
    response = admin_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Teal mug" in html and "28.70" in html
    assert 'name="lines-0-unit_price"' not in html and 'name="total"' not in html and 'name="reference"' not in html
    data = {
        field: getattr(order, field)
        for field in [
            "name",
            "email",
            "phone",
            "address_line1",
            "address_line2",
            "postal_code",
            "city",
            "region",
            "country",
        ]
    }
    data.update(
        {
            "status": "shipped",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "1",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "1000",
            "lines-0-id": order.lines.get().pk,
            "lines-0-order": order.pk,
        }
    )
    assert admin_client.post(url, data).status_code == 302
    order.refresh_from_db()
    assert (order.status, order.total, order.lines.get().quantity) == ("shipped", Decimal("28.70"), 2)


def test_orders_cannot_be_added_by_hand(admin_client):
    assert admin_client.get(reverse("admin:orders_order_add")).status_code == 403


def test_a_sold_product_cannot_be_deleted_only_deactivated(admin_client, order):
    """OrderLine.product is PROTECT: the catalogue admin refuses with the reason, no 500."""
    from catalog.models import Product

    sold = order.lines.get().product
    response = admin_client.post(reverse("admin:catalog_product_delete", args=[sold.pk]), {"post": "yes"})
    html = response.content.decode()
    assert response.status_code == 200 and "would require deleting the following protected related objects" in html
    assert Product.objects.filter(pk=sold.pk).exists()
