from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import Order
from search.product_refresh import products_refresh
from simulation.shoppers import EmptyCatalogue, simulate_shoppers
from tracking.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def searchable_shop(processed_shop):
    # Text index, colours and similar rows, as the refresh task leaves a shop.
    products_refresh([product.pk for product in processed_shop.products.values()], only_dirty=False)
    return processed_shop


def signature() -> list[tuple]:
    """The events as a seed decides them: everything but their own UUIDs and timings."""
    searches = {}
    rows = []
    for event in Event.objects.order_by("occurred_at", "id"):
        if event.kind == "search":
            searches[event.search_id] = len(searches)
        properties = {k: v for k, v in event.properties.items() if k not in ("latency_ms", "order")}
        rows.append(
            (
                event.kind,
                str(event.visitor_id),
                event.occurred_at.isoformat(),
                searches.get(event.search_id),
                event.product_id,
                event.position,
                sorted(properties.items()),
            )
        )
    return rows


def test_the_same_seed_gives_the_same_shoppers_and_another_seed_others(searchable_shop):
    end = timezone.now().replace(microsecond=0)
    first = simulate_shoppers(visitors=40, days=7, seed=3, end=end)
    once = signature()
    Event.objects.all().delete()
    again = simulate_shoppers(visitors=40, days=7, seed=3, end=end)
    assert signature() == once
    assert (again.searches, again.clicks, again.purchases) == (first.searches, first.clicks, first.purchases)
    Event.objects.all().delete()
    simulate_shoppers(visitors=40, days=7, seed=4, end=end)
    assert signature() != once


def test_simulated_traffic_is_real_events_tied_together_as_the_pages_tie_them(searchable_shop):
    end = timezone.now()
    report = simulate_shoppers(visitors=60, days=7, seed=11, end=end)
    events = list(Event.objects.order_by("occurred_at", "id"))
    counts = {kind: sum(1 for e in events if e.kind == kind) for kind in {e.kind for e in events}}
    assert counts["search"] == report.searches > 60
    assert counts["impression"] == report.impressions and counts["click"] == report.clicks > 0
    assert counts.get("add_to_cart", 0) == report.adds_to_cart
    assert len({e.properties["order"] for e in events if e.kind == "purchase"}) == report.purchases
    assert {e.properties["search_kind"] for e in events if e.kind == "search"} == {"text", "photo", "hybrid"}
    assert all(end - timedelta(days=7) <= e.occurred_at <= end for e in events)
    # Every impression and click belongs to a search of the same shopper, made before it.
    searches = {e.search_id: e for e in events if e.kind == "search"}
    for event in events:
        if event.kind in ("impression", "click"):
            search = searches[event.search_id]
            assert (search.visitor_id, search.occurred_at <= event.occurred_at) == (event.visitor_id, True)
    # Purchases are credited to searches their shopper clicked the product from, and place no order.
    credited = [e for e in events if e.kind == "purchase" and e.search_id is not None]
    clicked = {(e.visitor_id, e.search_id, e.product_id) for e in events if e.kind == "click"}
    assert all((e.visitor_id, e.search_id, e.product_id) in clicked for e in credited)
    assert Order.objects.count() == 0
    # Position bias: the first result is clicked more often than the fifth, per impression.
    shown = {p: sum(1 for e in events if e.kind == "impression" and e.position == p) for p in (1, 5)}
    clicks = {p: sum(1 for e in events if e.kind == "click" and e.position == p) for p in (1, 5)}
    assert clicks[1] / shown[1] > clicks[5] / max(1, shown[5])


def test_a_shop_without_visible_products_is_refused(db):
    with pytest.raises(EmptyCatalogue, match="^the shop has no product a shopper could see"):
        simulate_shoppers(visitors=1, days=1, seed=1)


# Shoppers of 60 who visit in the demo's one 3-day step (DEMO_VISIT_SHARE, seed 1).
VISITS = 5


def test_demo_traffic_waits_for_the_pictures_and_never_adds_to_a_shop_with_events(searchable_shop):
    from catalog.models import ProductImage
    from ranking.models import RankerVersion
    from simulation.shoppers import CatalogueNotReady, demo_traffic_simulate
    from tracking.models import DailySearchRollup

    image = ProductImage.objects.filter(status="ready").first()
    ProductImage.objects.filter(pk=image.pk).update(status="pending")
    with pytest.raises(CatalogueNotReady, match="^the catalogue's pictures are not all processed yet$"):
        demo_traffic_simulate(visitors=60, days=3)
    ProductImage.objects.filter(pk=image.pk).update(status="ready")
    report = demo_traffic_simulate(visitors=60, days=3)
    assert report.visitors == VISITS and Event.objects.filter(kind="search").count() == report.searches
    assert DailySearchRollup.objects.exists()  # the analytics page has the days at once
    # A first ranker was trained on it: too few searches here, so none went live.
    [ranker] = RankerVersion.objects.all()
    assert (ranker.trigger, ranker.status) == ("demo", RankerVersion.Status.FAILED)
    assert ranker.message.endswith("fewer than RANKING_MIN_TRAINING_SEARCHES (200)")
    events = Event.objects.count()
    assert demo_traffic_simulate(visitors=60, days=3) is None and Event.objects.count() == events


def test_a_cropped_photo_is_a_box_around_the_pictures_centre(searchable_shop):
    import random

    from simulation.shoppers import SimulationReport, _Shopper, _World, catalogue_snapshot

    catalogue = catalogue_snapshot()
    world = _World(catalogue, {item.product_id: item for item in catalogue}, timezone.now(), 7)
    crops = []
    for number in range(40):
        shopper = _Shopper(world, random.Random(f"7:{number}"), SimulationReport())
        request = shopper.query()
        if request is not None and request.crop is not None:
            item = next(i for i in catalogue if world.picture(i.image_name) == request.image)
            crops.append((request.crop, item.image_size))
    assert crops
    for crop, (width, height) in crops:
        assert crop.left + crop.right == width and crop.top + crop.bottom == height  # centred
        assert 0.6 * width - 1 <= crop.right - crop.left <= 0.9 * width + 1
