import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Product
from ranking import fact_cache, selectors
from ranking.engagement import engagement_refresh
from ranking.features import ProductFacts
from ranking.models import VisitorProfile
from ranking.profiles import profile_delete
from ranking.selectors import product_facts, visitor_profile
from vision import knn
from vision.selectors import embedding_model_active

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached(settings):
    settings.RANKING_FACTS_CACHE_SECONDS = 60.0
    settings.RANKING_FACTS_CACHE_PRODUCTS = 100
    fact_cache.clear()
    yield settings
    fact_cache.clear()


def test_a_product_is_read_once_then_served_from_the_cache(cached, processed_shop, django_assert_num_queries):
    dress, mug = processed_shop.id("D1"), processed_shop.id("M1")
    model = embedding_model_active()
    taste = knn.image_vector(model, processed_shop.images["D1"].pk)

    # The facts of both, the catalogue's rates, the vectors of both: three queries.
    with django_assert_num_queries(3):
        first, _, first_similarities = product_facts([dress, mug], taste=taste, taste_model_id=model.pk)
    Product.objects.filter(pk=dress).update(price=Decimal("99.00"))
    with django_assert_num_queries(0):
        again, _, similarities = product_facts([dress, mug], taste=taste, taste_model_id=model.pk)

    assert again == first
    assert again[dress].price == 20.0  # the cached price, up to RANKING_FACTS_CACHE_SECONDS old
    assert similarities == first_similarities and similarities[dress] == pytest.approx(1.0, abs=1e-3)
    fact_cache.clear()
    assert product_facts([dress])[0][dress].price == 99.0


def test_only_the_products_not_held_are_read(cached, processed_shop, monkeypatch):
    dress, mug = processed_shop.id("D1"), processed_shop.id("M1")
    reads = []
    real = selectors._facts_read
    monkeypatch.setattr(selectors, "_facts_read", lambda ids: reads.append(sorted(ids)) or real(ids))

    product_facts([dress])
    facts, _, _ = product_facts([dress, mug])

    assert set(facts) == {dress, mug}
    assert reads == [[dress], [mug]]


def test_a_product_gone_is_left_out_and_remembered_as_gone(cached, processed_shop, django_assert_num_queries):
    dress = processed_shop.id("D1")
    with django_assert_num_queries(2):
        facts, _, _ = product_facts([dress, 987654])
    assert set(facts) == {dress}
    with django_assert_num_queries(0):
        assert set(product_facts([dress, 987654])[0]) == {dress}


def test_rebuilt_engagement_empties_the_cache(cached, processed_shop, django_capture_on_commit_callbacks):
    dress = processed_shop.id("D1")
    product_facts([dress])
    Product.objects.filter(pk=dress).update(price=Decimal("55.00"))
    with django_capture_on_commit_callbacks(execute=True):
        engagement_refresh()
    assert product_facts([dress])[0][dress].price == 55.0


def test_the_least_recently_used_go_first_beyond_the_size(cached, django_assert_num_queries):
    cached.RANKING_FACTS_CACHE_PRODUCTS = 2

    def load(ids):
        return {
            pid: ProductFacts(price=float(pid), colours=(), brand_id=None, category_id=None, in_stock=True, age_days=0)
            for pid in ids
        }

    reads = []

    def counted(ids):
        reads.append(sorted(ids))
        return load(ids)

    fact_cache.facts_of([1, 2], counted, seconds=60, size=2)
    fact_cache.facts_of([1], counted, seconds=60, size=2)  # 1 is now the most recent
    fact_cache.facts_of([3], counted, seconds=60, size=2)  # 2 goes
    fact_cache.facts_of([1, 2, 3], counted, seconds=60, size=2)
    assert reads == [[1, 2], [3], [2]]


def test_entries_expire(cached, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(fact_cache.time, "monotonic", lambda: clock[0])
    reads = []

    def load(ids):
        reads.append(list(ids))
        return {}

    fact_cache.facts_of([5], load, seconds=60, size=10)
    clock[0] += 59.0
    fact_cache.facts_of([5], load, seconds=60, size=10)
    clock[0] += 2.0
    fact_cache.facts_of([5], load, seconds=60, size=10)
    assert reads == [[5], [5]]


def test_a_profile_is_held_and_forgotten_when_rebuilt_or_deleted(
    cached, django_assert_num_queries, django_capture_on_commit_callbacks
):
    visitor = uuid.uuid4()
    with django_assert_num_queries(1):
        assert visitor_profile(visitor) is None
    VisitorProfile.objects.create(
        visitor_id=visitor, weight=2.0, categories={}, brands={}, colours={"red": 2.0}, updated_at=timezone.now()
    )
    with django_assert_num_queries(0):
        assert visitor_profile(visitor) is None  # a newcomer's "none" is held too

    fact_cache.profiles_forget([visitor])
    assert visitor_profile(visitor)[0].colours == {"red": 2.0}
    with django_capture_on_commit_callbacks(execute=True):
        assert profile_delete(visitor) is True
    assert visitor_profile(visitor) is None  # deleted: not served from the cache


def test_a_newcomers_none_is_held_only_as_long_as_a_profile_takes_to_be_built(cached, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(fact_cache.time, "monotonic", lambda: clock[0])
    reads = []

    def load(found):
        return lambda: reads.append(found) or found

    assert fact_cache.profile_of("v", load(None), seconds=60, size=10, none_seconds=10) is None
    clock[0] += 9
    assert fact_cache.profile_of("v", load("built"), seconds=60, size=10, none_seconds=10) is None  # held
    clock[0] += 2
    assert fact_cache.profile_of("v", load("built"), seconds=60, size=10, none_seconds=10) == "built"
    clock[0] += 50
    assert (
        fact_cache.profile_of("v", load("rebuilt"), seconds=60, size=10, none_seconds=10) == "built"
    )  # a profile: 60 s
    assert reads == [None, "built"]
