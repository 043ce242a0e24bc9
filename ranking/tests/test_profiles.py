import math
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.utils import timezone

from catalog import services as catalog_services
from catalog.services import ProductData
from ranking import profiles
from ranking.models import VisitorProfile
from ranking.profiles import profile_delete, profile_merge_at_sign_in, profiles_refresh
from ranking.tasks import refresh_visitor_profiles
from tracking import services as tracking_services
from tracking.models import Event
from tracking.services import visitor_signed_in
from tracking.visitors import Identity

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def product(sku: str, category: str, brand: str, price: str, colours: list[str]):
    made, _ = catalog_services.product_upsert(
        ProductData(
            sku=sku,
            title=sku,
            price=Decimal(price),
            stock=1,
            category=catalog_services.category_get_or_create_path([category]),
            brand=catalog_services.brand_get_or_create(brand),
        )
    )
    made.colours = colours
    made.save(update_fields=["colours"])
    return made


def event(kind: str, visitor: uuid.UUID, product_id: int, days_ago: float = 0, user_id: int | None = None):
    Event.objects.create(
        event_id=uuid.uuid4(),
        kind=kind,
        occurred_at=NOW - timedelta(days=days_ago),
        visitor_id=visitor,
        user_id=user_id,
        product_id=product_id,
    )


def test_a_profile_weighs_clicks_carts_and_purchases_by_age(settings):
    settings.RANKING_PROFILE_HALF_LIFE_DAYS = 30.0
    dress = product("D", "Dresses", "Lumen", "20.00", ["red"])
    shirt = product("S", "Shirts", "Northwind", "80.00", ["blue", "red"])
    visitor = uuid.uuid4()
    event("click", visitor, dress.pk)  # 1
    event("add_to_cart", visitor, dress.pk)  # 3
    event("click", visitor, shirt.pk, days_ago=30)  # 1, one half-life old: 0.5
    event("impression", visitor, shirt.pk)  # seeing is not engaging
    newcomer = uuid.uuid4()
    event("impression", newcomer, dress.pk)

    assert profiles_refresh(as_of=NOW) == 1

    profile = VisitorProfile.objects.get()
    assert profile.visitor_id == visitor and profile.user_id is None
    assert profile.weight == pytest.approx(4.5)
    assert profile.categories == pytest.approx({str(dress.category_id): 4.0, str(shirt.category_id): 0.5})
    assert profile.brands == pytest.approx({str(dress.brand_id): 4.0, str(shirt.brand_id): 0.5})
    assert profile.colours == pytest.approx({"red": 4.5, "blue": 0.5})
    mean = (4 * math.log(20) + 0.5 * math.log(80)) / 4.5
    assert profile.log_price_mean == pytest.approx(mean)
    assert profile.taste is None  # no image model yet: no taste vector
    assert profile.updated_at == NOW


def test_the_anonymous_history_and_the_accounts_merge_at_sign_in(django_user_model):
    user = django_user_model.objects.create_user("ann", password="x")
    dress = product("D", "Dresses", "Lumen", "20.00", ["red"])
    shirt = product("S", "Shirts", "Northwind", "80.00", ["blue"])
    laptop_visitor, phone_visitor = uuid.uuid4(), uuid.uuid4()
    event("purchase", laptop_visitor, dress.pk, user_id=user.pk)  # the account's, on another browser
    event("click", phone_visitor, shirt.pk)  # anonymous, before signing in on the phone
    profiles_refresh(as_of=NOW)
    assert VisitorProfile.objects.get(pk=phone_visitor).weight == pytest.approx(1.0)

    visitor_signed_in(phone_visitor, user.pk)
    assert profile_merge_at_sign_in(phone_visitor, user.pk, as_of=NOW) == 1

    merged = VisitorProfile.objects.get(pk=phone_visitor)
    assert merged.user_id == user.pk
    assert merged.categories == pytest.approx({str(dress.category_id): 5.0, str(shirt.category_id): 1.0})


def test_forgetting_a_visitor_deletes_the_profile():
    dress = product("D", "Dresses", "Lumen", "20.00", ["red"])
    visitor = uuid.uuid4()
    event("click", visitor, dress.pk)
    profiles_refresh(as_of=NOW)

    assert profile_delete(visitor) is True
    assert not VisitorProfile.objects.exists()
    assert profile_delete(visitor) is False


