"""The results page's script sends impressions and clicks (static/js/tracking.js), and a click
counts once whether the beacon, the link or both tell the shop; without JavaScript the link
alone does."""

from __future__ import annotations

import io
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from browser_tests.shopper import staff_log_in
from fixtures.waiting import wait_for
from search.product_refresh import products_refresh
from tracking.models import Event


@pytest.fixture
def indexed_shop(shop_with_photos):
    # Text index, colours and similar rows, as the refresh task leaves a shop.
    products_refresh([product.pk for product in shop_with_photos.products.values()], only_dirty=False)
    return shop_with_photos


def events(kind: str) -> list[Event]:
    return list(Event.objects.filter(kind=kind).order_by("position", "id"))


def test_the_results_seen_and_the_one_clicked_are_recorded_once(page, indexed_shop):
    page.goto("/search/?q=linen")
    [search] = wait_for(lambda: events("search"))
    titles = page.locator(".search-results .product-card__title")
    assert titles.count() == 2
    # Both cards are on screen at 1280 x 900: one impression each, tied to the search.
    impressions = wait_for(lambda: (found := events("impression")) and len(found) == 2 and found)
    assert [(e.search_id, e.position, e.visitor_id, e.properties) for e in impressions] == [
        (search.search_id, 1, search.visitor_id, {"page": 1}),
        (search.search_id, 2, search.visitor_id, {"page": 1}),
    ]
    titles.nth(1).locator("a").click()
    page.wait_for_url("**/p/**")
    query = parse_qs(urlsplit(page.url).query)
    assert (query["sid"], query["pos"]) == ([str(search.search_id)], ["2"])
    [click] = wait_for(lambda: events("click"))
    assert (str(click.event_id), click.search_id, click.position, click.product_id) == (
        query["cid"][0],
        search.search_id,
        2,
        impressions[1].product_id,
    )
    page.wait_for_timeout(500)  # time for a second copy, beacon or link, to arrive: none is stored
    assert len(events("click")) == 1 and len(events("impression")) == 2


def test_without_javascript_the_link_alone_records_the_click(page_without_js, indexed_shop):
    page = page_without_js
    page.goto("/search/?q=linen")
    [search] = wait_for(lambda: events("search"))
    page.locator(".search-results .product-card__title a").first.click()
    page.wait_for_url("**/p/**")
    [click] = wait_for(lambda: events("click"))
    assert (click.search_id, click.position) == (search.search_id, 1)
    assert "cid" not in parse_qs(urlsplit(page.url).query) and events("impression") == []


def test_staff_see_simulated_traffic_as_charts(page, indexed_shop, snap):
    from django.core.management import call_command

    call_command("simulate_shoppers", visitors=40, days=7, seed=5, stdout=io.StringIO())
    staff_log_in(page)
    page.get_by_role("link", name="Search analytics").click()
    page.wait_for_url("**/staff/analytics/search/")
    searches = Event.objects.filter(kind="search").count()
    expect(page.locator("#analytics-summary")).to_contain_text(f"{searches} searches, zero-result rate")
    expect(page.locator("svg.chart")).to_have_count(3)
    expect(page.locator("#analytics-kinds tbody tr")).to_have_count(3)  # text, photo, hybrid
    snap("analytics")
