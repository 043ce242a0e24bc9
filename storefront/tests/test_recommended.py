"""The "Recommended for you" row on the home and product pages (ranking.recommendations)."""

import re
import uuid

import pytest
from django.test import RequestFactory
from django.utils import timezone

from ranking.profiles import profiles_refresh
from tracking.models import Event
from tracking.visitors import VISITOR_COOKIE, cookie_visitor_id

pytestmark = pytest.mark.django_db


def visitor_of(client) -> uuid.UUID:
    response = client.get("/")
    value = response.cookies[VISITOR_COOKIE].value
    return cookie_visitor_id(RequestFactory().get("/", HTTP_COOKIE=f"{VISITOR_COOKIE}={value}"))


def row_titles(html: str) -> list[str]:
    section = re.search(r'aria-labelledby="for-you-title">(.*?)</section>', html, re.S)
    return re.findall(r'class="product-card__link" href="[^"]+">([^<]+)</a>', section.group(1)) if section else []


def test_a_newcomer_has_no_row_and_a_returning_shopper_gets_what_is_nearest_their_taste(client, processed_shop):
    visitor = visitor_of(client)
    assert "Recommended for you" not in client.get("/").content.decode()

    for sku in ("M1", "M2"):  # they liked the mugs
        Event.objects.create(
            event_id=uuid.uuid4(),
            kind="click",
            occurred_at=timezone.now(),
            visitor_id=visitor,
            product_id=processed_shop.id(sku),
        )
    profiles_refresh()

    titles = row_titles(client.get("/").content.decode())
    assert titles[:2] in (["Stoneware mug", "Enamel mug"], ["Enamel mug", "Stoneware mug"])
    assert "Linen wrap dress" not in titles  # sold out
    assert "Hidden shirt" not in titles  # not on sale
    product = processed_shop.products["M1"]
    on_its_page = row_titles(client.get(product.get_absolute_url()).content.decode())
    assert "Stoneware mug" not in on_its_page  # not the product the page is about


def test_the_row_is_off_with_personalisation_off(client, processed_shop, settings):
    visitor = visitor_of(client)
    Event.objects.create(
        event_id=uuid.uuid4(),
        kind="click",
        occurred_at=timezone.now(),
        visitor_id=visitor,
        product_id=processed_shop.id("M1"),
    )
    profiles_refresh()
    settings.RANKING_PERSONALISATION = False
    assert "Recommended for you" not in client.get("/").content.decode()