def test_a_profile_whose_engagement_aged_out_is_removed(settings):
    settings.RANKING_PROFILE_HALF_LIFE_DAYS = 1.0
    dress = product("D", "Dresses", "Lumen", "20.00", ["red"])
    visitor = uuid.uuid4()
    event("click", visitor, dress.pk)
    profiles_refresh(as_of=NOW)
    assert profiles_refresh(as_of=NOW + timedelta(days=7)) == 0
    assert not VisitorProfile.objects.exists()


def test_signing_in_and_forget_visitor_reach_the_profile(django_user_model):
    """Through tracking's own paths: visitor_signed_in (the sign-in receiver) and visitor_forget
    (the forget_visitor command)."""
    from django.core.management import call_command

    from tracking.services import visitor_forget

    user = django_user_model.objects.create_user("bob", password="x")
    dress = product("D", "Dresses", "Lumen", "20.00", ["red"])
    visitor = uuid.uuid4()
    Event.objects.create(
        event_id=uuid.uuid4(), kind="click", occurred_at=timezone.now(), visitor_id=visitor, product_id=dress.pk
    )

    visitor_signed_in(visitor, user.pk)
    assert VisitorProfile.objects.get(pk=visitor).user_id == user.pk

    assert visitor_forget(visitor) == (1, True)
    assert not VisitorProfile.objects.exists()
    call_command("forget_visitor", str(visitor))  # nothing left: says so, deletes nothing


@pytest.fixture
def sent(monkeypatch, settings):
    """The messages profiles_refresh_soon sends (the broker replaced): [(task, ids, countdown)]."""
    settings.RANKING_PROFILE_REFRESH_DELAY_SECONDS = 10.0
    messages, down = [], []

    def send_ids(task_name, ids, *, per_message, consequence, countdown=None):
        if down:
            return list(ids)
        messages.append((task_name, sorted(ids), countdown))
        return []

    monkeypatch.setattr(profiles.sending, "send_ids", send_ids)
    cache.clear()
    yield messages, down
    cache.clear()


def test_engagement_asks_for_the_visitors_profile_once_per_delay(sent, settings):
    messages, _ = sent
    settings.RANKING_PROFILE_REFRESH_DELAY_SECONDS = 10.0
    shopper, other = uuid.uuid4(), uuid.uuid4()

    assert profiles.profiles_refresh_soon([shopper]) == [str(shopper)]
    assert profiles.profiles_refresh_soon([shopper, other]) == [str(other)]  # the shopper's is on its way

    assert messages == [
        ("ranking.tasks.refresh_visitor_profiles", [str(shopper)], 10.0),
        ("ranking.tasks.refresh_visitor_profiles", [str(other)], 10.0),
    ]


def test_a_broker_that_cannot_be_reached_leaves_it_for_the_next_click(sent):
    messages, down = sent
    shopper = uuid.uuid4()
    down.append(True)
    assert profiles.profiles_refresh_soon([shopper]) == []
    down.clear()
    assert profiles.profiles_refresh_soon([shopper]) == [str(shopper)]
    assert len(messages) == 1


def test_a_negative_delay_leaves_profiles_to_the_periodic_rebuild(sent, settings):
    settings.RANKING_PROFILE_REFRESH_DELAY_SECONDS = -1
    assert profiles.profiles_refresh_soon([uuid.uuid4()]) == [] and sent[0] == []


def test_a_shoppers_clicks_reach_their_profile_through_the_task(sent, django_capture_on_commit_callbacks):
    messages, _ = sent
    dress = product("D-1", "Dresses", "Aster", "40.00", ["red"])
    shopper = Identity(uuid.uuid4())

    with django_capture_on_commit_callbacks(execute=True):
        tracking_services.click_recorded(shopper, product_id=dress.pk, search_id=uuid.uuid4(), position=1)
    [(task, ids, _)] = messages
    assert ids == [str(shopper.visitor_id)]
    assert refresh_visitor_profiles(ids) == 1  # what the worker runs, RANKING_PROFILE_REFRESH_DELAY_SECONDS later

    profile = VisitorProfile.objects.get(pk=shopper.visitor_id)
    assert (profile.weight, profile.colours) == (pytest.approx(1.0, abs=1e-3), {"red": pytest.approx(1.0, abs=1e-3)})
